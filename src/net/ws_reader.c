/* ws_reader.c - inbound WebSocket (RFC 6455) frames, over scratch shared by
 * the readers of one thread; the contract is ws.h.
 *
 * wslay's frame layer reads the bytes being fed through a recv callback
 * (WSLAY_ERR_WOULDBLOCK once they run out), unmasks them and hands back
 * pieces of payload. wslay itself only rejects control frames over 125
 * bytes or without FIN and non-minimal lengths; the rest (mask, reserved
 * bits and opcodes, fragmentation order, sizes, UTF-8, CLOSE payloads) is
 * checked here on the first piece of each frame or at its end.
 *
 * Scratch: a wslay frame context is about 4.2 KB (its input buffer), and a
 * market-data client sends a command now and then, so holding one per
 * connection would double the memory of an idle connection. A reader takes
 * an item (context + message buffer) when bytes arrive and gives it back
 * when it is idle again: every byte it gave wslay was parsed (the `held`
 * count: a header is 2, 4 or 10 bytes plus the 4-byte mask, as wslay
 * accepts only minimal lengths), no frame is under way and no fragmented
 * message is being joined. wslay is then back at its first state with an
 * empty buffer, so the context serves the next reader as if new; its
 * callbacks' user data is the pool, which knows the reader being fed. A
 * reader that failed drops its context (its state is mid-frame).
 */
#include "net/ws.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <wslay/wslay.h>

#include "xt/error.h"

typedef struct ws_item {
    struct ws_item *next;       /* on the free list */
    struct ws_item *all_next;   /* every item, for destroy */
    wslay_frame_context_ptr fc; /* NULL until a reader needs it (buffers need none) */
    uint8_t buf[];              /* msg_cap bytes */
} ws_item_t;

struct xt_ws_pool {
    size_t msg_cap;
    uint32_t max_items, n_items, in_use;
    ws_item_t *free, *all;
    xt_ws_reader_t *cur; /* the reader being fed: wslay's recv callback reads its bytes */
};

/* ---- UTF-8 ------------------------------------------------------------------------ */

size_t xt_utf8_seq(const uint8_t *s, size_t n, size_t *bad)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xBF; /* lo..hi: the range of the second byte */
    size_t need;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c == 0xE0)
        need = 2, lo = 0xA0; /* no overlongs */
    else if (c == 0xED)
        need = 2, hi = 0x9F; /* no surrogates */
    else if (c >= 0xE1 && c <= 0xEF)
        need = 2;
    else if (c == 0xF0)
        need = 3, lo = 0x90; /* no overlongs */
    else if (c >= 0xF1 && c <= 0xF3)
        need = 3;
    else if (c == 0xF4)
        need = 3, hi = 0x8F; /* nothing above U+10FFFF */
    else {
        *bad = 1;
        return 0;
    }
    for (size_t k = 1; k <= need; k++) { /* stops at the first byte that does not fit: never reads past it */
        if (k >= n || s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xBF)) {
            *bad = k;
            return 0;
        }
    }
    return need + 1;
}

/* 1 when s[0..n) is well-formed UTF-8 but for a sequence cut short at its
 * end (the rest may come in the next fragment), with *done the length of
 * its whole sequences; 0 at the first byte that can never be UTF-8. */
static int utf8_prefix(const uint8_t *s, size_t n, size_t *done)
{
    size_t i = 0, bad;
    while (i < n) {
        uint64_t w;
        if (n - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0)) {
            i += 8; /* eight ASCII bytes at once */
            continue;
        }
        size_t k = xt_utf8_seq(s + i, n - i, &bad);
        if (k == 0) {
            if (bad >= n - i && s[i] >= 0xC2 && s[i] <= 0xF4) /* a good start, its end not here yet */
                break;
            return 0;
        }
        i += k;
    }
    *done = i;
    return 1;
}

/* 1 when s[0..n) is well-formed UTF-8 (no truncated sequence either). */
static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t done;
    return utf8_prefix(s, n, &done) && done == n;
}

/* ---- the pool -------------------------------------------------------------------- */

int xt_ws_pool_create(xt_ws_pool_t **out, size_t msg_cap, uint32_t max_items)
{
    *out = NULL;
    if (max_items == 0 || msg_cap > SIZE_MAX / 2)
        return XT_EINVAL;
    xt_ws_pool_t *p = calloc(1, sizeof *p);
    if (!p)
        return XT_ENOMEM;
    p->msg_cap = msg_cap;
    p->max_items = max_items;
    *out = p;
    return 0;
}

void xt_ws_pool_destroy(xt_ws_pool_t *p)
{
    if (!p)
        return;
    for (ws_item_t *it = p->all, *next; it; it = next) {
        next = it->all_next;
        if (it->fc)
            wslay_frame_context_free(it->fc);
        free(it);
    }
    free(p);
}

static ws_item_t *take(xt_ws_pool_t *p)
{
    ws_item_t *it = p->free;
    if (it) {
        p->free = it->next;
    } else {
        if (p->n_items == p->max_items)
            return NULL;
        it = malloc(sizeof *it + p->msg_cap);
        if (!it)
            return NULL;
        it->fc = NULL;
        it->all_next = p->all;
        p->all = it;
        p->n_items++;
    }
    p->in_use++;
    return it;
}

static void give(xt_ws_pool_t *p, ws_item_t *it)
{
    assert(p->in_use > 0);
    it->next = p->free;
    p->free = it;
    p->in_use--;
}

uint8_t *xt_ws_pool_take_buffer(xt_ws_pool_t *p)
{
    ws_item_t *it = take(p);
    return it ? it->buf : NULL;
}

void xt_ws_pool_give_buffer(xt_ws_pool_t *p, uint8_t *buf)
{
    if (buf)
        give(p, (ws_item_t *)(void *)(buf - offsetof(ws_item_t, buf)));
}

size_t xt_ws_pool_msg_cap(const xt_ws_pool_t *p)
{
    return p->msg_cap;
}

uint32_t xt_ws_pool_in_use(const xt_ws_pool_t *p)
{
    return p->in_use;
}

uint32_t xt_ws_pool_allocated(const xt_ws_pool_t *p)
{
    return p->n_items;
}

/* ---- the reader ------------------------------------------------------------------ */

/* wslay asks for bytes: the rest of those being fed, up to len. */
static ssize_t recv_cb(uint8_t *buf, size_t len, int flags, void *user)
{
    xt_ws_reader_t *r = ((xt_ws_pool_t *)user)->cur;
    (void)flags;
    size_t n = r->in_len - r->in_pos;
    if (n == 0 || len == 0)
        return WSLAY_ERR_WOULDBLOCK;
    if (n > len)
        n = len;
    memcpy(buf, r->in + r->in_pos, n);
    r->in_pos += n;
    r->held += n;
    size_t t = sizeof r->tail, fresh = n < t ? n : t; /* the tail: its last t - fresh bytes, then these */
    memmove(r->tail, r->tail + fresh, t - fresh);
    memcpy(r->tail + t - fresh, r->in + r->in_pos - fresh, fresh);
    return (ssize_t)n;
}

void xt_ws_reader_init(xt_ws_reader_t *r, xt_ws_pool_t *pool)
{
    memset(r, 0, sizeof *r);
    r->pool = pool;
}

static ws_item_t *item(const xt_ws_reader_t *r)
{
    return r->item;
}

/* Takes scratch for bytes to come; 0 or XT_ENOMEM. */
static int hold(xt_ws_reader_t *r)
{
    static const struct wslay_frame_callbacks cb = {.recv_callback = recv_cb};
    ws_item_t *it = take(r->pool);
    if (!it)
        return XT_ENOMEM;
    if (!it->fc && wslay_frame_context_init(&it->fc, &cb, r->pool) != 0) {
        it->fc = NULL;
        give(r->pool, it);
        return XT_ENOMEM;
    }
    r->item = it;
    return 0;
}

/* Gives the scratch back; a context left mid-frame (a failed reader) is
 * dropped, the next reader gets a new one. */
static void release(xt_ws_reader_t *r, int clean)
{
    ws_item_t *it = item(r);
    if (!it)
        return;
    if (!clean) {
        wslay_frame_context_free(it->fc);
        it->fc = NULL;
    }
    give(r->pool, it);
    r->item = NULL;
}

/* Nothing of a frame or a message is pending: the scratch can go. */
static int at_rest(const xt_ws_reader_t *r)
{
    return r->error == 0 && r->held == 0 && r->frame_left == 0 && r->msg_opcode == 0;
}

void xt_ws_reader_destroy(xt_ws_reader_t *r)
{
    release(r, at_rest(r));
}

int xt_ws_reader_idle(const xt_ws_reader_t *r)
{
    return r->item == NULL;
}

static int fail(xt_ws_reader_t *r, int code)
{
    r->error = code;
    return -code;
}

static int opcode_known(int op)
{
    return op == XT_WS_OP_CONT || op == XT_WS_OP_TEXT || op == XT_WS_OP_BINARY || op == XT_WS_OP_CLOSE ||
           op == XT_WS_OP_PING || op == XT_WS_OP_PONG;
}

/* What a frame's header says of it, checked in one order wherever it is
 * read (a first piece, or a header alone: header_fault), so that any
 * split of the same bytes closes with the same code. 0 or a close code. */
static int header_check(const xt_ws_reader_t *r, int rsv, int op, int mask, int fin, uint64_t len)
{
    if (rsv != 0 || !opcode_known(op) || !mask)
        return XT_WS_CLOSE_PROTOCOL;
    if (op >= XT_WS_OP_CLOSE)
        return !fin || len > sizeof r->ctl ? XT_WS_CLOSE_PROTOCOL : 0;
    if ((op == XT_WS_OP_CONT) != (r->msg_opcode != 0))
        return XT_WS_CLOSE_PROTOCOL; /* continuation without a start, or a start inside */
    return len > r->pool->msg_cap - (op == XT_WS_OP_CONT ? r->msg_len : 0) ? XT_WS_CLOSE_TOO_BIG : 0;
}

/* The first piece of a frame: its header is checked. */
static int frame_start(xt_ws_reader_t *r, const struct wslay_frame_iocb *io)
{
    int op = io->opcode, code = header_check(r, io->rsv, op, io->mask, io->fin, io->payload_length);
    if (code)
        return fail(r, code);
    r->frame_opcode = op;
    r->frame_fin = io->fin;
    r->frame_left = io->payload_length;
    if (op >= XT_WS_OP_CLOSE) {
        r->ctl_opcode = op;
        r->ctl_len = 0;
    } else if (op != XT_WS_OP_CONT) {
        r->msg_opcode = op;
        r->msg_len = 0;
        r->utf8_done = 0;
    }
    return 0;
}

static int close_code_ok(unsigned c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* A whole control frame is in r->ctl. */
static int control_done(xt_ws_reader_t *r, xt_ws_msg_fn fn, void *ctx)
{
    xt_ws_msg_t m = {.opcode = r->ctl_opcode, .data = r->ctl, .len = r->ctl_len};
    r->ctl_opcode = 0;
    r->ctl_len = 0;
    if (m.opcode == XT_WS_OP_CLOSE && m.len > 0) {
        if (m.len == 1 || !close_code_ok((unsigned)m.data[0] << 8 | m.data[1]))
            return fail(r, XT_WS_CLOSE_PROTOCOL);
        if (!utf8_valid(m.data + 2, m.len - 2))
            return fail(r, XT_WS_CLOSE_BAD_DATA);
    }
    return fn(ctx, &m);
}

/* A whole data message: data[0..n), in the scratch buffer or in wslay's. */
static int message_done(xt_ws_reader_t *r, const uint8_t *data, size_t n, xt_ws_msg_fn fn, void *ctx)
{
    xt_ws_msg_t m = {.opcode = r->msg_opcode, .data = data, .len = n};
    r->msg_opcode = 0;
    r->msg_len = 0;
    if (m.opcode == XT_WS_OP_TEXT && !utf8_valid(data + r->utf8_done, n - r->utf8_done))
        return fail(r, XT_WS_CLOSE_BAD_DATA);
    r->utf8_done = 0;
    return fn(ctx, &m);
}

/* One piece of payload from wslay (a whole frame of 0 bytes included). */
static int on_piece(xt_ws_reader_t *r, const struct wslay_frame_iocb *io, xt_ws_msg_fn fn, void *ctx)
{
    if (r->frame_left == 0) {
        int rc = frame_start(r, io);
        if (rc != 0)
            return rc;
    }
    const uint8_t *d = io->data;
    size_t n = io->data_length;
    assert(n <= r->frame_left);
    r->frame_left -= n;
    if (r->frame_opcode >= XT_WS_OP_CLOSE) {
        if (n > 0)
            memcpy(r->ctl + r->ctl_len, d, n);
        r->ctl_len += n;
        return r->frame_left > 0 ? 0 : control_done(r, fn, ctx);
    }
    int last = r->frame_left == 0 && r->frame_fin;
    if (last && r->msg_len == 0) /* the whole message in this piece: no copy */
        return message_done(r, d, n, fn, ctx);
    if (n > 0)
        memcpy(item(r)->buf + r->msg_len, d, n);
    r->msg_len += n;
    if (last)
        return message_done(r, item(r)->buf, r->msg_len, fn, ctx);
    /* RFC 6455 8.1: text that is not UTF-8 fails the connection as soon as
     * it is seen, not at the message's end (which may never come) */
    size_t more;
    if (r->msg_opcode == XT_WS_OP_TEXT) {
        if (!utf8_prefix(item(r)->buf + r->utf8_done, r->msg_len - r->utf8_done, &more))
            return fail(r, XT_WS_CLOSE_BAD_DATA);
        r->utf8_done += more;
    }
    return 0;
}

/* The header's bytes as sent (wslay takes minimal lengths only). */
static uint64_t header_bytes(const struct wslay_frame_iocb *io)
{
    uint64_t n = io->payload_length;
    return 2u + (n < 126 ? 0u : n <= 0xFFFF ? 2u : 8u) + (io->mask ? 4u : 0u);
}

/* wslay hands a frame back only with its first byte of payload: a header
 * that breaks the rules, or announces more than a message may hold, would
 * wait for bytes that never need to come (a client can send the header
 * alone and stop). Between frames, what wslay holds unparsed (r->held, at
 * most a 14-byte header) is the next frame's header: it is read here, from
 * r->tail, and checked as its first piece would be. 0 or a close code. */
static int header_fault(const xt_ws_reader_t *r)
{
    if (r->frame_left != 0 || r->held < 2 || r->held > sizeof r->tail)
        return 0;
    const uint8_t *h = r->tail + sizeof r->tail - r->held;
    if (r->held < xt_ws_header_size(h, r->held) - (h[1] & 0x80 ? 4 : 0)) /* its length not all there yet */
        return 0;
    return header_check(r, h[0] >> 4 & 7, h[0] & 0x0F, h[1] >> 7, h[0] >> 7, xt_ws_header_payload_len(h));
}

int xt_ws_reader_feed(xt_ws_reader_t *r, const uint8_t *data, size_t len, xt_ws_msg_fn fn, void *ctx)
{
    if (r->error)
        return -r->error;
    if (!r->item) {
        if (!data || len == 0)
            return 0;
        if (hold(r) != 0)
            return fail(r, XT_WS_CLOSE_TRY_AGAIN);
    }
    r->in = data;
    r->in_len = data ? len : 0;
    r->in_pos = 0;
    r->pool->cur = r;
    int rc = 0;
    while (rc == 0) {
        struct wslay_frame_iocb io;
        memset(&io, 0, sizeof io);
        ssize_t n = wslay_frame_recv(item(r)->fc, &io);
        if (n == WSLAY_ERR_WANT_READ) {
            assert(r->in_pos == r->in_len);
            int code = header_fault(r);
            if (code)
                rc = fail(r, code);
            break;
        }
        if (n < 0) {
            rc = fail(r, XT_WS_CLOSE_PROTOCOL); /* WSLAY_ERR_PROTO */
            break;
        }
        if (r->frame_left == 0) /* the first piece of a frame: its header was parsed */
            r->held -= header_bytes(&io);
        r->held -= (uint64_t)n;
        rc = on_piece(r, &io, fn, ctx);
        if (!r->item) /* fn destroyed the reader (its connection closed): nothing more to read */
            return rc;
    }
    r->pool->cur = NULL;
    r->in = NULL;
    if (r->error)
        release(r, 0);
    else if (at_rest(r))
        release(r, 1);
    return rc;
}
