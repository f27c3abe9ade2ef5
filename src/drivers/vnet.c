/*
 * vnet.c — virtual network of synq stacks under a virtual clock (see vnet.h).
 *
 * In-flight packets live in one binary min-heap ordered by (arrival time, send order number),
 * so equal-time deliveries happen in send order whatever the links.
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/vnet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"
#include "drivers/pcap.h"

#define VNET_BUF 65536 /* synq_output buffer: mtu <= 9000, so always enough */

struct vdir {
	int from, to;
	uint64_t delay;
	uint64_t mask;
	uint64_t k;      /* packets routed onto this direction since the last vnet_set_loss */
	uint64_t queued; /* packets in flight on it */
};

struct vnode {
	synq_stack *s;
	char *name;
	uint32_t addrs[SYNQ_MAX_ADDRS];
	int n_addrs;
	struct vnet_stats st;
	struct pcap_writer *pcap;
	int pcap_err;
	int *out;  /* indices into vnet.dirs of the directions leaving this node */
	int n_out;
};

struct vpkt {
	uint64_t at, order;
	int from, to, dir; /* from = -1 and dir = -1 for injected packets */
	size_t len;
	uint8_t data[];
};

struct vnet {
	uint64_t now;
	uint64_t order; /* next send order number */
	struct vnode *nodes;
	int n_nodes, cap_nodes;
	struct vdir *dirs;
	int n_dirs, cap_dirs;
	struct vpkt **heap;
	size_t n_heap, cap_heap;
	uint64_t queue_limit, max_events;
	vnet_filter_fn filter;
	void *filter_user;
	vnet_tap_fn tap;
	void *tap_user;
	vnet_app_fn app;
	void *app_user;
	int busy; /* inside vnet_step/vnet_run_until/vnet_flush */
	uint8_t *buf;
};

/* ---- heap ------------------------------------------------------------------------------- */

static int pkt_before(const struct vpkt *a, const struct vpkt *b)
{
	return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static int heap_push(struct vnet *net, struct vpkt *p)
{
	size_t i, parent;

	if (net->n_heap == net->cap_heap) {
		size_t cap = net->cap_heap ? net->cap_heap * 2 : 256;
		struct vpkt **h = realloc(net->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		net->heap = h;
		net->cap_heap = cap;
	}
	i = net->n_heap++;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!pkt_before(p, net->heap[parent]))
			break;
		net->heap[i] = net->heap[parent];
		i = parent;
	}
	net->heap[i] = p;
	return 0;
}

static struct vpkt *heap_pop(struct vnet *net)
{
	struct vpkt *top = net->heap[0], *last;
	size_t i = 0, c, n;

	n = --net->n_heap;
	if (n == 0)
		return top;
	last = net->heap[n];
	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && pkt_before(net->heap[c + 1], net->heap[c]))
			c++;
		if (!pkt_before(net->heap[c], last))
			break;
		net->heap[i] = net->heap[c];
		i = c;
	}
	net->heap[i] = last;
	return top;
}

/* ---- nodes and links --------------------------------------------------------------------- */

struct vnet *vnet_new(uint64_t start_ns)
{
	struct vnet *net = calloc(1, sizeof(*net));

	if (!net)
		return NULL;
	net->buf = malloc(VNET_BUF);
	if (!net->buf) {
		free(net);
		return NULL;
	}
	net->now = start_ns;
	net->queue_limit = VNET_QUEUE_LIMIT;
	net->max_events = VNET_MAX_EVENTS;
	return net;
}

void vnet_free(struct vnet *net)
{
	int i;

	if (!net)
		return;
	while (net->n_heap)
		free(heap_pop(net));
	for (i = 0; i < net->n_nodes; i++) {
		pcap_close(net->nodes[i].pcap);
		free(net->nodes[i].name);
		free(net->nodes[i].out);
	}
	free(net->heap);
	free(net->nodes);
	free(net->dirs);
	free(net->buf);
	free(net);
}

static int valid(const struct vnet *net, int id)
{
	return net && id >= 0 && id < net->n_nodes;
}

int vnet_add(struct vnet *net, synq_stack *s, const char *name)
{
	struct synq_config cfg;
	struct vnode *n;
	char tmp[32];
	int i, id;

	if (!net || !s)
		return -EINVAL;
	for (i = 0; i < net->n_nodes; i++)
		if (net->nodes[i].s == s)
			return -EEXIST;
	if (net->n_nodes == net->cap_nodes) {
		int cap = net->cap_nodes ? net->cap_nodes * 2 : 8;
		struct vnode *nn = realloc(net->nodes, (size_t)cap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		net->nodes = nn;
		net->cap_nodes = cap;
	}
	id = net->n_nodes;
	n = &net->nodes[id];
	memset(n, 0, sizeof(*n));
	if (!name) {
		snprintf(tmp, sizeof(tmp), "node%d", id);
		name = tmp;
	}
	n->name = strdup(name);
	if (!n->name)
		return -ENOMEM;
	n->s = s;
	memset(&cfg, 0, sizeof(cfg));
	synq_stack_config(s, &cfg);
	n->n_addrs = cfg.n_local_addrs < 0 ? 0
		     : cfg.n_local_addrs > SYNQ_MAX_ADDRS ? SYNQ_MAX_ADDRS : cfg.n_local_addrs;
	memcpy(n->addrs, cfg.local_addrs, (size_t)n->n_addrs * sizeof(n->addrs[0]));
	net->n_nodes++;
	return id;
}

int vnet_node_count(const struct vnet *net)
{
	return net ? net->n_nodes : 0;
}

synq_stack *vnet_node_stack(const struct vnet *net, int id)
{
	return valid(net, id) ? net->nodes[id].s : NULL;
}

const char *vnet_node_name(const struct vnet *net, int id)
{
	return valid(net, id) ? net->nodes[id].name : NULL;
}

static int owns(const struct vnode *n, uint32_t ip)
{
	int i;

	for (i = 0; i < n->n_addrs; i++)
		if (n->addrs[i] == ip)
			return 1;
	return 0;
}

int vnet_node_by_addr(const struct vnet *net, uint32_t ip)
{
	int i;

	for (i = 0; net && i < net->n_nodes; i++)
		if (owns(&net->nodes[i], ip))
			return i;
	return -ENOENT;
}

static struct vdir *find_dir(struct vnet *net, int from, int to)
{
	struct vnode *n = &net->nodes[from];
	int i;

	for (i = 0; i < n->n_out; i++)
		if (net->dirs[n->out[i]].to == to)
			return &net->dirs[n->out[i]];
	return NULL;
}

static int add_dir(struct vnet *net, int from, int to, uint64_t delay)
{
	struct vnode *n = &net->nodes[from];
	struct vdir *d = find_dir(net, from, to);
	int *out;

	if (d) {
		d->delay = delay;
		return 0;
	}
	if (net->n_dirs == net->cap_dirs) {
		int cap = net->cap_dirs ? net->cap_dirs * 2 : 16;
		struct vdir *nd = realloc(net->dirs, (size_t)cap * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		net->dirs = nd;
		net->cap_dirs = cap;
	}
	out = realloc(n->out, (size_t)(n->n_out + 1) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	n->out = out;
	n->out[n->n_out++] = net->n_dirs;
	d = &net->dirs[net->n_dirs++];
	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	d->delay = delay;
	return 0;
}

int vnet_link(struct vnet *net, int a, int b, uint64_t delay_ab_ns, uint64_t delay_ba_ns)
{
	int rc;

	if (!valid(net, a) || !valid(net, b) || a == b)
		return -EINVAL;
	rc = add_dir(net, a, b, delay_ab_ns);
	if (rc)
		return rc;
	return add_dir(net, b, a, delay_ba_ns);
}

int vnet_set_loss(struct vnet *net, int from, int to, uint64_t mask)
{
	struct vdir *d;

	if (!valid(net, from) || !valid(net, to))
		return -EINVAL;
	d = find_dir(net, from, to);
	if (!d)
		return -ENOENT;
	d->mask = mask;
	d->k = 0;
	return 0;
}

void vnet_set_filter(struct vnet *net, vnet_filter_fn drop, void *user)
{
	net->filter = drop;
	net->filter_user = user;
}

void vnet_set_tap(struct vnet *net, vnet_tap_fn tap, void *user)
{
	net->tap = tap;
	net->tap_user = user;
}

void vnet_set_app(struct vnet *net, vnet_app_fn app, void *user)
{
	net->app = app;
	net->app_user = user;
}

void vnet_set_limits(struct vnet *net, uint64_t queue_limit, uint64_t max_events)
{
	if (queue_limit)
		net->queue_limit = queue_limit;
	if (max_events)
		net->max_events = max_events;
}

static int close_capture(struct vnode *n)
{
	int rc = pcap_close(n->pcap);

	if (n->pcap_err)
		rc = n->pcap_err;
	n->pcap = NULL;
	n->pcap_err = 0;
	return rc;
}

int vnet_pcap(struct vnet *net, int node, const char *path, int nanosec)
{
	struct vnode *n;
	int rc = 0, err = 0;

	if (!valid(net, node))
		return -EINVAL;
	n = &net->nodes[node];
	if (n->pcap)
		rc = close_capture(n);
	if (!path)
		return rc;
	n->pcap = pcap_open(path, nanosec, &err);
	return n->pcap ? 0 : err;
}

static void capture(struct vnode *n, const uint8_t *pkt, size_t len, uint64_t t)
{
	int rc;

	if (!n->pcap)
		return;
	rc = pcap_write(n->pcap, t, pkt, len);
	if (rc && !n->pcap_err)
		n->pcap_err = rc;
}

static void tap(struct vnet *net, int ev, int from, int to, const uint8_t *pkt, size_t len)
{
	if (net->tap)
		net->tap(net->tap_user, ev, from, to, pkt, len, net->now);
}

/* ---- sending ----------------------------------------------------------------------------- */

static struct vpkt *pkt_new(const uint8_t *data, size_t len)
{
	struct vpkt *p = malloc(sizeof(*p) + len);

	if (p) {
		memcpy(p->data, data, len);
		p->len = len;
	}
	return p;
}

/* The direction a packet from node `from` takes, or NULL (unroutable). */
static struct vdir *route(struct vnet *net, int from, const uint8_t *pkt, size_t len)
{
	struct vnode *n = &net->nodes[from];
	struct vdir *best = NULL, *d;
	uint32_t dst;
	int i;

	if (len < WIRE_IP_HDR || (pkt[0] >> 4) != 4)
		return NULL;
	dst = wire_dec32(pkt + 16);
	for (i = 0; i < n->n_out; i++) {
		d = &net->dirs[n->out[i]];
		if (owns(&net->nodes[d->to], dst) && (!best || d->to < best->to))
			best = d;
	}
	return best;
}

/* One packet node `from` emitted at net->now. */
static int send_one(struct vnet *net, int from, const uint8_t *pkt, size_t len)
{
	struct vnode *n = &net->nodes[from];
	struct vdir *d = route(net, from, pkt, len);
	struct vpkt *p;
	uint64_t k;
	int drop;

	n->st.sent++;
	capture(n, pkt, len, net->now);
	tap(net, VNET_SENT, from, d ? d->to : -1, pkt, len);
	if (!d) {
		n->st.unroutable++;
		tap(net, VNET_UNROUTABLE, from, -1, pkt, len);
		return 0;
	}
	k = d->k++;
	drop = (d->mask >> (k % 64)) & 1;
	if (!drop && net->filter)
		drop = net->filter(net->filter_user, from, d->to, pkt, len, net->now) != 0;
	if (!drop && d->queued >= net->queue_limit)
		drop = 1;
	p = drop ? NULL : pkt_new(pkt, len);
	if (p) {
		p->at = net->now + d->delay < net->now ? UINT64_MAX : net->now + d->delay;
		p->order = net->order++;
		p->from = from;
		p->to = d->to;
		p->dir = (int)(d - net->dirs);
		if (heap_push(net, p) == 0) {
			d->queued++;
			n->st.in_flight++;
			return 0;
		}
		free(p);
	}
	n->st.lost++;
	tap(net, VNET_LOST, from, d->to, pkt, len);
	return drop ? 0 : -ENOMEM;
}

static int flush(struct vnet *net)
{
	int i, len, rc, err = 0, count = 0;

	for (i = 0; i < net->n_nodes; i++) {
		for (;;) {
			len = synq_output(net->nodes[i].s, net->buf, VNET_BUF, net->now);
			if (len <= 0) {
				if (len < 0 && !err)
					err = len;
				break;
			}
			count++;
			rc = send_one(net, i, net->buf, (size_t)len);
			if (rc && !err)
				err = rc;
		}
	}
	return err ? err : count;
}

int vnet_flush(struct vnet *net)
{
	int rc;

	if (!net)
		return -EINVAL;
	if (net->busy)
		return -EBUSY;
	net->busy = 1;
	rc = flush(net);
	net->busy = 0;
	return rc;
}

int vnet_inject(struct vnet *net, int to, const uint8_t *pkt, size_t len, uint64_t at_ns)
{
	struct vpkt *p;

	if (!valid(net, to) || !pkt || len == 0 || len > 65535 || at_ns < net->now)
		return -EINVAL;
	p = pkt_new(pkt, len);
	if (!p)
		return -ENOMEM;
	p->at = at_ns;
	p->order = net->order++;
	p->from = -1;
	p->to = to;
	p->dir = -1;
	if (heap_push(net, p)) {
		free(p);
		return -ENOMEM;
	}
	return 0;
}

/* ---- the clock ----------------------------------------------------------------------------- */

uint64_t vnet_now(const struct vnet *net)
{
	return net->now;
}

uint64_t vnet_next_event(const struct vnet *net)
{
	uint64_t t = UINT64_MAX, d;
	int i;

	if (net->n_heap)
		t = net->heap[0]->at;
	for (i = 0; i < net->n_nodes; i++) {
		d = synq_next_deadline(net->nodes[i].s);
		if (d < t)
			t = d;
	}
	if (t != UINT64_MAX && t < net->now)
		t = net->now;
	return t;
}

/* Process instant t (the earliest event time, >= now). Returns the events processed or -errno. */
static long instant(struct vnet *net, uint64_t t)
{
	uint64_t cut = net->order;
	struct vnode *n;
	struct vpkt *p;
	long events = 0;
	int i, rc;

	net->now = t;
	while (net->n_heap && net->heap[0]->at <= t && net->heap[0]->order < cut) {
		p = heap_pop(net);
		n = &net->nodes[p->to];
		if (p->dir >= 0) {
			net->dirs[p->dir].queued--;
			net->nodes[p->from].st.in_flight--;
			net->nodes[p->from].st.delivered++;
		}
		n->st.received++;
		capture(n, p->data, p->len, t);
		tap(net, VNET_DELIVERED, p->from, p->to, p->data, p->len);
		if (synq_input(n->s, p->data, p->len, t) < 0)
			n->st.rejected++;
		free(p);
		events++;
	}
	for (i = 0; i < net->n_nodes; i++) {
		if (synq_next_deadline(net->nodes[i].s) <= t) {
			synq_on_timeout(net->nodes[i].s, t);
			events++;
		}
	}
	if (net->app)
		net->app(net->app_user, net, t);
	rc = flush(net);
	return rc < 0 ? rc : events;
}

int vnet_step(struct vnet *net, uint64_t limit_ns)
{
	uint64_t t;
	long rc;

	if (!net)
		return -EINVAL;
	if (net->busy)
		return -EBUSY;
	net->busy = 1;
	rc = flush(net);
	if (rc >= 0) {
		t = vnet_next_event(net);
		if (t == UINT64_MAX || t > limit_ns) {
			rc = 0;
		} else {
			rc = instant(net, t);
			if (rc >= 0)
				rc = 1;
		}
	}
	net->busy = 0;
	return (int)rc;
}

int vnet_run_until(struct vnet *net, uint64_t t_ns)
{
	uint64_t total = 0, t;
	long rc;

	if (!net)
		return -EINVAL;
	if (net->busy)
		return -EBUSY;
	if (t_ns < net->now)
		return -ETIME;
	net->busy = 1;
	for (;;) {
		rc = flush(net);
		if (rc < 0)
			goto out;
		t = vnet_next_event(net);
		if (t == UINT64_MAX || t > t_ns)
			break;
		rc = instant(net, t);
		if (rc < 0)
			goto out;
		total += (uint64_t)rc;
		if (total > net->max_events) {
			rc = -ELOOP;
			goto out;
		}
	}
	net->now = t_ns;
	rc = total > INT32_MAX ? INT32_MAX : (long)total;
out:
	net->busy = 0;
	return (int)rc;
}

/* ---- statistics ----------------------------------------------------------------------------- */

static void add_stats(struct vnet_stats *a, const struct vnet_stats *b)
{
	a->sent += b->sent;
	a->delivered += b->delivered;
	a->lost += b->lost;
	a->unroutable += b->unroutable;
	a->in_flight += b->in_flight;
	a->received += b->received;
	a->rejected += b->rejected;
}

void vnet_stats(const struct vnet *net, int node, struct vnet_stats *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	if (node == -1) {
		for (i = 0; net && i < net->n_nodes; i++)
			add_stats(out, &net->nodes[i].st);
	} else if (valid(net, node)) {
		*out = net->nodes[node].st;
	}
}
