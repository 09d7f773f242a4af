/* strbuf.c - see strbuf.h. Aborts on allocation failure (tests only). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(strbuf_t *sb, size_t more)
{
    if (sb->len + more + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + more + 1)
        cap *= 2;
    sb->p = realloc(sb->p, cap);
    if (!sb->p)
        abort();
    sb->cap = cap;
}

void sb_append(strbuf_t *sb, const char *s, size_t n)
{
    reserve(sb, n);
    memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
}

void sb_printf(strbuf_t *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void sb_clear(strbuf_t *sb)
{
    sb->len = 0;
    if (sb->p)
        sb->p[0] = '\0';
}

const char *sb_str(const strbuf_t *sb)
{
    return sb->p ? sb->p : "";
}

void sb_free(strbuf_t *sb)
{
    free(sb->p);
    sb->p = NULL;
    sb->len = sb->cap = 0;
}
