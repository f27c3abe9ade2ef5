/*
 * trace.h — one-line packet printers for tools and tests.
 *
 * trace_format() prints an IPv4/TCP packet the way tcpdump -nn does, with "addr:port" endpoints:
 *
 *   10.77.0.2:40001 > 10.77.0.1:8080 Flags [S], seq 123, win 64240,
 *     options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 10], length 0
 *
 * (on one line). As in tcpdump: flag letters F S R P . U E W in that order ("none" if no flag);
 * "seq N:M" when the segment carries data, "seq N" for SYN/FIN/RST without data and no seq
 * otherwise; "ack N" when ACK is set; "urg N" when URG is set; options in wire order (mss N,
 * wscale N, sackOK, TS val N ecr N, sack K {a:b}..., nop, eol, unknown-K hex for other kinds;
 * a known option with the wrong length prints as its name followed by "[len N]");
 * length = TCP payload bytes.
 * Packets wire_parse() rejects print as "malformed (<reason>)".
 *
 * All printers behave like snprintf: they return the length of the full line (without the NUL)
 * and write at most cap bytes, always NUL-terminated when cap > 0; buf may be NULL if cap is 0.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_TRACE_H
#define SYNQ_DRIVERS_TRACE_H

#include <stddef.h>
#include <stdint.h>

/** Print pkt[0..len) (IPv4 from the IP header) with absolute sequence numbers. */
size_t trace_format(char *buf, size_t cap, const uint8_t *pkt, size_t len);

/* ---- relative sequence numbers ------------------------------------------------------------ */

#define TRACE_MAX_FLOWS 1024

/* One 4-tuple; side 0 is the endpoint (a_ip, a_port), side 1 the other one. */
struct trace_flow {
	uint32_t a_ip, b_ip;
	uint16_t a_port, b_port;
	uint32_t isn[2];   /* first sequence number seen from side 0 / side 1 */
	uint8_t known[2];  /* isn[i] is valid */
	uint8_t used;
};

/* Remembers the initial sequence numbers of up to TRACE_MAX_FLOWS flows; when full, the flow
 * added first is forgotten (FIFO). Plain data, about 24 KiB: may live on the stack, no free. */
struct trace_flows {
	struct trace_flow flow[TRACE_MAX_FLOWS];
	unsigned int n;    /* slots in use */
	unsigned int next; /* slot the next new flow takes once the table is full */
};

/** Empty the table. */
void trace_flows_init(struct trace_flows *fl);

/** Like trace_format(), but seq is printed relative to the ISN of the sender's direction, and ack
 *  and SACK blocks relative to the ISN of the other direction, as the kernel-truth timelines
 *  show them (a SYN prints "seq 0", its SYN-ACK "seq 0, ack 1"). The ISN of a direction is the
 *  first seq seen from it; a SYN without ACK and with another seq sets it again (new connection
 *  on the same 4-tuple) and forgets the other direction's, a SYN-ACK sets its own. An ack whose
 *  direction has no ISN yet is printed absolute (SACK blocks too). Malformed packets leave fl
 *  unchanged. fl must not be NULL. */
size_t trace_format_rel(struct trace_flows *fl, char *buf, size_t cap, const uint8_t *pkt,
			size_t len);

/* ---- JSON ----------------------------------------------------------------------------------- */

/** One JSON object on one line (no trailing newline), e.g.
 *  {"t_ns":1000,"dir":"out","src":"10.0.0.2","dst":"10.0.0.1","sport":40001,"dport":8080,
 *   "flags":"S","seq":123,"ack":0,"win":64240,"len":0,
 *   "opts":{"mss":1460,"sack_ok":true,"ts_val":1,"ts_ecr":0,"wscale":10}}
 *  Integers are printed as JSON integers; seq/ack are absolute; "ack" is always present (the raw
 *  field). opts has the keys mss, wscale, sack_ok, ts_val, ts_ecr and sack (array of [start,end]
 *  pairs), each only when the option is on the wire. dir (may be NULL: null) is escaped.
 *  A packet wire_parse() rejects gives {"t_ns":..,"dir":..,"malformed":"<reason>","len":N}
 *  with len = the packet's byte count. */
size_t trace_json(char *buf, size_t cap, uint64_t t_ns, const char *dir, const uint8_t *pkt,
		  size_t len);

#endif /* SYNQ_DRIVERS_TRACE_H */
