/*
 * vnet.h — a virtual network of synq stacks under a virtual clock (one process, no I/O).
 *
 * Nodes are synq stacks (owned by the caller); point-to-point links join pairs of nodes with a
 * fixed one-way delay per direction. The clock jumps from one event to the next, an event being
 * a packet delivery or a stack timer (synq_next_deadline), as picoquic's sim_link and ngtcp2's
 * simulator do. Everything is deterministic: for the same stacks (same rand seeds), the same
 * links and the same calls, the same packets are delivered at the same times in the same order.
 *
 * One instant t is processed as:
 *   1. every packet due at t that was already in flight when the instant started, in send order,
 *      goes to its node's synq_input(t) (packets sent during the instant over a zero-delay link
 *      are due at t too: they are processed by the next instant, also at t);
 *   2. synq_on_timeout(t) for every node whose deadline is <= t, by node id;
 *   3. the app hook, if set (the embedder's sockets react: accept, read, write...);
 *   4. every node's synq_output() is drained at t, by node id, each packet routed onto a link
 *      (a send order number is taken here).
 * Stack calls the embedder makes between steps must use vnet_now() as the time; the packets they
 * produce leave at the next vnet_step()/vnet_run_until()/vnet_flush() (stamped vnet_now()).
 *
 * Routing: a packet from node X to address D goes over the link X -> Y where Y owns D (an address
 * in Y's config local_addrs, read at vnet_add); if several linked nodes own D, the lowest id wins.
 * No link to an owner of D (or an owner that is X itself): dropped, counted as unroutable.
 *
 * Ownership: the vnet owns copies of names and in-flight packets and the pcap writers it opens;
 * every pointer argument is borrowed for the call, except the stacks and the user pointers of the
 * hooks, which must outlive the vnet (or their node/hook). Errors are negative errno values.
 * Not thread-safe; no hook may call vnet_step(), vnet_run_until() or vnet_flush() (-EBUSY).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_VNET_H
#define SYNQ_DRIVERS_VNET_H

#include <stddef.h>
#include <stdint.h>

#include "synq.h"

struct vnet;

/** Tap event kinds. */
enum vnet_event {
	VNET_SENT = 1,   /* a node emitted the packet (to = the link's far end, or -1) */
	VNET_DELIVERED,  /* the packet is about to enter the receiver's synq_input (from = -1 for
			    vnet_inject packets) */
	VNET_LOST,       /* dropped by the loss mask, the filter or a full link queue */
	VNET_UNROUTABLE, /* no link to the destination (to = -1) */
};

/** Default bounds (see vnet_set_limits). */
#define VNET_QUEUE_LIMIT 100000u      /* packets in flight per link direction */
#define VNET_MAX_EVENTS 10000000ull   /* events per vnet_run_until() call */

/** Create an empty network whose clock reads start_ns. NULL if out of memory. */
struct vnet *vnet_new(uint64_t start_ns);

/** Free the network: in-flight packets are discarded, pcap files the vnet opened are closed
 *  (errors ignored; use vnet_pcap(net, node, NULL, 0) first to see them). The stacks are NOT
 *  freed: the caller owns them. NULL is allowed. */
void vnet_free(struct vnet *net);

/** Add stack s as a node. name (may be NULL: "node<id>") is copied and used by tools only.
 *  The node's addresses are s's config local_addrs, read now. Returns the node id (0, 1, 2...
 *  in the order of the calls), -EINVAL (net or s NULL), -EEXIST (s is already a node), -ENOMEM. */
int vnet_add(struct vnet *net, synq_stack *s, const char *name);

/** Number of nodes; stack and name of node id (NULL if id is out of range). */
int vnet_node_count(const struct vnet *net);
synq_stack *vnet_node_stack(const struct vnet *net, int id);
const char *vnet_node_name(const struct vnet *net, int id);
/** The lowest id of a node owning address ip (host order), or -ENOENT. */
int vnet_node_by_addr(const struct vnet *net, uint32_t ip);

/** Join nodes a and b: packets a -> b take delay_ab_ns, b -> a delay_ba_ns (0 is allowed).
 *  Calling it again for the same pair changes the delays of packets sent from now on (packets
 *  in flight keep their arrival time: a shorter delay may reorder). Returns 0, -EINVAL (bad id,
 *  a == b), -ENOMEM. */
int vnet_link(struct vnet *net, int a, int b, uint64_t delay_ab_ns, uint64_t delay_ba_ns);

/** Loss on the link direction from -> to: the k-th packet routed onto it after this call
 *  (k = 0, 1, 2...) is dropped if bit (k % 64) of mask is set; mask 0 = no loss, ~0 = cut.
 *  Exactly reproducible. Returns 0, -EINVAL (bad id), -ENOENT (no such link). */
int vnet_set_loss(struct vnet *net, int from, int to, uint64_t mask);

/** Arbitrary drops: drop() is called at send time for each packet that survived the loss mask;
 *  a nonzero return drops it (counted lost). pkt is valid during the call only. NULL removes it. */
typedef int (*vnet_filter_fn)(void *user, int from, int to, const uint8_t *pkt, size_t len,
			      uint64_t now_ns);
void vnet_set_filter(struct vnet *net, vnet_filter_fn drop, void *user);

/** Observe every packet: event is enum vnet_event; pkt valid during the call only. NULL removes. */
typedef void (*vnet_tap_fn)(void *user, int event, int from, int to, const uint8_t *pkt,
			    size_t len, uint64_t now_ns);
void vnet_set_tap(struct vnet *net, vnet_tap_fn tap, void *user);

/** Called once per processed instant, after deliveries and timers and before the outputs are
 *  drained (step 3 above): the place to drive sockets at the exact time things happen. It may
 *  call any synq_* function with now_ns, and vnet_inject(). NULL removes it. */
typedef void (*vnet_app_fn)(void *user, struct vnet *net, uint64_t now_ns);
void vnet_set_app(struct vnet *net, vnet_app_fn app, void *user);

/** Capture what node sends (stamped with the send time, lost and unroutable packets included) and
 *  receives (stamped with the delivery time) into a pcap file at path, as tcpdump on that host
 *  would; nanosec selects nanosecond timestamps. A previous capture of the node is closed first.
 *  path NULL only stops the capture. Returns 0, -EINVAL (bad id), the pcap_open() error, or
 *  (when a capture is closed) the first write/close error it had. */
int vnet_pcap(struct vnet *net, int node, const char *path, int nanosec);

/** Deliver a copy of pkt (an IPv4 packet from anywhere, e.g. a forged SYN) to node `to` at
 *  at_ns (>= vnet_now()). It is ordered with the other deliveries of that instant by the time of
 *  this call. Tap/pcap see it as from = -1. Returns 0, -EINVAL (bad id, at_ns in the past,
 *  pkt NULL, len 0 or > 65535), -ENOMEM. */
int vnet_inject(struct vnet *net, int to, const uint8_t *pkt, size_t len, uint64_t at_ns);

/** Current virtual time. */
uint64_t vnet_now(const struct vnet *net);

/** Time of the next event: the earliest in-flight delivery or node deadline, not earlier than
 *  vnet_now(); UINT64_MAX if there is none. Packets the stacks have queued but vnet has not drained
 *  yet are not seen (vnet_flush() first). */
uint64_t vnet_next_event(const struct vnet *net);

/** Drain every node's synq_output() now (stamped vnet_now()) onto the links. Returns the number of
 *  packets drained, -EBUSY (called from a hook), -ENOMEM (a packet could not be queued: counted
 *  lost), or a synq_output() error. */
int vnet_flush(struct vnet *net);

/** Flush, then process the earliest instant if it is <= limit_ns (the clock moves to it).
 *  Returns 1 if an instant was processed, 0 if nothing is due at or before limit_ns (the clock
 *  does not move), or a negative errno as vnet_flush(). */
int vnet_step(struct vnet *net, uint64_t limit_ns);

/** Process every instant at or before t_ns in time order, then set the clock to t_ns.
 *  Returns the number of events processed (deliveries + synq_on_timeout calls, capped at
 *  INT32_MAX), -ETIME (t_ns < vnet_now()), -ELOOP (more than the event limit in this call:
 *  the clock stays at the last processed instant), or an error as vnet_flush(). */
int vnet_run_until(struct vnet *net, uint64_t t_ns);

/** Change the bounds: packets in flight per link direction (beyond: lost) and events per
 *  vnet_run_until() call. 0 keeps the current value. */
void vnet_set_limits(struct vnet *net, uint64_t queue_limit, uint64_t max_events);

/** Packet counts. For one node, everything but `received`/`rejected` is about the packets it
 *  sent: sent = delivered + lost + unroutable + in_flight. */
struct vnet_stats {
	uint64_t sent;       /* emitted by the node's synq_output() */
	uint64_t delivered;  /* of those, handed to the receiver's synq_input() */
	uint64_t lost;       /* of those, dropped by loss mask, filter or full link queue */
	uint64_t unroutable; /* of those, with no link to their destination */
	uint64_t in_flight;  /* of those, still on a link */
	uint64_t received;   /* handed to this node's synq_input() (injected packets included) */
	uint64_t rejected;   /* of those, synq_input() returned an error (malformed, not ours...) */
};

/** Counts of node (or the sum over all nodes if node is -1) into *out; zeroes for a bad id. */
void vnet_stats(const struct vnet *net, int node, struct vnet_stats *out);

#endif /* SYNQ_DRIVERS_VNET_H */
