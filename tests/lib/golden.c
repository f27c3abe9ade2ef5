/*
 * golden.c — loading the kernel's recordings (see golden.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

void golden_load(struct golden *g, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "tests/scenario/kernel/%s.golden", name);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run the tests from the repository root)", path);
	memset(g, 0, sizeof(*g));
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		struct golden_pkt *p = &g->p[g->np];
		char dir[8], ack[16];
		if (!strncmp(line, "pkt ", 4) && g->np < GOLDEN_MAXP) {
			if (sscanf(line + 4, "%lf %7s %d %7s %ld %15s %ld", &p->t, dir, &p->port, p->flags,
				   &p->seq, ack, &p->len) == 7) {
				p->cs = !strcmp(dir, "C>S");
				p->ack = strcmp(ack, "-") ? atol(ack) : -1;
				g->np++;
			}
		} else if (!strncmp(line, "ctr ", 4) && g->nc < 64) {
			if (sscanf(line + 4, "%3s %47s %ld", g->c[g->nc].side, g->c[g->nc].name,
				   &g->c[g->nc].v) == 3)
				g->nc++;
		} else if (!strncmp(line, "ev ", 3) && g->nev < 64) {
			int n = 0;
			if (sscanf(line + 3, "%lf %n", &g->ev_t[g->nev], &n) == 1) {
				snprintf(g->ev[g->nev], sizeof(g->ev[0]), "%s", line + 3 + n);
				g->nev++;
			}
		}
	}
	fclose(f);
	assert_true(g->np > 0);
	for (int i = 0; i < g->np; i++) {
		const struct golden_pkt *p = &g->p[i];
		if (!p->cs || strcmp(p->flags, "S"))
			continue;
		int seen = 0;
		for (int k = 1; k <= g->nclients; k++)
			seen |= g->port_of[k] == p->port;
		if (!seen && g->nclients < GOLDEN_MAXC)
			g->port_of[++g->nclients] = p->port;
	}
}

double golden_first_syn(const struct golden *g, int port)
{
	for (int i = 0; i < g->np; i++)
		if (g->p[i].port == port && g->p[i].cs && g->p[i].flags[0] == 'S')
			return g->p[i].t;
	return -1;
}

int golden_time_ok(double kernel_rel, double synq_rel, int wheel)
{
	double d = kernel_rel - synq_rel;
	if (wheel)
		return d >= -260.0 && d <= 260.0 + 0.02 * synq_rel;
	return d >= -15.0 && d <= 0.045 * synq_rel + 70.0;
}
