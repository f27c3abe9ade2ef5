/*
 * synq — one CLI, one file per subcommand (BearSSL's brssl layout).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "synq.h"
#include "cmds.h"

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
    {"lab", cmd_lab, "the listen-queue experiments in virtual time (ladder, JSON, pcap, SVG)"},
    {"cookie", cmd_cookie, "decode a SYN cookie (synq cookie decode --help)"},
    {"serve", cmd_serve, "serve real clients on a TUN device (synq serve --help)"},
    {"ss", cmd_ss, "sockets of a running synq serve, as ss -tan / ss -lnt"},
    {"nstat", cmd_nstat, "counters of a running synq serve, as nstat"},
    {"ctl", cmd_ctl, "send a request to a running synq serve (accept pause...)"},
    {"drill", cmd_drill, "run packetdrill scripts against synq in virtual time"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: synq COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "  %-8s %s\n", "version", "print the version");
	fprintf(f, "\n'synq COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("synq %s\n", SYNQ_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "synq: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
