/* tmpdir.h - scratch directories for the unit tests that write files. */
#ifndef XT_TEST_TMPDIR_H
#define XT_TEST_TMPDIR_H

/* A new directory /tmp/<prefix>-XXXXXX (prefix under 40 bytes); the path
 * is in a static buffer, valid until the next call. Fails the test when it
 * cannot be made. */
char *tmpdir_make(const char *prefix);

/* Removes dir and everything in it; fails the test when that fails. */
void tmpdir_remove(const char *dir);

#endif
