/* fuzz_mdbin.c - libFuzzer target: the input is a byte stream arriving at
 * a binary market-data connection (docs/md-binary.md), framed by
 * xt_mdb_frame() as md_tcp.c does.
 *
 * Whole pass: frame after frame until the first error or the end. Each
 * request frame is decoded and encoded again; the result must equal the
 * input frame once the bytes the doc says are not read (header flags and
 * seq, body reserved 30..31) are zeroed. Lengths and the type table are
 * restated here from the doc, independently of the codec.
 *
 * Byte pass: the same input fed one byte at a time through a reassembly
 * buffer of 32 bytes (the longest client frame) must give the same frames
 * and the same final error (or the same unfinished tail).
 *
 * Encoder pass: the input, read as depth levels, encoded as a DEPTH_DELTA
 * and read back at the doc's offsets, gives the same levels, counts,
 * flags and prev_seq.
 *
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/le.h"
#include "fuzz.h"
#include "server/md_bin.h"

/* From the doc: the client types and their lengths. */
static size_t doc_len(uint8_t type)
{
    return type == 0x02 ? 16 : type >= 0x20 && type <= 0x22 ? 32 : 0;
}

static void check_frame(const uint8_t *in, const xt_wire_hdr_t *h)
{
    CHECK(doc_len(h->type) == h->len && xt_mdb_request_len(h->type) == h->len);
    CHECK(xt_get16(in) == h->len && in[2] == h->type && xt_get32(in + 4) == 0);
    if (h->type == 0x02)
        return;
    xt_mdb_request_t r;
    uint8_t out[XT_MDB_LEN_REQUEST + 8], want[XT_MDB_LEN_REQUEST];
    memset(out, 0xA5, sizeof out);
    xt_mdb_get_request(in, &r);
    CHECK(xt_mdb_put_request(out, h->type, &r) == XT_MDB_LEN_REQUEST);
    CHECK(out[XT_MDB_LEN_REQUEST] == 0xA5); /* nothing written past the frame */
    memcpy(want, in, sizeof want);
    memset(want + 3, 0, 1);
    memset(want + 8, 0, 8);
    memset(want + 30, 0, 2);
    CHECK(memcmp(out, want, sizeof want) == 0);
    CHECK(r.request_id == xt_get64(in + 16) && r.instrument == xt_get32(in + 24));
    CHECK(r.channels == in[28] && r.depth == in[29]);
}

static int next_whole(const uint8_t *data, size_t size, size_t *off)
{
    xt_wire_hdr_t h;
    int rc = xt_mdb_frame(data + *off, size - *off, &h);
    CHECK(rc == xt_mdb_frame(data + *off, size - *off, NULL));
    CHECK(rc <= 0 || rc == -XT_ERR_MALFORMED || rc == -XT_ERR_FRAME_TOO_LARGE || rc == -XT_ERR_UNKNOWN_TYPE ||
          (rc >= 16 && rc <= XT_MDB_IN_MAX));
    if (rc > 0) {
        CHECK((size_t)rc <= size - *off);
        check_frame(data + *off, &h);
        *off += (size_t)rc;
    }
    return rc;
}

/* The input as levels (16 bytes each; the first byte splits bids from
 * asks), encoded as a delta and read back. */
static void encoder_pass(const uint8_t *data, size_t size)
{
    static xt_md_level_t lv[256];
    static uint8_t out[48 + 256 * 16];
    uint32_t n = (uint32_t)(size / 16 < 256 ? size / 16 : 256), nb = size ? data[0] % (n + 1) : 0;
    for (uint32_t i = 0; i < n; i++)
        lv[i] = (xt_md_level_t){(int64_t)xt_get64(data + 16 * i), (int64_t)xt_get64(data + 16 * i + 8), 0};
    uint64_t seq = size > 8 ? xt_get64(data + size - 8) : 1, prev = seq ^ 0x5555;
    size_t len = 48 + 16 * (size_t)n;
    CHECK(xt_mdb_enc_depth(out, len - 1, XT_MDB_DEPTH_DELTA, 9, 20, seq, prev, -5, lv, nb, lv + nb, n - nb) == 0);
    CHECK(xt_mdb_enc_depth(out, len, XT_MDB_DEPTH_DELTA, 9, 20, seq, prev, -5, lv, nb, lv + nb, n - nb) == len);
    CHECK(xt_get16(out) == len && out[2] == 0xA4 && out[3] == 0 && xt_get32(out + 4) == 0);
    CHECK(xt_get64(out + 8) == seq && xt_get64(out + 32) == prev);
    CHECK(xt_get32(out + 16) == 9 && out[20] == (XT_MDB_F_FIRST | XT_MDB_F_LAST) && out[21] == 20);
    CHECK(xt_get16(out + 40) == nb && xt_get16(out + 42) == n - nb && xt_get32(out + 44) == 0);
    CHECK((int64_t)xt_get64(out + 24) == -5 && xt_get16(out + 22) == 0);
    for (uint32_t i = 0; i < n; i++) {
        CHECK((int64_t)xt_get64(out + 48 + 16 * i) == lv[i].price);
        CHECK((int64_t)xt_get64(out + 56 + 16 * i) == lv[i].qty);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t buf[XT_MDB_IN_MAX];
    size_t have = 0, off = 0;
    encoder_pass(data, size);
    for (size_t i = 0; i < size; i++) {
        CHECK(have < sizeof buf);
        buf[have++] = data[i];
        int rc = xt_mdb_frame(buf, have, NULL);
        if (rc == 0)
            continue;
        size_t start = off;
        CHECK(next_whole(data, size, &off) == rc);
        if (rc < 0)
            return 0; /* the server sends ERROR and closes */
        CHECK((size_t)rc == have && memcmp(buf, data + start, have) == 0);
        have = 0;
    }
    CHECK(next_whole(data, size, &off) == 0);
    CHECK(size - off == have);
    return 0;
}
