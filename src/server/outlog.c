/* outlog.c - the sequenced-message log (see outlog.h). */
#include "outlog.h"

#include <stdlib.h>
#include <string.h>

#include "core/le.h"
#include "core/pages.h"
#include "xt/error.h"

int xt_outlog_init(xt_outlog_t *l, uint64_t cap, unsigned page_flags)
{
    memset(l, 0, sizeof *l);
    if (cap < 2)
        cap = 2;
    /* Read by a snapshot's child (the kept messages): no XT_PAGES_NOFORK. */
    l->slots = cap <= SIZE_MAX / sizeof *l->slots ? xt_pages_alloc(cap * sizeof *l->slots, page_flags) : NULL;
    if (!l->slots)
        return XT_ENOMEM;
    l->cap = cap;
    return 0;
}

void xt_outlog_destroy(xt_outlog_t *l)
{
    xt_pages_free(l->slots);
    memset(l, 0, sizeof *l);
}

/* Writes the next slot: n bytes of frame, len its frame's length (a
 * control slot's values are not a frame: len 0). */
static uint64_t put(xt_outlog_t *l, uint32_t account, uint32_t session, uint64_t prev1, uint32_t conn, uint8_t flags,
                    const uint8_t *bytes, size_t n, uint16_t len)
{
    uint64_t pos = l->head++;
    xt_outlog_slot_t *s = &l->slots[pos % l->cap];
    atomic_store_explicit(&s->stamp, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release); /* readers see 0 before any new byte */
    s->prev1 = prev1;
    s->account = account;
    s->session = session;
    s->conn = conn;
    s->len = len;
    s->flags = flags;
    memcpy(s->frame, bytes, n);
    atomic_store_explicit(&s->stamp, pos + 1, memory_order_release);
    return pos;
}

uint64_t xt_outlog_append(xt_outlog_t *l, uint32_t account, uint32_t session, uint64_t prev1, uint32_t conn,
                          uint8_t flags, const uint8_t *frame, uint16_t len)
{
    return put(l, account, session, prev1, conn, flags, frame, len, len);
}

uint64_t xt_outlog_append_control(xt_outlog_t *l, uint32_t account, uint32_t session, uint32_t code, uint64_t v0,
                                  uint64_t v1)
{
    uint8_t values[XT_OL_CONTROL_VALUES];
    xt_put64(values, v0);
    xt_put64(values + 8, v1);
    return put(l, account, session, 0, code, XT_OL_CONTROL, values, sizeof values, 0);
}

int xt_outlog_read(const xt_outlog_t *l, uint64_t pos, xt_outlog_slot_t *out)
{
    const xt_outlog_slot_t *s = &l->slots[pos % l->cap];
    uint64_t a = atomic_load_explicit(&s->stamp, memory_order_acquire);
    if (a != pos + 1)
        return -1;
    out->prev1 = s->prev1;
    out->account = s->account;
    out->session = s->session;
    out->conn = s->conn;
    out->len = s->len;
    out->flags = s->flags;
    if (out->len > XT_OUTLOG_FRAME)
        return -1;
    memcpy(out->frame, s->frame, (out->flags & XT_OL_CONTROL) ? XT_OL_CONTROL_VALUES : out->len);
    atomic_thread_fence(memory_order_acquire);
    uint64_t b = atomic_load_explicit(&s->stamp, memory_order_relaxed);
    return b == pos + 1 ? 0 : -1;
}
