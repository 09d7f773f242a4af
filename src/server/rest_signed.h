/* rest_signed.h - what a clean stop tells the next start about the signed
 * REST requests it took (docs/rest.md, "Signed requests"; the file's
 * format: docs/journal-format.md).
 *
 * The replay cache is the process's: a restart empties it, and a signature
 * the earlier run took would pass again. A run that stops cleanly knows
 * the latest timestamp it took (or refused as an earlier run's), and
 * writes it to DIR/rest-signed once market data's thread, which checks
 * signatures, has stopped; the next start refuses timestamps up to it
 * only, instead of everything for rest.recv_window_ms from the start. The
 * start removes the file (and syncs the directory) before it serves a
 * request, so a later crash never leaves it behind to be believed. */
#ifndef XT_SERVER_REST_SIGNED_H
#define XT_SERVER_REST_SIGNED_H

#include <stddef.h>
#include <stdint.h>

#include "rest_auth.h"

#define XT_REST_SIGNED_FILE "rest-signed"

/* Sets rc->earlier_run_until_ms for a start on dir: the file's timestamp
 * when there is one; else, when an earlier run may have served (have_run:
 * a journal is there), now_ms + window_ms (logged); else none. A file that
 * is not a timestamp is logged and taken as no file. The file is then
 * removed, the directory synced. Returns 0, or -1 with "PATH: what" in why
 * when it cannot be removed: the start stops (it would be believed after
 * this run, which it does not cover). */
int xt_rest_signed_load(const char *dir, int have_run, int64_t now_ms, uint32_t window_ms, xt_replay_cache_t *rc,
                        char *why, size_t whylen);

/* Writes the latest timestamp rc took or refused as an earlier run's to
 * dir/rest-signed (through rest-signed.tmp, synced, renamed, the directory
 * synced), once no request can be checked any more. A failure is logged:
 * the next start then refuses for the window, as after a crash. */
void xt_rest_signed_save(const char *dir, const xt_replay_cache_t *rc);

#endif
