/*
 * drill_int.h — the parsed form of a packetdrill script, shared by drill_parse.c and
 * drill_run.c (private to the drill driver).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_DRILL_INT_H
#define SYNQ_DRIVERS_DRILL_INT_H

#include <stddef.h>
#include <stdint.h>

/* event times, as packetdrill's event_time rule */
enum drill_time {
	DT_ABS,       /* 1.5 */
	DT_REL,       /* +0.1 */
	DT_ANY,       /* * */
	DT_ABS_RANGE, /* 1~2 */
	DT_REL_RANGE, /* +1~+2 */
};

enum drill_kind { DE_PACKET, DE_CALL, DE_COMMAND };

/* syscall argument / result expressions */
enum dx_kind {
	DX_ELLIPSIS, /* ... */
	DX_INT,      /* 3, -1, 0x10, SOCK_STREAM, O_RDWR|O_NONBLOCK (symbols folded) */
	DX_WORD,     /* a name that is not a known symbol */
	DX_STRING,   /* "text" */
	DX_LIST,     /* [a, b] */
	DX_STRUCT,   /* {name=value, ...} */
	DX_CALL,     /* htons(8080), inet_addr("1.2.3.4") */
};

struct dx {
	int kind;
	int64_t i;
	char s[64];     /* DX_WORD / DX_STRING / DX_CALL name */
	char field[32]; /* inside a DX_STRUCT: the field name ("" if none) */
	struct dx *kids;
	int n;
};

#define DRILL_MAX_OPTS 40
#define DRILL_MAX_ARGS 8

struct drill_packet {
	int dir;             /* '<' inbound, '>' outbound */
	int has_ports;       /* "40001>8080" given */
	uint16_t sport, dport;
	uint8_t flags;       /* TCP flag bits (core/wire.h TCP_*) */
	uint32_t seq;
	uint16_t len;
	int has_ack;         /* "ack N" given */
	uint32_t ack;
	int32_t win;         /* -1: not given */
	uint16_t urg;
	int opts_any;        /* <...>: options not checked */
	uint8_t opts[DRILL_MAX_OPTS]; /* raw option bytes, in script order */
	int opts_len;
	int ts_off;          /* offset of the TS option in opts, -1 if none */
	int n_sack;          /* SACK blocks (their offset: sack_off) */
	int sack_off;
	/* `< icmp TYPE [CODE] [mtu N] [id N] [quote]` (inbound only; B11). The quote is the TCP
	 * header of a packet the stack sent on the default flow: seq (relative to the stack's ISN,
	 * as packetdrill maps it) and len above; or [udp(N)] / [raw(N)] */
	int icmp;            /* 1: an ICMP message, not a TCP segment */
	uint8_t icmp_type, icmp_code;
	int32_t icmp_mtu;    /* next-hop MTU (unreachable frag_needed only), -1: not given */
	uint16_t icmp_id;    /* echo id (header bytes 4..5) */
	int icmp_quote;      /* DRILL_QUOTE_* */
};

#define DRILL_QUOTE_TCP 6   /* IP header + the first 8 bytes of the TCP header (default) */
#define DRILL_QUOTE_UDP 17  /* IP header + a UDP header; len = UDP payload bytes */
#define DRILL_QUOTE_RAW 255 /* no quote: len = ICMP message bytes, zero-filled */

/* ICMP type and code names as packetdrill spells them ("unreachable", "host_unreachable"); NULL
 * when there is none (the type_N / code_N forms) */
const char *drill_icmp_type_name(int type);
const char *drill_icmp_code_name(int type, int code);

struct drill_call {
	char name[32];
	struct dx args[DRILL_MAX_ARGS];
	int nargs;
	struct dx result;
	int has_errno;
	char err[32];        /* errno name after the result, e.g. EAGAIN */
	int blocking;        /* "...END" given */
	int64_t end_us;      /* END as written (relative events: relative to the same anchor) */
};

struct drill_event {
	int line;
	int time_type;       /* enum drill_time */
	int64_t t_us, t_end_us;
	int kind;            /* enum drill_kind */
	struct drill_packet pkt;
	struct drill_call call;
	char *cmd;           /* backtick command text */
	int untimed;         /* a command without a time: packetdrill's init command (first) or
	                        cleanup command (last; not run) */
};

struct drill_script {
	struct drill_event *ev;
	int n, cap;
	/* --name=value lines at the top of the script (-1: not given) */
	int64_t tolerance_us;
	double tolerance_pct;
};

/* Parse text into sc. Returns 0, or -1 with a message in err and its line in *line. */
int drill_parse(const char *text, struct drill_script *sc, char *err, size_t cap, int *line);
void drill_script_free(struct drill_script *sc);

/* Linux value of a symbol (SOCK_STREAM, SOL_SOCKET, O_NONBLOCK, POLLIN, ETIMEDOUT...);
 * 0 and *val set, or -1 if unknown. */
int drill_symbol(const char *name, int64_t *val);
/* Name of errno e (positive), or NULL. */
const char *drill_errno_name(int e);

#endif
