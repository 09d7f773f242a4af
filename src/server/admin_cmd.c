/* admin_cmd.c - parses one admin request line (admin_cmd.h, docs/admin.md).
 * Every byte is checked before any word is looked at: only printable ASCII,
 * spaces and tabs (and one trailing CR) are allowed, so a reason that quotes
 * a word never carries a control byte. */
#include "admin_cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xt/engine.h"

#define MAX_WORDS 4 /* the longest command has 3; one more tells "too many" */

typedef struct word {
    const char *p;
    size_t n;
} word_t;

static const struct {
    const char *name;
    int op;
    uint8_t min_args, max_args;
    const char *usage;
} ops[] = {
    {"help", XT_ADM_HELP, 0, 0, "help"},
    {"sessions", XT_ADM_SESSIONS, 0, 1, "sessions [ACCOUNT]"},
    {"kick", XT_ADM_KICK, 2, 2, "kick ACCOUNT SESSION"},
    {"halt", XT_ADM_HALT, 1, 1, "halt SYMBOL"},
    {"resume", XT_ADM_RESUME, 1, 1, "resume SYMBOL"},
    {"mass-cancel", XT_ADM_MASS_CANCEL, 1, 2, "mass-cancel ACCOUNT [SYMBOL]"},
    {"snapshot", XT_ADM_SNAPSHOT, 0, 0, "snapshot"},
    {"stats", XT_ADM_STATS, 0, 0, "stats"},
    {"instruments", XT_ADM_INSTRUMENTS, 0, 1, "instruments [SYMBOL]"},
};
#define NOPS (sizeof ops / sizeof ops[0])

static int fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
        va_end(ap);
    }
    return -1;
}

const char *xt_admin_op_name(int op)
{
    for (size_t k = 0; k < NOPS; k++)
        if (ops[k].op == op)
            return ops[k].name;
    return "?";
}

const char *xt_admin_op_usage(int op)
{
    for (size_t k = 0; k < NOPS; k++)
        if (ops[k].op == op)
            return ops[k].usage;
    return "?";
}

/* Splits line into words; -1 for a bad byte. *n may reach MAX_WORDS + 1
 * (then there are too many). */
static int split(const char *line, size_t len, word_t *w, size_t *n)
{
    *n = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)line[i];
        if (ch == ' ' || ch == '\t') {
            i++;
            continue;
        }
        size_t start = i;
        for (; i < len && line[i] != ' ' && line[i] != '\t'; i++)
            if ((unsigned char)line[i] < 0x21 || (unsigned char)line[i] > 0x7e)
                return -1;
        if (*n <= MAX_WORDS)
            w[(*n)++] = (word_t){line + start, i - start};
    }
    return 0;
}

static int word_is(const word_t *w, const char *s)
{
    return w->n == strlen(s) && memcmp(w->p, s, w->n) == 0;
}

/* A decimal 1..UINT32_MAX. */
static int number(const word_t *w, uint32_t *out)
{
    uint64_t v = 0;
    if (w->n == 0 || w->n > 10)
        return -1;
    for (size_t i = 0; i < w->n; i++) {
        if (w->p[i] < '0' || w->p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(w->p[i] - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* A symbol as the core spells one (xt_symbol_valid). */
static int symbol(const word_t *w, char *out)
{
    if (!w->p || !xt_symbol_valid(w->p, w->n)) /* p: NULL for a word not given */
        return -1;
    memcpy(out, w->p, w->n);
    out[w->n] = '\0';
    return 0;
}

/* The arguments of ops[k] in w[1..n) into out. */
static int args(size_t k, const word_t *w, size_t n, xt_admin_cmd_t *out, char *why, size_t whylen)
{
    const char *use = ops[k].usage;
    int op = ops[k].op;
    const word_t *acct = NULL, *sess = NULL, *sym = NULL;
    if (op == XT_ADM_SESSIONS || op == XT_ADM_KICK || op == XT_ADM_MASS_CANCEL)
        acct = n > 1 ? &w[1] : NULL;
    if (op == XT_ADM_KICK)
        sess = &w[2];
    if (op == XT_ADM_HALT || op == XT_ADM_RESUME)
        sym = &w[1];
    if (op == XT_ADM_MASS_CANCEL && n > 2)
        sym = &w[2];
    if (op == XT_ADM_INSTRUMENTS && n > 1)
        sym = &w[1];
    if (acct && number(acct, &out->account) != 0)
        return fail(why, whylen, "ACCOUNT must be a number 1..4294967295 (usage: %s)", use);
    if (sess && number(sess, &out->session) != 0)
        return fail(why, whylen, "SESSION must be a number 1..4294967295 (usage: %s)", use);
    if (sym && symbol(sym, out->symbol) != 0)
        return fail(why, whylen, "SYMBOL must be 1..16 of A-Z a-z 0-9 . _ - (usage: %s)", use);
    return 0;
}

int xt_admin_parse(const char *line, size_t len, xt_admin_cmd_t *out, char *why, size_t whylen)
{
    word_t w[MAX_WORDS + 1] = {{NULL, 0}};
    size_t n;
    memset(out, 0, sizeof *out);
    if (len > 0 && line[len - 1] == '\r') /* a CRLF line's \r, not counted */
        len--;
    if (len > XT_ADMIN_LINE_MAX)
        return fail(why, whylen, "request longer than %d bytes", XT_ADMIN_LINE_MAX);
    if (split(line, len, w, &n) != 0)
        return fail(why, whylen, "a request is printable ASCII words separated by spaces or tabs");
    if (n == 0)
        return fail(why, whylen, "empty request (try help)");
    size_t k = 0;
    while (k < NOPS && !word_is(&w[0], ops[k].name))
        k++;
    if (k == NOPS) {
        if (w[0].n > 32)
            return fail(why, whylen, "unknown command (try help)");
        return fail(why, whylen, "unknown command '%.*s' (try help)", (int)w[0].n, w[0].p);
    }
    if (n - 1 < ops[k].min_args || n - 1 > ops[k].max_args)
        return fail(why, whylen, "%s needs %s%u argument%s (usage: %s)", ops[k].name,
                    ops[k].min_args == ops[k].max_args ? ""
                    : n - 1 < ops[k].min_args          ? "at least "
                                                       : "at most ",
                    (unsigned)(n - 1 < ops[k].min_args ? ops[k].min_args : ops[k].max_args),
                    (n - 1 < ops[k].min_args ? ops[k].min_args : ops[k].max_args) == 1 ? "" : "s", ops[k].usage);
    out->op = ops[k].op;
    return args(k, w, n, out, why, whylen);
}
