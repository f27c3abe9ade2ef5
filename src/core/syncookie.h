/*
 * syncookie.h — IPv4 SYN cookies (SPEC B32-B37), private to libsynq.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_SYNCOOKIE_H
#define SYNQ_SYNCOOKIE_H

#include "core/synq_int.h"

struct cookie_opts {
	int sack_ok, wscale_ok;
	uint8_t snd_wscale;
};

/* Round mss down to the table {536, 1300, 1440, 1460} (below 536: 536), B34. */
uint16_t cookie_mss_round(uint16_t mss, uint32_t *mssind);
/* The cookie ISN for a SYN; *mss (clamped client MSS) becomes the encoded table value. */
uint32_t cookie_v4_init_sequence(const struct synq_stack *s, const struct synq_seg *syn,
				 uint16_t *mss);
/* The MSS encoded in an ACK's cookie (ack - 1, with SEG.SEQ - 1 as the client ISN), 0 if the
 * cookie does not validate (wrong hash or older than 2 minute-counter steps). */
uint16_t cookie_v4_check(const struct synq_stack *s, const struct synq_seg *ack);
/* TSval (before the offset) carrying the options in its low 6 bits (B35). */
uint32_t cookie_init_timestamp(const struct synq_stack *s, int wscale_ok, uint8_t snd_wscale,
			       int sack_ok, int ecn_ok);
/* Options from the echoed TSecr (offset removed); 0 = reject. */
int cookie_timestamp_decode(const struct synq_stack *s, int saw_ts, uint32_t tsecr,
			    struct cookie_opts *o);
void cookie_note_overflow(const struct synq_stack *s, struct synq_sock *l);
int cookie_recent_overflow(const struct synq_stack *s, const struct synq_sock *l);

#endif
