/*
 * synq lab — the listen-queue experiments in virtual time, as a ladder diagram, JSON lines,
 * pcap and SVG. The runner and the renderers live in src/drivers/lab*.c (tests call them
 * in-process); this file is the command line.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "drivers/lab.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: synq lab [EXPERIMENT] [OPTIONS]\n"
		"\n"
		"Replays a listen-queue experiment on synq's virtual network, in virtual time, and shows\n"
		"every packet, what the listener decided and why (rule, counters, queue figures), the\n"
		"sockets' states and the applications' calls. Server 10.77.0.1:8080; clients c1..cN on\n"
		"10.77.0.2 ports 40001..: first the fill clients, then the burst. Defaults reproduce the\n"
		"setups of ../shared/kernel-truth (the kernel's own recordings of the same experiments).\n"
		"\n"
		"experiments (default overflow; --list describes them):\n");
	for (int i = 0; lab_experiments[i].name; i++)
		fprintf(f, "  %-18s %s\n", lab_experiments[i].name, lab_experiments[i].summary);
	fprintf(f,
		"\n"
		"options:\n"
		"  --backlog N          listen() backlog (default 2)\n"
		"  --fill N             clients that connect one after the other and fill the queue\n"
		"  --fill-gap MS        between fill clients, and from the last one to the burst (300)\n"
		"  --burst N            clients that then connect at the same instant\n"
		"  --rtt MS             round-trip time: client->server delay, server->client 0 (50)\n"
		"  --loss [c2s:|s2c:]MASK  drop the k-th packet of that direction when bit k%%64 is set\n"
		"  --accept never|at:SEC|every:SEC\n"
		"                       never; everything from SEC (since the start) on; one every SEC\n"
		"  --send BYTES@SEC     burst clients write BYTES SEC after their connect() call (or as\n"
		"                       soon as connected), then read; fill clients never write\n"
		"  --duration SEC       run this long (default: until nothing is pending, at most %.0f s)\n"
		"  --seed N             random seed (ISNs, secrets), default 1\n"
		"  --set NAME=VALUE     a server sysctl, e.g. --set net.ipv4.tcp_abort_on_overflow=1\n"
		"  --client-set NAME=VALUE  the same for the client host\n"
		"  --clients-at SEC     the first client connects SEC into the run (0; flood 2.3)\n"
		"  --kernel 6.18|3.10   the listen-queue rules of that kernel (net.synq.kernel_rules)\n"
		"  --kernel-timers      timers on Linux's timer wheel at HZ=250 (net.synq.timer_hz=250 on\n"
		"                       the server and the clients), to lay a run over a real capture\n"
		"  --json               JSON lines on stdout instead of the ladder (docs/lab-json.md)\n"
		"  --pcap FILE          the server's packets as a pcap file (tshark -r FILE)\n"
		"  --svg FILE           the ladder and a chart of the queues and ListenOverflows over time\n"
		"  --quiet              no ladder (files only)\n"
		"  --list               describe the experiments\n"
		"  --help               this text\n"
		"\n"
		"flood (any experiment; the flood experiment sets them):\n"
		"  --flood-count N      spoofed SYNs (flood 20000; 0 = none), at most 1000000\n"
		"  --flood-rate N[/s]   SYNs per second (4000)\n"
		"  --flood-sources N    distinct source addresses 10.77.1.1, 10.77.1.2, ... (20000)\n"
		"  --flood-at SEC       the first spoofed SYN arrives SEC into the run (flood 0.3)\n"
		"  --clients-rate N[/s] the fill clients connect N per second (= --fill-gap 1000/N)\n"
		"  Spoofed SYNs enter the server directly; its answers to them go nowhere. The ladder\n"
		"  sums them per second (≋ rows); the end shows the legitimate clients' success rate\n"
		"  and connect() latency (p50, p99), the queues' maxima and the engine's memory; --json\n"
		"  ends with a flood_summary line. Cookies: --set net.ipv4.tcp_syncookies=0|1|2.\n"
		"\n"
		"Timers: by default they fire at their exact deadlines. --kernel-timers models the\n"
		"kernel's wheel at HZ=250 (4 ms jiffies, counted from the virtual clock's 0): a timer of\n"
		"d jiffies fires at the next multiple of its level's granularity strictly after it is\n"
		"due: level 0 (d < 63) 1 jiffy, level 1 (d < 504) 8 (32 ms), level 2 (d < 4032) 64\n"
		"(256 ms), level 3 (d < 32256) 512 (2.048 s), ... So SYN-ACKs are retransmitted after\n"
		"1.0-1.03, 2.016, 4.0-4.26, 8.192, 16.128 s and the request expires 32-34 s after the\n"
		"last one. Requests due in the same slot are handled last-armed first (in either mode,\n"
		"simultaneous timers run in that order): that decides which requests the retry\n"
		"reduction (B13) cuts short, as in kernel-truth S1-prune. Details: docs/lab.md.\n"
		"\n"
		"Clients always wait in read() once connected: an error is reported as read() = -1 ERRNO,\n"
		"followed by one write() (EPIPE) and close(). Exit status: 0, 1 (run or file error),\n"
		"2 (bad usage).\n",
		LAB_IDLE_BOUND_S);
}

static void list(FILE *f)
{
	for (int i = 0; lab_experiments[i].name; i++) {
		const struct lab_experiment *e = &lab_experiments[i];
		fprintf(f, "%s — %s (kernel-truth %s)\n", e->name, e->summary, e->kernel);
		const char *s = e->describe;
		while (*s) {
			const char *nl = strchr(s, '\n');
			size_t n = nl ? (size_t)(nl - s) : strlen(s);
			fprintf(f, "    %.*s\n", (int)n, s);
			s += n + (nl ? 1 : 0);
		}
		fprintf(f, "\n");
	}
}

int cmd_lab(int argc, char **argv)
{
	struct lab_params p;
	char err[256];
	int rc = lab_parse(&p, argc, argv, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "synq lab: %s\n", err);
		return 2;
	}
	if (rc == 1) {
		help(stdout);
		return 0;
	}
	if (rc == 2) {
		list(stdout);
		return 0;
	}
	struct lab_result res;
	rc = lab_run(&p, &res);
	if (rc) {
		fprintf(stderr, "synq lab: %s\n", res.err[0] ? res.err : strerror(-rc));
		return rc == -EINVAL ? 2 : 1;
	}
	int status = 0;
	if (p.json)
		rc = lab_json(&res, stdout);
	else if (!p.quiet)
		rc = lab_ladder(&res, stdout, 100);
	if (rc) {
		fprintf(stderr, "synq lab: writing stdout: %s\n", strerror(-rc));
		status = 1;
	}
	if (p.svg_path) {
		FILE *f = fopen(p.svg_path, "w");
		if (!f) {
			fprintf(stderr, "synq lab: cannot write %s: %s\n", p.svg_path, strerror(errno));
			status = 1;
		} else {
			rc = lab_svg(&res, f);
			if (fclose(f) != 0 || rc) {
				fprintf(stderr, "synq lab: writing %s failed\n", p.svg_path);
				status = 1;
			}
		}
	}
	if (fflush(stdout) != 0)
		status = 1;
	lab_result_free(&res);
	return status;
}
