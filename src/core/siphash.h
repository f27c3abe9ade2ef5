/*
 * siphash.h — SipHash-2-4 (Aumasson & Bernstein), private to libsynq.
 * Used for ISNs (secure_tcp_seq), timestamp offsets (secure_tcp_ts_off), the table hash and,
 * with the cookie issue, SYN cookies (SPEC B33). Checked against the 64 reference vectors.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_SIPHASH_H
#define SYNQ_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t k0, k1; /* key bytes 0..7 and 8..15, little-endian */
};

/* Key from 16 bytes (little-endian halves, as the reference implementation reads them). */
void siphash_key_from_bytes(struct siphash_key *k, const uint8_t bytes[16]);

/* SipHash-2-4 of msg[0..len) (reference byte-oriented definition). */
uint64_t siphash24(const struct siphash_key *k, const void *msg, size_t len);

/* Linux siphash_4u32(a, b, c, d, key): the same as siphash24 over the 16 bytes
 * a, b, c, d each stored little-endian, computed without a buffer. */
uint64_t siphash_4u32(uint32_t a, uint32_t b, uint32_t c, uint32_t d, const struct siphash_key *k);
/* siphash_3u32: 12 bytes */
uint64_t siphash_3u32(uint32_t a, uint32_t b, uint32_t c, const struct siphash_key *k);

#endif
