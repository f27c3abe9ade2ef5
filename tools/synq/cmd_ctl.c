/*
 * synq ctl — send one request to a running `synq serve` and print the answer (docs/ctl.md):
 *   synq ctl accept pause | resume | always | never | delay:MS | rate:N/s
 *   synq ctl set net.ipv4.tcp_abort_on_overflow=1
 *   synq ctl info | ss | nstat | help
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "drivers/ctl.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: synq ctl [--ctl PATH] REQUEST [ARGS...]\n"
		"\n"
		"Sends REQUEST to a running synq serve through its control socket and prints the\n"
		"answer (docs/ctl.md). Requests:\n"
		"  accept pause|resume        stop accept()ing / go back to the policy\n"
		"  accept always|never|delay:MS|rate:N/s   a new accept policy\n"
		"  set NAME=VALUE             change a sysctl of the running stack\n"
		"  info                       device, addresses, listener, policy, pid\n"
		"  ss, nstat                  the raw answers synq ss and synq nstat format\n"
		"  help                       the requests the server knows\n"
		"\n"
		"  --ctl PATH   the control socket (default: the only one in %s)\n"
		"\n"
		"Exit status: 0; 1 no server, or the server refused the request (its message on\n"
		"stderr); 2 bad usage.\n",
		CTL_DIR);
}

int cmd_ctl(int argc, char **argv)
{
	const char *path = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--ctl") && i + 1 < argc) {
			path = argv[++i];
			continue;
		}
		fprintf(stderr, "synq ctl: unknown option '%s' (synq ctl --help)\n", argv[i]);
		return 2;
	}
	if (i >= argc) {
		fprintf(stderr, "synq ctl: no request (synq ctl --help)\n");
		return 2;
	}
	char line[CTL_LINE_MAX];
	size_t n = 0;
	for (; i < argc; i++) {
		size_t l = strlen(argv[i]);
		if (strchr(argv[i], '\n') || n + l + 2 > sizeof(line)) {
			fprintf(stderr, "synq ctl: request too long or with a newline\n");
			return 2;
		}
		if (n)
			line[n++] = ' ';
		memcpy(line + n, argv[i], l);
		n += l;
	}
	line[n] = 0;
	char err[512];
	char *alloc;
	const char *body;
	int rc = ctl_call(path, line, &alloc, &body, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "synq ctl: %s\n", err);
		return 1;
	}
	fputs(body, stdout);
	free(alloc);
	return fflush(stdout) ? 1 : 0;
}
