/*
 * lab_ladder.c — `synq lab`'s terminal ladder diagram (see lab.h).
 *
 * One lane for the server and one per client (up to 8 clients; beyond, one lane for them all),
 * time in ms down the left (printed once per instant), one row per packet (an arrow from the
 * sender's lane to the receiver's, drawn at the send time), per listener decision (at the server
 * lane, with the rule, the counters it bumped and the queue figures), per client state change and
 * per application call. Idle stretches longer than a second collapse into one "idle" row. Rows
 * wrap their text, never the lanes, to the width asked for (100 columns by default).
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/lab.h"

#include <errno.h>
#include <string.h>


#define MAX_LANES 9
#define TIME_W 11

struct lay {
	int compact;   /* all clients in one lane */
	int sp;        /* columns between lanes */
	int lanes;     /* lane count */
	int width;     /* lane area width */
	int text_w;
};

static int lane_of(const struct lay *L, int who) /* 0 server, k client */
{
	if (who == 0)
		return 0;
	return L->compact ? 1 : who;
}

static int lane_x(const struct lay *L, int lane) { return 3 + L->sp * lane; }

/* cells: one display column each, as UTF-8 strings */
struct row {
	const char *cell[128];
	int n;
};

static void row_lanes(const struct lay *L, struct row *r, const char *lane_ch)
{
	r->n = L->width;
	for (int i = 0; i < r->n; i++)
		r->cell[i] = " ";
	for (int l = 0; l < L->lanes; l++)
		r->cell[lane_x(L, l)] = lane_ch;
}

static void emit(FILE *out, const char *tcol, const struct row *r, const char *text,
		 const struct lay *L)
{
	/* wrap text at spaces to L->text_w */
	const char *s = text ? text : "";
	int first = 1;
	do {
		size_t len = strlen(s), take = len;
		if ((int)len > L->text_w) {
			take = (size_t)L->text_w;
			while (take > 0 && s[take] != ' ')
				take--;
			if (take == 0)
				take = (size_t)L->text_w;
		}
		fprintf(out, "%*s", TIME_W, first ? tcol : "");
		for (int i = 0; i < r->n; i++) {
			const char *c = r->cell[i];
			if (!first) { /* continuation rows: plain lanes */
				int lane = 0;
				for (int l = 0; l < L->lanes; l++)
					if (lane_x(L, l) == i)
						lane = 1;
				c = lane ? "│" : " ";
			}
			fputs(c, out);
		}
		fprintf(out, "  %.*s\n", (int)take, s);
		s += take;
		while (*s == ' ')
			s++;
		first = 0;
	} while (*s);
}

static void name_of(const struct lab_result *r, int who, char *b, size_t cap)
{
	(void)r;
	if (who == 0)
		snprintf(b, cap, "srv");
	else
		snprintf(b, cap, "c%d", who);
}

static size_t add_delta(char *b, size_t cap, size_t m, const struct lab_rec *e)
{
	for (int i = 0; i < e->n_delta && m < cap; i++)
		m += (size_t)snprintf(b + m, cap - m, "%s%s%+lld", i ? " " : " · ",
				      lab_short_counter(e->delta[i].id), (long long)e->delta[i].n);
	return m < cap ? m : cap - 1;
}

/* the engine's reason with the figures filled in: "(A > M)" -> "(A=3 > M=2)" */
static void figures(char *b, size_t cap, const struct lab_rec *e)
{
	const char *t = e->text, *p;
	char tmp[64];
	size_t m = 0;
	b[0] = 0;
	while (*t && m + 1 < cap) {
		if ((p = strstr(t, "A > M")) == t) {
			snprintf(tmp, sizeof(tmp), "A=%u > M=%u", e->qa, e->qm);
		} else if ((p = strstr(t, "Q > M")) == t) {
			snprintf(tmp, sizeof(tmp), "Q=%u > M=%u", e->qq, e->qm);
		} else {
			b[m++] = *t++;
			b[m] = 0;
			continue;
		}
		m += (size_t)snprintf(b + m, cap - m, "%s", tmp);
		if (m >= cap)
			m = cap - 1;
		t += 5;
	}
}

/* the connect() record that goes with a client's state change at the same instant */
static int with_connect(const struct lab_result *res, size_t i)
{
	const struct lab_rec *e = &res->rec[i];
	for (size_t j = i; j-- > 0 && res->rec[j].t_ns == e->t_ns;)
		if (res->rec[j].kind == LAB_APP && res->rec[j].at == e->at && !strcmp(res->rec[j].call, "connect"))
			return 1;
	for (size_t j = i + 1; j < res->n && res->rec[j].t_ns == e->t_ns; j++)
		if (res->rec[j].kind == LAB_APP && res->rec[j].at == e->at && !strcmp(res->rec[j].call, "connect"))
			return 1;
	return 0;
}

int lab_rec_text(const struct lab_result *res, size_t i, char *text, size_t cap)
{
	const struct lab_rec *e = &res->rec[i];
	char who[16], fig[200], fn[16], tn[16];
	size_t m = 0;
	text[0] = 0;
	switch (e->kind) {
	case LAB_PKT:
		name_of(res, e->from, fn, sizeof(fn));
		name_of(res, e->to, tn, sizeof(tn));
		m = (size_t)snprintf(text, cap, "%s>%s [%s] seq %u", fn, tn, e->flags, e->seq);
		if (e->len)
			m += (size_t)snprintf(text + m, cap - m, ":%u", e->seq + e->len);
		if (e->has_ack)
			m += (size_t)snprintf(text + m, cap - m, " ack %u", e->ack);
		m += (size_t)snprintf(text + m, cap - m, " len %u", e->len);
		if (e->nth > 1)
			m += (size_t)snprintf(text + m, cap - m, " · %s #%d",
					      e->flags[1] == '.' ? "SYN-ACK" : "SYN", e->nth);
		if (e->lost)
			snprintf(text + m, cap - m, " · LOST");
		else if (e->arr_ns != UINT64_MAX && e->arr_ns > e->t_ns + 500000)
			snprintf(text + m, cap - m, " · arrives %+.0f ms",
				 (double)(e->arr_ns - e->t_ns) / 1e6);
		return 1;
	case LAB_DROP:
	case LAB_DECIDE:
	case LAB_NOTE:
		figures(fig, sizeof(fig), e);
		if (e->conn)
			m = (size_t)snprintf(text, cap, "c%d: ", e->conn);
		if (e->kind == LAB_DROP && strcmp(e->code, "request_expired") &&
		    strcmp(e->code, "abort_on_overflow"))
			m += (size_t)snprintf(text + m, cap - m, "dropped: ");
		else if (e->kind == LAB_DROP)
			m += (size_t)snprintf(text + m, cap - m, "request gone: ");
		m += (size_t)snprintf(text + m, cap - m, "%s", fig);
		if (!strcmp(e->code, "request_created"))
			m += (size_t)snprintf(text + m, cap - m, " (Q=%u)", e->qq);
		else if (!strcmp(e->code, "child_queued"))
			m += (size_t)snprintf(text + m, cap - m, " (A=%u)", e->qa);
		if (m < cap && e->rule[0])
			m += (size_t)snprintf(text + m, cap - m, " · %s", e->rule);
		if (m < cap)
			add_delta(text, cap, m, e);
		return 1;
	case LAB_FLOOD:
		m = (size_t)snprintf(text, cap, "flood %.1f-%.1f s: %ld spoofed SYNs in, %ld SYN-ACKs",
				     (double)e->from_ns / 1e9, (double)e->from_ns / 1e9 + 1, e->f_in,
				     e->f_synack);
		if (e->f_rst && m < cap)
			m += (size_t)snprintf(text + m, cap - m, ", %ld RSTs", e->f_rst);
		if (m < cap)
			m += (size_t)snprintf(text + m, cap - m, " out");
		for (int w = 0; w < e->n_what && m < cap; w++)
			m += (size_t)snprintf(text + m, cap - m, "%s%ld %s", w ? ", " : " · ",
					      e->what[w].n, e->what[w].code);
		if (m < cap)
			m += (size_t)snprintf(text + m, cap - m, " · Q max %u, now %u, A=%u", e->f_maxq,
					      e->qq, e->qa);
		if (m < cap)
			add_delta(text, cap, m, e);
		return 1;
	case LAB_STATE:
		/* the server's request states repeat its decisions; a client's SYN_SENT and
		 * ESTABLISHED repeat its connect() */
		if (e->at == 0 || ((e->state == SYNQ_TCP_SYN_SENT || e->state == SYNQ_TCP_ESTABLISHED) &&
				   with_connect(res, i)))
			return 0;
		snprintf(text, cap, "c%d %s", e->conn, lab_state_name(e->state));
		return 1;
	case LAB_APP:
		name_of(res, e->at, who, sizeof(who));
		if (e->at == 0)
			snprintf(who, sizeof(who), "server");
		if (e->err)
			m = (size_t)snprintf(text, cap, "%s %s() = -1 %s", who, e->call,
					     lab_errno_name(e->err));
		else
			m = (size_t)snprintf(text, cap, "%s %s() = %ld", who, e->call, e->ret);
		if (e->at == 0 && e->conn)
			m += (size_t)snprintf(text + m, cap - m, " (c%d)", e->conn);
		if (!strcmp(e->call, "connect") && (e->err == EINPROGRESS || !e->err))
			snprintf(text + m, cap - m, " · %s", e->err ? "SYN_SENT" : "ESTABLISHED");
		return 1;
	default:
		return 0;
	}
}

static void rec_cells(const struct lay *L, const struct lab_rec *e, struct row *r)
{
	row_lanes(L, r, "│");
	if (e->kind != LAB_PKT) {
		const char *mark = e->kind == LAB_DROP ? "✖" : e->kind == LAB_DECIDE ? "◆"
				 : e->kind == LAB_NOTE ? "·" : e->kind == LAB_STATE ? "○"
				 : e->kind == LAB_FLOOD ? "≋" : "□";
		r->cell[lane_x(L, lane_of(L, e->at))] = mark;
		return;
	}
	int a = lane_x(L, lane_of(L, e->from)), b = lane_x(L, lane_of(L, e->to));
	int lo = a < b ? a : b, hi = a < b ? b : a;
	for (int i = lo + 1; i < hi; i++)
		r->cell[i] = "─";
	r->cell[a] = "•";
	r->cell[b] = b > a ? "▶" : "◀";
	if (e->lost) {
		int mid = (lo + hi) / 2;
		r->cell[mid] = "✕";
		for (int i = (b > a ? mid + 1 : lo + 1); i < (b > a ? hi : mid); i++)
			r->cell[i] = " ";
		r->cell[b] = "│";
	}
}

int lab_ladder(const struct lab_result *res, FILE *out, int width)
{
	struct lay L;
	const struct lab_params *p = &res->p;
	if (width < 60)
		width = 60;
	L.compact = res->n_clients > 8;
	L.lanes = L.compact ? 2 : res->n_clients + 1;
	L.sp = L.compact ? 10 : res->n_clients <= 6 ? 5 : 4;
	L.width = lane_x(&L, L.lanes - 1) + 2;
	L.text_w = width - TIME_W - L.width - 2;
	if (L.text_w < 20)
		L.text_w = 20;

	fprintf(out, "synq lab %s: server 10.77.0.1:%d listen(%d); clients on 10.77.0.2\n",
		p->experiment, LAB_SRV_PORT, p->backlog);
	fprintf(out, "clients: %d fill (c1-c%d) %g ms apart", p->fill, p->fill, p->fill_gap_ms);
	if (p->burst)
		fprintf(out, ", then %d at once", p->burst);
	if (p->clients_at_s > 0)
		fprintf(out, ", from %g s", p->clients_at_s);
	fprintf(out, "; client->server delay %g ms\n", p->rtt_ms);
	if (p->flood_count > 0)
		fprintf(out, "flood: %ld spoofed SYNs at %g/s from %ld sources (10.77.1.1 ...) from %g s;\n"
			     "       their SYN-ACKs go nowhere; summed per second (≋ rows)\n",
			p->flood_count, p->flood_rate, p->flood_sources, p->flood_at_s);
	if (p->kernel_timers)
		fprintf(out, "timers: on the kernel's timer wheel (HZ=%d, --kernel-timers)\n", LAB_KERNEL_HZ);
	if (p->kernel && strcmp(p->kernel, "6.18"))
		fprintf(out, "listen-queue rules: Linux %s (--kernel)\n", p->kernel);
	fprintf(out, "server: accept() %s", p->accept_mode == LAB_ACCEPT_NEVER ? "never" : "");
	if (p->accept_mode == LAB_ACCEPT_AT)
		fprintf(out, "everything from %g s on", p->accept_sec);
	else if (p->accept_mode == LAB_ACCEPT_EVERY)
		fprintf(out, "once every %g s", p->accept_sec);
	if (p->send_bytes)
		fprintf(out, "; burst clients write %d bytes %g s after connect()", p->send_bytes,
			p->send_sec);
	fprintf(out, "\n");
	for (int i = 0; i < p->n_srv_set; i++)
		fprintf(out, "server sysctl %.80s\n", p->srv_set[i]);
	for (int i = 0; i < p->n_cli_set; i++)
		fprintf(out, "client sysctl %.80s\n", p->cli_set[i]);
	fprintf(out, "(seq/ack relative to each side's ISN; ✖ drop ◆ decision · note ○ state □ call)\n\n");

	/* header */
	struct row r;
	row_lanes(&L, &r, " ");
	char names[MAX_LANES][16];
	for (int l = 0; l < L.lanes; l++) {
		if (l == 0)
			snprintf(names[l], sizeof(names[l]), "srv");
		else if (L.compact)
			snprintf(names[l], sizeof(names[l]), "c1-%d", res->n_clients);
		else
			snprintf(names[l], sizeof(names[l]), "c%d", l);
	}
	/* write names into a char line */
	char hdr[256];
	memset(hdr, ' ', sizeof(hdr));
	for (int l = 0; l < L.lanes; l++) {
		int x = lane_x(&L, l) - ((int)strlen(names[l]) - 1) / 2;
		memcpy(hdr + (x < 0 ? 0 : x), names[l], strlen(names[l]));
	}
	hdr[L.width] = 0;
	fprintf(out, "%*s%s\n", TIME_W, "time (ms)", hdr);

	uint64_t last_t = 0;
	int printed = 0;
	char text[512], tcol[32];
	for (size_t i = 0; i < res->n; i++) {
		const struct lab_rec *e = &res->rec[i];
		if (!lab_rec_text(res, i, text, sizeof(text)))
			continue;
		rec_cells(&L, e, &r);
		if (printed && e->t_ns > last_t + 1000000000ull) {
			struct row g;
			row_lanes(&L, &g, "┆");
			char idle[64];
			snprintf(idle, sizeof(idle), "… %.3f s later …", (double)(e->t_ns - last_t) / 1e9);
			emit(out, "", &g, idle, &L);
		}
		if (!printed || e->t_ns != last_t)
			snprintf(tcol, sizeof(tcol), "%.3f ", (double)e->t_ns / 1e6);
		else
			tcol[0] = 0;
		emit(out, tcol, &r, text, &L);
		last_t = e->t_ns;
		printed = 1;
	}

	fprintf(out, "\nrun ended at %.3f s (%s)\n", (double)res->end_ns / 1e9,
		res->idle ? "nothing pending" : p->duration_s > 0 ? "--duration" : "time bound reached");
	fprintf(out, "\nserver counters that moved:\n");
	int col = 0;
	for (int id = 0; id < SYNQ_COUNTER_COUNT; id++) {
		if (!res->srv_ctr[id])
			continue;
		fprintf(out, "  %-30s %6llu%s", synq_counter_name(id), (unsigned long long)res->srv_ctr[id],
			++col % 2 ? "" : "\n");
	}
	if (col % 2)
		fprintf(out, "\n");
	fprintf(out, "\nss -lnt (server):\nState   Recv-Q  Send-Q  Local Address:Port  Peer Address:Port\n");
	fprintf(out, "LISTEN  %-6u  %-6u  10.77.0.1:%-8d  0.0.0.0:*\n", res->final_a, res->final_m,
		LAB_SRV_PORT);
	fprintf(out, "SYN queue (requests in SYN-RECV): %u\n", res->final_q);
	if (p->flood_count > 0) {
		const struct lab_flood_summary *f = &res->flood;
		fprintf(out, "\nflood: %ld spoofed SYNs delivered\n", f->flood_sent);
		fprintf(out, "legitimate clients: %d of %d connected", f->legit_ok, f->legit_total);
		if (f->legit_ok)
			fprintf(out, "; connect() latency p50 %.1f ms, p99 %.1f ms", f->connect_p50_ms,
				f->connect_p99_ms);
		fprintf(out, "\nqueues: SYN queue at most %u, accept queue at most %u (M=%u)\n", f->max_synq,
			f->max_recvq, res->final_m);
		fprintf(out, "server engine memory: %llu bytes (allocated at creation, never more)\n",
			(unsigned long long)f->peak_bytes);
	}
	fprintf(out, "\nclient sockets at the end:");
	for (int k = 1; k <= res->n_clients; k++) {
		if (k > 1 && (k - 1) % 6 == 0)
			fprintf(out, "\n                          ");
		fprintf(out, " c%d %s", k, res->cli_state[k] ? synq_state_name(res->cli_state[k]) : "closed");
	}
	fprintf(out, "\n");
	return ferror(out) ? -EIO : 0;
}
