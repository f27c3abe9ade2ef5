/*
 * test_pcap.c — pcap writer/reader round trips, byte-exact; malformed files.
 *
 * `test_pcap --write-sample DIR` writes DIR/sample_us.pcap and DIR/sample_ns.pcap (the same
 * SAMPLE_COUNT TCP packets of one connection to port 8080) and exits 0; tests/pcap/test_tshark.sh
 * checks them with tshark.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/wire.h"
#include "drivers/pcap.h"

#define SAMPLE_COUNT 7

/* ---- sample packets ------------------------------------------------------------------------ */

#define CLI_IP 0x0a4d0002u /* 10.77.0.2 */
#define SRV_IP 0x0a4d0001u /* 10.77.0.1 */
#define CLI_PORT 40001
#define SRV_PORT 8080

static size_t mk(uint8_t *buf, size_t cap, int from_cli, uint8_t flags, uint32_t seq,
		 uint32_t ack, const char *data, int syn_opts)
{
	struct synq_seg g;
	size_t n;

	memset(&g, 0, sizeof(g));
	g.saddr = from_cli ? CLI_IP : SRV_IP;
	g.daddr = from_cli ? SRV_IP : CLI_IP;
	g.sport = from_cli ? CLI_PORT : SRV_PORT;
	g.dport = from_cli ? SRV_PORT : CLI_PORT;
	g.ttl = 64;
	g.ip_id = 0;
	g.seq = seq;
	g.ack = ack;
	g.flags = flags;
	g.window = from_cli ? 64240 : 65160;
	g.opt.present = OPT_TS;
	g.opt.tsval = seq & 0xffff;
	g.opt.tsecr = ack & 0xffff;
	if (syn_opts) {
		g.opt.present |= OPT_MSS | OPT_SACK_PERM | OPT_WSCALE;
		g.opt.mss = 1460;
		g.opt.wscale = 7;
	}
	g.payload = (const uint8_t *)data;
	g.len = data ? (uint32_t)strlen(data) : 0;
	n = wire_emit(&g, buf, cap);
	assert_true(n > 0);
	return n;
}

struct sample {
	uint64_t t_ns;
	uint8_t pkt[256];
	size_t len;
};

/* A whole connection: handshake, request, response, close from the client. */
static void make_samples(struct sample s[SAMPLE_COUNT])
{
	const uint32_t c = 1000, v = 5000;
	uint64_t t0 = 1700000000ull * 1000000000ull + 123456789ull;
	int i;

	s[0].len = mk(s[0].pkt, sizeof(s[0].pkt), 1, TCP_SYN, c, 0, NULL, 1);
	s[1].len = mk(s[1].pkt, sizeof(s[1].pkt), 0, TCP_SYN | TCP_ACK, v, c + 1, NULL, 1);
	s[2].len = mk(s[2].pkt, sizeof(s[2].pkt), 1, TCP_ACK, c + 1, v + 1, NULL, 0);
	s[3].len = mk(s[3].pkt, sizeof(s[3].pkt), 1, TCP_ACK | TCP_PSH, c + 1, v + 1,
		      "GET / HTTP/1.0\r\n\r\n", 0);
	s[4].len = mk(s[4].pkt, sizeof(s[4].pkt), 0, TCP_ACK | TCP_PSH, v + 1, c + 19,
		      "HTTP/1.0 200 OK\r\n\r\n", 0);
	s[5].len = mk(s[5].pkt, sizeof(s[5].pkt), 1, TCP_ACK | TCP_FIN, c + 19, v + 20, NULL, 0);
	s[6].len = mk(s[6].pkt, sizeof(s[6].pkt), 0, TCP_RST, v + 20, 0, NULL, 0);
	for (i = 0; i < SAMPLE_COUNT; i++)
		s[i].t_ns = t0 + (uint64_t)i * 1500001ull; /* sub-µs digits on purpose */
}

static int write_file(const char *path, int nanosec, const struct sample *s, int n)
{
	struct pcap_writer *w;
	int err = 0, i, rc;

	w = pcap_open(path, nanosec, &err);
	if (!w)
		return err;
	for (i = 0; i < n; i++) {
		rc = pcap_write(w, s[i].t_ns, s[i].pkt, s[i].len);
		if (rc) {
			pcap_close(w);
			return rc;
		}
	}
	return pcap_close(w);
}

static int write_sample(const char *dir)
{
	struct sample s[SAMPLE_COUNT];
	char path[4096];
	int rc;

	make_samples(s);
	snprintf(path, sizeof(path), "%s/sample_us.pcap", dir);
	rc = write_file(path, 0, s, SAMPLE_COUNT);
	if (rc) {
		fprintf(stderr, "%s: %s\n", path, strerror(-rc));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/sample_ns.pcap", dir);
	rc = write_file(path, 1, s, SAMPLE_COUNT);
	if (rc) {
		fprintf(stderr, "%s: %s\n", path, strerror(-rc));
		return 1;
	}
	return 0;
}

/* ---- fixture: a private temporary directory --------------------------------------------- */

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/synq-test-pcap-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/t.pcap", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

struct got {
	int n;
	uint64_t t[16];
	size_t len[16];
	uint8_t pkt[16][70000];
};

static void collect(void *user, uint64_t t_ns, const uint8_t *pkt, size_t len)
{
	struct got *g = user;

	if (g->n < 16) {
		g->t[g->n] = t_ns;
		g->len[g->n] = len;
		memcpy(g->pkt[g->n], pkt, len);
	}
	g->n++;
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static struct got *got_new(void)
{
	struct got *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	return g;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void roundtrip(struct fx *f, int nanosec)
{
	struct sample s[SAMPLE_COUNT];
	struct got *g = got_new();
	uint8_t raw[4096];
	size_t n, expect = 24;
	uint16_t ver;
	uint64_t t;
	int i;

	make_samples(s);
	assert_int_equal(write_file(f->path, nanosec, s, SAMPLE_COUNT), 0);

	/* global header, native byte order */
	n = slurp(f->path, raw, sizeof(raw));
	for (i = 0; i < SAMPLE_COUNT; i++)
		expect += 16 + s[i].len;
	assert_int_equal(n, expect);
	assert_int_equal(rd32(raw), nanosec ? 0xa1b23c4du : 0xa1b2c3d4u);
	memcpy(&ver, raw + 4, 2);
	assert_int_equal(ver, 2);
	memcpy(&ver, raw + 6, 2);
	assert_int_equal(ver, 4);
	assert_int_equal(rd32(raw + 16), 65535);
	assert_int_equal(rd32(raw + 20), 101);
	/* first record header */
	assert_int_equal(rd32(raw + 24), (uint32_t)(s[0].t_ns / 1000000000u));
	assert_int_equal(rd32(raw + 28), nanosec ? (uint32_t)(s[0].t_ns % 1000000000u)
						 : (uint32_t)(s[0].t_ns % 1000000000u / 1000u));
	assert_int_equal(rd32(raw + 32), s[0].len);
	assert_int_equal(rd32(raw + 36), s[0].len);
	assert_memory_equal(raw + 40, s[0].pkt, s[0].len);

	assert_int_equal(pcap_read_all(f->path, collect, g), SAMPLE_COUNT);
	assert_int_equal(g->n, SAMPLE_COUNT);
	for (i = 0; i < SAMPLE_COUNT; i++) {
		t = nanosec ? s[i].t_ns : s[i].t_ns / 1000u * 1000u;
		assert_int_equal(g->t[i], t);
		assert_int_equal(g->len[i], s[i].len);
		assert_memory_equal(g->pkt[i], s[i].pkt, s[i].len);
	}
	free(g);
}

static void test_roundtrip_us(void **state)
{
	roundtrip(*state, 0);
}

static void test_roundtrip_ns(void **state)
{
	roundtrip(*state, 1);
}

static void test_empty_capture(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write_file(f->path, 0, NULL, 0), 0);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), 0);
}

static void test_snaplen_truncates(void **state)
{
	struct fx *f = *state;
	struct pcap_writer *w;
	struct got *g = got_new();
	static uint8_t big[70000];
	uint8_t raw[64];
	size_t i;
	int err;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	w = pcap_open(f->path, 1, &err);
	assert_non_null(w);
	assert_int_equal(pcap_write(w, 5, big, sizeof(big)), 0);
	assert_int_equal(pcap_write(w, 6, NULL, 0), 0);
	assert_int_equal(pcap_close(w), 0);
	slurp(f->path, raw, sizeof(raw));
	assert_int_equal(rd32(raw + 32), 65535);
	assert_int_equal(rd32(raw + 36), 70000);
	assert_int_equal(pcap_read_all(f->path, collect, g), 2);
	assert_int_equal(g->len[0], 65535);
	assert_memory_equal(g->pkt[0], big, 65535);
	assert_int_equal(g->t[0], 5);
	assert_int_equal(g->len[1], 0);
	assert_int_equal(g->t[1], 6);
	free(g);
}

static void swap_words(uint8_t *p, size_t nwords)
{
	size_t i;
	uint8_t t;

	for (i = 0; i < nwords; i++, p += 4) {
		t = p[0];
		p[0] = p[3];
		p[3] = t;
		t = p[1];
		p[1] = p[2];
		p[2] = t;
	}
}

/* A file written on a host of the other byte order reads the same. */
static void test_swapped_byte_order(void **state)
{
	struct fx *f = *state;
	struct sample s[SAMPLE_COUNT];
	struct got *g = got_new();
	static uint8_t raw[4096];
	size_t n, off;
	uint8_t t;
	int i, nanosec;

	make_samples(s);
	for (nanosec = 0; nanosec < 2; nanosec++) {
		assert_int_equal(write_file(f->path, nanosec, s, SAMPLE_COUNT), 0);
		n = slurp(f->path, raw, sizeof(raw));
		swap_words(raw, 1);
		/* version fields are two u16 */
		t = raw[4], raw[4] = raw[5], raw[5] = t;
		t = raw[6], raw[6] = raw[7], raw[7] = t;
		swap_words(raw + 8, 4);
		for (off = 24; off < n;) {
			size_t incl = rd32(raw + off + 8);

			swap_words(raw + off, 4);
			off += 16 + incl;
		}
		spit(f->path, raw, n);
		memset(g, 0, sizeof(*g));
		assert_int_equal(pcap_read_all(f->path, collect, g), SAMPLE_COUNT);
		for (i = 0; i < SAMPLE_COUNT; i++) {
			assert_int_equal(g->t[i], nanosec ? s[i].t_ns : s[i].t_ns / 1000u * 1000u);
			assert_int_equal(g->len[i], s[i].len);
			assert_memory_equal(g->pkt[i], s[i].pkt, s[i].len);
		}
	}
	free(g);
}

static void test_truncated_and_garbage(void **state)
{
	struct fx *f = *state;
	struct sample s[SAMPLE_COUNT];
	struct got *g = got_new();
	static uint8_t raw[4096];
	size_t n;

	make_samples(s);
	assert_int_equal(write_file(f->path, 0, s, 3), 0);
	n = slurp(f->path, raw, sizeof(raw));

	/* cut inside the last packet: the first two are reported, then -EINVAL */
	spit(f->path, raw, n - 1);
	assert_int_equal(pcap_read_all(f->path, collect, g), -EINVAL);
	assert_int_equal(g->n, 2);
	/* cut inside a record header */
	spit(f->path, raw, 24 + 16 + s[0].len + 5);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), -EINVAL);
	/* cut inside the global header; empty file */
	spit(f->path, raw, 10);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), -EINVAL);
	spit(f->path, raw, 0);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), -EINVAL);
	/* garbage */
	memcpy(raw, "this is not a capture file at all, sorry", 40);
	spit(f->path, raw, 40);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), -EINVAL);
	/* incl_len > orig_len */
	assert_int_equal(write_file(f->path, 0, s, 1), 0);
	n = slurp(f->path, raw, sizeof(raw));
	raw[36] = 1, raw[37] = raw[38] = raw[39] = 0;
	spit(f->path, raw, n);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), -EINVAL);
	/* microseconds field out of range */
	assert_int_equal(write_file(f->path, 0, s, 1), 0);
	n = slurp(f->path, raw, sizeof(raw));
	memset(raw + 28, 0xff, 4);
	spit(f->path, raw, n);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), -EINVAL);
	/* another link type (Ethernet) */
	assert_int_equal(write_file(f->path, 0, s, 1), 0);
	n = slurp(f->path, raw, sizeof(raw));
	raw[20] = 1, raw[21] = raw[22] = raw[23] = 0;
	spit(f->path, raw, n);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), -EINVAL);
	free(g);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	struct pcap_writer *w;
	int err = 0;
	char path[160];

	snprintf(path, sizeof(path), "%s/no/such/dir/x.pcap", f->dir);
	assert_null(pcap_open(path, 0, &err));
	assert_int_equal(err, -ENOENT);
	assert_null(pcap_open(NULL, 0, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(pcap_open(path, 0, NULL));
	assert_int_equal(pcap_read_all(path, NULL, NULL), -ENOENT);
	assert_int_equal(pcap_read_all(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(pcap_close(NULL), 0);

	w = pcap_open(f->path, 0, &err);
	assert_non_null(w);
	assert_int_equal(err, 0);
	assert_int_equal(pcap_write(NULL, 0, (const uint8_t *)"x", 1), -EINVAL);
	assert_int_equal(pcap_write(w, 0, NULL, 1), -EINVAL);
	assert_int_equal(pcap_write(w, (UINT32_MAX + 1ull) * 1000000000ull, (const uint8_t *)"x",
				    1),
			 -EOVERFLOW);
	assert_int_equal(pcap_close(w), 0);
	assert_int_equal(pcap_read_all(f->path, NULL, NULL), 0);
}

/* A full disk is reported by pcap_close (buffered writes) or pcap_write. */
static void test_write_error(void **state)
{
	struct pcap_writer *w;
	uint8_t pkt[1500];
	int err = 0, rc = 0, i;

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	w = pcap_open("/dev/full", 0, &err);
	if (!w) {
		assert_int_equal(err, -ENOSPC);
		return;
	}
	memset(pkt, 0, sizeof(pkt));
	for (i = 0; i < 100 && rc == 0; i++)
		rc = pcap_write(w, 0, pkt, sizeof(pkt));
	if (rc)
		assert_int_equal(rc, -ENOSPC);
	assert_int_equal(pcap_close(w), -ENOSPC);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_us, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_ns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snaplen_truncates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped_byte_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test(test_write_error),
	};

	if (argc == 3 && strcmp(argv[1], "--write-sample") == 0)
		return write_sample(argv[2]);
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--write-sample DIR]\n", argv[0]);
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
