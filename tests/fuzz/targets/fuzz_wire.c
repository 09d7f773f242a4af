/* fuzz_wire.c - libFuzzer target: the input is a byte stream arriving at a
 * server connection (max_frame 256), framed by xt_wire_frame().
 *
 * Whole pass: frame after frame until the first error or the end, as the
 * server would. Each whole frame is decoded with its type's decoder and
 * encoded again with its encoder; the result must equal the input frame
 * once the input's reserved and padding bytes are zeroed and its char[N]
 * fields NUL-padded (bytes after the first NUL zeroed). The reserved ranges
 * and lengths below are restated from docs/protocol.md, independently of
 * the codec, so a misplaced field shows up as a mismatch.
 *
 * Byte pass: the same input fed one byte at a time through a reassembly
 * buffer of max_frame bytes must give the same sequence of frames and the
 * same final error (or the same unfinished tail).
 *
 * Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xt/wire.h"

#define MAX_FRAME 256

/* ---- decode + re-encode, one function per type ---- */

typedef size_t (*roundtrip_fn)(const uint8_t *in, uint8_t flags, uint64_t seq, uint8_t *out);

/* Encoders of client messages take no flags or seq; of unsequenced server
 * messages, only seq; of sequenced ones, both. */
#define RT_NONE(name)                                                                                                  \
    static size_t rt_##name(const uint8_t *in, uint8_t flags, uint64_t seq, uint8_t *out)                              \
    {                                                                                                                  \
        xt_msg_##name##_t m;                                                                                           \
        memset(&m, 0, sizeof m);                                                                                       \
        xt_wire_get_##name(in, &m);                                                                                    \
        (void)flags, (void)seq;                                                                                        \
        return xt_wire_put_##name(out, &m);                                                                            \
    }
#define RT_SEQ(name)                                                                                                   \
    static size_t rt_##name(const uint8_t *in, uint8_t flags, uint64_t seq, uint8_t *out)                              \
    {                                                                                                                  \
        xt_msg_##name##_t m;                                                                                           \
        memset(&m, 0, sizeof m);                                                                                       \
        xt_wire_get_##name(in, &m);                                                                                    \
        (void)flags;                                                                                                   \
        return xt_wire_put_##name(out, seq, &m);                                                                       \
    }
#define RT_FLAGS_SEQ(name)                                                                                             \
    static size_t rt_##name(const uint8_t *in, uint8_t flags, uint64_t seq, uint8_t *out)                              \
    {                                                                                                                  \
        xt_msg_##name##_t m;                                                                                           \
        memset(&m, 0, sizeof m);                                                                                       \
        xt_wire_get_##name(in, &m);                                                                                    \
        return xt_wire_put_##name(out, flags, seq, &m);                                                                \
    }

RT_NONE(login)
RT_NONE(new_order)
RT_NONE(cancel)
RT_NONE(amend)
RT_NONE(mass_cancel)
RT_NONE(order_status)
RT_SEQ(hello)
RT_SEQ(login_accepted)
RT_SEQ(login_rejected)
RT_SEQ(instrument)
RT_SEQ(error)
RT_SEQ(status_reply)
RT_SEQ(mass_cancel_ack)
RT_FLAGS_SEQ(accepted)
RT_FLAGS_SEQ(rejected)
RT_FLAGS_SEQ(fill)
RT_FLAGS_SEQ(canceled)
RT_FLAGS_SEQ(amended)

static size_t rt_amend_checked(const uint8_t *in, uint8_t flags, uint64_t seq, uint8_t *out)
{
    xt_msg_amend_t m; /* AMEND's struct, with its instrument */
    memset(&m, 0, sizeof m);
    xt_wire_get_amend_checked(in, &m);
    (void)flags, (void)seq;
    return xt_wire_put_amend_checked(out, &m);
}

static size_t rt_header(const uint8_t *in, uint8_t flags, uint64_t seq, uint8_t *out)
{
    return xt_wire_put_header(out, in[2], flags, seq);
}

/* ---- the layout, restated from docs/protocol.md ---- */

enum { ARGS_NONE, ARGS_SEQ, ARGS_FLAGS_SEQ };

typedef struct kind {
    uint8_t type;
    uint8_t len;
    uint8_t args;      /* ARGS_*: what the encoder takes */
    uint8_t pad[2][2]; /* reserved ranges: offset, size (size 0: none) */
    uint8_t str[2];    /* a char[N] field: offset, size */
    roundtrip_fn rt;
} kind_t;

static const kind_t kinds[] = {
    {0x01, 104, ARGS_NONE, {{96, 8}}, {24, 16}, rt_login},
    {0x02, 16, ARGS_FLAGS_SEQ, {{0}}, {0}, rt_header},
    {0x03, 56, ARGS_NONE, {{48, 8}}, {0}, rt_new_order},
    {0x04, 40, ARGS_NONE, {{0}}, {0}, rt_cancel},
    {0x05, 56, ARGS_NONE, {{0}}, {0}, rt_amend},
    {0x06, 32, ARGS_NONE, {{28, 4}}, {0}, rt_mass_cancel},
    {0x07, 40, ARGS_NONE, {{0}}, {0}, rt_order_status},
    {0x08, 16, ARGS_FLAGS_SEQ, {{0}}, {0}, rt_header},
    {0x09, 64, ARGS_NONE, {{60, 4}}, {0}, rt_amend_checked},
    {0x81, 48, ARGS_SEQ, {{18, 2}}, {0}, rt_hello},
    {0x82, 56, ARGS_SEQ, {{52, 4}}, {0}, rt_login_accepted},
    {0x83, 32, ARGS_SEQ, {{18, 6}}, {0}, rt_login_rejected},
    {0x84, 96, ARGS_SEQ, {{22, 2}, {90, 6}}, {24, 16}, rt_instrument},
    {0x85, 16, ARGS_FLAGS_SEQ, {{0}}, {0}, rt_header},
    {0x86, 80, ARGS_SEQ, {{0}}, {18, 62}, rt_error},
    {0x87, 88, ARGS_SEQ, {{72, 16}}, {0}, rt_status_reply},
    {0x88, 32, ARGS_SEQ, {{28, 4}}, {0}, rt_mass_cancel_ack},
    {0x89, 16, ARGS_FLAGS_SEQ, {{0}}, {0}, rt_header},
    {0x90, 64, ARGS_FLAGS_SEQ, {{0}}, {0}, rt_accepted},
    {0x91, 48, ARGS_FLAGS_SEQ, {{35, 1}}, {0}, rt_rejected},
    {0x92, 80, ARGS_FLAGS_SEQ, {{46, 2}}, {0}, rt_fill},
    {0x93, 64, ARGS_FLAGS_SEQ, {{37, 1}}, {0}, rt_canceled},
    {0x94, 72, ARGS_FLAGS_SEQ, {{57, 3}}, {0}, rt_amended},
};

static const kind_t *find_kind(uint8_t type)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].type == type)
            return &kinds[i];
    return NULL;
}

/* The frame as the encoder must write it: reserved bytes zero, the string
 * NUL-padded. */
static void canonical(const kind_t *k, const uint8_t *in, uint8_t *c)
{
    memcpy(c, in, k->len);
    for (int i = 0; i < 2; i++)
        memset(c + k->pad[i][0], 0, k->pad[i][1]);
    uint8_t *s = c + k->str[0];
    size_t n = k->str[1], j = 0;
    while (j < n && s[j] != 0)
        j++;
    memset(s + j, 0, n - j);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static void check_roundtrip(const uint8_t *in, const xt_wire_hdr_t *h)
{
    const kind_t *k = find_kind(h->type);
    CHECK(k != NULL && k->len == h->len);
    CHECK(strcmp(xt_wire_type_name(h->type), "?") != 0);
    uint8_t out[XT_WIRE_MAX], want[XT_WIRE_MAX];
    memset(out, 0xA5, sizeof out); /* stale bytes must all be overwritten */
    CHECK(k->rt(in, h->flags, h->seq, out) == k->len);
    /* what the encoder was not given must come out zero, then set it */
    if (k->args == ARGS_NONE)
        CHECK(all_zero(out + 3, XT_WIRE_HDR - 3));
    if (k->args == ARGS_SEQ)
        CHECK(out[3] == 0);
    xt_wire_set_seq(out, h->flags, h->seq);
    canonical(k, in, want);
    CHECK(memcmp(out, want, k->len) == 0);
}

/* ---- the two passes ---- */

/* Whole pass, one step: the next frame's length, 0 at the end, or an
 * error. */
static int next_whole(const uint8_t *data, size_t size, size_t *off)
{
    xt_wire_hdr_t h;
    int rc = xt_wire_frame(data + *off, size - *off, MAX_FRAME, &h);
    CHECK(rc == xt_wire_frame(data + *off, size - *off, MAX_FRAME, NULL));
    if (rc > 0) {
        CHECK((size_t)rc <= size - *off);
        check_roundtrip(data + *off, &h);
        *off += (size_t)rc;
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t buf[MAX_FRAME];
    size_t have = 0, off = 0;
    for (size_t i = 0; i < size; i++) {
        CHECK(have < sizeof buf);
        buf[have++] = data[i];
        int rc = xt_wire_frame(buf, have, MAX_FRAME, NULL);
        if (rc == 0)
            continue;
        size_t start = off;
        CHECK(next_whole(data, size, &off) == rc);
        if (rc < 0)
            return 0; /* the server sends ERROR and closes */
        CHECK((size_t)rc == have && memcmp(buf, data + start, have) == 0);
        have = 0;
    }
    /* the byte pass ended wanting more: so must the whole pass */
    CHECK(next_whole(data, size, &off) == 0);
    CHECK(size - off == have);
    return 0;
}
