/* snapshot.c - writing and loading snapshots (see snapshot.h). */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crc32c.h"
#include "dir.h"
#include "xt/error.h"

#define HDR 80
#define INST 72
#define ORDER 56
#define TRAILER 16
#define MAGIC "XTSNAP01"
#define END_MAGIC "XTSNPEND"

static int say(char *why, size_t n, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int say(char *why, size_t n, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* clang-analyzer 14 loses track of va_start across inlined callers. */
    vsnprintf(why, n, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return rc;
}

/* ---- writing ----------------------------------------------------------- */

typedef struct out {
    xt_io_t *io;
    int fd;
    uint8_t *buf;
    size_t cap, len;
    uint32_t crc;
    int err;
    off_t written, pushed; /* bytes written; bytes whose writeback has started */
} out_t;

#define TRICKLE ((off_t)2 << 20)

static void out_flush(out_t *o)
{
    if (o->err || o->len == 0) {
        o->len = 0; /* after an error the rest is dropped: the buffer never overflows */
        return;
    }
    o->crc = xt_crc32c_extend(o->crc, o->buf, o->len);
    o->err = xt_io_write_all(o->io, o->fd, o->buf, o->len);
    o->written += (off_t)o->len;
    o->len = 0;
    /* Trickle the file out: start writing back what is new, and wait for
     * what was started before, so that at most ~2 MiB is ever dirty. */
    if (!o->err && o->io->writeback && o->written - o->pushed >= TRICKLE) {
        if (o->pushed >= TRICKLE)
            o->io->writeback(o->io, o->fd, o->pushed - TRICKLE, TRICKLE, 1);
        o->io->writeback(o->io, o->fd, o->pushed, o->written - o->pushed, 0);
        o->pushed = o->written;
    }
}

/* A slot of n bytes in the staging buffer (n <= 4096 <= cap), zeroed. */
static uint8_t *out_slot(out_t *o, size_t n)
{
    if (o->len + n > o->cap)
        out_flush(o);
    uint8_t *p = o->buf + o->len;
    memset(p, 0, n);
    o->len += n;
    return p;
}

static void write_instrument(out_t *o, const xt_instrument_info_t *in)
{
    uint8_t *p = out_slot(o, INST);
    xt_instrument_def_t def = in->def;
    memcpy(def.symbol, in->symbol, sizeof def.symbol);
    xt_put_instrument_def(p, &def);
}

static void write_order(out_t *o, const xt_order_info_t *r)
{
    uint8_t *p = out_slot(o, ORDER);
    xt_put64(p, (uint64_t)r->id);
    xt_put64(p + 8, (uint64_t)r->price);
    xt_put64(p + 16, (uint64_t)r->qty);
    xt_put64(p + 24, (uint64_t)r->filled);
    xt_put64(p + 32, r->seq);
    xt_put32(p + 40, r->account);
    xt_put32(p + 44, r->instrument);
    p[48] = r->side;
    p[49] = r->type;
    p[50] = r->tif;
    p[51] = r->stp;
}

static uint64_t write_books(out_t *o, const xt_engine_t *e, uint32_t inst)
{
    uint64_t n = 0;
    for (int side = XT_BUY; side <= XT_SELL; side++) {
        xt_level_iter_t it;
        xt_level_info_t lv;
        xt_level_iter_init(&it, e, inst, (xt_side_t)side);
        while (xt_level_iter_next(&it, &lv)) {
            xt_order_iter_t oit;
            xt_order_info_t r;
            xt_order_iter_init(&oit, e, inst, (xt_side_t)side, lv.price);
            while (xt_order_iter_next(&oit, &r)) {
                write_order(o, &r);
                n++;
            }
        }
    }
    return n;
}

static void out_put(void *out, const void *p, size_t n)
{
    out_t *o = out;
    const uint8_t *b = p;
    while (n > 0) {
        size_t k = n < 4096 ? n : 4096;
        memcpy(out_slot(o, k), b, k);
        b += k;
        n -= k;
    }
}

int xt_snapshot_write(xt_io_t *io, const char *dir, const xt_engine_t *e, uint8_t *buf, size_t cap, char *why,
                      size_t whylen)
{
    return xt_snapshot_write_ext(io, dir, e, NULL, buf, cap, why, whylen);
}

int xt_snapshot_write_ext(xt_io_t *io, const char *dir, const xt_engine_t *e, const xt_snap_ext_t *ext, uint8_t *buf,
                          size_t cap, char *why, size_t whylen)
{
    xt_engine_stats_t st;
    xt_engine_stats(e, &st);
    char tmp[XT_PATH_MAX], final[XT_PATH_MAX];
    if (xt_dir_path(tmp, sizeof tmp, dir, XT_FILE_SNAP_TMP, st.last_seq) ||
        xt_dir_path(final, sizeof final, dir, XT_FILE_SNAP, st.last_seq))
        return say(why, whylen, -ENAMETOOLONG, "snapshot path too long");
    out_t o = {io, io->open(io, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644), buf, cap, 0, 0, 0, 0, 0};
    if (o.fd < 0)
        return say(why, whylen, o.fd, "create %s: %s", tmp, strerror(-o.fd));

    uint8_t *h = out_slot(&o, HDR);
    memcpy(h, MAGIC, 8); /* NOLINT(bugprone-not-null-terminated-result): 8 bytes, no NUL */
    xt_put32(h + 8, 1);
    xt_put32(h + 12, HDR);
    xt_put64(h + 16, st.last_seq);
    xt_put64(h + 24, st.trades);
    xt_put64(h + 32, xt_engine_state_hash(e));
    xt_put32(h + 40, st.instruments);
    xt_put64(h + 48, st.orders);
    xt_put32(h + 56, st.cfg.max_orders);
    xt_put32(h + 60, st.cfg.max_levels);
    xt_put32(h + 64, st.cfg.max_instruments);
    xt_put32(h + 68, st.cfg.max_ladder_nodes);
    uint64_t ext_bytes = ext ? ext->size(ext->ctx) : 0;
    xt_put64(h + 72, ext_bytes);
    for (uint32_t i = 0; i < st.instruments; i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(e, i, &in);
        write_instrument(&o, &in);
    }
    uint64_t orders = 0;
    for (uint32_t i = 0; i < st.instruments; i++)
        orders += write_books(&o, e, i);
    if (ext_bytes) {
        off_t before = o.written + (off_t)o.len;
        ext->write(ext->ctx, out_put, &o);
        if ((uint64_t)(o.written + (off_t)o.len - before) != ext_bytes && !o.err)
            o.err = -EIO; /* the extension wrote another size than it said */
    }
    out_flush(&o);
    uint8_t t[TRAILER] = {0};
    memcpy(t, END_MAGIC, 8); /* NOLINT(bugprone-not-null-terminated-result) */
    xt_put32(t + 8, o.crc);
    if (!o.err && orders != st.orders)
        o.err = -EIO; /* cannot happen: the engine's own counts disagree */
    if (!o.err)
        o.err = xt_io_write_all(io, o.fd, t, sizeof t);
    if (!o.err)
        o.err = io->fsync(io, o.fd);
    int crc = io->close(io, o.fd);
    if (!o.err && crc)
        o.err = crc;
    if (!o.err)
        o.err = io->rename(io, tmp, final);
    if (!o.err)
        o.err = xt_io_sync_dir(io, dir);
    if (o.err) {
        io->unlink(io, tmp);
        return say(why, whylen, o.err, "write snapshot %s: %s", final, strerror(-o.err));
    }
    return 0;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct in {
    xt_io_t *io;
    int fd;
    off_t size, at;
    uint8_t *buf;
    size_t cap, len, pos;
} in_t;

/* The next n bytes (n <= cap), or NULL at a read error or the end. */
static const uint8_t *in_take(in_t *r, size_t n)
{
    if (!r->buf)
        return NULL;
    if (r->len - r->pos < n) {
        size_t have = r->len - r->pos;
        memmove(r->buf, r->buf + r->pos, have);
        r->len = have;
        r->pos = 0;
        size_t want = r->cap - have;
        if ((off_t)want > r->size - r->at)
            want = (size_t)(r->size - r->at);
        if (want && xt_io_pread_all(r->io, r->fd, r->buf + have, want, r->at) != 0)
            return NULL;
        r->at += (off_t)want;
        r->len += want;
        if (r->len < n)
            return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

static int open_in(in_t *r, xt_io_t *io, const char *path, char *why, size_t whylen)
{
    memset(r, 0, sizeof *r);
    r->io = io;
    r->fd = io->open(io, path, O_RDONLY, 0);
    if (r->fd < 0)
        return say(why, whylen, r->fd, "open %s: %s", path, xt_strerror(r->fd));
    int rc = io->size(io, r->fd, &r->size);
    r->cap = XT_SNAP_BUF;
    if (rc == 0 && !(r->buf = malloc(r->cap)))
        rc = -ENOMEM;
    if (rc) {
        io->close(io, r->fd);
        return say(why, whylen, rc, "read %s: %s", path, xt_strerror(rc));
    }
    return 0;
}

static void close_in(in_t *r)
{
    r->io->close(r->io, r->fd);
    free(r->buf);
}

static int check(in_t *r, const char *path, xt_snapshot_info_t *info, char *why, size_t whylen)
{
    uint8_t h[HDR];
    if (r->size < HDR + TRAILER || xt_io_pread_all(r->io, r->fd, h, HDR, 0) != 0)
        return say(why, whylen, XT_ECORRUPT, "%s: too short for a snapshot", path);
    if (memcmp(h, MAGIC, 8) != 0 || xt_get32(h + 8) != 1 || xt_get32(h + 12) != HDR)
        return say(why, whylen, XT_ECORRUPT, "%s: not a version 1 snapshot", path);
    info->seq = xt_get64(h + 16);
    info->trades = xt_get64(h + 24);
    info->state_hash = xt_get64(h + 32);
    info->instruments = xt_get32(h + 40);
    info->orders = xt_get64(h + 48);
    info->caps.max_orders = xt_get32(h + 56);
    info->caps.max_levels = xt_get32(h + 60);
    info->caps.max_instruments = xt_get32(h + 64);
    info->caps.max_ladder_nodes = xt_get32(h + 68);
    info->caps.rules = XT_RULES_CURRENT; /* state does not depend on them; the segments after it say which */
    info->ext_bytes = xt_get64(h + 72);
    unsigned __int128 want = (unsigned __int128)HDR + (unsigned __int128)info->instruments * INST +
                             (unsigned __int128)info->orders * ORDER + info->ext_bytes + TRAILER;
    if (want != (unsigned __int128)r->size)
        return say(why, whylen, XT_ECORRUPT, "%s: size %lld does not match its header", path, (long long)r->size);
    if (info->orders > info->caps.max_orders || info->instruments > info->caps.max_instruments)
        return say(why, whylen, XT_ECORRUPT,
                   "%s: %llu orders and %u instruments do not fit its max_orders %u and "
                   "max_instruments %u",
                   path, (unsigned long long)info->orders, info->instruments, info->caps.max_orders,
                   info->caps.max_instruments);
    uint8_t t[TRAILER];
    if (xt_io_pread_all(r->io, r->fd, t, TRAILER, r->size - TRAILER) != 0 || memcmp(t, END_MAGIC, 8) != 0)
        return say(why, whylen, XT_ECORRUPT, "%s: bad trailer", path);
    uint32_t crc = 0;
    for (off_t at = 0; at < r->size - TRAILER;) {
        size_t n = r->size - TRAILER - at > (off_t)r->cap ? r->cap : (size_t)(r->size - TRAILER - at);
        if (xt_io_pread_all(r->io, r->fd, r->buf, n, at) != 0)
            return say(why, whylen, -EIO, "%s: read error", path);
        crc = xt_crc32c_extend(crc, r->buf, n);
        at += (off_t)n;
    }
    if (crc != xt_get32(t + 8))
        return say(why, whylen, XT_ECORRUPT, "%s: checksum mismatch", path);
    return 0;
}

int xt_snapshot_check(xt_io_t *io, const char *path, xt_snapshot_info_t *info, char *why, size_t whylen)
{
    in_t r;
    int rc = open_in(&r, io, path, why, whylen);
    if (rc)
        return rc;
    xt_snapshot_info_t tmp = {0};
    rc = check(&r, path, info ? info : &tmp, why, whylen);
    close_in(&r);
    return rc;
}

static int restore(in_t *r, const char *path, xt_engine_t *e, const xt_snapshot_info_t *info, char *why, size_t whylen)
{
    if (!in_take(r, HDR))
        return say(why, whylen, -EIO, "%s: read error", path);
    for (uint32_t i = 0; i < info->instruments; i++) {
        const uint8_t *p = in_take(r, INST);
        if (!p)
            return say(why, whylen, -EIO, "%s: read error", path);
        xt_instrument_def_t d;
        xt_get_instrument_def(p, &d);
        int rc = xt_engine_restore_instrument(e, &d);
        if (rc)
            return say(why, whylen, rc == XT_ECAPACITY ? rc : XT_ECORRUPT, "%s: instrument %u: %s", path, i,
                       xt_strerror(rc));
    }
    for (uint64_t i = 0; i < info->orders; i++) {
        const uint8_t *p = in_take(r, ORDER);
        if (!p)
            return say(why, whylen, -EIO, "%s: read error", path);
        xt_order_info_t o = {.id = (int64_t)xt_get64(p),
                             .price = (int64_t)xt_get64(p + 8),
                             .qty = (int64_t)xt_get64(p + 16),
                             .filled = (int64_t)xt_get64(p + 24),
                             .seq = xt_get64(p + 32),
                             .account = xt_get32(p + 40),
                             .instrument = xt_get32(p + 44),
                             .side = p[48],
                             .type = p[49],
                             .tif = p[50],
                             .stp = p[51]};
        int rc = xt_engine_restore_order(e, &o);
        if (rc)
            return say(why, whylen, rc == XT_ECAPACITY ? rc : XT_ECORRUPT, "%s: order %llu (id %lld): %s", path,
                       (unsigned long long)i, (long long)o.id, xt_strerror(rc));
    }
    int rc = xt_engine_restore_counters(e, info->seq, info->trades);
    if (rc)
        return say(why, whylen, XT_ECORRUPT, "%s: counters: %s", path, xt_strerror(rc));
    if (xt_engine_state_hash(e) != info->state_hash)
        return say(why, whylen, XT_ECORRUPT, "%s: restored state does not match its hash", path);
    const char *bad;
    if (xt_engine_verify(e, &bad) != 0)
        return say(why, whylen, XT_ECORRUPT, "%s: restored state is inconsistent: %s", path, bad);
    return 0;
}

static int in_get(void *in, void *p, size_t n)
{
    in_t *r = in;
    uint8_t *b = p;
    while (n > 0) {
        size_t k = n < 4096 ? n : 4096;
        const uint8_t *src = in_take(r, k);
        if (!src)
            return -1;
        memcpy(b, src, k);
        b += k;
        n -= k;
    }
    return 0;
}

int xt_snapshot_load(xt_io_t *io, const char *path, const xt_engine_config_t *base, xt_sink_fn sink, void *ctx,
                     xt_engine_t *e, xt_snapshot_info_t *info, char *why, size_t whylen)
{
    return xt_snapshot_load_ext(io, path, base, sink, ctx, e, NULL, info, why, whylen);
}

int xt_snapshot_load_ext(xt_io_t *io, const char *path, const xt_engine_config_t *base, xt_sink_fn sink, void *ctx,
                         xt_engine_t *e, const xt_snap_ext_t *ext, xt_snapshot_info_t *info, char *why, size_t whylen)
{
    memset(e, 0, sizeof *e); /* "not initialised" on every failure: destroy stays harmless */
    in_t r;
    int rc = open_in(&r, io, path, why, whylen);
    if (rc)
        return rc;
    xt_snapshot_info_t tmp = {0}, *inf = info ? info : &tmp;
    rc = check(&r, path, inf, why, whylen);
    if (rc == 0) { /* the capacities size the engine: bounded before anything is allocated */
        char cwhy[256];
        if ((rc = xt_caps_check(&inf->caps, base, xt_caps_mem_limit(), cwhy, sizeof cwhy)) != 0)
            rc = say(why, whylen, rc, "%s: %s", path, cwhy);
    }
    if (rc == 0) {
        xt_engine_config_t cfg = xt_caps_config(&inf->caps, base);
        if ((rc = xt_engine_init(e, &cfg, sink, ctx)) != 0)
            rc = say(why, whylen, rc == XT_EINVAL ? XT_ECORRUPT : rc, "%s: capacities: %s", path, xt_strerror(rc));
        else if ((rc = restore(&r, path, e, inf, why, whylen)) != 0)
            xt_engine_destroy(e);
        else if (ext) {
            ext->reset(ext->ctx);
            char ewhy[256] = "";
            int erc = ext->load(ext->ctx, inf->ext_bytes, in_get, &r, ewhy, sizeof ewhy);
            if (erc != 0) {
                ext->reset(ext->ctx);
                xt_engine_destroy(e);
                rc = say(why, whylen, erc == XT_ELIMIT ? XT_ELIMIT : XT_ECORRUPT, "%s: %s", path,
                         ewhy[0] ? ewhy : "the extension does not load");
            }
        }
    }
    close_in(&r);
    return rc;
}

/* The file at path, named for seq, holds another state. */
static int named_wrong(const char *path, uint64_t seq, uint64_t holds, char *why, size_t whylen)
{
    snprintf(why, whylen, "%s: named for seq %llu but holds the state after %llu", path, (unsigned long long)seq,
             (unsigned long long)holds);
    return XT_ECORRUPT;
}

int xt_snapshot_check_seq(xt_io_t *io, const char *dir, uint64_t seq, char *why, size_t whylen)
{
    char path[XT_PATH_MAX];
    xt_snapshot_info_t info = {0};
    if (xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, seq) != 0)
        return -ENAMETOOLONG;
    int rc = xt_snapshot_check(io, path, &info, why, whylen);
    return rc != 0 || info.seq == seq ? rc : named_wrong(path, seq, info.seq, why, whylen);
}

int xt_snapshot_load_seq(xt_io_t *io, const char *dir, uint64_t seq, const xt_engine_config_t *base, xt_sink_fn sink,
                         void *ctx, xt_engine_t *e, const xt_snap_ext_t *ext, xt_snapshot_info_t *info, char *why,
                         size_t whylen)
{
    char path[XT_PATH_MAX];
    xt_snapshot_info_t own = {0};
    if (info == NULL)
        info = &own;
    if (xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, seq) != 0)
        return -ENAMETOOLONG;
    int rc = xt_snapshot_load_ext(io, path, base, sink, ctx, e, ext, info, why, whylen);
    if (rc != 0 || info->seq == seq)
        return rc;
    xt_engine_destroy(e);
    if (ext)
        ext->reset(ext->ctx);
    return named_wrong(path, seq, info->seq, why, whylen);
}
