/* journal_fixture.c - what the journal's unit tests share (journal_fixture.h). */
#include "journal_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal/dir.h"
void quiet(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

uint64_t rnd_state;
uint64_t rnd(void)
{
    uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A command stream: an instrument, then random orders, cancels and amends
 * around a mid, so that books fill, trade and empty. */
xt_cmd_t *gen(uint64_t seed, size_t n)
{
    rnd_state = seed;
    xt_cmd_t *v = calloc(n, sizeof *v);
    assert_non_null(v);
    v[0].type = XT_CMD_INSTRUMENT;
    strcpy(v[0].u.instrument.symbol, "J");
    v[0].u.instrument.tick = (xt_decimal_t){1, 2};
    v[0].u.instrument.lot = (xt_decimal_t){1, 0};
    for (size_t i = 1; i < n; i++) {
        xt_cmd_t *c = &v[i];
        int64_t id = 1 + (int64_t)(rnd() % 300);
        uint32_t acct = 1 + (uint32_t)(rnd() % 5);
        c->ts = (int64_t)i * 1000;
        switch (rnd() % 10) {
        case 0:
        case 1:
        case 2:
            c->type = XT_CMD_CANCEL;
            c->u.cancel = (xt_order_cancel_t){id, acct};
            break;
        case 3:
            c->type = XT_CMD_AMEND;
            c->u.amend = (xt_order_amend_t){id, acct, 1000 + (int64_t)(rnd() % 21) - 10, 1 + (int64_t)(rnd() % 20)};
            break;
        default:
            c->type = XT_CMD_NEW;
            c->u.new_order = (xt_order_new_t){.id = id,
                                              .account = acct,
                                              .instrument = 0,
                                              .side = (uint8_t)(rnd() % 2),
                                              .type = XT_LIMIT,
                                              .tif = (uint8_t)(rnd() % 4 == 0 ? XT_IOC : XT_TIF_DEFAULT),
                                              .price = 1000 + (int64_t)(rnd() % 21) - 10,
                                              .qty = 1 + (int64_t)(rnd() % 20)};
        }
    }
    return v;
}

/* The state hash after the first n commands, applied to a fresh engine. */
uint64_t clean_hash(const xt_cmd_t *v, size_t n, const xt_engine_config_t *cfg)
{
    xt_engine_t e;
    assert_int_equal(xt_engine_init(&e, cfg, quiet, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        xt_cmd_t c = v[i];
        c.seq = i + 1;
        assert_int_equal(xt_engine_apply(&e, &c), 0);
    }
    uint64_t h = xt_engine_state_hash(&e);
    xt_engine_destroy(&e);
    return h;
}

xt_journal_config_t jcfg(void)
{
    xt_journal_config_t c;
    xt_journal_config_default(&c);
    c.snapshot_sync = 1;
    c.no_snapshot_on_close = 1;
    return c;
}

/* Submits v[from..to) in batches of `batch`, committing each. Returns the
 * number of commands acknowledged (committed) before a failure. */
size_t run(xt_journal_t *j, const xt_cmd_t *v, size_t from, size_t to, size_t batch)
{
    size_t acked = from;
    for (size_t i = from; i < to;) {
        size_t end = i + batch < to ? i + batch : to;
        for (; i < end; i++) {
            xt_cmd_t c = v[i];
            int rc = xt_journal_submit(j, &c, 0);
            if (rc == XT_EFAILED)
                return acked;
            assert_int_equal(rc, 0);
        }
        if (xt_journal_commit(j, 0) != 0)
            return acked;
        acked = end;
    }
    return acked;
}

reopened_t *reopen(const char *dir, const xt_journal_config_t *c, const xt_engine_config_t *ecfg)
{
    reopened_t *r = calloc(1, sizeof *r);
    r->rc = xt_journal_open(&r->j, dir, c, NULL, ecfg, quiet, NULL, &r->e, 0);
    return r;
}

void done(reopened_t *r)
{
    if (r->rc == 0) {
        xt_journal_close(&r->j, 0);
        xt_engine_destroy(&r->e);
    }
    free(r);
}

uint64_t last_seq(const xt_engine_t *e)
{
    xt_engine_stats_t st;
    xt_engine_stats(e, &st);
    return st.last_seq;
}

/* The path of the single (or last) segment. */
void last_segment(const char *dir, char *path)
{
    uint64_t *segs;
    size_t n;
    assert_int_equal(xt_dir_list(dir, XT_FILE_WAL, &segs, &n), 0);
    assert_true(n > 0);
    xt_dir_path(path, XT_PATH_MAX, dir, XT_FILE_WAL, segs[n - 1]);
    free(segs);
}

off_t size_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

void flip_byte(const char *path, off_t at)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

void vanish(xt_journal_t *j, xt_engine_t *e)
{
    xt_engine_destroy(e);
    close(j->lock_fd);
    xt_wal_close(&j->wal);
    free(j->snap_buf);
}
