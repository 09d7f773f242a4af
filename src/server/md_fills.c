/* md_fills.c - the newest fills of each account for GET /api/v1/fills
 * (md_fills.h): rings per account, an account index (open addressing,
 * deletion by backward shift), a recency list choosing the account that
 * gives up its place, the table as bytes (also while it changes: a
 * checkpoint) and the JSON answer. */
#include "md_fills.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/cow.h"
#include "core/le.h"
#include "metrics.h" /* xt_text_t */
#include "xt/decimal.h"
#include "xt/error.h"

#define NONE UINT32_MAX

int xt_fills_init(xt_fills_t *f, uint32_t accounts, uint32_t per_account)
{
    memset(f, 0, sizeof *f);
    if (accounts == 0 || per_account == 0 || accounts > (1u << 30))
        return XT_EINVAL;
    uint32_t n = 2;
    while (n < 2 * (uint64_t)accounts) /* the index stays at most half full */
        n <<= 1;
    f->v = calloc((size_t)accounts * per_account, sizeof *f->v); /* pages are touched as fills come */
    f->acct = calloc(accounts, sizeof *f->acct);
    f->index = calloc(n, sizeof *f->index);
    f->scratch = calloc(XT_FILLS_LIMIT_MAX + 1, sizeof *f->scratch);
    f->ck.chunks = (per_account + XT_FILLS_CKPT_CHUNK - 1) / XT_FILLS_CKPT_CHUNK;
    f->ck.place = calloc(accounts, sizeof *f->ck.place);
    f->ck.state = calloc((size_t)accounts * f->ck.chunks, sizeof *f->ck.state);
    if (!f->v || !f->acct || !f->index || !f->scratch || !f->ck.place || !f->ck.state) {
        xt_fills_destroy(f);
        return XT_ENOMEM;
    }
    f->index_mask = n - 1;
    f->cap_accounts = accounts;
    f->per_account = per_account;
    f->newest = f->oldest = NONE;
    return 0;
}

void xt_fills_destroy(xt_fills_t *f)
{
    free(f->v);
    free(f->acct);
    free(f->index);
    free(f->scratch);
    free(f->ck.place);
    free((void *)f->ck.state);
    f->v = NULL;
    f->acct = NULL;
    f->index = NULL;
    f->scratch = NULL;
    f->ck = (xt_fills_ckpt_t){0};
}

static void ckpt_guard(xt_fills_t *f, uint32_t p, uint32_t slot);

/* ---- the account index ------------------------------------------------------------ */

static uint32_t home(const xt_fills_t *f, uint32_t account)
{
    return (uint32_t)(((uint64_t)account * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & f->index_mask;
}

/* The index position of account, or NONE. */
static uint32_t find_pos(const xt_fills_t *f, uint32_t account)
{
    for (uint32_t i = home(f, account);; i = (i + 1) & f->index_mask) {
        if (f->index[i] == 0)
            return NONE;
        if (f->acct[f->index[i] - 1].account == account)
            return i;
    }
}

static void index_put(xt_fills_t *f, uint32_t account, uint32_t place)
{
    uint32_t i = home(f, account);
    while (f->index[i] != 0)
        i = (i + 1) & f->index_mask;
    f->index[i] = place + 1;
}

/* Removes position i, moving back the entries after it that may sit there. */
static void index_remove(xt_fills_t *f, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & f->index_mask;
        if (f->index[j] == 0)
            break;
        uint32_t k = home(f, f->acct[f->index[j] - 1].account);
        /* the entry at j stays unless its home is cyclically outside (i, j] */
        int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
        if (!stays) {
            f->index[i] = f->index[j];
            i = j;
        }
    }
    f->index[i] = 0;
}

/* ---- the recency list ------------------------------------------------------------- */

static void unlink_place(xt_fills_t *f, uint32_t p)
{
    xt_fill_acct_t *a = &f->acct[p];
    if (a->prev != NONE)
        f->acct[a->prev].next = a->next;
    else
        f->newest = a->next;
    if (a->next != NONE)
        f->acct[a->next].prev = a->prev;
    else
        f->oldest = a->prev;
}

static void push_newest(xt_fills_t *f, uint32_t p)
{
    xt_fill_acct_t *a = &f->acct[p];
    a->prev = NONE;
    a->next = f->newest;
    if (f->newest != NONE)
        f->acct[f->newest].prev = p;
    f->newest = p;
    if (f->oldest == NONE)
        f->oldest = p;
}

/* The place of account, made (or taken from the least recently updated
 * account) when it has none; it becomes the most recently updated. */
static uint32_t place_of(xt_fills_t *f, uint32_t account)
{
    uint32_t pos = find_pos(f, account), p;
    if (pos != NONE) {
        p = f->index[pos] - 1;
        if (f->newest != p) {
            unlink_place(f, p);
            push_newest(f, p);
        }
        return p;
    }
    if (f->n_accounts < f->cap_accounts) {
        p = f->n_accounts++;
    } else {
        p = f->oldest;
        index_remove(f, find_pos(f, f->acct[p].account));
        unlink_place(f, p);
        f->evictions++;
    }
    f->acct[p].account = account;
    f->acct[p].head = f->acct[p].n = 0;
    index_put(f, account, p);
    push_newest(f, p);
    return p;
}

/* ---- fills -------------------------------------------------------------------------- */

/* The i-th oldest fill of the ring of place p (i < per_account). */
static xt_fill_t *ring_at(const xt_fills_t *f, uint32_t p, uint32_t i)
{
    uint32_t k = f->acct[p].head + i;
    return &f->v[(size_t)p * f->per_account + (k >= f->per_account ? k - f->per_account : k)];
}

void xt_fills_add(xt_fills_t *f, uint32_t account, const xt_fill_t *x)
{
    uint32_t p = place_of(f, account);
    xt_fill_acct_t *a = &f->acct[p];
    xt_fill_t *slot = ring_at(f, p, a->n < f->per_account ? a->n : 0); /* when full, the oldest goes */
    ckpt_guard(f, p, (uint32_t)(slot - &f->v[(size_t)p * f->per_account]));
    *slot = *x;
    if (a->n < f->per_account)
        a->n++;
    else
        a->head = a->head + 1 == f->per_account ? 0 : a->head + 1;
}

void xt_fills_on_trade(xt_fills_t *f, const xt_event_t *ev, int64_t ts)
{
    if (ev->type != XT_EV_TRADE)
        return;
    xt_fill_t x = {ev->u.trade.trade_id, ev->order_id, ev->price, ev->qty, ts, ev->instrument, ev->side, XT_FILL_TAKER};
    xt_fills_add(f, ev->account, &x);
    x.order_id = ev->u.trade.maker_id;
    x.side = ev->side == XT_BUY ? XT_SELL : XT_BUY;
    x.liquidity = XT_FILL_MAKER;
    xt_fills_add(f, ev->u.trade.maker_account, &x);
}

static int wanted(const xt_fill_t *x, uint32_t instrument, uint64_t from_id)
{
    return (instrument == UINT32_MAX || x->instrument == instrument) && x->trade_id >= from_id;
}

/* x, next to fill y in an account's ring, is the other fill of y's
 * self-trade (the account's two fills of one trade are added together). */
static int paired(const xt_fill_t *x, const xt_fill_t *y)
{
    return x->trade_id == y->trade_id;
}

uint32_t xt_fills_query(const xt_fills_t *f, uint32_t account, uint32_t instrument, uint64_t from_id, uint32_t limit,
                        xt_fill_t *out)
{
    uint32_t pos = find_pos(f, account), k = 0;
    if (pos == NONE || limit == 0)
        return 0;
    uint32_t p = f->index[pos] - 1;
    const xt_fill_acct_t *a = &f->acct[p];
    if (from_id > 0) { /* the first ones from from_id, oldest first; past limit, a pair's second */
        for (uint32_t i = 0; i < a->n && (k < limit || (k == limit && paired(ring_at(f, p, i), &out[k - 1]))); i++) {
            const xt_fill_t *x = ring_at(f, p, i);
            if (wanted(x, instrument, from_id))
                out[k++] = *x;
        }
        return k;
    }
    /* the newest ones, collected backwards from out[limit]; past limit, a pair's first */
    for (uint32_t i = a->n; i-- > 0 && (k < limit || (k == limit && paired(ring_at(f, p, i), &out[limit + 1 - k])));) {
        const xt_fill_t *x = ring_at(f, p, i);
        if (wanted(x, instrument, 0))
            out[limit - k++] = *x;
    }
    memmove(out, out + (limit + 1 - k), (size_t)k * sizeof *out);
    return k;
}

/* ---- the table as bytes -------------------------------------------------------------- */

size_t xt_fills_state_size(const xt_fills_t *f)
{
    size_t n = 0;
    for (uint32_t p = 0; p < f->n_accounts; p++)
        n += f->acct[p].n;
    return 4 + n * XT_FILL_STATE_REC;
}

size_t xt_fills_state_max_size(const xt_fills_t *f)
{
    return 4 + (size_t)f->cap_accounts * f->per_account * XT_FILL_STATE_REC;
}

static void put_record(uint8_t *q, uint32_t account, const xt_fill_t *x)
{
    memset(q, 0, XT_FILL_STATE_REC);
    xt_put32(q, account);
    xt_put32(q + 4, x->instrument);
    xt_put64(q + 8, x->trade_id);
    xt_put64(q + 16, (uint64_t)x->order_id);
    xt_put64(q + 24, (uint64_t)x->price);
    xt_put64(q + 32, (uint64_t)x->qty);
    xt_put64(q + 40, (uint64_t)x->ts);
    q[48] = x->side;
    q[49] = x->liquidity;
}

/* Writes the records of place p at q, oldest first; returns their bytes. */
static size_t write_place(const xt_fills_t *f, uint32_t p, uint8_t *q)
{
    uint32_t n = f->acct[p].n;
    for (uint32_t i = 0; i < n; i++)
        put_record(q + (size_t)i * XT_FILL_STATE_REC, f->acct[p].account, ring_at(f, p, i));
    return (size_t)n * XT_FILL_STATE_REC;
}

void xt_fills_state_encode(const xt_fills_t *f, uint8_t *out)
{
    size_t at = 4;
    for (uint32_t p = f->oldest; p != NONE; p = f->acct[p].prev) /* least recently updated first */
        at += write_place(f, p, out + at);
    xt_put32(out, (uint32_t)((at - 4) / XT_FILL_STATE_REC));
}

static int rec_checks(const uint8_t *q)
{
    int64_t price = (int64_t)xt_get64(q + 24), qty = (int64_t)xt_get64(q + 32), ts = (int64_t)xt_get64(q + 40);
    for (int i = 50; i < XT_FILL_STATE_REC; i++)
        if (q[i])
            return 0;
    return q[48] <= 1 && q[49] <= 1 && price >= 1 && price <= XT_PRICE_MAX && qty >= 1 && qty <= XT_QTY_MAX &&
           ts >= 0 && ts <= (INT64_C(1) << 62);
}

int64_t xt_fills_state_check(const uint8_t *p, size_t n, size_t *used)
{
    if (n < 4)
        return XT_ECORRUPT;
    uint32_t count = xt_get32(p);
    if ((uint64_t)count > (n - 4) / XT_FILL_STATE_REC)
        return XT_ECORRUPT;
    for (uint32_t i = 0; i < count; i++)
        if (!rec_checks(p + 4 + (size_t)i * XT_FILL_STATE_REC))
            return XT_ECORRUPT;
    *used = 4 + (size_t)count * XT_FILL_STATE_REC;
    return count;
}

void xt_fills_state_load(xt_fills_t *f, const uint8_t *p, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *q = p + 4 + (size_t)i * XT_FILL_STATE_REC;
        xt_fill_t x = {.trade_id = xt_get64(q + 8),
                       .order_id = (int64_t)xt_get64(q + 16),
                       .price = (int64_t)xt_get64(q + 24),
                       .qty = (int64_t)xt_get64(q + 32),
                       .ts = (int64_t)xt_get64(q + 40),
                       .instrument = xt_get32(q + 4),
                       .side = q[48],
                       .liquidity = q[49]};
        xt_fills_add(f, xt_get32(q), &x);
    }
}

/* ---- a checkpoint: the table as bytes while it changes ----------------------------------
 * xt_fills_ckpt_begin notes each place's account, head and count as they
 * are (the owner may give the place to another account meanwhile) and
 * where its records go. Its ring is then written in units of
 * XT_FILLS_CKPT_CHUNK slots, claimed as core/cow.h says: by the owner's
 * ckpt_guard, about to write a slot of one, or by xt_fills_ckpt_run. */

/* The records of chunk c of place p at their places in the output. */
static void write_chunk(const xt_fills_t *f, uint32_t p, uint32_t c)
{
    const xt_fills_ckpt_place_t *w = &f->ck.place[p];
    uint32_t per = f->per_account, end = (c + 1) * XT_FILLS_CKPT_CHUNK;
    for (uint32_t slot = c * XT_FILLS_CKPT_CHUNK; slot < end && slot < per; slot++) {
        uint32_t age = slot >= w->head ? slot - w->head : slot + per - w->head; /* 0: the oldest */
        if (age < w->n)
            put_record(f->ck.out + w->at + (size_t)age * XT_FILL_STATE_REC, w->account, &f->v[(size_t)p * per + slot]);
    }
}

static _Atomic uint8_t *unit(const xt_fills_t *f, uint32_t p, uint32_t c)
{
    return &f->ck.state[(size_t)p * f->ck.chunks + c];
}

/* Claims chunk c of place p and writes it; 0 when it was not PENDING. */
static int ckpt_claim(xt_fills_t *f, uint32_t p, uint32_t c)
{
    if (!xt_cow_claim(unit(f, p, c)))
        return 0;
    write_chunk(f, p, c);
    xt_cow_done(unit(f, p, c));
    return 1;
}

/* The owner is about to write ring slot `slot` of place p. */
static void ckpt_guard(xt_fills_t *f, uint32_t p, uint32_t slot)
{
    uint32_t c = slot / XT_FILLS_CKPT_CHUNK;
    if (f->ck.active && xt_cow_open(unit(f, p, c)) && !ckpt_claim(f, p, c))
        xt_cow_wait(unit(f, p, c));
}

size_t xt_fills_ckpt_begin(xt_fills_t *f, uint8_t *out)
{
    size_t at = 4;
    for (uint32_t p = f->oldest; p != NONE; p = f->acct[p].prev) { /* every place in use, in the file's order */
        const xt_fill_acct_t *a = &f->acct[p];
        f->ck.place[p] = (xt_fills_ckpt_place_t){at, a->account, a->head, a->n};
        at += (size_t)a->n * XT_FILL_STATE_REC;
        /* a ring not full has its records in slots 0..n-1 (head moves once it is full) */
        for (uint32_t c = 0; c * XT_FILLS_CKPT_CHUNK < a->n; c++)
            xt_cow_mark(unit(f, p, c));
    }
    xt_put32(out, (uint32_t)((at - 4) / XT_FILL_STATE_REC));
    f->ck.out = out;
    f->ck.n = f->n_accounts;
    f->ck.active = 1;
    return at;
}

void xt_fills_ckpt_run(xt_fills_t *f)
{
    for (uint32_t p = 0; p < f->ck.n; p++) /* in any order: begin placed every record */
        for (uint32_t c = 0; c < f->ck.chunks; c++)
            ckpt_claim(f, p, c);
    for (uint32_t p = 0; p < f->ck.n; p++) /* those the owner claimed first */
        for (uint32_t c = 0; c < f->ck.chunks; c++)
            xt_cow_wait(unit(f, p, c));
}

void xt_fills_ckpt_end(xt_fills_t *f)
{
    f->ck.active = 0;
}

/* ---- the answer --------------------------------------------------------------------- */

size_t xt_fills_encode(char *out, size_t cap, const xt_fill_t *v, uint32_t n, xt_fills_sym_fn sym, void *ctx)
{
    xt_text_t t = {out, cap, 0, 0};
    const char *sep = "";
    xt_text_printf(&t, "{\"data\":[");
    for (uint32_t i = 0; i < n && !t.over; i++) {
        const xt_md_sym_t *s = sym(ctx, v[i].instrument);
        if (s == NULL)
            continue;
        char price[XT_DECIMAL_BUFSZ], qty[XT_DECIMAL_BUFSZ];
        xt_units_format(v[i].price, s->tick, price);
        xt_units_format(v[i].qty, s->lot, qty);
        xt_text_printf(&t,
                       "%s{\"trade_id\":%" PRIu64 ",\"order_id\":%" PRId64 ",\"symbol\":\"%s\",\"side\":\"%s\","
                       "\"liquidity\":\"%s\",\"price\":\"%s\",\"qty\":\"%s\",\"ts\":%" PRId64 "}",
                       sep, v[i].trade_id, v[i].order_id, s->symbol, v[i].side == XT_SELL ? "sell" : "buy",
                       v[i].liquidity == XT_FILL_MAKER ? "maker" : "taker", price, qty, v[i].ts);
        sep = ",";
    }
    xt_text_printf(&t, "]}");
    return t.over ? 0 : t.len;
}
