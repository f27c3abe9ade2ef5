/*
 * synq drill — packetdrill scripts against synq in virtual time (docs/drill.md). The parser
 * and the runner live in src/drivers/drill*.c (tests call them in-process); this file is the
 * command line.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "core/wire.h"
#include "drivers/drill.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: synq drill [OPTIONS] SCRIPT...\n"
		"\n"
		"Runs packetdrill scripts against a fresh synq stack each, in virtual time (a script that\n"
		"waits 63 s finishes at once): `<` packets are injected, `>` packets are expected from\n"
		"the stack, system calls go to synq's socket API, `sysctl -q name=value` commands to\n"
		"the stack's knobs. Prints one line per failing script (file:line: what was expected,\n"
		"what happened) and ends with \"N passed, N failed\"; exit status 0 only if all passed.\n"
		"\n"
		"options:\n"
		"  --tolerance-us N       timing tolerance in microseconds (default 4000)\n"
		"  --tolerance-percent P  plus P%% of the gap since the previous event (default 0;\n"
		"                         packetdrill's default is 12.5)\n"
		"  --set NAME=VALUE       a knob set before the script starts (repeatable), e.g.\n"
		"                         --set net.ipv4.tcp_synack_retries=3\n"
		"  --local-ip A           the stack's address (default 192.168.0.1)\n"
		"  --remote-ip A          the scripted peer's address (default 192.0.2.1)\n"
		"  --seed N               random seed of the stack (ISNs, secrets; default 1)\n"
		"  --verbose              trace every event and packet\n"
		"  --help                 this text\n"
		"\n"
		"The supported language and the differences from packetdrill: docs/drill.md.\n");
}

static int usage_err(const char *msg, const char *arg)
{
	fprintf(stderr, "synq drill: %s%s%s (synq drill --help)\n", msg, arg ? ": " : "",
		arg ? arg : "");
	return 2;
}

int cmd_drill(int argc, char **argv)
{
	struct drill_opts o;
	drill_opts_init(&o);
	char **scripts = calloc((size_t)argc + 1, sizeof(*scripts));
	if (!scripts)
		return 1;
	int ns = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			help(stdout);
			free(scripts);
			return 0;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o.verbose = 1;
		} else if (!strcmp(a, "--tolerance-us") || !strcmp(a, "--tolerance_usecs")) {
			if (!v || (o.tolerance_us = strtoll(v, &end, 10)) < 0 || *end)
				return free(scripts), usage_err("bad --tolerance-us", v);
			i++;
		} else if (!strcmp(a, "--tolerance-percent") || !strcmp(a, "--tolerance_percent")) {
			if (!v || (o.tolerance_pct = strtod(v, &end)) < 0 || *end)
				return free(scripts), usage_err("bad --tolerance-percent", v);
			i++;
		} else if (!strcmp(a, "--set")) {
			if (!v || !strchr(v, '='))
				return free(scripts), usage_err("--set needs NAME=VALUE", v);
			if (o.n_sets == DRILL_MAX_SETS)
				return free(scripts), usage_err("too many --set", NULL);
			o.sets[o.n_sets++] = v;
			i++;
		} else if (!strcmp(a, "--local-ip") || !strcmp(a, "--remote-ip")) {
			uint32_t ip;
			if (!v || wire_ip_parse(v, &ip))
				return free(scripts), usage_err("bad address", v);
			if (a[2] == 'l')
				o.local_ip = ip;
			else
				o.remote_ip = ip;
			i++;
		} else if (!strcmp(a, "--seed")) {
			if (!v)
				return free(scripts), usage_err("--seed needs a number", NULL);
			o.seed = strtoull(v, &end, 0);
			if (*end)
				return free(scripts), usage_err("bad --seed", v);
			i++;
		} else if (a[0] == '-' && a[1]) {
			return free(scripts), usage_err("unknown option", a);
		} else {
			scripts[ns++] = argv[i];
		}
	}
	if (!ns) {
		free(scripts);
		return usage_err("no script given", NULL);
	}
	int passed = 0, failed = 0;
	for (int i = 0; i < ns; i++) {
		struct drill_result r;
		if (drill_run_file(scripts[i], &o, &r) == 0) {
			passed++;
			if (o.verbose)
				printf("%s: ok (%d events)\n", scripts[i], r.events);
		} else {
			failed++;
			printf("%s:%d: %s\n", scripts[i], r.line, r.msg);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	free(scripts);
	return failed ? 1 : 0;
}
