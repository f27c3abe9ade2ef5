/*
 * lab_json.c — `synq lab --json`: one JSON object per line, written by hand (integers stay
 * integers). The format is documented in docs/lab-json.md.
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/lab.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static void jstr(FILE *o, const char *s)
{
	fputc('"', o);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(o, "\\%c", c);
		else if (c < 0x20)
			fprintf(o, "\\u%04x", c);
		else
			fputc(c, o);
	}
	fputc('"', o);
}

/* a number: an integer when it is one */
static void jnum(FILE *o, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 9e15)
		fprintf(o, "%lld", (long long)v);
	else
		fprintf(o, "%.6g", v);
}

static void who(FILE *o, int k)
{
	if (k == 0) {
		jstr(o, "server");
	} else {
		char b[16];
		snprintf(b, sizeof(b), "c%d", k);
		jstr(o, b);
	}
}

static void head(FILE *o, uint64_t t_ns, const char *ev)
{
	fprintf(o, "{\"t_us\":%llu,\"ev\":", (unsigned long long)(t_ns / 1000));
	jstr(o, ev);
}

static void conn(FILE *o, int k)
{
	if (k) {
		fputs(",\"conn\":", o);
		who(o, k);
	}
}

static void deltas(FILE *o, const struct lab_rec *e)
{
	fputs(",\"counters\":{", o);
	for (int i = 0; i < e->n_delta; i++) {
		if (i)
			fputc(',', o);
		jstr(o, synq_counter_name(e->delta[i].id));
		fprintf(o, ":%lld", (long long)e->delta[i].n);
	}
	fputc('}', o);
}

static void counters(FILE *o, uint64_t t_ns, const char *at, const uint64_t *c)
{
	head(o, t_ns, "counters");
	fputs(",\"at\":", o);
	jstr(o, at);
	for (int id = 0; id < SYNQ_COUNTER_COUNT; id++) {
		if (!c[id])
			continue;
		fputc(',', o);
		jstr(o, synq_counter_name(id));
		fprintf(o, ":%llu", (unsigned long long)c[id]);
	}
	fputs("}\n", o);
}

int lab_json(const struct lab_result *r, FILE *o)
{
	const struct lab_params *p = &r->p;
	head(o, 0, "setup");
	fputs(",\"experiment\":", o);
	jstr(o, p->experiment);
	fprintf(o, ",\"server\":\"10.77.0.1:%d\",\"client_host\":\"10.77.0.2\",\"backlog\":%d,"
		   "\"fill\":%d,\"fill_gap_ms\":",
		LAB_SRV_PORT, p->backlog, p->fill);
	jnum(o, p->fill_gap_ms);
	fprintf(o, ",\"burst\":%d,\"rtt_ms\":", p->burst);
	jnum(o, p->rtt_ms);
	fputs(",\"accept\":", o);
	char acc[48];
	if (p->accept_mode == LAB_ACCEPT_AT)
		snprintf(acc, sizeof(acc), "at:%g", p->accept_sec);
	else if (p->accept_mode == LAB_ACCEPT_EVERY)
		snprintf(acc, sizeof(acc), "every:%g", p->accept_sec);
	else
		snprintf(acc, sizeof(acc), "never");
	jstr(o, acc);
	fprintf(o, ",\"send_bytes\":%d,\"send_sec\":", p->send_bytes);
	jnum(o, p->send_sec);
	fputs(",\"duration_s\":", o);
	jnum(o, p->duration_s);
	fprintf(o, ",\"seed\":%llu,\"kernel\":", (unsigned long long)p->seed);
	jstr(o, p->kernel ? p->kernel : "6.18");
	fprintf(o, ",\"kernel_timers\":%s,\"clients_at_s\":", p->kernel_timers ? "true" : "false");
	jnum(o, p->clients_at_s);
	if (p->flood_count > 0) {
		fprintf(o, ",\"flood\":{\"count\":%ld,\"rate\":", p->flood_count);
		jnum(o, p->flood_rate);
		fprintf(o, ",\"sources\":%ld,\"at_s\":", p->flood_sources);
		jnum(o, p->flood_at_s);
		fputc('}', o);
	}
	fputs(",\"set\":[", o);
	for (int i = 0; i < p->n_srv_set; i++) {
		if (i)
			fputc(',', o);
		jstr(o, p->srv_set[i]);
	}
	fputs("],\"client_set\":[", o);
	for (int i = 0; i < p->n_cli_set; i++) {
		if (i)
			fputc(',', o);
		jstr(o, p->cli_set[i]);
	}
	fputs("],\"clients\":[", o);
	for (int k = 1; k <= r->n_clients; k++)
		fprintf(o, "%s{\"conn\":\"c%d\",\"port\":%d,\"role\":\"%s\"}", k > 1 ? "," : "", k,
			LAB_CLI_PORT0 + k, k <= p->fill ? "fill" : "burst");
	fputs("]}\n", o);

	for (size_t i = 0; i < r->n; i++) {
		const struct lab_rec *e = &r->rec[i];
		switch (e->kind) {
		case LAB_PKT:
			head(o, e->t_ns, "pkt");
			fputs(",\"from\":", o);
			who(o, e->from);
			fputs(",\"to\":", o);
			who(o, e->to);
			conn(o, e->conn);
			fputs(",\"flags\":", o);
			jstr(o, e->flags);
			fprintf(o, ",\"seq\":%u", e->seq);
			if (e->has_ack)
				fprintf(o, ",\"ack\":%u", e->ack);
			fprintf(o, ",\"len\":%u,\"win\":%u", e->len, e->win);
			if (e->lost)
				fputs(",\"lost\":true", o);
			else if (e->arr_ns != UINT64_MAX)
				fprintf(o, ",\"arr_us\":%llu", (unsigned long long)(e->arr_ns / 1000));
			fputs("}\n", o);
			break;
		case LAB_DROP:
		case LAB_DECIDE:
		case LAB_NOTE:
			head(o, e->t_ns, e->kind == LAB_DROP ? "drop" : e->kind == LAB_DECIDE ? "decision" : "note");
			fputs(",\"at\":", o);
			who(o, e->at);
			conn(o, e->conn);
			fputs(",\"reason\":", o);
			jstr(o, e->code);
			fputs(",\"rule\":", o);
			jstr(o, e->rule);
			fputs(",\"text\":", o);
			jstr(o, e->text);
			deltas(o, e);
			if (e->at == 0)
				fprintf(o, ",\"recvq\":%u,\"sendq\":%u,\"synq\":%u", e->qa, e->qm, e->qq);
			fputs("}\n", o);
			break;
		case LAB_STATE:
			head(o, e->t_ns, "state");
			fputs(",\"at\":", o);
			who(o, e->at);
			conn(o, e->conn);
			fputs(",\"state\":", o);
			jstr(o, lab_state_name(e->state));
			fputs("}\n", o);
			break;
		case LAB_APP:
			head(o, e->t_ns, "app");
			fputs(",\"at\":", o);
			who(o, e->at);
			conn(o, e->conn);
			fputs(",\"call\":", o);
			jstr(o, e->call);
			fprintf(o, ",\"ret\":%ld", e->ret);
			if (e->err) {
				fputs(",\"errno\":", o);
				jstr(o, lab_errno_name(e->err));
			}
			fputs("}\n", o);
			break;
		case LAB_FLOOD:
			head(o, e->t_ns, "flood");
			fprintf(o, ",\"at\":\"server\",\"from_us\":%llu,\"syns\":%ld,\"synacks\":%ld,"
				   "\"rsts\":%ld,\"decisions\":{",
				(unsigned long long)(e->from_ns / 1000), e->f_in, e->f_synack, e->f_rst);
			for (int w = 0; w < e->n_what; w++) {
				if (w)
					fputc(',', o);
				jstr(o, e->what[w].code);
				fprintf(o, ":%ld", e->what[w].n);
			}
			fputc('}', o);
			deltas(o, e);
			fprintf(o, ",\"max_synq\":%u,\"recvq\":%u,\"sendq\":%u,\"synq\":%u}\n", e->f_maxq,
				e->qa, e->qm, e->qq);
			break;
		case LAB_QUEUE:
			head(o, e->t_ns, "queue");
			fprintf(o, ",\"recvq\":%u,\"sendq\":%u,\"synq\":%u}\n", e->qa, e->qm, e->qq);
			break;
		default:
			break;
		}
	}
	head(o, r->end_ns, "end");
	fputs(",\"why\":", o);
	jstr(o, r->idle ? "idle" : p->duration_s > 0 ? "duration" : "bound");
	fprintf(o, ",\"recvq\":%u,\"sendq\":%u,\"synq\":%u,\"accepted\":%d}\n", r->final_a, r->final_m,
		r->final_q, r->accepted);
	counters(o, r->end_ns, "server", r->srv_ctr);
	counters(o, r->end_ns, "clients", r->cli_ctr);
	if (p->flood_count > 0) {
		const struct lab_flood_summary *f = &r->flood;
		head(o, r->end_ns, "flood_summary");
		fprintf(o, ",\"legit_total\":%d,\"legit_ok\":%d,\"connect_p50_ms\":", f->legit_total,
			f->legit_ok);
		jnum(o, round(f->connect_p50_ms * 1000) / 1000);
		fputs(",\"connect_p99_ms\":", o);
		jnum(o, round(f->connect_p99_ms * 1000) / 1000);
		fprintf(o, ",\"max_synq\":%u,\"max_recvq\":%u,\"peak_bytes\":%llu,\"flood_syns\":%ld}\n",
			f->max_synq, f->max_recvq, (unsigned long long)f->peak_bytes, f->flood_sent);
	}
	return ferror(o) ? -EIO : 0;
}
