/* md_history.c - K-line history in the server (see md_history.h): the
 * store configured from the server's settings and instruments, and its
 * failures reported in the log (log.h). */
#include "md_history.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "server.h"
#include "xt/error.h"

#define REPORT_EVERY_NS (INT64_C(60) * 1000000000)

/* Every instrument's files: torn tails cut, unusable files set aside. */
static void add_instruments(xt_server_t *s, xt_kl_store_t *st)
{
    uint32_t n = xt_engine_instrument_count(&s->engine);
    for (uint32_t i = 0; i < n; i++) {
        xt_instrument_info_t in;
        xt_engine_instrument(&s->engine, i, &in);
        uint32_t aside = st->st.set_aside;
        int32_t tz = 0; /* UTC unless the config says (as the md thread aligns candles) */
        xt_config_tz(&s->cfg, in.symbol, &tz);
        int rc = xt_kl_store_add(st, i, in.symbol, tz, in.def.tick, in.def.lot);
        xt_log_ev_t e;
        if ((rc || st->st.set_aside != aside) && xt_log_begin(&e, XT_LOG_WARN, "K-line history")) {
            xt_log_str(&e, "symbol", in.symbol);
            xt_log_str(&e, "reason", st->why[0] ? st->why : xt_strerror(rc));
            xt_log_end(&e);
        }
    }
    xt_log_ev_t e;
    if (st->st.truncated && xt_log_begin(&e, XT_LOG_WARN, "K-line history: cut torn records at the ends of files")) {
        xt_log_u64(&e, "bytes", st->st.truncated);
        xt_log_end(&e);
    }
}

int xt_md_history_open(xt_server_t *s, xt_md_history_t **out, char *why, size_t whylen)
{
    *out = NULL;
    if (!s->cfg.md_history)
        return 0;
    char dir[XT_PATH_MAX];
    const char *d = s->cfg.md_history_dir;
    if (d[0] == '\0' && snprintf(dir, sizeof dir, "%s/klines", s->cfg.data_dir) < (int)sizeof dir)
        d = dir;
    uint32_t n = xt_engine_instrument_count(&s->engine);
    xt_kl_config_t kc = {.dir = d, .max_instruments = n ? n : 1, .flush_ms = s->cfg.md_history_flush_ms};
    xt_md_history_t *h = calloc(1, sizeof *h);
    int rc = h ? xt_kl_store_init(&h->st, &kc) : XT_ENOMEM;
    if (rc) {
        snprintf(why, whylen, "K-line history (md.history_dir) %s: %s (md.history = off runs without it)",
                 d[0] ? d : "(empty)", h && h->st.why[0] ? h->st.why : xt_strerror(rc));
        free(h);
        return -1;
    }
    add_instruments(s, &h->st);
    *out = h;
    return 0;
}

int64_t xt_md_history_newest(const xt_md_history_t *h)
{
    int64_t newest = INT64_MIN;
    for (size_t i = 0; h && i < (size_t)h->st.cfg.max_instruments * XT_KL_COUNT; i++) {
        const xt_kl_file_t *f = &h->st.files[i];
        int64_t len = xt_kline_interval_seconds((int)(i % XT_KL_COUNT)) * INT64_C(1000000000);
        if (!f->has_last || f->last_open > INT64_MAX - len) /* (a file's time, checked by its CRC only) */
            continue;
        if (f->last_open + len > newest)
            newest = f->last_open + len;
    }
    return newest;
}

void xt_md_history_on_update(xt_md_history_t *h, const xt_md_update_t *u)
{
    if (h && u->kind == XT_MDU_KLINE && u->candle->closed)
        xt_kl_store_append(&h->st, u->instrument, u->interval, u->candle);
}

static void report(xt_md_history_t *h, int64_t now)
{
    const xt_kl_stats_t *t = &h->st.st;
    if (t->errors == h->errors_reported || (h->errors_reported && now - h->last_report < REPORT_EVERY_NS))
        return;
    h->errors_reported = t->errors;
    h->last_report = now;
    xt_log_ev_t e;
    if (xt_log_begin(&e, XT_LOG_WARN, "K-line history: writes failed; xtrading md rebuild regenerates the files")) {
        xt_log_str(&e, "reason", h->st.why);
        xt_log_u64(&e, "failed_writes", t->errors);
        xt_log_u64(&e, "candles_lost", t->dropped);
        xt_log_end(&e);
    }
}

void xt_md_history_tick(xt_md_history_t *h, int64_t now)
{
    if (h == NULL)
        return;
    xt_kl_store_tick(&h->st, now);
    report(h, now);
}

void xt_md_history_close(xt_md_history_t *h)
{
    if (h == NULL)
        return;
    xt_kl_store_flush(&h->st);
    report(h, h->last_report + REPORT_EVERY_NS);
    xt_kl_store_destroy(&h->st);
    free(h);
}
