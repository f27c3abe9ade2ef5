/*
 * synq nstat — the counters of a running `synq serve`, as nstat prints the kernel's: names
 * exactly the kernel's (TcpExtListenOverflows...), the counters that changed since the last call
 * (the history is kept by the server, one per stack), absolute values with -a, zeros with -z.
 * synq's own counters start with Synq. As nstat, TcpCurrEstab (a gauge) is never printed. Reads the control socket ("nstat" request, docs/ctl.md).
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "drivers/ctl.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: synq nstat [-a] [-z] [-s] [--json] [--reset] [--ctl PATH]\n"
		"\n"
		"The counters of a running synq serve, as nstat prints the kernel's: by default the\n"
		"increments since the previous call (the first call: since start), non-zero only.\n"
		"\n"
		"  -a, --ignore     absolute values, not increments\n"
		"  -z, --zeros      also the counters that are zero\n"
		"  -s, --no-update  do not update the history\n"
		"  -r, --reset      reset the history first (so this call shows everything since start)\n"
		"  --json           {\"kernel\":{\"NAME\":VALUE,...}} as nstat --json\n"
		"  --ctl PATH       the control socket (default: the only one in %s)\n"
		"\n"
		"Exit status: 0; 1 no server or an error; 2 bad usage.\n",
		CTL_DIR);
}

/* nstat never prints these (gauges and constants: its useless_numbers[]) */
static int useless(const char *name)
{
	static const char *const u[] = {"IpForwarding", "IpDefaultTTL", "TcpRtoAlgorithm",
					"TcpRtoMin", "TcpRtoMax", "TcpMaxConn", "TcpCurrEstab"};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (!strcmp(name, u[i]))
			return 1;
	return 0;
}

int cmd_nstat(int argc, char **argv)
{
	int abs = 0, zeros = 0, json = 0, reset = 0, noupdate = 0;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			help(stdout);
			return 0;
		} else if (!strcmp(o, "--json")) {
			json = 1;
		} else if (!strcmp(o, "--reset")) {
			reset = 1;
		} else if (!strcmp(o, "--ignore")) {
			abs = 1;
		} else if (!strcmp(o, "--zeros")) {
			zeros = 1;
		} else if (!strcmp(o, "--no-update")) {
			noupdate = 1;
		} else if (!strcmp(o, "--ctl")) {
			if (++i >= argc) {
				fprintf(stderr, "synq nstat: --ctl needs a path (synq nstat --help)\n");
				return 2;
			}
			path = argv[i];
		} else if (o[0] == '-' && o[1] && o[1] != '-') {
			for (const char *c = o + 1; *c; c++) {
				switch (*c) {
				case 'a': abs = 1; break;
				case 'z': zeros = 1; break;
				case 'r': reset = 1; break;
				case 's': noupdate = 1; break;
				default:
					fprintf(stderr, "synq nstat: unknown option '-%c' (synq nstat --help)\n",
						*c);
					return 2;
				}
			}
		} else {
			fprintf(stderr, "synq nstat: unknown argument '%s' (synq nstat --help)\n", o);
			return 2;
		}
	}
	char req[64];
	snprintf(req, sizeof(req), "nstat%s%s", noupdate ? " noupdate" : "", reset ? " reset" : "");
	char err[512];
	char *alloc;
	const char *body;
	int rc = ctl_call(path, req, &alloc, &body, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "synq nstat: %s\n", err);
		return 1;
	}
	printf(json ? "{\"kernel\":{" : "#kernel\n");
	int first = 1;
	char *save = NULL;
	for (char *line = strtok_r((char *)body, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long a, d;
		if (sscanf(line, "%63s %llu %llu", name, &a, &d) != 3)
			continue;
		if (useless(name))
			continue;
		unsigned long long v = abs ? a : d;
		if (!v && !zeros)
			continue;
		if (json)
			printf("%s\"%s\":%llu", first ? "" : ",", name, v);
		else
			printf("%-32s%-16llu%6.1f\n", name, v, 0.0);
		first = 0;
	}
	if (json)
		printf("}}\n");
	free(alloc);
	return fflush(stdout) ? 1 : 0;
}
