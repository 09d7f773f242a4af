/* tmpdir.c - scratch directories for the unit tests (tmpdir.h). */
#include "tmpdir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

char *tmpdir_make(const char *prefix)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(path));
    return path;
}

void tmpdir_remove(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}
