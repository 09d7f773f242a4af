/* md_feed.c - the engine -> market-data ring (see md_feed.h). */
#include "md_feed.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/pages.h"

int xt_md_feed_init(xt_md_feed_t *f, uint32_t records, uint32_t instruments, unsigned page_flags)
{
    uint64_t cap = 64;
    while (cap < records)
        cap <<= 1;
    f->v = xt_pages_alloc(cap * sizeof *f->v, page_flags | XT_PAGES_NOFORK); /* the snapshot never reads it */
    f->mask = cap - 1;
    f->covered_from = UINT32_MAX;
    atomic_store(&f->batch_open, XT_MD_NO_BATCH);
    f->lost = calloc(instruments ? instruments : 1, 1);
    f->n_lost = instruments;
    f->want = calloc(instruments ? instruments : 1, sizeof *f->want);
    f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return f->v && f->lost && f->want && f->efd >= 0 ? 0 : -1;
}

int64_t xt_md_feed_horizon(xt_md_feed_t *f, int64_t now, int64_t before)
{
    /* seq_cst, as the engine's stores and the market clock's floor
     * (clock.c): a batch that marks itself after this load reads its
     * clock after market data read `now`, so at least `now` (the floor
     * never goes back), and its trades are in intervals not closed here */
    int64_t b = atomic_load(&f->batch_open);
    if (b == XT_MD_BATCH_STARTING)
        return before < now ? before : now;
    return b < now ? b : now;
}

void xt_md_feed_destroy(xt_md_feed_t *f)
{
    xt_pages_free(f->v);
    f->v = NULL;
    free(f->lost);
    f->lost = NULL;
    free((void *)f->want);
    f->want = NULL;
    if (f->efd >= 0)
        close(f->efd);
    f->efd = -1;
}

/* Event e did not fit: its book is to be written again (a lost trade
 * cannot be sent again, but market data learns that it was lost). */
static void lose(xt_md_feed_t *f, const xt_event_t *e)
{
    uint32_t i = e->instrument;
    if (e->type != XT_EV_BOOK)
        atomic_fetch_add_explicit(&f->trades_lost, 1, memory_order_relaxed);
    if (i < f->n_lost && e->type != XT_EV_TRADE)
        f->lost[i] = 1;
    if (i >= f->n_lost || i < f->covered_from) /* else the resync under way writes its book later */
        atomic_fetch_add_explicit(&f->dropped, 1, memory_order_relaxed);
}

void xt_md_feed_batch(xt_md_feed_t *f, const xt_event_batch_t *b)
{
    if (!f->on)
        return;
    uint64_t tail = atomic_load_explicit(&f->tail, memory_order_acquire);
    for (uint32_t i = 0; i < b->n; i++) {
        const xt_event_t *e = &b->events[i];
        if (e->type != XT_EV_BOOK && e->type != XT_EV_TRADE && e->type != XT_EV_INSTRUMENT) /* (a band's ref) */
            continue;
        if (f->wpos - tail > f->mask || (e->type == XT_EV_INSTRUMENT && f->lose_bands)) {
            lose(f, e);
            continue;
        }
        xt_md_rec_t *r = &f->v[f->wpos++ & f->mask];
        r->seq = b->seq;
        r->ts = b->ts;
        r->last = 0;
        r->resync = 0;
        r->ev = *e;
    }
    if (b->last) {
        if (f->wpos > f->cmd_start)
            f->v[(f->wpos - 1) & f->mask].last = 1;
        f->cmd_start = f->wpos;
    }
}

int xt_md_feed_mark(xt_md_feed_t *f, uint64_t seq)
{
    if (!f->on)
        return 1;
    if (f->wpos - atomic_load_explicit(&f->tail, memory_order_acquire) > f->mask)
        return -1;
    xt_md_rec_t *r = &f->v[f->wpos++ & f->mask];
    memset(r, 0, sizeof *r);
    r->seq = seq;
    r->ev.type = XT_MD_FEED_CHECKPOINT;
    f->cmd_start = f->wpos;
    xt_md_feed_publish(f); /* a snapshot begins after a sync: what the ring holds is durable */
    return 0;
}

void xt_md_feed_publish(xt_md_feed_t *f)
{
    if (atomic_load_explicit(&f->head, memory_order_relaxed) == f->wpos)
        return;
    atomic_store_explicit(&f->head, f->wpos, memory_order_release);
    if (atomic_exchange_explicit(&f->sleeping, 0, memory_order_seq_cst)) {
        uint64_t one = 1;
        ssize_t n = write(f->efd, &one, sizeof one);
        (void)n;
    }
}

void xt_md_feed_discard(xt_md_feed_t *f)
{
    f->wpos = f->cmd_start = atomic_load_explicit(&f->head, memory_order_relaxed);
}

void xt_md_feed_raw(xt_md_feed_t *f, const xt_event_t *ev, uint32_t n, uint64_t seq, int64_t ts, int last)
{
    uint64_t tail = atomic_load_explicit(&f->tail, memory_order_acquire);
    for (uint32_t i = 0; i < n; i++) {
        if (f->wpos - tail > f->mask) {
            lose(f, &ev[i]);
            continue;
        }
        xt_md_rec_t *r = &f->v[f->wpos++ & f->mask];
        *r = (xt_md_rec_t){seq, ts, last && i + 1 == n, 1, ev[i]};
    }
    f->cmd_start = f->wpos;
}

/* Room for one more trade: 0, or -1 (over max, or no memory). */
static int replay_room(xt_md_replay_t *r)
{
    if (r->n >= r->max)
        return -1;
    if (r->n < r->n_chunks * XT_MD_REPLAY_CHUNK)
        return 0;
    if (!r->chunk && !(r->chunk = calloc(r->max / XT_MD_REPLAY_CHUNK + 1, sizeof(xt_md_replay_rec_t *))))
        return -1;
    if (!(r->chunk[r->n_chunks] = malloc(XT_MD_REPLAY_CHUNK * sizeof(xt_md_replay_rec_t))))
        return -1;
    r->n_chunks++;
    return 0;
}

void xt_md_replay_add(xt_md_replay_t *r, const xt_event_batch_t *b)
{
    for (uint32_t i = 0; i < b->n && !r->overflow; i++) {
        const xt_event_t *e = &b->events[i];
        if (e->type != XT_EV_TRADE)
            continue;
        if (replay_room(r)) { /* too many to replay (or no memory): market data starts the day afresh */
            xt_md_replay_free(r);
            r->overflow = 1;
            return;
        }
        r->chunk[r->n / XT_MD_REPLAY_CHUNK][r->n % XT_MD_REPLAY_CHUNK] =
            (xt_md_replay_rec_t){.seq = b->seq,
                                 .trade_id = e->u.trade.trade_id,
                                 .ts = b->ts,
                                 .price = e->price,
                                 .qty = e->qty,
                                 .order_id = e->order_id,
                                 .maker_id = e->u.trade.maker_id,
                                 .instrument = e->instrument,
                                 .account = e->account,
                                 .maker_account = e->u.trade.maker_account,
                                 .side = e->side};
        r->n++;
    }
}

void xt_md_replay_free(xt_md_replay_t *r)
{
    for (uint32_t k = 0; k < r->n_chunks; k++)
        free(r->chunk[k]);
    free(r->chunk);
    r->chunk = NULL;
    r->n = r->n_chunks = 0;
}
