/* fuzz_config.c - libFuzzer target: the server's config file
 * (docs/config.md), read by `xtrading serve --config FILE` and
 * `xtrading config check FILE`: a file an operator, a deploy script or a
 * template engine wrote, which can hold anything.
 *
 * The input is the whole file, written as in.conf in a private directory
 * (so its relative paths resolve there) and loaded over the embedded
 * defaults by xt_config_load().
 *
 * Properties, from docs/cli.md (`config check`) and config.h: no crash or
 * out-of-bounds access; a file that does not load fails with one line
 * naming the file ("FILE:LINE: what" or "FILE: what"); one that loads
 * prints (xt_config_print) a config that loads in turn and prints the same
 * text again ("The output is itself a valid config that gives the same
 * settings (`config check` on it prints the same text)"), and that
 * xt_config_check() passes when it passed the first. Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "server/config.h"

static char in_path[128], out1_path[128], out2_path[128];

static void setup(void)
{
    if (in_path[0])
        return;
    const char *dir = fuzz_dir("config");
    snprintf(in_path, sizeof in_path, "%s/in.conf", dir);
    snprintf(out1_path, sizeof out1_path, "%s/out1.conf", dir);
    snprintf(out2_path, sizeof out2_path, "%s/out2.conf", dir);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(size == 0 || fwrite(data, 1, size, f) == size);
    CHECK(fclose(f) == 0);
}

static void print_to(const xt_server_config_t *c, const char *path)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    xt_config_print(c, f);
    CHECK(fclose(f) == 0);
}

/* The whole file into a malloc'd buffer; its length in *n. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    CHECK(len >= 0 && fseek(f, 0, SEEK_SET) == 0);
    char *b = malloc((size_t)len + 1);
    CHECK(b != NULL);
    CHECK(fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* A reason: one non-empty line naming the file it is about. */
static void check_reason(const char *why, const char *path)
{
    size_t p = strlen(path);
    CHECK(why[0] != '\0' && strchr(why, '\n') == NULL);
    CHECK(strncmp(why, path, p) == 0 && why[p] == ':');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static xt_server_config_t a, b; /* large: not on the stack */
    char why[2048], why2[2048];
    setup();
    write_file(in_path, data, size);
    xt_config_defaults(&a);
    why[0] = '\0';
    if (xt_config_load(&a, in_path, why, sizeof why) != 0) {
        check_reason(why, in_path);
        return 0;
    }
    print_to(&a, out1_path);
    xt_config_defaults(&b);
    why[0] = '\0';
    if (xt_config_load(&b, out1_path, why, sizeof why) != 0) {
        fprintf(stderr, "fuzz_config: the printed config does not load: %s\n", why);
        CHECK(0);
    }
    print_to(&b, out2_path);
    size_t n1, n2;
    char *t1 = slurp(out1_path, &n1), *t2 = slurp(out2_path, &n2);
    CHECK(n1 == n2 && memcmp(t1, t2, n1) == 0);
    free(t1);
    free(t2);
    why[0] = why2[0] = '\0';
    int ca = xt_config_check(&a, why, sizeof why), cb = xt_config_check(&b, why2, sizeof why2);
    CHECK(ca != 0 || cb == 0); /* (paths print cleaned: a path too long as spelt may fit printed) */
    return 0;
}
