/*
 * icmp.c — ICMP input (SPEC B11), as Linux 6.18 does it: icmp_rcv() -> icmp_unreach() /
 * icmp_redirect() -> icmp_socket_deliver() -> tcp_v4_err(), for a stack that never sends ICMP.
 *
 * Read first: RFC 792 (formats), RFC 1122 3.2.2 (a host discards unknown types silently and
 * passes errors to the transport, which finds the connection from the quoted header) and
 * 4.2.3.9 (which errors TCP treats as hard), RFC 5927 4.1 (the quoted sequence number must lie
 * in the window, or the message is ignored: TcpExtOutOfWindowIcmps).
 *
 * Counters in the kernel's order: IcmpInMsgs for every message that got here; a bad checksum
 * IcmpInCsumErrors + IcmpInErrors; shorter than 8 bytes IcmpInErrors; then the per-type counter
 * (IcmpInDestUnreachs...). From there every message either acts (a request removed, a connect()
 * aborted, a soft error recorded) or bumps exactly one drop counter: IcmpInErrors (unknown type,
 * quote too short, no such connection), TcpExtOutOfWindowIcmps, or SynqIcmpIgnored (what Linux
 * ignores too, and what it acts on but synq does not model: echo replies, path MTU, redirects).
 *
 * Measured on 6.18.44 with packetdrill (docs/drill.md): Time Exceeded code 1 (fragment
 * reassembly) is not passed to TCP at all, whatever the quoted seq; Dest Unreachable codes above
 * 15 neither.
 *
 * Pointers: the packet is the caller's, read during the call only; nothing here keeps it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/synq_int.h"

#define IPPROTO_UDP_NUM 17
#define ICMP_EXT_ECHO 42      /* RFC 8335 PROBE: answered only with icmp_echo_enable_probe */
#define ICMP_EXT_ECHOREPLY 43 /* to a ping socket: none here */

/* /proc/net/snmp Icmp: In<Type> (Linux counts them per type in IcmpMsg and prints these) */
static int in_counter(uint8_t type)
{
	switch (type) {
	case ICMP_ECHOREPLY: return SYNQ_C_ICMP_IN_ECHO_REPS;
	case ICMP_DEST_UNREACH: return SYNQ_C_ICMP_IN_DEST_UNREACHS;
	case ICMP_SOURCE_QUENCH: return SYNQ_C_ICMP_IN_SRC_QUENCHS;
	case ICMP_REDIRECT: return SYNQ_C_ICMP_IN_REDIRECTS;
	case ICMP_ECHO: return SYNQ_C_ICMP_IN_ECHOS;
	case ICMP_TIME_EXCEEDED: return SYNQ_C_ICMP_IN_TIME_EXCDS;
	case ICMP_PARAMETERPROB: return SYNQ_C_ICMP_IN_PARM_PROBS;
	case ICMP_TIMESTAMP: return SYNQ_C_ICMP_IN_TIMESTAMPS;
	case ICMP_TIMESTAMPREPLY: return SYNQ_C_ICMP_IN_TIMESTAMP_REPS;
	case ICMP_ADDRESS: return SYNQ_C_ICMP_IN_ADDR_MASKS;
	case ICMP_ADDRESSREPLY: return SYNQ_C_ICMP_IN_ADDR_MASK_REPS;
	default: return -1;
	}
}

static int ignored(struct synq_stack *s, const struct synq_seg *q, const char *why)
{
	stack_drop(s, SYNQ_C_SYNQ_ICMP_IGNORED, q, -1, why);
	return 0;
}

/* tcp_v4_err(): the connection the quote names (our address and port are the quote's source),
 * looked up as __inet_lookup_established() does: full sockets and TIME-WAIT, then requests
 * (Linux keeps both in one hash); never a listener. */
static int tcp_err(struct synq_stack *s, const struct synq_icmp *m)
{
	struct synq_seg q; /* the 4-tuple as a segment from the peer would carry it */
	memset(&q, 0, sizeof(q));
	q.saddr = m->q_daddr;
	q.daddr = m->q_saddr;
	q.sport = m->q_dport;
	q.dport = m->q_sport;
	struct synq_sock *sk = sock_lookup_seg(s, &q);
	if (sk) {
		/* an orphan's FIN-WAIT-2 is a timewait sock in Linux too (tcp_fin_timeout <= 60 s) */
		if (sk->state == SYNQ_TCP_TIME_WAIT ||
		    (sk->state == SYNQ_TCP_FIN_WAIT2 && (sk->flags & SK_ORPHAN) &&
		     (uint64_t)s->cfg.tcp_fin_timeout <= TCP_TIMEWAIT_NS / NS_PER_S))
			return ignored(s, &q, "icmp_time_wait||ICMP error for a TIME-WAIT connection");
		tcp_sock_icmp_err(s, sk, m, &q);
		return 0;
	}
	struct synq_req *r = req_lookup(s, &q);
	if (r) {
		/* B11: Parameter Problem, Time Exceeded and Net/Host Unreachable remove the request */
		int abort = m->type == ICMP_PARAMETERPROB || m->type == ICMP_TIME_EXCEEDED ||
			    (m->type == ICMP_DEST_UNREACH &&
			     (m->code == ICMP_NET_UNREACH || m->code == ICMP_HOST_UNREACH));
		req_icmp_err(s, r, &q, m->q_seq, abort);
		return 0;
	}
	stack_drop(s, SYNQ_C_ICMP_IN_ERRORS, &q, -1,
		   "icmp_no_socket|B11|ICMP error quoting no connection of the stack");
	return 0;
}

/* the part of icmp_rcv() and its handlers that concerns a host that only speaks TCP */
int icmp_input(struct synq_stack *s, const uint8_t *pkt, size_t len)
{
	struct synq_icmp m;
	cnt_inc(s, SYNQ_C_IP_IN_DELIVERS);
	cnt_inc(s, SYNQ_C_ICMP_IN_MSGS);
	switch (wire_parse_icmp(pkt, len, &m)) {
	case WIRE_OK:
		break;
	case WIRE_ERR_ICMP_CSUM:
		cnt_inc(s, SYNQ_C_ICMP_IN_CSUM_ERRORS);
		stack_drop(s, SYNQ_C_ICMP_IN_ERRORS, NULL, -1, "bad_icmp_checksum||bad ICMP checksum");
		return -EBADMSG;
	default: /* WIRE_ERR_ICMP_HDR: synq_input() has checked the IP header already */
		stack_drop(s, SYNQ_C_ICMP_IN_ERRORS, NULL, -1,
			   "bad_icmp_header||ICMP message shorter than its 8-byte header");
		return -EBADMSG;
	}
	int c = in_counter(m.type);
	if (c >= 0)
		cnt_inc(s, c);
	/* RFC 1122 3.2.2: unknown types are discarded (Linux counts them as errors) */
	if (m.type > NR_ICMP_TYPES && m.type != ICMP_EXT_ECHO && m.type != ICMP_EXT_ECHOREPLY) {
		stack_drop(s, SYNQ_C_ICMP_IN_ERRORS, NULL, -1,
			   "icmp_unknown_type||ICMP type above 18 (RFC 1122 3.2.2)");
		return 0;
	}
	switch (m.type) {
	case ICMP_DEST_UNREACH:
	case ICMP_SOURCE_QUENCH:
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAMETERPROB: /* icmp_unreach() */
		if (m.quote == QUOTE_NO_IP) {
			stack_drop(s, SYNQ_C_ICMP_IN_ERRORS, NULL, -1,
				   "icmp_short_quote||ICMP error without the quoted IP header");
			return -EBADMSG;
		}
		if (m.type == ICMP_DEST_UNREACH && m.code > NR_ICMP_UNREACH)
			return ignored(s, NULL, "icmp_unknown_code||Destination Unreachable code above 15");
		if (m.type == ICMP_TIME_EXCEEDED && m.code == ICMP_EXC_FRAGTIME)
			return ignored(s, NULL, "icmp_fragtime||Time Exceeded in reassembly: not for TCP");
		break;
	case ICMP_REDIRECT: /* icmp_redirect(): only the IP header length is checked there; a
			       quote with IHL < 5 finds no connection in Linux either */
		if (m.quote == QUOTE_NO_IP) {
			stack_drop(s, SYNQ_C_ICMP_IN_ERRORS, NULL, -1,
				   "icmp_short_quote||Redirect without the quoted IP header");
			return -EBADMSG;
		}
		break;
	default:
		/* echo and timestamp requests (Linux answers them), replies and the rest */
		return ignored(s, NULL, "icmp_not_error||ICMP message that is not an error: synq sends "
					"no ICMP replies");
	}
	/* icmp_socket_deliver(): the quoted IP header and 8 bytes of its transport header */
	if (m.quote != QUOTE_OK) {
		stack_drop(s, SYNQ_C_ICMP_IN_ERRORS, NULL, -1,
			   "icmp_short_quote||ICMP error quoting fewer than 8 bytes past the IP header");
		return -EBADMSG;
	}
	if (m.q_proto == IPPROTO_TCP_NUM)
		return tcp_err(s, &m);
	if (m.q_proto == IPPROTO_UDP_NUM) { /* __udp4_lib_err(): there is no UDP socket */
		stack_drop(s, SYNQ_C_ICMP_IN_ERRORS, NULL, -1,
			   "icmp_no_socket||ICMP error quoting UDP (synq has no UDP sockets)");
		return 0;
	}
	return ignored(s, NULL, "icmp_other_proto||ICMP error quoting a protocol other than TCP");
}
