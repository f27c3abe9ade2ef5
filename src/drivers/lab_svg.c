/*
 * lab_svg.c — `synq lab --svg FILE`: a chart of the listener's queues over time (accept queue A,
 * SYN queue Q, the bound M, cumulative ListenOverflows on its own axis), then the ladder diagram
 * (one lane per client, arrows for packets, marks for decisions, states and calls, the same text
 * as the terminal ladder, idle stretches collapsed). Plain SVG 1.1, well-formed XML.
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/lab.h"

#include <errno.h>
#include <string.h>

#define W 1200
#define CH 240      /* chart height */
#define CX0 70      /* chart plot area */
#define CX1 (W - 80)
#define CY0 60
#define CY1 (CH - 30)
#define ROW 16
#define LANE0 110   /* x of the server lane */
#define TEXT_GAP 24

static void xml(FILE *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", o); break;
		case '<': fputs("&lt;", o); break;
		case '>': fputs("&gt;", o); break;
		case '"': fputs("&quot;", o); break;
		default: fputc(*s, o);
		}
	}
}

static double xt(const struct lab_result *r, uint64_t t)
{
	double end = r->end_ns ? (double)r->end_ns : 1.0;
	return CX0 + (CX1 - CX0) * ((double)t / end);
}

static void chart(const struct lab_result *r, FILE *o)
{
	uint32_t maxq = 1;
	uint64_t ovf = 0, maxo = 1;
	for (size_t i = 0; i < r->n; i++) {
		const struct lab_rec *e = &r->rec[i];
		if (e->kind == LAB_QUEUE) {
			maxq = e->qa > maxq ? e->qa : maxq;
			maxq = e->qq > maxq ? e->qq : maxq;
			maxq = e->qm + 1 > maxq ? e->qm + 1 : maxq;
		}
		for (int d = 0; d < e->n_delta; d++)
			if (e->delta[d].id == SYNQ_C_LISTEN_OVERFLOWS)
				ovf += (uint64_t)e->delta[d].n;
	}
	maxo = ovf > 1 ? ovf : 1;
	double sy = (double)(CY1 - CY0) / maxq, so = (double)(CY1 - CY0) / (double)maxo;
	fprintf(o, "<g id=\"chart\" font-family=\"monospace\" font-size=\"11\">\n");
	fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"13\">listener 10.77.0.1:%d over time: accept "
		   "queue A, SYN queue Q, bound M; ListenOverflows (right axis)</text>\n",
		CX0, CY0 - 24, LAB_SRV_PORT);
	fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n",
		CX0, CY0, CX1 - CX0, CY1 - CY0);
	uint32_t step = maxq > 10 ? (maxq + 9) / 10 : 1;
	for (uint32_t v = 0; v <= maxq; v += step)
		fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%u</text>\n", CX0 - 6,
			CY1 - v * sy + 4, v);
	fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\" fill=\"#c0392b\">%llu</text>\n",
		CX1 + 6, CY0 + 4, (unsigned long long)maxo);
	fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\" fill=\"#c0392b\">0</text>\n", CX1 + 6,
		CY1 + 4);
	for (int k = 0; k <= 10; k++) {
		uint64_t t = r->end_ns / 10 * (uint64_t)k;
		fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.1f s</text>\n", xt(r, t),
			CY1 + 16, (double)t / 1e9);
	}
	/* step lines: A, Q, M from the queue records; overflows from the decisions' counters */
	static const struct {
		int which;
		const char *color, *name;
	} series[] = {{0, "#2471a3", "accept queue A (Recv-Q)"},
		      {1, "#e67e22", "SYN queue Q"},
		      {2, "#7f8c8d", "bound M (Send-Q)"},
		      {3, "#c0392b", "ListenOverflows (cumulative)"}};
	for (size_t s = 0; s < sizeof(series) / sizeof(series[0]); s++) {
		fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
			series[s].color, series[s].which == 2 ? " stroke-dasharray=\"4 3\"" : "");
		double last_y = CY1;
		uint64_t cum = 0;
		fprintf(o, "%d,%d", CX0, CY1);
		for (size_t i = 0; i < r->n; i++) {
			const struct lab_rec *e = &r->rec[i];
			double y = last_y;
			if (series[s].which == 3) {
				for (int d = 0; d < e->n_delta; d++)
					if (e->delta[d].id == SYNQ_C_LISTEN_OVERFLOWS)
						cum += (uint64_t)e->delta[d].n;
				y = CY1 - (double)cum * so;
			} else if (e->kind == LAB_QUEUE) {
				uint32_t v = series[s].which == 0 ? e->qa : series[s].which == 1 ? e->qq : e->qm;
				y = CY1 - v * sy;
			}
			if (y != last_y) {
				fprintf(o, " %.1f,%.1f %.1f,%.1f", xt(r, e->t_ns), last_y, xt(r, e->t_ns), y);
				last_y = y;
			}
		}
		fprintf(o, " %d,%.1f\"/>\n", CX1, last_y);
		fprintf(o, "<rect x=\"%zu\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>"
			   "<text x=\"%zu\" y=\"%d\">%s</text>\n",
			(size_t)CX0 + 260 * s, CY0 - 12, series[s].color, (size_t)CX0 + 260 * s + 18,
			CY0 - 8, series[s].name);
	}
	fprintf(o, "</g>\n");
}

int lab_svg(const struct lab_result *r, FILE *o)
{
	int compact = r->n_clients > 12;
	int lanes = compact ? 2 : r->n_clients + 1;
	int sp = compact ? 200 : (r->n_clients <= 6 ? 80 : 480 / r->n_clients);
	int text_x = LANE0 + sp * (lanes - 1) + TEXT_GAP;
	char text[512];

	/* rows: what the terminal ladder shows, plus idle markers */
	size_t rows = 0;
	uint64_t last = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!lab_rec_text(r, i, text, sizeof(text)))
			continue;
		if (rows && r->rec[i].t_ns > last + 1000000000ull)
			rows++;
		last = r->rec[i].t_ns;
		rows++;
	}
	int top = CH + 60;
	long height = top + (long)(rows + 2) * ROW + 20;
	fprintf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%ld\" "
		   "viewBox=\"0 0 %d %ld\">\n",
		   W, height, W, height);
	fprintf(o, "<title>synq lab %s</title>\n", r->p.experiment);
	fprintf(o, "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
		   "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
		   "<path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#333\"/></marker></defs>\n");
	fprintf(o, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	chart(r, o);

	fprintf(o, "<g id=\"ladder\" font-family=\"monospace\" font-size=\"11\">\n");
	fprintf(o, "<text x=\"10\" y=\"%d\" font-size=\"13\">synq lab %s: listen(%d), %d fill + %d burst "
		   "clients, client-&gt;server delay %g ms (time in ms; seq/ack relative)</text>\n",
		top - 30, r->p.experiment, r->p.backlog, r->p.fill, r->p.burst, r->p.rtt_ms);
	double y_end = top + (double)(rows + 1) * ROW;
	for (int l = 0; l < lanes; l++) {
		int x = LANE0 + sp * l;
		char name[24];
		if (l == 0)
			snprintf(name, sizeof(name), "server");
		else if (compact)
			snprintf(name, sizeof(name), "c1-c%d", r->n_clients);
		else
			snprintf(name, sizeof(name), "c%d", l);
		fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>\n",
			x, top - 8, name);
		fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.0f\" stroke=\"#bbb\"/>\n", x, top, x,
			y_end);
	}
	size_t row = 0;
	last = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct lab_rec *e = &r->rec[i];
		if (!lab_rec_text(r, i, text, sizeof(text)))
			continue;
		if (row && e->t_ns > last + 1000000000ull) {
			double y = top + (double)row * ROW + ROW / 2.0;
			fprintf(o, "<text x=\"%d\" y=\"%.1f\" fill=\"#888\">… %.3f s later …</text>\n", text_x,
				y + 4, (double)(e->t_ns - last) / 1e9);
			fprintf(o, "<line x1=\"10\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\" "
				   "stroke-dasharray=\"2 4\"/>\n",
				y, W - 10, y);
			row++;
		}
		double y = top + (double)row * ROW + ROW / 2.0;
		if (row == 0 || e->t_ns != last)
			fprintf(o, "<text x=\"10\" y=\"%.1f\">%.3f</text>\n", y + 4, (double)e->t_ns / 1e6);
		last = e->t_ns;
		const char *color = "#333";
		if (e->kind == LAB_PKT) {
			int a = LANE0 + sp * (e->from == 0 ? 0 : compact ? 1 : e->from);
			int b = LANE0 + sp * (e->to == 0 ? 0 : compact ? 1 : e->to);
			color = strchr(e->flags, 'R') ? "#c0392b" : strchr(e->flags, 'S') ? "#2471a3" : "#333";
			if (e->lost)
				fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
					   "stroke-dasharray=\"3 2\"/><text x=\"%.1f\" y=\"%.1f\" "
					   "fill=\"#c0392b\">✕</text>\n",
					a, y, (a + b) / 2.0, y, color, (a + b) / 2.0 - 4, y + 4);
			else
				fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
					   "marker-end=\"url(#arrow)\"/>\n",
					a, y, b, y, color);
		} else {
			int x = LANE0 + sp * (e->at == 0 ? 0 : compact ? 1 : e->at);
			const char *fill = e->kind == LAB_DROP ? "#c0392b" : e->kind == LAB_DECIDE ? "#e67e22"
					   : e->kind == LAB_APP ? "#27ae60" : "#7f8c8d";
			color = e->kind == LAB_DROP ? "#c0392b" : "#333";
			fprintf(o, "<circle cx=\"%d\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x, y, fill);
		}
		fprintf(o, "<text x=\"%d\" y=\"%.1f\" fill=\"%s\">", text_x, y + 4, color);
		xml(o, text);
		fprintf(o, "</text>\n");
		row++;
	}
	fprintf(o, "<text x=\"10\" y=\"%.1f\">run ended at %.3f s; ss -lnt: Recv-Q %u Send-Q %u; "
		   "ListenOverflows %llu</text>\n",
		y_end + 14, (double)r->end_ns / 1e9, r->final_a, r->final_m,
		(unsigned long long)r->srv_ctr[SYNQ_C_LISTEN_OVERFLOWS]);
	fprintf(o, "</g>\n</svg>\n");
	return ferror(o) ? -EIO : 0;
}
