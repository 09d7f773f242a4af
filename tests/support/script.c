/* script.c - see script.h. */
#include "script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/replay.h"

typedef struct ctx {
    const xt_engine_t *e;
    strbuf_t *out;
} ctx_t;

static void sink(void *p, const xt_event_batch_t *b)
{
    ctx_t *c = p;
    char line[XT_REPLAY_LINESZ];
    for (uint32_t i = 0; i < b->n; i++) {
        size_t n = xt_replay_format_event(c->e, &b->events[i], line);
        if (n)
            sb_append(c->out, line, n);
    }
}

static void write_out(void *p, const char *s, size_t n)
{
    sb_append(((ctx_t *)p)->out, s, n);
}

int script_run(const char *script, const xt_engine_config_t *cfg, int book, strbuf_t *out)
{
    ctx_t c = {NULL, out};
    xt_engine_t e;
    if (xt_engine_init(&e, cfg, sink, &c) != 0)
        abort();
    c.e = &e;
    uint64_t seq = 0;
    int lineno = 0, failed = 0;
    for (const char *p = script; *p && !failed;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char err[XT_REPLAY_ERRSZ];
        lineno++;
        if (xt_replay_apply_line(&e, p, len, &seq, lineno, err) != 0) {
            sb_printf(out, "line %d: %s\n", lineno, err);
            failed = lineno;
        }
        const char *why;
        if (xt_engine_verify(&e, &why) != 0) {
            fprintf(stderr, "invariant broken after line %d: %s\n", lineno, why);
            abort();
        }
        p += len + (nl ? 1 : 0);
    }
    if (!failed && book)
        xt_replay_write_books(&e, write_out, &c);
    xt_engine_destroy(&e);
    return failed;
}
