/* text_file.h - the text files the server reads line by line (the config,
 * the credentials) opened as untrusted input: only a regular file, no
 * larger than a bound, and lines of a bounded length, so that a path that
 * names /dev/zero, a FIFO or a huge file gets a clear error instead of
 * eating memory or blocking the thread that reads it (a SIGHUP reload
 * reads them on the gateway thread). */
#ifndef XT_SERVER_TEXT_FILE_H
#define XT_SERVER_TEXT_FILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define XT_TEXT_LINE_MAX 4096 /* bytes in a line, its '\n' included */

/* Opens path for reading if it is a regular file of at most max bytes.
 * Returns the stream, or NULL with "PATH: what" in why and errno set (ENOENT:
 * there is no such file). */
FILE *xt_text_file_open(const char *path, off_t max, char *why, size_t whylen);

/* Reads the next line into buf[XT_TEXT_LINE_MAX + 1], NUL-terminated, its
 * '\n' kept. Returns 1, 0 at the end of the file, -1 for a line longer
 * than XT_TEXT_LINE_MAX, -2 for a read error (errno set), -3 for a line
 * holding a NUL byte (not text), or -4 for a first line that starts with a
 * UTF-8 byte-order mark (some Windows editors write one; refused as such). */
int xt_text_file_line(FILE *f, char buf[XT_TEXT_LINE_MAX + 1]);

/* What a negative xt_text_file_line() result means, in words (-2: from
 * errno, so call it before anything else sets errno). */
const char *xt_text_file_error(int got);

#endif
