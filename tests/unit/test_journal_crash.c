/* test_journal_crash.c - a crash after every mutating I/O operation of a
 * journal's life: each open that creates or writes, write, sync, truncate,
 * rename and unlink in turn is the last one (every later one fails, as if
 * the process were gone), then a power loss drops, tears or spoils what
 * was not synced (faultio.h), and the directory is recovered. Every time:
 * it recovers (a crash never leaves a directory start-up refuses), nothing
 * acknowledged is lost (but under journal.fsync=none, which promises
 * nothing), and the state is exactly that of a prefix of the stream.
 *
 * Five journals: segments of 2 KiB with a snapshot every 150 commands and
 * one kept (rolls, snapshots and retention all crash); the same starting
 * from an empty first segment that new capacities replace (the replace by
 * rename); fsync=none; the second one rolling into preallocated segments
 * (spare.h, made inline: the spare's writes and its rename crash too, and
 * a power loss puts zeros back under unsynced records); and the first one
 * going on from a segment with records that grew by appending (written
 * with preallocation off, already past the segment size), which rolls into
 * a spare at its first write (with one kind of power loss, garbage in
 * place of what was not synced: the test stays within its time under
 * ASan). The preallocating journals drop rolled segments and snapshots
 * from the page cache (journal.drop_cache, inline; not a crash point):
 * every segment rolled into a spare is dropped. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "faultio.h"
#include "journal_fixture.h"
#include "tmpdir.h"

#define N_CMDS 600
#define BATCH 37
#define PRE_CMDS 74 /* journal 4: two batches written before, appending */

/* faultio, with every mutating operation counted, and all of them failing
 * from the crash_at-th on. */
typedef struct crashio {
    faultio_t f; /* first: a crashio_t * is an xt_io_t * */
    xt_io_t inner;
    unsigned ops, crash_at;
    int crashed;
} crashio_t;

static int gone(xt_io_t *io)
{
    crashio_t *c = (crashio_t *)io;
    if (!c->crashed && c->crash_at && ++c->ops >= c->crash_at)
        c->crashed = 1;
    return c->crashed;
}

static int c_open(xt_io_t *io, const char *p, int fl, int m)
{
    if ((fl & (O_CREAT | O_TRUNC | O_WRONLY | O_RDWR)) && gone(io))
        return -EIO;
    return ((crashio_t *)io)->inner.open(io, p, fl, m);
}

static ssize_t c_write(xt_io_t *io, int fd, const void *b, size_t n)
{
    return gone(io) ? -EIO : ((crashio_t *)io)->inner.write(io, fd, b, n);
}

static ssize_t c_pwrite(xt_io_t *io, int fd, const void *b, size_t n, off_t off)
{
    return gone(io) ? -EIO : ((crashio_t *)io)->inner.pwrite(io, fd, b, n, off);
}

static int c_fdatasync(xt_io_t *io, int fd)
{
    return gone(io) ? -EIO : ((crashio_t *)io)->inner.fdatasync(io, fd);
}

static int c_fsync(xt_io_t *io, int fd)
{
    return gone(io) ? -EIO : ((crashio_t *)io)->inner.fsync(io, fd);
}

static int c_ftruncate(xt_io_t *io, int fd, off_t l)
{
    return gone(io) ? -EIO : ((crashio_t *)io)->inner.ftruncate(io, fd, l);
}

static int c_rename(xt_io_t *io, const char *a, const char *b)
{
    return gone(io) ? -EIO : ((crashio_t *)io)->inner.rename(io, a, b);
}

static int c_unlink(xt_io_t *io, const char *a)
{
    return gone(io) ? -EIO : ((crashio_t *)io)->inner.unlink(io, a);
}

static void crashio_init(crashio_t *c, unsigned crash_at)
{
    memset(c, 0, sizeof *c);
    faultio_init(&c->f);
    c->inner = c->f.io;
    c->f.io.open = c_open;
    c->f.io.write = c_write;
    c->f.io.pwrite = c_pwrite;
    c->f.io.fdatasync = c_fdatasync;
    c->f.io.fsync = c_fsync;
    c->f.io.ftruncate = c_ftruncate;
    c->f.io.rename = c_rename;
    c->f.io.unlink = c_unlink;
    c->crash_at = crash_at;
}

/* One case: a journal that crashes at operation k, a power loss, recovery.
 * Returns whether the crash came before the run ended (else k is past the
 * last operation). */
static int one_case(int journal, int loss, unsigned k, const xt_cmd_t *v)
{
    char *dir = tmpdir_make("xt-crash");
    xt_journal_config_t c = jcfg();
    c.segment_bytes = 2 << 10;
    c.snapshot_every = 150;
    c.keep_snapshots = 1;
    c.fsync = journal == 2 ? XT_FSYNC_NONE : XT_FSYNC_BATCH;
    c.preallocate = journal >= 3 ? XT_SPARE_INLINE : XT_SPARE_OFF;
    c.drop_cache = journal >= 3;
    xt_engine_config_t small = {.max_orders = 1024, .max_levels = 256, .max_instruments = 4};
    xt_engine_config_t big = {.max_orders = 2048, .max_levels = 512, .max_instruments = 4};
    const xt_engine_config_t *ecfg = journal == 1 || journal == 3 ? &big : NULL;
    if (ecfg) { /* wal-1, its header only, with other capacities: the first write replaces it */
        reopened_t *a = reopen(dir, &c, &small);
        assert_int_equal(a->rc, 0);
        done(a);
    }
    size_t pre = 0;
    if (journal == 4) { /* a segment that grew by appending, its records durable */
        xt_journal_config_t off = c;
        off.preallocate = XT_SPARE_OFF;
        reopened_t *a = reopen(dir, &off, NULL);
        assert_int_equal(a->rc, 0);
        pre = run(&a->j, v, 0, PRE_CMDS, BATCH);
        assert_int_equal(pre, PRE_CMDS);
        done(a);
    }
    crashio_t ci;
    crashio_init(&ci, k);
    if (journal >= 3)
        faultio_offer_drop(&ci.f);
    xt_engine_t e;
    xt_journal_t j;
    int orc = xt_journal_open(&j, dir, &c, &ci.f.io, ecfg, quiet, NULL, &e, 0);
    size_t acked = orc == 0 ? run(&j, v, pre, N_CMDS, BATCH) : pre;
    int crashed = ci.crashed;
    if (journal >= 3 && orc == 0 && !crashed) {
        /* the whole run: it did roll into spares, and dropped each segment
         * it left - all but the one waiting at the end, and for journal 3
         * the first, replaced (no records) rather than rolled */
        assert_true(j.spare.made >= 3 && j.spare.missed == 0 && j.wal.torn_window != 0);
        assert_true(ci.f.drops_seg + 2 >= j.spare.made);
    }
    if (ci.f.drops_unsynced)
        fail_msg("journal %d, loss %d, crash at operation %u: %u segments dropped with bytes not synced", journal, loss,
                 k, ci.f.drops_unsynced);
    faultio_power_loss(&ci.f, (faultio_loss_t)loss, k * 7 + 1);
    if (orc == 0)
        vanish(&j, &e); /* the process is gone: no close */
    reopened_t *b = reopen(dir, &c, ecfg);
    if (b->rc != 0)
        fail_msg("journal %d, loss %d, crash at operation %u: refused: %s", journal, loss, k, b->j.recovery.why);
    uint64_t last = last_seq(&b->e);
    if (journal != 2 && last < acked)
        fail_msg("journal %d, loss %d, crash at operation %u: %llu recovered, %zu acknowledged", journal, loss, k,
                 (unsigned long long)last, acked);
    assert_true(last <= N_CMDS);
    assert_int_equal(xt_engine_state_hash(&b->e), clean_hash(v, last, ecfg));
    assert_false(ci.f.overwrote_data); /* records only ever overwrote zeros, which the power loss models */
    done(b);
    tmpdir_remove(dir);
    return crashed;
}

static void crash_after_every_operation(void **state)
{
    (void)state;
    xt_cmd_t *v = gen(5, N_CMDS);
    unsigned cases = 0;
    for (int journal = 0; journal < 5; journal++)
        for (int loss = journal == 4 ? 2 : 0; loss < 3; loss++) /* journal 4: one kind of loss (time: ASan) */
            for (unsigned k = 1;; k++) {
                cases++;
                if (!one_case(journal, loss, k, v))
                    break; /* past the last operation: the whole run went through */
            }
    print_message("%u crashes recovered\n", cases);
    assert_true(cases > 12 * 50); /* it did crash, at many places */
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crash_after_every_operation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
