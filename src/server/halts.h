/* halts.h - the instruments an operator halted (docs/admin.md), kept in
 * the data directory's `halted` file (docs/journal-format.md) so that a
 * halt outlasts a restart or a crash: a venue that stopped an instrument
 * must not find it trading again because the server started again. */
#ifndef XT_SERVER_HALTS_H
#define XT_SERVER_HALTS_H

#include <stddef.h>

struct xt_server;

#define XT_HALTS_FILE "halted"

/* Writes the halted instruments' symbols, one a line, to DIR/halted
 * through DIR/halted.tmp: written, synced, renamed, the directory synced.
 * With none halted the file is removed. Returns 0, or a negative XT_E*
 * with "PATH: what" in why. Called by the gateway thread (the admin
 * socket's halt and resume). */
int xt_halts_save(const struct xt_server *s, char *why, size_t whylen);

/* Sets s->halted from DIR/halted (none when there is no file) and logs
 * what it found: the halted symbols, and a warning for each line naming
 * an instrument the config no longer has (it is dropped). Returns 0, or
 * -1 with "DIR/halted:LINE: what" in why for a line that is not a
 * symbol, or an I/O error: the server then does not start, rather than
 * trade what may have been halted. */
int xt_halts_load(struct xt_server *s, char *why, size_t whylen);

#endif
