/* fuzz_journal.c - libFuzzer target: journal files are untrusted input.
 *
 * First byte even: the rest is the records part of a segment (behind a
 * valid header; with the first byte's bit 1 set, the input is the whole
 * file, header included). Recovery must not crash; if it succeeds the
 * state must verify, and recovering again must find nothing more to cut
 * and the same state.
 * First byte odd: the rest describes a snapshot - capacities and counts
 * taken from it, bounded - written with a correct checksum so that the
 * restore logic itself is exercised. Loading must not crash; a snapshot
 * that loads must verify.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "journal/codec.h"
#include "journal/crc32c.h"
#include "journal/dir.h"
#include "journal/recover.h"
#include "journal/segment.h"
#include "journal/snapshot.h"
#include "xt/xt.h"

static const char *dir; /* fuzz_dir */

static void quiet(void *ctx, const xt_event_batch_t *b)
{
    (void)ctx;
    (void)b;
}

static void write_file(const char *path, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if ((na && fwrite(a, 1, na, f) != na) || (nb && fwrite(b, 1, nb, f) != nb))
        abort();
    fclose(f);
}

/* The only files an input can leave behind. */
static void clear_dir(void)
{
    char path[XT_PATH_MAX];
    xt_dir_path(path, sizeof path, dir, XT_FILE_WAL, 1);
    unlink(path);
    xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, 7);
    unlink(path);
}

static void fuzz_segment(const uint8_t *data, size_t size, int whole)
{
    char path[XT_PATH_MAX];
    xt_dir_path(path, sizeof path, dir, XT_FILE_WAL, 1);
    uint8_t hdr[XT_SEG_HDR];
    xt_caps_t caps = {64, 32, 4, 160, XT_RULES_CURRENT};
    xt_segment_header(hdr, 1, 0, &caps, 0);
    if (whole) {
        /* Capacities come from the input: large ones only cost the fuzzer
         * time in allocation (the engine bounds them), so skip those. */
        uint64_t first;
        if (size >= XT_SEG_HDR && xt_segment_header_ok(data, &first, &caps, NULL) &&
            (caps.max_orders > 4096 || caps.max_levels > 4096 || caps.max_ladder_nodes > 4096 ||
             caps.max_instruments > 64))
            return;
    }
    write_file(path, whole ? NULL : hdr, whole ? 0 : sizeof hdr, data, size);
    xt_engine_config_t cfg = {.max_orders = 64, .max_levels = 32, .max_instruments = 4, .max_ladder_nodes = 160};
    xt_engine_t e;
    xt_recovery_t rep;
    if (xt_recover(&xt_io_posix, dir, &cfg, quiet, NULL, &e, 1, &rep) != 0)
        return;
    uint64_t h = xt_engine_state_hash(&e);
    xt_engine_destroy(&e);
    if (xt_recover(&xt_io_posix, dir, &cfg, quiet, NULL, &e, 1, &rep) != 0 || rep.tail_cut ||
        xt_engine_state_hash(&e) != h)
        abort(); /* recovery is idempotent */
    xt_engine_destroy(&e);
}

static void fuzz_snapshot(const uint8_t *data, size_t size)
{
    enum { HDR = 80, INST = 72, ORDER = 56 };
    if (size < 16)
        return;
    uint32_t ninst = data[0] % 4;
    size_t body = size - 16;
    if (body < ninst * INST)
        return;
    uint64_t norders = (body - ninst * INST) / ORDER;
    size_t len = HDR + ninst * INST + norders * ORDER + 16;
    uint8_t *f = calloc(1, len);
    if (!f)
        abort();
    memcpy(f, "XTSNAP01", 8);
    xt_put32(f + 8, 1);
    xt_put32(f + 12, HDR);
    xt_put64(f + 16, (uint64_t)data[1] << 8 | data[2]); /* last_seq */
    xt_put64(f + 24, data[3]);                          /* trades */
    memcpy(f + 32, data + 4, 8);                        /* state hash: usually wrong */
    xt_put32(f + 40, ninst);
    xt_put64(f + 48, norders);
    xt_put32(f + 56, 1 + data[12] % 128); /* max_orders */
    xt_put32(f + 60, 1 + data[13] % 64);  /* max_levels */
    xt_put32(f + 64, 1 + data[14] % 8);   /* max_instruments */
    xt_put32(f + 68, 1 + data[15] % 200); /* max_ladder_nodes */
    memcpy(f + HDR, data + 16, ninst * INST + norders * ORDER);
    memcpy(f + len - 16, "XTSNPEND", 8);
    xt_put32(f + len - 8, xt_crc32c(f, len - 16));
    char path[XT_PATH_MAX], why[XT_PATH_MAX + 256];
    xt_dir_path(path, sizeof path, dir, XT_FILE_SNAP, 7);
    write_file(path, f, len, NULL, 0);
    free(f);
    xt_engine_t e;
    if (xt_snapshot_load(&xt_io_posix, path, NULL, quiet, NULL, &e, NULL, why, sizeof why) == 0) {
        const char *bad;
        if (xt_engine_verify(&e, &bad) != 0)
            abort();
        xt_engine_destroy(&e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir)
        dir = fuzz_dir("journal");
    if (size == 0 || size > 1 << 16)
        return 0;
    clear_dir();
    if (data[0] & 1)
        fuzz_snapshot(data + 1, size - 1);
    else
        fuzz_segment(data + 1, size - 1, data[0] & 2);
    return 0;
}
