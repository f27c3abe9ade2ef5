/*
 * synq demo — the classic listen-queue overflow on the virtual network, as the kernel-truth
 * harness ran it (../shared/kernel-truth, scenario S1): a server listens with backlog 2 and never
 * accepts; two clients fill the accept queue, then four connect at once over a link that delays
 * client->server packets by 50 ms. Prints a ladder of every packet, the queue figures and the
 * counters. (The lab issue turns this into `synq lab`.)
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
#include "drivers/pcap.h"
#include "drivers/trace.h"
#include "drivers/vnet.h"

#define MS 1000000ull

struct demo {
	struct vnet *net;
	synq_stack *srv, *cli;
	int srv_node;
	struct trace_flows flows;
	int quiet;
	uint64_t t0;
};

static void demo_rand(void *user, void *buf, size_t len)
{
	uint64_t *st = user;
	uint8_t *p = buf;
	while (len--) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		*p++ = (uint8_t)(*st >> 56);
	}
}

static void tap(void *user, int event, int from, int to, const uint8_t *pkt, size_t len,
		uint64_t now_ns)
{
	struct demo *d = user;
	if (d->quiet || event != VNET_DELIVERED)
		return;
	char line[512];
	trace_format_rel(&d->flows, line, sizeof(line), pkt, len);
	const char *dir = to == d->srv_node ? "C>S" : "S>C";
	printf("%10.3f  %s  %s\n", (double)(now_ns - d->t0) / 1e6, dir, line);
}

static void print_listener(struct demo *d, int lfd, const char *when)
{
	struct synq_sock_info in;
	if (synq_sock_info(d->srv, lfd, &in) != 0)
		return;
	printf("%10.3f  ---  %s: LISTEN Recv-Q %u Send-Q %u  SYN queue %u (young %u)\n",
	       (double)(vnet_now(d->net) - d->t0) / 1e6, when, in.recvq, in.sendq, in.synq_len,
	       in.young);
}

static int usage(FILE *f)
{
	fprintf(f, "usage: synq demo [--quiet] [--pcap FILE] [--set NAME=VALUE]...\n"
		   "  Replays the accept-queue overflow (backlog 2, 2 fill clients, burst of 4)\n"
		   "  in virtual time and prints every packet as the server sees it.\n"
		   "  --set applies a sysctl to the server, e.g. --set net.ipv4.tcp_abort_on_overflow=1\n");
	return f == stdout ? 0 : 2;
}

static synq_stack *new_stack(const char *addr, uint64_t *seed, char **sets, int nsets,
			     uint64_t now)
{
	struct synq_config cfg;
	synq_config_init(&cfg);
	char a[64];
	snprintf(a, sizeof(a), "net.synq.local_addr=%s", addr);
	synq_config_set(&cfg, a);
	synq_config_set(&cfg, "net.synq.max_sockets=64");
	synq_config_set(&cfg, "net.synq.max_requests=256");
	for (int i = 0; i < nsets; i++) {
		int rc = synq_config_set(&cfg, sets[i]);
		if (rc) {
			fprintf(stderr, "synq demo: --set %s: %s\n", sets[i], strerror(-rc));
			return NULL;
		}
	}
	cfg.rand = demo_rand;
	cfg.rand_user = seed;
	synq_stack *s = NULL;
	if (synq_stack_new(&cfg, now, &s) != 0)
		return NULL;
	return s;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {{"quiet", no_argument, 0, 'q'},
					     {"pcap", required_argument, 0, 'p'},
					     {"set", required_argument, 0, 's'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	char *sets[32];
	int nsets = 0, c;
	const char *pcap = NULL;
	struct demo d;
	memset(&d, 0, sizeof(d));
	optind = 1;
	while ((c = getopt_long(argc, argv, "qp:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			d.quiet = 1;
			break;
		case 'p':
			pcap = optarg;
			break;
		case 's':
			if (nsets == 32) {
				fprintf(stderr, "synq demo: too many --set\n");
				return 2;
			}
			sets[nsets++] = optarg;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (optind != argc)
		return usage(stderr);

	uint64_t seed_s = 1, seed_c = 2;
	d.t0 = 1000 * MS;
	d.srv = new_stack("10.77.0.1", &seed_s, sets, nsets, d.t0);
	d.cli = new_stack("10.77.0.2", &seed_c, NULL, 0, d.t0);
	d.net = vnet_new(d.t0);
	if (!d.srv || !d.cli || !d.net) {
		fprintf(stderr, "synq demo: cannot create the virtual network\n");
		return 1;
	}
	trace_flows_init(&d.flows);
	d.srv_node = vnet_add(d.net, d.srv, "server");
	int cn = vnet_add(d.net, d.cli, "client");
	vnet_link(d.net, cn, d.srv_node, 50 * MS, 0); /* the harness' 50 ms client egress delay */
	vnet_set_tap(d.net, tap, &d);
	if (pcap && vnet_pcap(d.net, d.srv_node, pcap, 0) != 0) {
		fprintf(stderr, "synq demo: cannot write %s\n", pcap);
		return 1;
	}

	int lfd = synq_socket(d.srv);
	struct synq_addr la = {0x0a4d0001, 8080};
	synq_bind(d.srv, lfd, &la);
	synq_listen(d.srv, lfd, 2);
	printf("# server 10.77.0.1:8080 listen(backlog 2), never accept()s; client->server delay 50 ms\n");
	printf("#     t_ms  dir  packet (relative seq/ack)\n");
	print_listener(&d, lfd, "listening");

	int fds[6];
	uint16_t ports[6] = {40001, 40002, 40011, 40012, 40013, 40014};
	uint64_t start[6] = {0, 300, 1000, 1000, 1000, 1000};
	for (int i = 0; i < 6; i++) {
		vnet_run_until(d.net, d.t0 + start[i] * MS);
		if (i == 2)
			printf("%10.3f  ---  burst of 4 connects\n", (double)start[i]);
		fds[i] = synq_socket(d.cli);
		struct synq_addr ca = {0x0a4d0002, ports[i]};
		synq_bind(d.cli, fds[i], &ca);
		struct synq_addr sa = {0x0a4d0001, 8080};
		synq_connect(d.cli, fds[i], &sa, vnet_now(d.net));
	}
	vnet_run_until(d.net, d.t0 + 1300 * MS);
	print_listener(&d, lfd, "after the burst");
	vnet_run_until(d.net, d.t0 + 70000 * MS);
	print_listener(&d, lfd, "at 70 s");

	printf("\nclients (10.77.0.2):\n");
	for (int i = 0; i < 6; i++) {
		struct synq_sock_info in;
		synq_sock_info(d.cli, fds[i], &in);
		printf("  :%u  %s\n", ports[i], synq_state_name(in.state));
	}
	printf("\nserver counters (nonzero):\n");
	for (int id = 0; id < SYNQ_COUNTER_COUNT; id++) {
		uint64_t v = synq_counter(d.srv, id);
		if (v)
			printf("  %-32s %llu\n", synq_counter_name(id), (unsigned long long)v);
	}
	int rc = 0;
	if (pcap && vnet_pcap(d.net, d.srv_node, NULL, 0) != 0)
		rc = 1;
	vnet_free(d.net);
	synq_stack_free(d.srv);
	synq_stack_free(d.cli);
	return rc;
}
