/* segment.h - journal segment files: a 64-byte header, then records
 * (record.h) back to back until the end of the file.
 *
 *   offset size  field
 *   0      8     magic "XTWAL001"
 *   8      4     version: 2, or 1 for a segment under XT_RULES_1
 *   12     4     header length (64)
 *   16     8     first_seq: the sequence number of its first record
 *   24     8     created: the timestamp of its first record (0 if it was
 *                created before any record was waiting)
 *   32     16    engine capacities its commands ran with: max_orders,
 *                max_levels, max_instruments, max_ladder_nodes (u32 each)
 *   48     4     torn_window: 0, or the segment was preallocated (see
 *                below) and its writer never had more than this many
 *                bytes written but not synced
 *   52     4     version 2: the matching rules (XT_RULES_*) its commands ran
 *                under; version 1: zero, standing for XT_RULES_1
 *   56     4     zero
 *   60     4     CRC32C of bytes [0, 60)
 *
 * Records in a segment, and from one segment to the next, have
 * consecutive sequence numbers.
 *
 * A preallocated segment (spare.h) was zeros, written and synced, before
 * its header went in; records overwrite the zeros, and the zeros after the
 * last record are the end of the segment, not a tear. Its pages reach the
 * disk in any order, so a crash can leave zeros in the middle of the last,
 * unsynced, write and records of that write after them: a bad spot with
 * valid records at most torn_window bytes after it is a torn tail there -
 * if it looks torn (reader.c written_whole: a record whole on the disk
 * that fails its checksum was damaged after it was written).
 */
#ifndef XT_JOURNAL_SEGMENT_H
#define XT_JOURNAL_SEGMENT_H

#include <stdint.h>

#include "caps.h"

#define XT_SEG_HDR 64
#define XT_SEG_MAGIC "XTWAL001"

/* In a preallocated segment, the most bytes ever written and not yet
 * synced: a write that would leave more is preceded by a sync (wal.c).
 * The only torn_window a header may carry besides 0: recovery's torn-tail
 * test trusts it, so a larger one would let it cut synced records. */
#define XT_WAL_TORN_WINDOW (UINT32_C(4) << 20)

/* Fills a header. */
void xt_segment_header(uint8_t hdr[XT_SEG_HDR], uint64_t first_seq, int64_t created, const xt_caps_t *caps,
                       uint32_t torn_window);

/* Checks a header (torn_window 0 or XT_WAL_TORN_WINDOW); returns 1 and
 * sets *first_seq, *caps and, if not NULL, *torn_window if it is valid. */
int xt_segment_header_ok(const uint8_t hdr[XT_SEG_HDR], uint64_t *first_seq, xt_caps_t *caps, uint32_t *torn_window);

/* Is h a header that checks (magic, length, CRC) but of a segment format
 * version or matching-rule revision newer than this build knows - written
 * by a newer build, not damaged? Sets *version and *rules. */
int xt_segment_header_newer(const uint8_t h[XT_SEG_HDR], uint32_t *version, uint32_t *rules);

#endif
