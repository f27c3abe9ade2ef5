/*
 * synq cookie decode — what a SYN cookie carries and whether it would still validate
 * (SPEC B33-B35), for users debugging cookies. Needs the stack's secrets
 * (synq_stack_cookie_secrets(): 48 bytes, given here as 96 hex digits).
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synq.h"
#include "cmds.h"
#include "core/wire.h"

static int usage(FILE *f)
{
	fprintf(f,
		"usage: synq cookie decode --secrets HEX --client IP:PORT --server IP:PORT\n"
		"                          --isn N --cookie N [--tsval N] [--time SEC] [--rules 6.18|3.10]\n"
		"  Decodes the cookie of a SYN-ACK as the kernel checks the ACK that echoes it.\n"
		"  --secrets  the stack's 48 secret bytes as 96 hex digits (synq_stack_cookie_secrets)\n"
		"  --client   the SYN's source, --server its destination\n"
		"  --isn      the SYN's sequence number (the client's ISN), decimal or 0x hex\n"
		"  --cookie   the SYN-ACK's sequence number\n"
		"  --tsval    the SYN-ACK's TSval, to decode the options in its low 6 bits (B35)\n"
		"  --time     the caller-clock time of the check, in seconds (default 0)\n"
		"  --rules    the kernel's rules: 6.18 (4-entry MSS table, 2 minutes) or 3.10\n"
		"exit status: 0 the cookie would validate, 1 it would not, 2 bad usage\n");
	return f == stdout ? 0 : 2;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_ep(const char *s, struct synq_addr *a)
{
	char ip[32];
	const char *c = strrchr(s, ':');
	uint32_t port;
	if (!c || (size_t)(c - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(c - s));
	ip[c - s] = 0;
	if (wire_ip_parse(ip, &a->ip) || parse_u32(c + 1, &port) || !port || port > 65535)
		return -1;
	a->port = (uint16_t)port;
	return 0;
}

static int parse_hex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char b[3] = {s[2 * i], s[2 * i + 1], 0};
		char *end;
		long v = strtol(b, &end, 16);
		if (*end)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int cmd_cookie(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "decode") != 0) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
			return usage(stdout);
		fprintf(stderr, "synq cookie: expected the subcommand 'decode'\n");
		return usage(stderr);
	}
	static const struct option opts[] = {
	    {"secrets", required_argument, 0, 's'}, {"client", required_argument, 0, 'c'},
	    {"server", required_argument, 0, 'S'},  {"isn", required_argument, 0, 'i'},
	    {"cookie", required_argument, 0, 'k'},  {"tsval", required_argument, 0, 't'},
	    {"time", required_argument, 0, 'T'},    {"rules", required_argument, 0, 'r'},
	    {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
	uint8_t sec[SYNQ_COOKIE_SECRET_BYTES];
	struct synq_addr cli = {0, 0}, srv = {0, 0};
	uint32_t isn = 0, cookie = 0, tsval = 0;
	int have = 0, has_ts = 0, rules = 618, c;
	double when = 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *bad = NULL;
		switch (c) {
		case 's':
			if (parse_hex(optarg, sec, sizeof(sec)))
				bad = "--secrets wants 96 hex digits";
			have |= 1;
			break;
		case 'c':
			if (parse_ep(optarg, &cli))
				bad = "--client wants IP:PORT";
			have |= 2;
			break;
		case 'S':
			if (parse_ep(optarg, &srv))
				bad = "--server wants IP:PORT";
			have |= 4;
			break;
		case 'i':
			if (parse_u32(optarg, &isn))
				bad = "--isn wants a 32-bit number";
			have |= 8;
			break;
		case 'k':
			if (parse_u32(optarg, &cookie))
				bad = "--cookie wants a 32-bit number";
			have |= 16;
			break;
		case 't':
			if (parse_u32(optarg, &tsval))
				bad = "--tsval wants a 32-bit number";
			has_ts = 1;
			break;
		case 'T': {
			char *end;
			when = strtod(optarg, &end);
			if (*end || when < 0 || when > 1e9)
				bad = "--time wants seconds >= 0";
			break;
		}
		case 'r':
			if (!strcmp(optarg, "6.18") || !strcmp(optarg, "618"))
				rules = 618;
			else if (!strcmp(optarg, "3.10") || !strcmp(optarg, "310"))
				rules = 310;
			else
				bad = "--rules wants 6.18 or 3.10";
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
		if (bad) {
			fprintf(stderr, "synq cookie decode: %s\n", bad);
			return 2;
		}
	}
	if (optind != argc || have != 31) {
		fprintf(stderr, "synq cookie decode: --secrets, --client, --server, --isn and --cookie "
				"are required\n");
		return 2;
	}
	struct synq_cookie_info ci;
	if (synq_cookie_decode(sec, rules, &cli, &srv, isn, cookie, has_ts ? &tsval : NULL,
			       (uint64_t)(when * 1e9), &ci)) {
		fprintf(stderr, "synq cookie decode: invalid arguments\n");
		return 2;
	}
	printf("counter    %u (age %u minute step%s)\n", ci.counter, ci.age, ci.age == 1 ? "" : "s");
	if (ci.mss)
		printf("mss index  %u -> MSS %u\n", ci.mss_index, ci.mss);
	else
		printf("mss index  0x%06x: not in the table\n", ci.mss_index);
	if (ci.has_ts) {
		if (ci.wscale >= 0)
			printf("options    wscale %d, SACK %s, ECN %s\n", ci.wscale, ci.sack ? "yes" : "no",
			       ci.ecn ? "yes" : "no");
		else
			printf("options    no window scaling, SACK %s, ECN %s\n", ci.sack ? "yes" : "no",
			       ci.ecn ? "yes" : "no");
	} else {
		printf("options    none (no TSval: window scaling, SACK and ECN are lost, B35)\n");
	}
	printf("validates  %s\n", ci.valid ? "yes" : "no");
	return ci.valid ? 0 : 1;
}
