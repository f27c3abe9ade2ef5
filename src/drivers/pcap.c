/*
 * pcap.c — classic pcap file writer and reader (see pcap.h).
 *
 * Format: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html
 *   global header: magic u32, version_major u16 (2), version_minor u16 (4), thiszone i32,
 *                  sigfigs u32, snaplen u32, linktype u32;
 *   record header: ts_sec u32, ts_frac u32 (µs or ns), incl_len u32, orig_len u32.
 *
 * SPDX-License-Identifier: MIT
 */
#include "drivers/pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reader never accepts a record longer than this, whatever the file's snaplen says. */
#define PCAP_READ_MAX 262144u

struct pcap_writer {
	FILE *f;
	int nanosec;
	int err; /* first error seen (sticky), reported again by pcap_close */
};

static int errno_or(int fallback)
{
	return errno > 0 ? -errno : fallback;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* native byte order */
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static int write_all(struct pcap_writer *w, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	errno = 0;
	if (fwrite(buf, 1, len, w->f) != len) {
		if (!w->err)
			w->err = errno_or(-EIO);
		return w->err;
	}
	return 0;
}

struct pcap_writer *pcap_open(const char *path, int nanosec, int *err)
{
	struct pcap_writer *w;
	uint8_t hdr[24];
	int rc;

	if (err)
		*err = 0;
	if (!path) {
		if (err)
			*err = -EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	errno = 0;
	w->f = fopen(path, "wb");
	if (!w->f) {
		rc = errno_or(-EIO);
		free(w);
		if (err)
			*err = rc;
		return NULL;
	}
	w->nanosec = nanosec != 0;
	put32(hdr, w->nanosec ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
	put16(hdr + 4, 2);
	put16(hdr + 6, 4);
	put32(hdr + 8, 0);  /* thiszone */
	put32(hdr + 12, 0); /* sigfigs */
	put32(hdr + 16, PCAP_SNAPLEN);
	put32(hdr + 20, PCAP_LINKTYPE_RAW);
	rc = write_all(w, hdr, sizeof(hdr));
	if (rc) {
		pcap_close(w);
		if (err)
			*err = rc;
		return NULL;
	}
	return w;
}

int pcap_write(struct pcap_writer *w, uint64_t t_ns, const uint8_t *pkt, size_t len)
{
	uint8_t rec[16];
	uint64_t sec;
	uint32_t frac;
	size_t incl;
	int rc;

	if (!w || (!pkt && len > 0))
		return -EINVAL;
	if (w->err)
		return w->err;
	sec = t_ns / 1000000000u;
	if (sec > UINT32_MAX)
		return -EOVERFLOW;
	frac = (uint32_t)(t_ns % 1000000000u);
	if (!w->nanosec)
		frac /= 1000u;
	incl = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : len;
	put32(rec, (uint32_t)sec);
	put32(rec + 4, frac);
	put32(rec + 8, (uint32_t)incl);
	put32(rec + 12, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
	rc = write_all(w, rec, sizeof(rec));
	if (rc)
		return rc;
	return write_all(w, pkt, incl);
}

int pcap_close(struct pcap_writer *w)
{
	int rc;

	if (!w)
		return 0;
	rc = w->err;
	errno = 0;
	if (fflush(w->f) != 0 && !rc)
		rc = errno_or(-EIO);
	errno = 0;
	if (fclose(w->f) != 0 && !rc)
		rc = errno_or(-EIO);
	free(w);
	return rc;
}

/* ---- reader ----------------------------------------------------------------------------- */

static uint32_t get32(const uint8_t *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	if (swap)
		v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
	return v;
}

static uint16_t get16(const uint8_t *p, int swap)
{
	uint16_t v;

	memcpy(&v, p, 2);
	if (swap)
		v = (uint16_t)((v >> 8) | (v << 8));
	return v;
}

/* Read exactly len bytes: 1 on success, 0 on a clean EOF before the first byte, -EINVAL on a
 * short read (truncated file), -errno on an I/O error. */
static int read_exact(FILE *f, void *buf, size_t len)
{
	size_t got;

	errno = 0;
	got = fread(buf, 1, len, f);
	if (got == len)
		return 1;
	if (ferror(f))
		return errno_or(-EIO);
	return got == 0 ? 0 : -EINVAL;
}

int pcap_read_all(const char *path, pcap_read_fn cb, void *user)
{
	uint8_t hdr[24], rec[16];
	uint8_t *buf = NULL;
	uint32_t magic, snaplen, linktype, sec, frac, incl, orig, max;
	int swap, nanosec, count = 0, rc;
	uint64_t t;
	FILE *f;

	if (!path)
		return -EINVAL;
	errno = 0;
	f = fopen(path, "rb");
	if (!f)
		return errno_or(-EIO);
	rc = read_exact(f, hdr, sizeof(hdr));
	if (rc <= 0) {
		rc = rc == 0 ? -EINVAL : rc;
		goto out;
	}
	magic = get32(hdr, 0);
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS) {
		swap = 0;
	} else {
		swap = 1;
		magic = get32(hdr, 1);
		if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) {
			rc = -EINVAL;
			goto out;
		}
	}
	nanosec = magic == PCAP_MAGIC_NS;
	snaplen = get32(hdr + 16, swap);
	linktype = get32(hdr + 20, swap) & 0x0fffffffu; /* upper bits: FCS length etc. */
	if (get16(hdr + 4, swap) != 2 ||
	    (linktype != PCAP_LINKTYPE_RAW && linktype != PCAP_LINKTYPE_IPV4)) {
		rc = -EINVAL;
		goto out;
	}
	max = snaplen == 0 || snaplen > PCAP_READ_MAX ? PCAP_READ_MAX : snaplen;
	buf = malloc(max ? max : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		rc = read_exact(f, rec, sizeof(rec));
		if (rc == 0)
			break;
		if (rc < 0)
			goto out;
		sec = get32(rec, swap);
		frac = get32(rec + 4, swap);
		incl = get32(rec + 8, swap);
		orig = get32(rec + 12, swap);
		if (incl > max || incl > orig || frac >= (nanosec ? 1000000000u : 1000000u)) {
			rc = -EINVAL;
			goto out;
		}
		if (incl > 0) {
			rc = read_exact(f, buf, incl);
			if (rc <= 0) {
				rc = rc == 0 ? -EINVAL : rc;
				goto out;
			}
		}
		if (count == INT32_MAX) {
			rc = -EOVERFLOW;
			goto out;
		}
		count++;
		if (cb) {
			t = (uint64_t)sec * 1000000000u + frac * (nanosec ? 1ull : 1000ull);
			cb(user, t, buf, incl);
		}
	}
	rc = count;
out:
	free(buf);
	fclose(f);
	return rc;
}
