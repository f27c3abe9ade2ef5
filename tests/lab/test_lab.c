/*
 * test_lab.c — every `synq lab` experiment, run in-process with its defaults, against the
 * kernel's recording of the same setup (tests/scenario/kernel/<S>.golden, extracted from
 * ../shared/kernel-truth), as tests/scenario/test_kernel_truth.c compares its scenarios:
 *
 *   per client (the k-th client to send a SYN in the recording is ck): the server's packets in
 *   order (flags, relative seq/ack, length) and their times relative to the client's first SYN
 *   reaching the server; the number of SYNs the client sent and the time of the last one; the
 *   errnos its application saw (read/connect errors, the write after them) and when; the server's
 *   and the client host's counters; the number of accept()s.
 *
 * Kernel timers run late on the timer wheel (SPEC §7), synq's are exact: a kernel time may be
 * later than synq's by 4.5 % + 70 ms and earlier by at most 15 ms.
 * Also: --kernel-timers (the overflow's SYN-ACK gaps on the timer wheel), the flood experiment
 * against kernel-truth S7-c1/c0/c2 (legitimate clients' SYNs and connect times, the SYN queue's
 * bound, the server's counters at the harness' observation time), option parsing (errors,
 * presets), the JSON renderer's shape, the ladder's width.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synq.h"
#include "drivers/lab.h"
#include "golden.h"

/* the golden files: tests/lib/golden.h */
static int late_ok(double kernel_rel, double synq_rel) { return golden_time_ok(kernel_rel, synq_rel, 0); }

/* flags as a set: ".P" and "P." are the same segment */
static int same_flags(const char *a, const char *b)
{
	if (strlen(a) != strlen(b))
		return 0;
	for (; *a; a++)
		if (!strchr(b, *a))
			return 0;
	return 1;
}

static double l_first_syn(const struct lab_result *r, int k)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct lab_rec *e = &r->rec[i];
		if (e->kind == LAB_PKT && e->from == k && !strcmp(e->flags, "S") && !e->lost)
			return (double)e->arr_ns / 1e6;
	}
	return -1;
}

static int skipped(const char *const *skip, const char *name)
{
	for (; skip && *skip; skip++)
		if (!strcmp(*skip, name))
			return 1;
	return 0;
}

static void compare(const char *exp, const struct golden *g, const struct lab_result *r,
		    const char *const *skip)
{
	int errors = 0;
	char msg[4096];
	size_t m = 0;
#define FAIL(...)                                                                                  \
	do {                                                                                       \
		errors++;                                                                          \
		if (m < sizeof(msg) - 200)                                                         \
			m += (size_t)snprintf(msg + m, sizeof(msg) - m, __VA_ARGS__);              \
	} while (0)
	if (g->nclients != r->n_clients)
		FAIL("  kernel had %d clients, the lab %d\n", g->nclients, r->n_clients);
	int n = g->nclients < r->n_clients ? g->nclients : r->n_clients;
	for (int k = 1; k <= n; k++) {
		int port = g->port_of[k];
		double k0 = golden_first_syn(g, port), s0 = l_first_syn(r, k);
		/* the server's packets, in order */
		int ki = 0;
		size_t si = 0;
		for (;;) {
			while (ki < g->np && (g->p[ki].port != port || g->p[ki].cs))
				ki++;
			while (si < r->n && (r->rec[si].kind != LAB_PKT || r->rec[si].conn != k ||
					     r->rec[si].from != 0))
				si++;
			if (ki >= g->np && si >= r->n)
				break;
			if (ki >= g->np) {
				FAIL("  c%d: the lab has an extra S>C [%s] at +%.1f ms\n", k, r->rec[si].flags,
				     (double)r->rec[si].t_ns / 1e6 - s0);
				break;
			}
			if (si >= r->n) {
				FAIL("  c%d: the kernel has an extra S>C [%s] at +%.1f ms\n", k, g->p[ki].flags,
				     g->p[ki].t - k0);
				break;
			}
			const struct golden_pkt *kp = &g->p[ki];
			const struct lab_rec *sp = &r->rec[si];
			long sack = sp->has_ack ? (long)sp->ack : -1;
			double st = (double)sp->t_ns / 1e6 - s0;
			if (!same_flags(kp->flags, sp->flags) || kp->seq != (long)sp->seq || kp->ack != sack ||
			    kp->len != (long)sp->len)
				FAIL("  c%d S>C kernel [%s] %ld/%ld len %ld, lab [%s] %u/%ld len %u\n", k,
				     kp->flags, kp->seq, kp->ack, kp->len, sp->flags, sp->seq, sack, sp->len);
			else if (!late_ok(kp->t - k0, st))
				FAIL("  c%d S>C [%s] kernel at +%.1f ms, lab at +%.1f ms\n", k, kp->flags,
				     kp->t - k0, st);
			ki++;
			si++;
		}
		/* the client's SYNs */
		int ksyn = 0, ssyn = 0;
		double klast = 0, slast = 0;
		for (int i = 0; i < g->np; i++)
			if (g->p[i].port == port && g->p[i].cs && !strcmp(g->p[i].flags, "S")) {
				ksyn++;
				klast = g->p[i].t - k0;
			}
		for (size_t i = 0; i < r->n; i++) {
			const struct lab_rec *e = &r->rec[i];
			if (e->kind == LAB_PKT && e->from == k && !strcmp(e->flags, "S") && !e->lost) {
				ssyn++;
				slast = (double)e->arr_ns / 1e6 - s0;
			}
		}
		if (ksyn != ssyn)
			FAIL("  c%d: the kernel's client sent %d SYNs, the lab's %d\n", k, ksyn, ssyn);
		else if (!late_ok(klast, slast))
			FAIL("  c%d: last SYN kernel +%.1f ms, lab +%.1f ms\n", k, klast, slast);

		/* the errnos the application saw, in order: the recording's READ_ERR / CONNECT_FAIL /
		 * SEND_AFTER_ERR against the lab's failed read / connect / write */
		int kerr[8], nk = 0, serr[8], ns = 0;
		double kt[8], st[8];
		char kcall[8][16], scall[8][16];
		for (int i = 0; i < g->nev && nk < 8; i++) {
			const char *lp = strstr(g->ev[i], "lport=");
			const char *ep = strstr(g->ev[i], "errno=");
			if (!lp || atoi(lp + 6) != port || !ep)
				continue;
			const char *call = !strncmp(g->ev[i], "READ_ERR", 8)	     ? "read"
					   : !strncmp(g->ev[i], "CONNECT_FAIL", 12)   ? "connect"
					   : !strncmp(g->ev[i], "SEND_AFTER_ERR", 14) ? "write"
										      : NULL;
			if (!call)
				continue;
			snprintf(kcall[nk], sizeof(kcall[nk]), "%s", call);
			kerr[nk] = atoi(ep + 6);
			kt[nk++] = g->ev_t[i] - k0;
		}
		for (size_t i = 0; i < r->n && ns < 8; i++) {
			const struct lab_rec *e = &r->rec[i];
			if (e->kind != LAB_APP || e->at != k || !e->err || e->err == EINPROGRESS ||
			    e->err == EAGAIN)
				continue;
			snprintf(scall[ns], sizeof(scall[ns]), "%s", e->call);
			serr[ns] = e->err;
			st[ns++] = (double)e->t_ns / 1e6 - s0;
		}
		if (nk != ns)
			FAIL("  c%d: the kernel's application saw %d errors, the lab's %d\n", k, nk, ns);
		for (int i = 0; i < nk && i < ns; i++) {
			if (strcmp(kcall[i], scall[i]) || kerr[i] != serr[i])
				FAIL("  c%d: kernel %s() errno %d, lab %s() errno %d\n", k, kcall[i], kerr[i],
				     scall[i], serr[i]);
			else if (!late_ok(kt[i], st[i]))
				FAIL("  c%d: %s() errno %d kernel at +%.1f ms, lab at +%.1f ms\n", k,
				     kcall[i], kerr[i], kt[i], st[i]);
		}
	}
	/* counters */
	for (int i = 0; i < g->nc; i++) {
		if (skipped(skip, g->c[i].name))
			continue;
		int id = synq_counter_id(g->c[i].name);
		if (id < 0)
			continue;
		uint64_t v = !strcmp(g->c[i].side, "srv") ? r->srv_ctr[id] : r->cli_ctr[id];
		if ((long)v != g->c[i].v)
			FAIL("  %s %s: kernel %ld, lab %llu\n", g->c[i].side, g->c[i].name, g->c[i].v,
			     (unsigned long long)v);
	}
	int kacc = 0;
	for (int i = 0; i < g->nev; i++)
		if (!strncmp(g->ev[i], "ACCEPTED", 8))
			kacc++;
	if (kacc != r->accepted)
		FAIL("  the kernel's server accepted %d connections, the lab's %d\n", kacc, r->accepted);
	if (errors)
		fail_msg("synq lab %s: %d differences from the kernel:\n%s", exp, errors, msg);
}

static void check(const char *exp, const char *golden, const char *const *skip)
{
	static struct golden g;
	struct lab_params p;
	struct lab_result r;
	assert_int_equal(lab_preset(&p, exp), 0);
	golden_load(&g, golden);
	assert_int_equal(lab_run(&p, &r), 0);
	compare(exp, &g, &r, skip);
	lab_result_free(&r);
}

static void test_overflow(void **state) { check("overflow", "S1", NULL); }
static void test_abort(void **state) { check("abort", "S2", NULL); }
static void test_late_accept(void **state) { check("late-accept", "S3", NULL); }
static void test_data_after_expiry(void **state) { check("data-after-expiry", "S4", NULL); }
static void test_silent_client(void **state) { check("silent-client", "S5-short", NULL); }
/* the S6 harness read its counter baseline after the fill clients had connected */
static void test_syn_drop(void **state)
{
	static const char *const skip[] = {"TcpPassiveOpens", "TcpActiveOpens", "TcpExtTCPPureAcks",
					   NULL};
	check("syn-drop", "S6", skip);
}

/* ---- options ------------------------------------------------------------------------------------- */
static int parse(struct lab_params *p, char *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, err);
	argv[argc++] = "lab";
	for (char *a; argc < 31 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return lab_parse(p, argc, argv, err, 256);
}

static void test_options(void **state)
{
	struct lab_params p;
	char err[256];
	assert_int_equal(parse(&p, err, NULL), 0);
	assert_string_equal(p.experiment, "overflow");
	assert_int_equal(p.backlog, 2);
	assert_int_equal(parse(&p, err, "--json", "syn-drop", "--backlog", "5", NULL), 0);
	assert_string_equal(p.experiment, "syn-drop");
	assert_int_equal(p.backlog, 5);
	assert_int_equal(p.fill, 3);
	assert_int_equal(p.json, 1);
	assert_int_equal(parse(&p, err, "--accept=every:2", "--send", "10@1.5", "--loss", "s2c:0x4",
			       "--set", "net.ipv4.tcp_synack_retries=2", NULL),
			 0);
	assert_int_equal(p.accept_mode, LAB_ACCEPT_EVERY);
	assert_int_equal(p.send_bytes, 10);
	assert_true(p.loss_s2c == 4);
	assert_int_equal(p.n_srv_set, 1);
	assert_int_equal(parse(&p, err, "--help", NULL), 1);
	assert_int_equal(parse(&p, err, "--list", NULL), 2);
	static const char *const bad[][3] = {
	    {"nosuch", NULL, NULL},	      {"--nosuch", NULL, NULL},	    {"--backlog", "x", NULL},
	    {"--fill", "-1", NULL},	      {"--accept", "sometimes", NULL}, {"--send", "100", NULL},
	    {"--set", "net.ipv4.nosuch=1", NULL}, {"--set", "net.ipv4.tcp_synack_retries=x", NULL},
	    {"--kernel", "2.6", NULL},	      {"--kernel-timers=1", NULL, NULL}, {"--flood-rate", "x", NULL},
	    {"--flood-rate", "0/s", NULL},     {"--flood-sources", "0", NULL}, {"--clients-rate", "-1", NULL},
	    {"overflow", "abort", NULL},       {"--duration", "0", NULL},
	    {"--rtt", NULL, NULL},	      {"-x", NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(&p, err, bad[i][0], bad[i][1], bad[i][2], NULL);
		if (rc != -EINVAL || !err[0] || strchr(err, '\n'))
			fail_msg("%s %s: rc %d, message '%s'", bad[i][0], bad[i][1] ? bad[i][1] : "", rc,
				 err);
	}
	assert_int_equal(parse(&p, err, "--fill", "0", "--burst", "0", NULL), -EINVAL);
	/* --kernel 3.10 is the engine's net.synq.kernel_rules, when it has it */
	struct synq_config c;
	synq_config_init(&c);
	if (synq_config_set(&c, "net.synq.kernel_rules=310") == 0) {
		assert_int_equal(parse(&p, err, "--kernel", "3.10", NULL), 0);
		assert_string_equal(p.srv_set[p.n_srv_set - 1], "net.synq.kernel_rules=310");
	} else {
		assert_int_equal(parse(&p, err, "--kernel", "3.10", NULL), -EINVAL);
		assert_non_null(strstr(err, "not supported yet"));
	}
	assert_int_equal(parse(&p, err, "--kernel-timers", NULL), 0);
	assert_int_equal(p.kernel_timers, 1);
	assert_int_equal(parse(&p, err, "flood", "--flood-rate", "1000/s", "--clients-rate", "4/s",
			       "--flood-sources", "10", NULL),
			 0);
	assert_int_equal(p.backlog, 128);
	assert_true(p.flood_count == 20000 && p.flood_rate == 1000 && p.flood_sources == 10);
	assert_true(p.fill_gap_ms == 250);
	assert_int_equal(p.accept_mode, LAB_ACCEPT_AT);
}

/* ---- kernel timers -------------------------------------------------------------------------------- */
static int run_args(struct lab_result *r, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, r);
	argv[argc++] = "lab";
	for (char *a; argc < 31 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	struct lab_params p;
	char err[256];
	int rc = lab_parse(&p, argc, argv, err, sizeof(err));
	if (rc)
		fail_msg("lab_parse: %d %s", rc, err);
	return lab_run(&p, r);
}

/* the server's packets to ck, and the time its request left the SYN queue (or -1) */
static int synacks(const struct lab_result *r, int k, double *t, int cap, double *gone)
{
	int n = 0;
	*gone = -1;
	for (size_t i = 0; i < r->n; i++) {
		const struct lab_rec *e = &r->rec[i];
		if (e->kind == LAB_PKT && e->from == 0 && e->conn == k && !strcmp(e->flags, "S.") && n < cap)
			t[n++] = (double)e->t_ns / 1e9;
		if (e->kind == LAB_DROP && e->conn == k && !strcmp(e->code, "request_expired"))
			*gone = (double)e->t_ns / 1e9;
	}
	return n;
}

/* HZ=250 wheel: the 1 s timer at level 1 (32 ms slots), 2 s = 500 jiffies -> 504 (2.016 s),
 * 4 s at level 2 (256 ms slots), 8 s -> 2048 jiffies, 16 s -> 4032, 32 s at level 3 (2.048 s) */
static void test_kernel_timers(void **state)
{
	struct lab_result r;
	assert_int_equal(run_args(&r, "overflow", "--kernel-timers", NULL), 0);
	for (int k = 4; k <= 5; k++) {
		double t[8], gone;
		assert_int_equal(synacks(&r, k, t, 8, &gone), 6);
		double g[5];
		for (int i = 0; i < 5; i++)
			g[i] = t[i + 1] - t[i];
		if (!(g[0] > 1.0 && g[0] < 1.033) || fabs(g[1] - 2.016) > 1e-6 || !(g[2] > 4.0 && g[2] < 4.257) ||
		    fabs(g[3] - 8.192) > 1e-6 || fabs(g[4] - 16.128) > 1e-6)
			fail_msg("c%d SYN-ACK gaps %.3f %.3f %.3f %.3f %.3f", k, g[0], g[1], g[2], g[3], g[4]);
		if (!(gone - t[5] > 32.0 && gone - t[5] <= 34.05))
			fail_msg("c%d: request gone %.3f s after the last SYN-ACK", k, gone - t[5]);
	}
	/* the same packets and counters as the exact run, only later */
	assert_int_equal((int)r.srv_ctr[SYNQ_C_LISTEN_OVERFLOWS], 13);
	lab_result_free(&r);
}

/* ---- flood (kernel-truth S7) ---------------------------------------------------------------------- */
static int syns_of(const struct lab_result *r, int k)
{
	int n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->rec[i].kind == LAB_PKT && r->rec[i].from == k && !strcmp(r->rec[i].flags, "S");
	return n;
}

static double connect_ms(const struct lab_result *r, int k)
{
	double call = -1;
	for (size_t i = 0; i < r->n; i++) {
		const struct lab_rec *e = &r->rec[i];
		if (e->kind != LAB_APP || e->at != k || strcmp(e->call, "connect"))
			continue;
		if (e->err == EINPROGRESS)
			call = (double)e->t_ns / 1e6;
		else if (!e->err)
			return (double)e->t_ns / 1e6 - call;
	}
	return -1;
}

static void check_flood_common(const struct lab_result *r)
{
	int flood_recs = 0;
	long syns = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct lab_rec *e = &r->rec[i];
		/* no spoofed packet is drawn: every packet record is a legitimate client's */
		if (e->kind == LAB_PKT)
			assert_true(e->conn >= 1 && e->conn <= 2);
		if (e->kind == LAB_QUEUE)
			assert_true(e->qq <= 129); /* never more than backlog + 1 */
		if (e->kind == LAB_FLOOD) {
			flood_recs++;
			syns += e->f_in;
			assert_true(e->f_maxq <= 129);
		}
		if (i)
			assert_true(e->t_ns >= r->rec[i - 1].t_ns);
	}
	assert_true(flood_recs >= 5 && flood_recs < 20); /* about one a second */
	assert_int_equal(syns, 20000);
	assert_int_equal(r->flood.flood_sent, 20000);
	assert_int_equal(r->flood.legit_total, 2);
	assert_true(r->flood.peak_bytes > 0);
}

static void test_flood_cookies(void **state)
{
	struct lab_result r;
	assert_int_equal(run_args(&r, "flood", "--duration", "14.3", NULL), 0); /* S7-c1 */
	check_flood_common(&r);
	assert_int_equal(r.flood.legit_ok, 2);
	assert_int_equal(syns_of(&r, 1), 1);
	assert_int_equal(syns_of(&r, 2), 1);
	assert_true(r.flood.connect_p99_ms < 1.0);
	assert_int_equal(r.flood.max_synq, 129);
	/* the kernel's counters at the harness' observation time (14 s into the flood) */
	assert_int_equal((int)r.srv_ctr[SYNQ_C_SYNCOOKIES_SENT], 19873);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_TCP_REQQ_FULL_DO_COOKIES], 19873);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_SYNCOOKIES_RECV], 2);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_LISTEN_DROPS], 0);
	lab_result_free(&r);

	assert_int_equal(run_args(&r, "flood", "--set", "net.ipv4.tcp_syncookies=2", NULL), 0); /* S7-c2 */
	check_flood_common(&r);
	assert_int_equal(r.flood.legit_ok, 2);
	assert_int_equal(r.flood.max_synq, 0);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_SYNCOOKIES_SENT], 20002);
	lab_result_free(&r);
}

static void test_flood_no_cookies(void **state)
{
	struct lab_result r;
	/* exact timers: the requests expire at 7.000 s, c1's 6th SYN meets room */
	assert_int_equal(run_args(&r, "flood", "--set", "net.ipv4.tcp_syncookies=0", NULL), 0);
	check_flood_common(&r);
	assert_int_equal(r.flood.legit_ok, 2);
	assert_true(syns_of(&r, 1) >= 6);
	assert_int_equal(syns_of(&r, 2), 2);
	assert_int_equal(r.flood.max_synq, 129);
	lab_result_free(&r);

	/* S7-c0 on the timer wheel: 7 SYNs and 7.14 s for c1, 2 SYNs and 1.02 s for c2; the
	 * server's counters 25 s into the flood */
	assert_int_equal(run_args(&r, "flood", "--set", "net.ipv4.tcp_syncookies=0", "--kernel-timers",
				  "--duration", "25.3", NULL),
			 0);
	check_flood_common(&r);
	assert_int_equal(syns_of(&r, 1), 7);
	assert_int_equal(syns_of(&r, 2), 2);
	double c1 = connect_ms(&r, 1), c2 = connect_ms(&r, 2);
	if (!late_ok(7143.9, c1) || !late_ok(1017.4, c2))
		fail_msg("connect() took %.1f / %.1f ms (kernel 7143.9 / 1017.4)", c1, c2);
	assert_int_equal(r.flood.max_synq, 129);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_LISTEN_DROPS], 19878);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_TCP_REQQ_FULL_DROP], 19878);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_TCP_SYN_RETRANS], 386);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_TCP_TIMEOUTS], 451);
	assert_int_equal((int)r.srv_ctr[SYNQ_C_LISTEN_OVERFLOWS], 0);
	lab_result_free(&r);
}

static void test_flood_json(void **state)
{
	struct lab_result r;
	assert_int_equal(run_args(&r, "flood", "--flood-count", "2000", "--flood-rate", "1000/s", NULL), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(lab_json(&r, f), 0);
	fclose(f);
	const char *last = strrchr(buf, '{');
	assert_non_null(strstr(last, "\"ev\":\"flood_summary\",\"legit_total\":2,\"legit_ok\":2,"
				     "\"connect_p50_ms\":0,\"connect_p99_ms\":0,\"max_synq\":129,"
				     "\"max_recvq\":1,\"peak_bytes\":"));
	assert_non_null(strstr(buf, "\"ev\":\"flood\",\"at\":\"server\",\"from_us\":300000,\"syns\":1000,"));
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(lab_ladder(&r, f, 100), 0);
	fclose(f);
	assert_non_null(strstr(buf, "legitimate clients: 2 of 2 connected"));
	assert_non_null(strstr(buf, "≋"));
	free(buf);
	lab_result_free(&r);
}

/* ---- renderers ----------------------------------------------------------------------------------- */
static void test_json_and_ladder(void **state)
{
	struct lab_params p;
	struct lab_result r;
	assert_int_equal(lab_preset(&p, "overflow"), 0);
	assert_int_equal(lab_run(&p, &r), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(lab_json(&r, f), 0);
	fclose(f);
	/* the B27 drops, the cookie, the expiries, the counters last */
	assert_non_null(strstr(buf, "\"ev\":\"drop\",\"at\":\"server\",\"conn\":\"c4\",\"reason\":"
				    "\"accept_queue_full\",\"rule\":\"B27\""));
	assert_non_null(strstr(buf, "\"reason\":\"request_expired\",\"rule\":\"B12\""));
	assert_non_null(strstr(buf, "\"reason\":\"syn_cookie\""));
	assert_non_null(strstr(buf, "\"ev\":\"pkt\",\"from\":\"server\",\"to\":\"c3\",\"conn\":\"c3\","
				    "\"flags\":\"S.\",\"seq\":0,\"ack\":1,\"len\":0"));
	assert_non_null(strstr(buf, "{\"t_us\":0,\"ev\":\"queue\",\"recvq\":0,\"sendq\":2,\"synq\":0}"));
	const char *last = strstr(buf, "\"ev\":\"counters\",\"at\":\"server\"");
	assert_non_null(last);
	assert_non_null(strstr(last, "\"TcpExtListenOverflows\":13"));
	/* one object per line, braces balanced */
	int depth = 0, lines = 0;
	for (char *c = buf; *c; c++) {
		depth += *c == '{';
		depth -= *c == '}';
		if (*c == '\n') {
			assert_int_equal(depth, 0);
			lines++;
		}
	}
	assert_true(lines > 50);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(lab_ladder(&r, f, 100), 0);
	fclose(f);
	/* every line fits 100 columns (UTF-8 characters, not bytes) */
	int col = 0;
	for (unsigned char *c = (unsigned char *)buf; *c; c++) {
		if (*c == '\n') {
			if (col > 100)
				fail_msg("a ladder line is %d columns wide", col);
			col = 0;
		} else if ((*c & 0xc0) != 0x80) {
			col++;
		}
	}
	assert_non_null(strstr(buf, "B27"));
	assert_non_null(strstr(buf, "ListenOverflows+1 ListenDrops+1"));
	free(buf);
	lab_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overflow),	     cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_late_accept),	     cmocka_unit_test(test_data_after_expiry),
	    cmocka_unit_test(test_silent_client),    cmocka_unit_test(test_syn_drop),
	    cmocka_unit_test(test_options),	     cmocka_unit_test(test_json_and_ladder),
	    cmocka_unit_test(test_kernel_timers),    cmocka_unit_test(test_flood_cookies),
	    cmocka_unit_test(test_flood_no_cookies), cmocka_unit_test(test_flood_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
