/*
 * pcap.h — classic libpcap file writer (and a small reader for tests).
 *
 * Files are written in the host's native byte order, version 2.4, snaplen 65535,
 * link type LINKTYPE_RAW (101): every record is an IPv4 packet starting at the IP header,
 * which is what synq_output() produces and synq_input() takes. Timestamps are the virtual
 * (or real) nanosecond clock of the caller, written as seconds + microseconds (magic
 * 0xa1b2c3d4) or seconds + nanoseconds (magic 0xa1b23c4d).
 *
 * Errors are negative errno values.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SYNQ_DRIVERS_PCAP_H
#define SYNQ_DRIVERS_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_LINKTYPE_RAW 101u
#define PCAP_LINKTYPE_IPV4 228u
#define PCAP_SNAPLEN 65535u

/** Opaque writer, owned by the caller between pcap_open() and pcap_close(). */
struct pcap_writer;

/** Create (truncate) the file at path and write the global header. nanosec != 0 selects
 *  nanosecond timestamps. Returns the writer, or NULL with *err (if err is non-NULL) set to a
 *  negative errno: -EINVAL (path NULL), -ENOMEM, or what fopen/fwrite failed with. */
struct pcap_writer *pcap_open(const char *path, int nanosec, int *err);

/** Append one packet captured at t_ns. Packets longer than the snaplen are truncated in the
 *  file (the record keeps the original length). pkt is only read during the call.
 *  Returns 0, -EINVAL (w NULL, or pkt NULL with len > 0), -EOVERFLOW (t_ns beyond what the
 *  32-bit seconds field holds, year 2106), or the write error. */
int pcap_write(struct pcap_writer *w, uint64_t t_ns, const uint8_t *pkt, size_t len);

/** Flush and close the file, then free w (always, even on error). NULL is allowed (returns 0).
 *  Returns 0 or the negative errno of the first failed write, flush or close. */
int pcap_close(struct pcap_writer *w);

/** Packet callback of pcap_read_all(): pkt holds the captured bytes (len = captured length)
 *  and is valid only during the call. t_ns is the record's timestamp in nanoseconds. */
typedef void (*pcap_read_fn)(void *user, uint64_t t_ns, const uint8_t *pkt, size_t len);

/** Read a whole pcap file (either magic, either byte order; link type RAW or IPV4), calling
 *  cb (may be NULL) for each record in file order. Returns the number of records, -errno if the
 *  file cannot be opened or read, or -EINVAL if it is malformed (bad magic or version, other
 *  link type, record longer than the snaplen or than its original length, fraction field out of
 *  range, truncated header or record). Records before a malformed one have been reported. */
int pcap_read_all(const char *path, pcap_read_fn cb, void *user);

#endif /* SYNQ_DRIVERS_PCAP_H */
