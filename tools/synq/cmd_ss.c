/*
 * synq ss — the sockets of a running `synq serve`, as `ss -tan` / `ss -lnt` show the kernel's:
 * State Recv-Q Send-Q Local Address:Port Peer Address:Port. For LISTEN Recv-Q is the accept-queue
 * length and Send-Q the clamped backlog (B44); -a adds the SYN-RECV requests (B45), the
 * listeners and TIME-WAIT; -e adds what ss cannot show: SYN-queue length, young requests, this
 * listener's overflows and drops. Reads the control socket ("ss" request, docs/ctl.md).
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "drivers/ctl.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: synq ss [-l] [-a] [-n] [-t] [-e] [-H] [--json] [--ctl PATH]\n"
		"\n"
		"The sockets of a running synq serve, with ss's columns. Without -l or -a: connections\n"
		"(not LISTEN, SYN-RECV, TIME-WAIT), as ss shows by default.\n"
		"\n"
		"  -l, --listening  only listeners: Recv-Q = accept queue length, Send-Q = backlog\n"
		"  -a, --all        everything: listeners, SYN-RECV requests, connections, TIME-WAIT\n"
		"  -n, --numeric    accepted (addresses are always numeric)\n"
		"  -t, --tcp        accepted (synq only has TCP)\n"
		"  -e, --extended   listeners: syn_queue (requests), young, overflows and drops of\n"
		"                   this listener; requests: timer, retransmissions, acked\n"
		"  -H, --no-header  no header line\n"
		"  --json           a JSON array of objects (every field, whatever -e says)\n"
		"  --ctl PATH       the control socket (default: the only one in %s)\n"
		"\n"
		"Short options combine (-lnt, -tan). Exit status: 0; 1 no server or an error;\n"
		"2 bad usage.\n",
		CTL_DIR);
}

#define MAXF 16
struct rec {
	int req;
	char *k[MAXF], *v[MAXF];
	int n;
};

static const char *get(const struct rec *r, const char *k)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->k[i], k))
			return r->v[i];
	return "";
}

static void parse_line(char *line, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	char *save = NULL;
	char *w = strtok_r(line, " ", &save);
	r->req = w && !strcmp(w, "req");
	while ((w = strtok_r(NULL, " ", &save)) && r->n < MAXF) {
		char *eq = strchr(w, '=');
		if (!eq)
			continue;
		*eq = 0;
		r->k[r->n] = w;
		r->v[r->n] = eq + 1;
		r->n++;
	}
}

/* "0.0.0.0:0" as a peer is "0.0.0.0:*" */
static void peer(const char *remote, char *buf, size_t cap)
{
	size_t n = strlen(remote);
	if (n >= 2 && !strcmp(remote + n - 2, ":0"))
		snprintf(buf, cap, "%.*s:*", (int)(n - 2), remote);
	else
		snprintf(buf, cap, "%s", remote);
}

int cmd_ss(int argc, char **argv)
{
	int listening = 0, all = 0, ext = 0, noheader = 0, json = 0;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			help(stdout);
			return 0;
		} else if (!strcmp(o, "--json")) {
			json = 1;
		} else if (!strcmp(o, "--ctl")) {
			if (++i >= argc) {
				fprintf(stderr, "synq ss: --ctl needs a path (synq ss --help)\n");
				return 2;
			}
			path = argv[i];
		} else if (!strcmp(o, "--listening")) {
			listening = 1;
		} else if (!strcmp(o, "--all")) {
			all = 1;
		} else if (!strcmp(o, "--extended")) {
			ext = 1;
		} else if (!strcmp(o, "--no-header")) {
			noheader = 1;
		} else if (!strcmp(o, "--numeric") || !strcmp(o, "--tcp")) {
		} else if (o[0] == '-' && o[1] && o[1] != '-') {
			for (const char *c = o + 1; *c; c++) {
				switch (*c) {
				case 'l': listening = 1; break;
				case 'a': all = 1; break;
				case 'e': ext = 1; break;
				case 'H': noheader = 1; break;
				case 'n': case 't': break;
				default:
					fprintf(stderr, "synq ss: unknown option '-%c' (synq ss --help)\n", *c);
					return 2;
				}
			}
		} else {
			fprintf(stderr, "synq ss: unknown argument '%s' (synq ss --help)\n", o);
			return 2;
		}
	}
	char err[512];
	char *alloc;
	const char *body;
	int rc = ctl_call(path, "ss", &alloc, &body, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "synq ss: %s\n", err);
		return 1;
	}
	if (!noheader && !json)
		printf("%-10s %-6s %-6s %21s %-21s\n", "State", "Recv-Q", "Send-Q",
		       "Local Address:Port", "Peer Address:Port");
	if (json)
		printf("[");
	int first = 1;
	char *save = NULL;
	for (char *line = strtok_r((char *)body, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct rec r;
		parse_line(line, &r);
		const char *st = get(&r, "state");
		int is_listen = !strcmp(st, "LISTEN");
		int shown;
		if (all)
			shown = 1;
		else if (listening)
			shown = is_listen;
		else
			shown = !is_listen && !r.req && strcmp(st, "TIME-WAIT") && strcmp(st, "CLOSE") &&
				strcmp(st, "SYN-RECV");
		if (!shown)
			continue;
		char pr[32];
		peer(get(&r, "remote"), pr, sizeof(pr));
		const char *rq = r.req ? "0" : get(&r, "recvq");
		const char *sq = r.req ? "0" : get(&r, "sendq");
		if (json) {
			printf("%s\n {\"state\":\"%s\",\"recv_q\":%s,\"send_q\":%s,\"local\":\"%s\","
			       "\"peer\":\"%s\",\"fd\":%s",
			       first ? "" : ",", st, rq, sq, get(&r, "local"), pr, get(&r, "fd"));
			if (r.req)
				printf(",\"request\":true,\"timeouts\":%s,\"retrans\":%s,\"acked\":%s,"
				       "\"expires_ms\":%s}",
				       get(&r, "timeouts"), get(&r, "retrans"), get(&r, "acked"),
				       get(&r, "expires_ms"));
			else if (is_listen)
				printf(",\"syn_queue\":%s,\"young\":%s,\"overflows\":%s,\"drops\":%s}",
				       get(&r, "synq"), get(&r, "young"), get(&r, "overflows"),
				       get(&r, "drops"));
			else
				printf(",\"orphan\":%s,\"timer_ms\":%s,\"retrans\":%s}", get(&r, "orphan"),
				       get(&r, "timer_ms"), get(&r, "retrans"));
			first = 0;
			continue;
		}
		printf("%-10s %-6s %-6s %21s %-21s", st, rq, sq, get(&r, "local"), pr);
		if (ext) {
			if (r.req)
				printf(" timer:(on,%sms,%s) acked:%s", get(&r, "expires_ms"),
				       get(&r, "retrans"), get(&r, "acked"));
			else if (is_listen)
				printf(" syn_queue:%s young:%s overflows:%s drops:%s", get(&r, "synq"),
				       get(&r, "young"), get(&r, "overflows"), get(&r, "drops"));
			else if (strcmp(get(&r, "timer_ms"), "-1"))
				printf(" timer:(on,%sms,%s)%s", get(&r, "timer_ms"), get(&r, "retrans"),
				       strcmp(get(&r, "orphan"), "1") ? "" : " orphan");
		}
		printf("\n");
	}
	if (json)
		printf("%s]\n", first ? "" : "\n");
	free(alloc);
	return fflush(stdout) ? 1 : 0;
}
