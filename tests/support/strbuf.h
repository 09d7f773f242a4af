/* strbuf.h - a growable NUL-terminated string for test output. */
#ifndef XT_TEST_STRBUF_H
#define XT_TEST_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *p; /* always NUL-terminated once anything was added */
    size_t len, cap;
} strbuf_t;

void sb_printf(strbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_append(strbuf_t *sb, const char *s, size_t n);
void sb_clear(strbuf_t *sb);
const char *sb_str(const strbuf_t *sb); /* "" when empty */
void sb_free(strbuf_t *sb);

#endif
