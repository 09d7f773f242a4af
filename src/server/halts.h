/* halts.h - the instruments an operator halted (docs/admin.md), kept in
 * the data directory's `halted` file (docs/journal-format.md) so that a
 * halt outlasts a restart or a crash: a venue that stopped an instrument
 * must not find it trading again because the server started again. */
#ifndef XT_SERVER_HALTS_H
#define XT_SERVER_HALTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct xt_server;

#define XT_HALTS_FILE "halted"

/* The file is written by a thread of its own: a halt or resume takes
 * effect at once on the gateway thread, whose loop never waits on the
 * disk - a halt is what an operator reaches for when things go wrong, a
 * sick disk among them, and a sync that took seconds held every
 * connection that long. The admin's answer waits for the file. Saves
 * asked for while one runs are made as one, of the state then. */
typedef struct xt_halts_saver {
    const struct xt_server *s;
    int wake_fd; /* written once a save is done (the gateway's eventfd) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int on, stop;
    uint64_t want, done; /* saves asked for, and done (counted) */
    int rc;              /* of the last save done: 0 or a negative XT_E* with why */
    char why[512];
} xt_halts_saver_t;

/* Starts the thread. Without it (it could not start) saves are made on
 * the caller's thread. Returns 0. */
int xt_halts_saver_start(xt_halts_saver_t *h, const struct xt_server *s, int wake_fd);

/* Asks for a save of the halted instruments as they are now; returns the
 * number to wait for (xt_halts_saved). */
uint64_t xt_halts_save_later(xt_halts_saver_t *h);

/* 0 while save `n` is not done; 1 once it is, saved; -1 once it is, not
 * saved (why says why). A later save's outcome is reported for an earlier
 * number: it is the file's. */
int xt_halts_saved(xt_halts_saver_t *h, uint64_t n, char *why, size_t whylen);

/* Makes the saves asked for, ends the thread; xt_halts_saved still
 * answers. Safe on one never started. */
void xt_halts_saver_stop(xt_halts_saver_t *h);
/* Frees what the saver holds, after its last xt_halts_saved. */
void xt_halts_saver_destroy(xt_halts_saver_t *h);

/* Writes the halted instruments' symbols, one a line, to DIR/halted
 * through DIR/halted.tmp: written, synced, renamed, the directory synced.
 * With none halted the file is removed. Returns 0, or a negative XT_E*
 * with "PATH: what" in why. Called by the saver's thread (or
 * the gateway's, without one), one call at a time. */
int xt_halts_save(const struct xt_server *s, char *why, size_t whylen);

/* Sets s->halted from DIR/halted (none when there is no file) and logs
 * what it found: the halted symbols, and a warning for each line naming
 * an instrument the config no longer has (it is dropped). Returns 0, or
 * -1 with "DIR/halted:LINE: what" in why for a line that is not a
 * symbol, or an I/O error: the server then does not start, rather than
 * trade what may have been halted. */
int xt_halts_load(struct xt_server *s, char *why, size_t whylen);

#endif
