/* record.h - the journal's record format: one engine command per record.
 * Byte layout (little-endian), also in docs/journal-format.md:
 *
 *   offset size  field
 *   0      4     len    whole record in bytes, header included (25..XT_WAL_RECORD_MAX)
 *   4      4     crc    CRC32C of bytes [8, len)
 *   8      8     seq    command sequence number
 *   16     8     ts     command timestamp
 *   24     1     type   1 INSTRUMENT, 2 NEW, 3 CANCEL, 4 AMEND,
 *                       5 SESSION_END (xt_cmd_type_t),
 *                       + 0x80 when an origin follows the payload
 *   25     ...   payload, fixed per type:
 *     NEW         id i64, account u32, instrument u32, side u8, ord_type u8,
 *                 tif u8, stp u8, price i64, qty i64                (36 bytes)
 *     CANCEL      id i64, account u32                               (12 bytes)
 *     AMEND       id i64, account u32, price i64, qty i64           (28 bytes)
 *     INSTRUMENT  symbol 16 bytes NUL-padded, flags u8, then tick, lot,
 *                 min, max, ref, band as (m i64, scale u8)          (71 bytes)
 *     SESSION_END account u32, session u32                          (8 bytes)
 *
 *   then, with the 0x80 bit: origin = session u32, clordid u64 (12 bytes)
 *
 * Prices and quantities are ticks and lots, with the XT_PRICE_* / XT_QTY_*
 * sentinels kept as they are.
 */
#ifndef XT_JOURNAL_RECORD_H
#define XT_JOURNAL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "xt/command.h"

#define XT_WAL_RECORD_HDR 24
#define XT_WAL_RECORD_MAX 128 /* the largest record, INSTRUMENT with an origin, is 108 */
#define XT_REC_ORIGIN 0x80
#define XT_REC_ORIGIN_BYTES 12

/* Encodes cmd (seq and ts included) into buf, which has XT_WAL_RECORD_MAX
 * bytes. Returns the record length, or 0 if cmd->type is unknown. */
size_t xt_record_encode(const xt_cmd_t *cmd, uint8_t *buf);

/* The same in two steps: every field but crc, then (xt_record_seal) the
 * crc of the record at buf. The journal seals a batch's records just before
 * writing them: computed at once, the crc read back bytes still in the
 * store buffer, and waited on them (perf: 16% of the engine thread under
 * load, most of it on one load). */
size_t xt_record_encode_unsealed(const xt_cmd_t *cmd, uint8_t *buf);
void xt_record_seal(uint8_t *buf);

typedef enum xt_record_status {
    XT_REC_OK = 0,    /* a whole, valid record */
    XT_REC_SHORT = 1, /* fewer bytes than its length says: maybe torn */
    XT_REC_BAD = 2,   /* length, checksum, type or payload size wrong */
    XT_REC_ZERO = 3,  /* a zero length field: zeros where a record should be */
} xt_record_status_t;

/* Decodes the record at buf[0..avail). On XT_REC_OK fills cmd and *len.
 * On XT_REC_SHORT, *len is the length the record claims (or the header
 * size if even that is missing). Never reads outside buf[0..avail). */
int xt_record_decode(const uint8_t *buf, size_t avail, xt_cmd_t *cmd, size_t *len);

/* Reads only the header fields (len, seq) without checking anything. */
static inline uint32_t xt_record_peek_len(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

#endif
