/*
 * siphash.c — SipHash-2-4 (Jean-Philippe Aumasson, Daniel J. Bernstein, "SipHash: a fast
 * short-input PRF", 2012), as the reference implementation and Linux lib/siphash.c compute it.
 *
 * Words are read little-endian (paper section 2: "m is parsed as a sequence of 64-bit
 * little-endian integers"); the last word carries the message length mod 256 in its top byte.
 *
 * SPDX-License-Identifier: MIT
 */
#include "core/siphash.h"

static inline uint64_t rotl64(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
	       ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
	       ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

struct sipstate {
	uint64_t v0, v1, v2, v3;
};

/* SipRound (paper section 2, figure 2.1) */
static inline void sipround(struct sipstate *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

/* Initialization: v0..v3 = k ^ "somepseudorandomlygeneratedbytes" */
static inline void sip_init(struct sipstate *s, const struct siphash_key *k)
{
	s->v0 = 0x736f6d6570736575ULL ^ k->k0;
	s->v1 = 0x646f72616e646f6dULL ^ k->k1;
	s->v2 = 0x6c7967656e657261ULL ^ k->k0;
	s->v3 = 0x7465646279746573ULL ^ k->k1;
}

/* Compression: c = 2 SipRounds per message word */
static inline void sip_compress(struct sipstate *s, uint64_t m)
{
	s->v3 ^= m;
	sipround(s);
	sipround(s);
	s->v0 ^= m;
}

/* Finalization: d = 4 SipRounds */
static inline uint64_t sip_final(struct sipstate *s)
{
	s->v2 ^= 0xff;
	sipround(s);
	sipround(s);
	sipround(s);
	sipround(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

void siphash_key_from_bytes(struct siphash_key *k, const uint8_t bytes[16])
{
	k->k0 = le64(bytes);
	k->k1 = le64(bytes + 8);
}

uint64_t siphash24(const struct siphash_key *k, const void *msg, size_t len)
{
	const uint8_t *p = msg;
	const uint8_t *end = p + (len & ~(size_t)7);
	struct sipstate s;
	uint64_t b = (uint64_t)len << 56;

	sip_init(&s, k);
	for (; p != end; p += 8)
		sip_compress(&s, le64(p));
	switch (len & 7) {
	case 7:
		b |= (uint64_t)p[6] << 48;
		/* fall through */
	case 6:
		b |= (uint64_t)p[5] << 40;
		/* fall through */
	case 5:
		b |= (uint64_t)p[4] << 32;
		/* fall through */
	case 4:
		b |= (uint64_t)p[3] << 24;
		/* fall through */
	case 3:
		b |= (uint64_t)p[2] << 16;
		/* fall through */
	case 2:
		b |= (uint64_t)p[1] << 8;
		/* fall through */
	case 1:
		b |= (uint64_t)p[0];
		break;
	case 0:
		break;
	}
	sip_compress(&s, b);
	return sip_final(&s);
}

uint64_t siphash_4u32(uint32_t a, uint32_t b, uint32_t c, uint32_t d, const struct siphash_key *k)
{
	struct sipstate s;

	sip_init(&s, k);
	sip_compress(&s, (uint64_t)a | ((uint64_t)b << 32));
	sip_compress(&s, (uint64_t)c | ((uint64_t)d << 32));
	sip_compress(&s, (uint64_t)16 << 56);
	return sip_final(&s);
}

uint64_t siphash_3u32(uint32_t a, uint32_t b, uint32_t c, const struct siphash_key *k)
{
	struct sipstate s;

	sip_init(&s, k);
	sip_compress(&s, (uint64_t)a | ((uint64_t)b << 32));
	sip_compress(&s, ((uint64_t)12 << 56) | c);
	return sip_final(&s);
}
