/* fuzz_replay.c - libFuzzer target: arbitrary bytes as a replay file.
 *
 * Every line goes through the parser and, if well formed, the engine (with
 * small capacities so CAPACITY paths are reached); every event is
 * formatted; after every line the engine's invariants must hold. Malformed
 * lines are skipped rather than ending the input, to reach deeper states.
 * Crashes, sanitizer reports and broken invariants are findings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/replay.h"
#include "xt/xt.h"

typedef struct ctx {
    const xt_engine_t *e;
    size_t bytes;
} ctx_t;

static void sink(void *p, const xt_event_batch_t *b)
{
    ctx_t *c = p;
    char line[XT_REPLAY_LINESZ];
    if (b->n > XT_EVENT_BATCH_MAX) /* 0: a SESSION_END, which only takes its sequence number */
        abort();
    for (uint32_t i = 0; i < b->n; i++) {
        size_t n = xt_replay_format_event(c->e, &b->events[i], line);
        if (n >= XT_REPLAY_LINESZ || (n && line[n - 1] != '\n'))
            abort();
        c->bytes += n;
    }
}

static void discard(void *p, const char *s, size_t n)
{
    (void)s;
    ((ctx_t *)p)->bytes += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ctx_t c = {0};
    xt_engine_t e;
    xt_engine_config_t cfg = {.max_orders = 64, .max_levels = 16, .max_instruments = 4, .max_ladder_nodes = 48};
    if (xt_engine_init(&e, &cfg, sink, &c) != 0)
        abort();
    c.e = &e;
    uint64_t seq = 0;
    const char *p = (const char *)data, *end = p + size;
    int64_t lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char err[XT_REPLAY_ERRSZ];
        uint64_t before = seq;
        int rc = xt_replay_apply_line(&e, p, len, &seq, ++lineno, err);
        if (rc != 0 && (seq != before || strnlen(err, sizeof err) == sizeof err))
            abort(); /* an error must leave the sequence alone and say why */
        const char *why;
        if (xt_engine_verify(&e, &why) != 0) {
            fprintf(stderr, "invariant broken after line %lld: %s\n", (long long)lineno, why);
            abort();
        }
        p += len + (nl ? 1 : 0);
    }
    xt_replay_write_books(&e, discard, &c);
    xt_engine_destroy(&e);
    return 0;
}
