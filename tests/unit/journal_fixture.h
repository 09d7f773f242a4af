/* journal_fixture.h - what the journal's unit tests share
 * (test_journal.c, test_journal_crash.c): a random command stream, the
 * state hash it makes, a journal opened, run and closed, and a few file
 * helpers. */
#ifndef XT_TEST_JOURNAL_FIXTURE_H
#define XT_TEST_JOURNAL_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "journal/journal.h"
#include "xt/xt.h"

/* A sink that drops the events. */
void quiet(void *ctx, const xt_event_batch_t *b);

/* splitmix64 over rnd_state. */
extern uint64_t rnd_state;
uint64_t rnd(void);

/* A command stream: an instrument, then random orders, cancels and amends
 * around a mid, so that books fill, trade and empty. calloc'd. */
xt_cmd_t *gen(uint64_t seed, size_t n);

/* The state hash after the first n commands, applied to a fresh engine. */
uint64_t clean_hash(const xt_cmd_t *v, size_t n, const xt_engine_config_t *cfg);

/* The tests' journal config: snapshots synced, none at close. */
xt_journal_config_t jcfg(void);

/* Submits v[from..to) in batches of `batch`, committing each. Returns the
 * number of commands acknowledged (committed) before a failure. */
size_t run(xt_journal_t *j, const xt_cmd_t *v, size_t from, size_t to, size_t batch);

typedef struct reopened {
    xt_engine_t e;
    xt_journal_t j;
    int rc;
} reopened_t;

/* xt_journal_open into a new reopened_t (rc its status). */
reopened_t *reopen(const char *dir, const xt_journal_config_t *c, const xt_engine_config_t *ecfg);

/* Closes (when it opened) and frees. */
void done(reopened_t *r);

uint64_t last_seq(const xt_engine_t *e);

/* The process is gone: the journal and engine are let go without a close
 * (nothing more written or synced), the directory lock released. */
void vanish(xt_journal_t *j, xt_engine_t *e);

/* The path of dir's newest segment. */
void last_segment(const char *dir, char *path);

off_t size_of(const char *path);

/* Inverts the byte at `at`. */
void flip_byte(const char *path, off_t at);

#endif
