/* credentials.c - accounts and their API keys (credentials.h): the
 * credentials file, the embedded demo keys, lookup by (account, key_id).
 *
 * Only signing keys (SHA-256 of a secret) are held; they never appear in an
 * error message, and they are wiped from memory when freed. */
#include "credentials.h"

#include "config.h"
#include "text_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "xt/engine.h"
#include "xt/error.h"

#define DEMO_N 4

static const char *const demo_lines[DEMO_N + 1] = {
    "1001 demo1001 demo-secret-1001",
    "1002 demo1002 demo-secret-1002",
    "1003 demo1003 demo-secret-1003",
    "1004 demo1004 demo-secret-1004",
    NULL,
};

void xt_creds_sign_key(const char *secret, size_t len, uint8_t out[32])
{
    unsigned n = 32;
    int ok = EVP_Digest(secret, len, out, &n, EVP_sha256(), NULL);
    if (!ok) /* cannot happen with the built-in SHA-256; never leave junk */
        memset(out, 0, 32);
}

const char *const *xt_creds_demo_lines(void)
{
    return demo_lines;
}

int xt_creds_demo(xt_creds_t *c)
{
    c->n = 0;
    c->v = calloc(DEMO_N, sizeof *c->v);
    if (c->v == NULL)
        return XT_ENOMEM;
    for (int i = 0; i < DEMO_N; i++) {
        xt_cred_t *k = &c->v[i];
        char secret[32];
        k->account = (uint32_t)(1001 + i);
        snprintf(k->key_id, sizeof k->key_id, "demo%u", (unsigned)k->account);
        snprintf(secret, sizeof secret, "demo-secret-%u", (unsigned)k->account);
        xt_creds_sign_key(secret, strlen(secret), k->sign_key);
    }
    c->n = DEMO_N; /* already in (account, key_id) order */
    return 0;
}

void xt_creds_free(xt_creds_t *c)
{
    if (c->v)
        OPENSSL_cleanse(c->v, c->n * sizeof *c->v);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

static int cmp_cred(const xt_cred_t *a, const xt_cred_t *b)
{
    if (a->account != b->account)
        return a->account < b->account ? -1 : 1;
    return memcmp(a->key_id, b->key_id, 16);
}

static int cmp_cred_v(const void *a, const void *b)
{
    return cmp_cred(a, b);
}

const xt_cred_t *xt_creds_find(const xt_creds_t *c, uint32_t account, const char key_id[16])
{
    xt_cred_t key;
    memset(&key, 0, sizeof key);
    key.account = account;
    memcpy(key.key_id, key_id, 16);
    if (c->n == 0)
        return NULL;
    return bsearch(&key, c->v, c->n, sizeof *c->v, cmp_cred_v);
}

/* ---- the file --------------------------------------------------------- */

/* A key being loaded, with the line it came from. */
typedef struct entry {
    xt_cred_t cred;
    unsigned line;
} entry_t;

typedef struct loader {
    const char *path;
    unsigned line;
    entry_t *v;
    size_t n, cap;
    char *why;
    size_t whylen;
} loader_t;

static int fail(loader_t *L, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(loader_t *L, unsigned line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    /* clang-analyzer 14 loses track of va_start across inlined callers. */
    vsnprintf(msg, sizeof msg, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (L->why && L->whylen) {
        if (line)
            snprintf(L->why, L->whylen, "%s:%u: %s", L->path, line, msg);
        else
            snprintf(L->why, L->whylen, "%s: %s", L->path, msg);
    }
    return -1;
}

static int parse_account(const char *s, uint32_t *out)
{
    uint64_t v;
    if (xt_config_parse_uint(s, &v) != 0 || v == 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int xt_hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int xt_hex32_parse(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        int hi = xt_hex_digit(s[2 * i]), lo = xt_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int push(loader_t *L, const entry_t *e)
{
    if (L->n == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 16;
        entry_t *v = malloc(cap * sizeof *v);
        if (v == NULL)
            return fail(L, 0, "out of memory");
        if (L->n)
            memcpy(v, L->v, L->n * sizeof *v);
        if (L->v)
            OPENSSL_cleanse(L->v, L->n * sizeof *v);
        free(L->v);
        L->v = v;
        L->cap = cap;
    }
    L->v[L->n++] = *e;
    return 0;
}

/* One line: "<account> <key_id> <64 hex digits>", '#' to the end of the
 * line is a comment. Fields that did not parse are not quoted: a secret or
 * key in the wrong column must not end up in a log. */
static int do_line(loader_t *L, char *s)
{
    char *hash = strchr(s, '#'), *save = NULL, *f[4];
    int nf = 0;
    if (hash)
        *hash = '\0';
    for (char *t = strtok_r(s, " \t\r\n", &save); t && nf < 4; t = strtok_r(NULL, " \t\r\n", &save))
        f[nf++] = t;
    if (nf == 0)
        return 0;
    if (nf != 3)
        return fail(L, L->line, "want <account> <key_id> <signing key: 64 hex digits>, got %s fields",
                    nf > 3    ? "more than 3"
                    : nf == 1 ? "1"
                              : "2");
    entry_t e;
    memset(&e, 0, sizeof e);
    e.line = L->line;
    if (parse_account(f[0], &e.cred.account))
        return fail(L, L->line, "bad account (want a number 1..4294967295)");
    if (!xt_symbol_valid(f[1], strlen(f[1]))) /* key ids are spelt like symbols: [A-Za-z0-9._-]{1,16} */
        return fail(L, L->line, "bad key id (want 1..16 characters [A-Za-z0-9._-])");
    memcpy(e.cred.key_id, f[1], strlen(f[1]) + 1);
    if (xt_hex32_parse(f[2], e.cred.sign_key))
        return fail(L, L->line,
                    "bad signing key (want 64 hex digits: SHA-256 of the secret, "
                    "printf %%s SECRET | sha256sum)");
    int rc = push(L, &e);
    OPENSSL_cleanse(&e, sizeof e);
    return rc;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const entry_t *a = pa, *b = pb;
    int r = cmp_cred(&a->cred, &b->cred);
    return r ? r : (a->line > b->line) - (a->line < b->line);
}

static int read_lines(loader_t *L, FILE *f)
{
    char buf[XT_TEXT_LINE_MAX + 1];
    int rc = 0, got;
    while (rc == 0 && (got = xt_text_file_line(f, buf)) == 1) {
        L->line++;
        rc = do_line(L, buf);
    }
    if (rc == 0 && got < 0)
        rc = fail(L, got == -2 ? 0 : L->line + 1, "%s", xt_text_file_error(got));
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

/* Sorts the keys, rejects duplicates and moves them into c. */
static int finish(loader_t *L, xt_creds_t *c)
{
    if (L->n == 0)
        return fail(L, 0, "no keys (want lines <account> <key_id> <signing key>)");
    qsort(L->v, L->n, sizeof *L->v, cmp_entry);
    for (size_t i = 1; i < L->n; i++) {
        const entry_t *a = &L->v[i - 1], *b = &L->v[i];
        if (cmp_cred(&a->cred, &b->cred) == 0)
            return fail(L, b->line, "account %u key id %s is already defined on line %u", (unsigned)b->cred.account,
                        b->cred.key_id, a->line);
    }
    c->v = malloc(L->n * sizeof *c->v);
    if (c->v == NULL)
        return fail(L, 0, "out of memory");
    for (size_t i = 0; i < L->n; i++)
        c->v[i] = L->v[i].cred;
    c->n = L->n;
    return 0;
}

int xt_creds_load(xt_creds_t *c, const char *path, char *why, size_t whylen)
{
    loader_t L = {.path = path, .why = why, .whylen = whylen};
    c->v = NULL;
    c->n = 0;
    FILE *f = xt_text_file_open(path, XT_CREDS_FILE_MAX, why, whylen); /* why: "PATH: what" */
    if (f == NULL)
        return -1;
    int rc = read_lines(&L, f);
    fclose(f);
    if (rc == 0)
        rc = finish(&L, c);
    if (L.v)
        OPENSSL_cleanse(L.v, L.cap * sizeof *L.v);
    free(L.v);
    return rc;
}
