/* kline_rebuild.c - the journal, replayed through a fresh engine and the
 * market-data library, into new K-line history files (see
 * kline_rebuild.h). */
#include "kline_rebuild.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal/caps.h"
#include "journal/dir.h"
#include "journal/manifest.h"
#include "journal/reader.h"
#include "kline_store.h"
#include "xt/error.h"

#define MD_LEVELS 20       /* candles need trades only: a shallow book will do */
#define PENDING (1u << 16) /* records buffered between writes */

typedef struct rb {
    const xt_kl_rebuild_opts_t *o;
    xt_kl_rebuild_result_t *res;
    xt_engine_t e;
    xt_md_t md;
    xt_kl_store_t st;
    int store_rc;         /* the first error of an append */
    int64_t last_advance; /* time of the last xt_md_advance */
    char *why;
    size_t whylen;
} rb_t;

static int say(rb_t *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(rb_t *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, r->whylen, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return rc;
}

static void md_sink(void *ctx, const xt_md_update_t *u)
{
    rb_t *r = ctx;
    if (u->kind != XT_MDU_KLINE || !u->candle->closed || r->store_rc)
        return;
    int rc = xt_kl_store_append(&r->st, u->instrument, u->interval, u->candle);
    if (rc < 0)
        r->store_rc = rc;
    else if (rc == 0)
        r->res->candles[u->interval]++;
}

static void engine_sink(void *ctx, const xt_event_batch_t *b)
{
    rb_t *r = ctx;
    xt_md_on_batch(&r->md, b);
}

/* Where reading stopped: 0 at the clean end or a torn tail, else an error. */
static int reader_end(rb_t *r, const xt_wal_reader_t *w, int rc)
{
    if (rc == 0)
        return 0;
    if (rc == XT_ETORN) {
        r->res->torn_tail = 1;
        return 0;
    }
    return say(r, rc, "%s offset %lld: %s", w->path, (long long)w->offset, w->why[0] ? w->why : xt_strerror(rc));
}

/* Opens the journal at its first record, which must be record 1. */
static int open_journal(rb_t *r, xt_wal_reader_t *w)
{
    const char *dir = r->o->data_dir;
    memset(w, 0, sizeof *w);
    uint64_t *segs = NULL;
    size_t n = 0;
    char why[XT_PATH_MAX + 512];
    int rc = xt_manifest_check(&xt_io_posix, dir, why, sizeof why); /* the newest segments are there */
    if (rc)
        return say(r, rc, "%s; nothing was written", why);
    rc = xt_dir_list(dir, XT_FILE_WAL, &segs, &n);
    uint64_t first = n ? segs[0] : 0;
    free(segs);
    if (rc && rc != -ENOENT)
        return say(r, rc, "%s: %s", dir, strerror(-rc));
    if (n == 0)
        return say(r, XT_ENOENT, "%s: no journal there (no wal-*.log)", dir);
    if (first != 1)
        return say(r, XT_ECORRUPT,
                   "%s: the journal starts at record %llu - the segments before it were deleted with old "
                   "snapshots (journal.keep_snapshots), so the history before it cannot be rebuilt; nothing was "
                   "written",
                   dir, (unsigned long long)first);
    rc = xt_wal_reader_open(w, &xt_io_posix, dir, 1);
    if (rc && rc != XT_ETORN) {
        say(r, rc, "%s: %s", w->path[0] ? w->path : dir, w->why[0] ? w->why : xt_strerror(rc));
        xt_wal_reader_close(w);
    }
    return rc == XT_ETORN ? 0 : rc;
}

/* Reads the whole journal once: every checksum and sequence number, and
 * how many instruments it defines. */
static int prescan(rb_t *r, uint32_t *n_inst)
{
    xt_wal_reader_t w;
    int rc = open_journal(r, &w);
    if (rc)
        return rc;
    xt_cmd_t cmd;
    *n_inst = 0;
    /* the symbols defined: a band move is an INSTRUMENT record too, of a symbol defined before */
    char(*seen)[XT_SYMBOL_MAX + 1] = NULL;
    uint32_t cap = 0;
    while ((rc = xt_wal_reader_next(&w, &cmd)) == 1) {
        if (cmd.type != XT_CMD_INSTRUMENT)
            continue;
        uint32_t k = 0;
        while (k < *n_inst && strcmp(seen[k], cmd.u.instrument.symbol) != 0)
            k++;
        if (k < *n_inst)
            continue;
        if (*n_inst == cap) {
            void *more = realloc(seen, sizeof *seen * (cap = cap ? cap * 2 : 64));
            if (!more) {
                rc = XT_ENOMEM;
                break;
            }
            seen = more;
        }
        memcpy(seen[(*n_inst)++], cmd.u.instrument.symbol, sizeof *seen);
    }
    free(seen);
    rc = rc == XT_ENOMEM ? say(r, rc, "out of memory") : reader_end(r, &w, rc);
    xt_wal_reader_close(&w);
    return rc;
}

static int32_t tz_of(rb_t *r, const char *symbol)
{
    int32_t tz = 0;
    if (r->o->cfg && xt_config_tz(r->o->cfg, symbol, &tz) == 0) {
        r->res->tz_config++;
        return tz;
    }
    char live[XT_PATH_MAX];
    snprintf(live, sizeof live, "%s/klines", r->o->data_dir);
    if (xt_kl_file_tz(r->o->out_dir, symbol, &tz) == 0 || xt_kl_file_tz(live, symbol, &tz) == 0) {
        r->res->tz_file++;
        return tz;
    }
    char *d = r->res->tz_default;
    size_t used = strlen(d);
    if (used + strlen(symbol) + 2 < sizeof r->res->tz_default)
        snprintf(d + used, sizeof r->res->tz_default - used, "%s%s", used ? " " : "", symbol);
    return 0;
}

/* The instrument an INSTRUMENT record just defined, into md and the store,
 * started at the record's time (the server's first market-data tick). */
static int add_instrument(rb_t *r, const xt_cmd_t *cmd)
{
    const char *sym = cmd->u.instrument.symbol;
    uint32_t id = xt_engine_find_symbol(&r->e, sym, strlen(sym));
    xt_instrument_info_t in;
    if (id == XT_INSTRUMENT_NONE || xt_engine_instrument(&r->e, id, &in) != 0)
        return say(r, XT_ECORRUPT, "record %llu: instrument %s not found after its definition",
                   (unsigned long long)cmd->seq, sym);
    int32_t tz = tz_of(r, in.symbol);
    int rc = xt_md_add_instrument(&r->md, id, in.symbol, xt_instrument_ref_ticks(&in.def), tz); /* as the server's */
    if (rc == 0)
        rc = xt_kl_store_add(&r->st, id, in.symbol, tz, in.def.tick, in.def.lot);
    if (rc)
        return say(r, rc, "instrument %s: %s", in.symbol, r->st.why[0] ? r->st.why : xt_strerror(rc));
    r->res->instruments++;
    xt_md_advance(&r->md, r->last_advance = cmd->ts);
    return 0;
}

/* The engine capacities a segment's may be checked against: the config's,
 * else the defaults. */
static const xt_engine_config_t *configured(const rb_t *r)
{
    return r->o->cfg ? &r->o->cfg->engine : NULL;
}

/* One record: time first, then the command, then what it defined. */
static int replay_one(rb_t *r, const xt_wal_reader_t *w, const xt_cmd_t *cmd, size_t *seg_seen)
{
    int rc = 0;
    if (w->seg != *seg_seen) { /* a new segment: its capacities, bounded as recovery bounds them */
        char cwhy[256];
        *seg_seen = w->seg;
        if ((rc = xt_caps_take(&r->e, configured(r), &w->caps, cwhy, sizeof cwhy)) != 0)
            return say(r, rc, "%s: %s", w->path, cwhy);
    }
    if (cmd->ts - r->last_advance >= XT_MD_ADVANCE_NS)
        xt_md_advance(&r->md, r->last_advance = cmd->ts);
    uint32_t defined = xt_engine_instrument_count(&r->e);
    if ((rc = xt_engine_apply(&r->e, cmd)) != 0)
        return say(r, XT_ECORRUPT, "%s: record %llu does not apply: %s", w->path, (unsigned long long)cmd->seq,
                   xt_strerror(rc));
    /* (an INSTRUMENT of a symbol defined before moved its band: nothing of market data's) */
    if (xt_engine_instrument_count(&r->e) > defined && (rc = add_instrument(r, cmd)) != 0)
        return rc;
    if (r->store_rc)
        return say(r, r->store_rc, "%s", r->st.why);
    if (r->res->records++ == 0)
        r->res->first_ts = cmd->ts;
    r->res->last_ts = cmd->ts;
    r->res->last_seq = cmd->seq;
    return 0;
}

static int replay(rb_t *r)
{
    xt_wal_reader_t w;
    int rc = open_journal(r, &w);
    if (rc)
        return rc;
    char cwhy[256];
    if ((rc = xt_caps_check(&w.caps, configured(r), xt_caps_mem_limit(), cwhy, sizeof cwhy)) != 0) {
        xt_wal_reader_close(&w);
        return say(r, rc, "%s: %s", w.path, cwhy);
    }
    xt_engine_config_t ec = xt_caps_config(&w.caps, NULL);
    if ((rc = xt_engine_init(&r->e, &ec, engine_sink, r)) != 0) {
        xt_wal_reader_close(&w);
        return say(r, rc, "engine: %s", xt_strerror(rc));
    }
    xt_cmd_t cmd;
    size_t seg_seen = (size_t)-1;
    while ((rc = xt_wal_reader_next(&w, &cmd)) == 1)
        if ((rc = replay_one(r, &w, &cmd, &seg_seen)) != 0)
            break;
    if (rc <= 0 && r->why[0] == '\0')
        rc = reader_end(r, &w, rc);
    if (rc == 0 && r->res->records) { /* what closed by then is written */
        r->res->until_ts = r->o->until_ns > r->res->last_ts ? r->o->until_ns : r->res->last_ts;
        xt_md_advance(&r->md, r->res->until_ts);
    }
    if (rc == 0 && r->store_rc)
        rc = say(r, r->store_rc, "%s", r->st.why);
    xt_wal_reader_close(&w);
    xt_engine_destroy(&r->e);
    return rc;
}

int xt_kl_rebuild(const xt_kl_rebuild_opts_t *o, xt_kl_rebuild_result_t *res, char *why, size_t whylen)
{
    rb_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(why, whylen, "out of memory");
        return XT_ENOMEM;
    }
    memset(res, 0, sizeof *res);
    why[0] = '\0';
    r->o = o;
    r->res = res;
    r->why = why;
    r->whylen = whylen;
    uint32_t n_inst = 0;
    int rc = prescan(r, &n_inst);
    if (rc)
        goto done;
    n_inst = n_inst ? n_inst : 1;
    xt_md_config_t mc = {n_inst, MD_LEVELS, 1};
    if ((rc = xt_md_init(&r->md, &mc, md_sink, r)) != 0) {
        say(r, rc, "market data: %s", xt_strerror(rc));
        goto done;
    }
    xt_kl_config_t kc = {.dir = o->out_dir, .max_instruments = n_inst, .pending = PENDING, .rebuild = 1};
    if ((rc = xt_kl_store_init(&r->st, &kc)) != 0) {
        say(r, rc, "%s", r->st.why[0] ? r->st.why : xt_strerror(rc));
        goto fail_md;
    }
    rc = replay(r);
    if (rc == 0 && (rc = xt_kl_store_commit(&r->st)) != 0)
        say(r, rc, "%s", r->st.why);
    else if (rc)
        xt_kl_store_abort(&r->st);
    xt_kl_store_destroy(&r->st);
fail_md:
    xt_md_destroy(&r->md);
done:
    free(r);
    return rc;
}
