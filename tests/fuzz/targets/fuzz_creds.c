/* fuzz_creds.c - libFuzzer target: the credentials file
 * (docs/config.md#credentials, `server.credentials`), read at start, by
 * `xtrading config check` and at SIGHUP: lines "<account> <key_id>
 * <signing key: 64 hex digits>", written by hand or by a script.
 *
 * The input is the whole file, written in a private directory and loaded by
 * xt_creds_load().
 *
 * Properties, from credentials.h and the docs: no crash or out-of-bounds
 * access; a file that does not load fails with one line naming the file
 * that never quotes key material (no run of more than 16 hex digits: a key
 * id has at most 16 characters, a signing key 64 hex digits); one that
 * loads holds keys sorted by (account, key id), none twice, accounts
 * 1..UINT32_MAX, key ids of 1..16 characters [A-Za-z0-9._-], each found by
 * xt_creds_find; written back as the format's lines, the keys load again
 * to the same table. Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "server/credentials.h"

static char in_path[128], out_path[128];

static void setup(void)
{
    if (in_path[0])
        return;
    const char *dir = fuzz_dir("creds");
    snprintf(in_path, sizeof in_path, "%s/in", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
}

static int is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static void check_reason(const char *why, const char *path)
{
    size_t p = strlen(path), run = 0;
    CHECK(why[0] != '\0' && strchr(why, '\n') == NULL);
    CHECK(strncmp(why, path, p) == 0 && why[p] == ':');
    for (const char *s = why; *s; s++) {
        run = is_hex(*s) ? run + 1 : 0;
        CHECK(run <= 16);
    }
}

static void check_key_id(const char *id)
{
    size_t n = strlen(id);
    CHECK(n >= 1 && n <= 16);
    for (size_t i = 0; i < n; i++)
        CHECK((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') ||
              id[i] == '.' || id[i] == '_' || id[i] == '-');
}

static int cmp(const xt_cred_t *a, const xt_cred_t *b)
{
    if (a->account != b->account)
        return a->account < b->account ? -1 : 1;
    return strcmp(a->key_id, b->key_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512];
    setup();
    FILE *f = fopen(in_path, "wb");
    CHECK(f != NULL && (size == 0 || fwrite(data, 1, size, f) == size) && fclose(f) == 0);
    xt_creds_t c, d;
    why[0] = '\0';
    if (xt_creds_load(&c, in_path, why, sizeof why) != 0) {
        check_reason(why, in_path);
        CHECK(c.v == NULL && c.n == 0);
        return 0;
    }
    CHECK(c.n > 0);
    f = fopen(out_path, "w");
    CHECK(f != NULL);
    for (size_t i = 0; i < c.n; i++) {
        const xt_cred_t *k = &c.v[i];
        CHECK(k->account > 0);
        check_key_id(k->key_id);
        CHECK(i == 0 || cmp(&c.v[i - 1], k) < 0);
        char wire_id[16] = {0};
        memcpy(wire_id, k->key_id, strlen(k->key_id));
        CHECK(xt_creds_find(&c, k->account, wire_id) == k);
        fprintf(f, "%u %s ", (unsigned)k->account, k->key_id);
        for (int j = 0; j < 32; j++)
            fprintf(f, "%02x", k->sign_key[j]);
        fputc('\n', f);
    }
    CHECK(fclose(f) == 0);
    CHECK(xt_creds_load(&d, out_path, why, sizeof why) == 0);
    CHECK(d.n == c.n);
    for (size_t i = 0; i < c.n; i++) /* field by field: struct copies need not copy padding */
        CHECK(cmp(&d.v[i], &c.v[i]) == 0 && memcmp(d.v[i].sign_key, c.v[i].sign_key, 32) == 0);
    xt_creds_free(&c);
    xt_creds_free(&d);
    return 0;
}
