/* test_rest_auth.c - signed REST requests (src/server/rest_auth.c,
 * docs/rest.md "Signed requests"): the replay cache (a duplicate, reuse of
 * expired entries, full), the request head's target and X-XT-* headers
 * (src/net/ws.c), and the authenticator: a known answer computed apart
 * with Python's hmac, and every check in its order with its status; and
 * the rest-signed file a clean stop leaves for the next start
 * (src/server/rest_signed.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/ws.h"
#include "server/credentials.h"
#include "server/rest_auth.h"
#include "server/rest_signed.h"
#include "tmpdir.h"
#include "xt/error.h"

/* ---- the replay cache ------------------------------------------------------------ */

static void sig_of(uint8_t sig[32], uint32_t i)
{
    memset(sig, 0, 32);
    memcpy(sig, &i, sizeof i);
    sig[31] = 0xA5;
}

static void replay_dup_and_expiry(void **state)
{
    (void)state;
    xt_replay_cache_t c;
    assert_int_equal(xt_replay_init(&c, 100), 0);
    assert_int_equal(c.mask, 127);
    uint8_t a[32], b[32];
    sig_of(a, 1);
    sig_of(b, 2);
    assert_int_equal(xt_replay_add(&c, a, 2000, 1000), 0);
    assert_int_equal(xt_replay_add(&c, a, 2000, 1000), XT_EEXIST);
    assert_int_equal(xt_replay_add(&c, a, 2500, 1999), XT_EEXIST); /* live until 2000 */
    assert_int_equal(xt_replay_add(&c, b, 2000, 1000), 0);
    assert_int_equal(xt_replay_add(&c, a, 3000, 2000), 0); /* expired: taken again */
    assert_int_equal(xt_replay_add(&c, a, 3000, 2001), XT_EEXIST);
    xt_replay_destroy(&c);
    xt_replay_destroy(&c);
    assert_int_equal(xt_replay_init(&c, 0), XT_EINVAL);
}

static void replay_full(void **state)
{
    (void)state;
    xt_replay_cache_t c;
    assert_int_equal(xt_replay_init(&c, 4), 0);
    uint8_t s[32];
    for (uint32_t i = 0; i < 4; i++) {
        sig_of(s, i);
        assert_int_equal(xt_replay_add(&c, s, 5000, 1000), 0);
    }
    sig_of(s, 99);
    assert_int_equal(xt_replay_add(&c, s, 5000, 1000), XT_ECAPACITY); /* all live */
    sig_of(s, 2);
    assert_int_equal(xt_replay_add(&c, s, 5000, 1000), XT_EEXIST); /* a duplicate is still one */
    sig_of(s, 99);
    assert_int_equal(xt_replay_add(&c, s, 9000, 5000), 0); /* every entry expired at 5000 */
    for (uint32_t i = 100; i < 103; i++) {
        sig_of(s, i);
        assert_int_equal(xt_replay_add(&c, s, 9000, 5000), 0);
    }
    sig_of(s, 103);
    assert_int_equal(xt_replay_add(&c, s, 9000, 5000), XT_ECAPACITY);
    xt_replay_destroy(&c);
}

/* Many signatures, about as many as the places: each is found again. */
static void replay_many(void **state)
{
    (void)state;
    xt_replay_cache_t c;
    assert_int_equal(xt_replay_init(&c, 4096), 0);
    uint8_t s[32];
    uint32_t added = 0;
    for (uint32_t i = 0; i < 3500; i++) {
        sig_of(s, i * 2654435761u);
        int r = xt_replay_add(&c, s, 100, 1);
        assert_true(r == 0 || r == XT_ECAPACITY);
        added += r == 0;
    }
    assert_true(added > 3400);
    for (uint32_t i = 0; i < 3500; i++) {
        sig_of(s, i * 2654435761u);
        assert_int_not_equal(xt_replay_add(&c, s, 100, 1), 0);
    }
    xt_replay_destroy(&c);
}

/* ---- request heads ----------------------------------------------------------------- */

static int parse_str(const char *s, xt_http_req_t *req)
{
    xt_http_parser_t p;
    xt_http_parser_init(&p);
    return xt_http_parse_head(&p, (const uint8_t *)s, strlen(s), req);
}

static void head_target_and_headers(void **state)
{
    (void)state;
    static xt_http_req_t req;
    const char *h = "GET /api/v1/fills?symbol=BTC-USDT&limit=5 HTTP/1.1\r\nHost: x\r\n"
                    "x-xt-account:  1001 \r\nX-XT-KEY: demo1001\r\nX-Xt-Timestamp: 1700000000000\r\n"
                    "X-XT-Signature: abc\r\n\r\n";
    assert_int_equal(parse_str(h, &req), (int)strlen(h));
    assert_string_equal(req.target, "/api/v1/fills?symbol=BTC-USDT&limit=5");
    assert_string_equal(req.path, "/api/v1/fills");
    assert_int_equal(req.auth.seen, 0xF);
    assert_int_equal(req.auth.bad, 0);
    assert_string_equal(req.auth.v[XT_AUTH_ACCOUNT], "1001");
    assert_string_equal(req.auth.v[XT_AUTH_KEY], "demo1001");
    assert_string_equal(req.auth.v[XT_AUTH_TIMESTAMP], "1700000000000");
    assert_string_equal(req.auth.v[XT_AUTH_SIGNATURE], "abc");
    /* "?" with nothing after it stays in the target */
    assert_true(parse_str("GET /api/v1/fills? HTTP/1.1\r\n\r\n", &req) > 0);
    assert_string_equal(req.target, "/api/v1/fills?");
    assert_string_equal(req.query, "");
    assert_int_equal(req.auth.seen, 0);
    /* a value too long, a header twice: marked bad, the head still parses */
    char big[400];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX-XT-Signature: %0300d\r\nX-XT-Key: a\r\nX-XT-Key: a\r\n\r\n", 7);
    assert_true(parse_str(big, &req) > 0);
    assert_int_equal(req.auth.seen, (1 << XT_AUTH_SIGNATURE) | (1 << XT_AUTH_KEY));
    assert_int_equal(req.auth.bad, (1 << XT_AUTH_SIGNATURE) | (1 << XT_AUTH_KEY));
    assert_string_equal(req.auth.v[XT_AUTH_SIGNATURE], "");
}

/* ---- the authenticator -------------------------------------------------------------- */

#define TS "1700000000000"
#define NOW INT64_C(1700000000000)
#define TARGET "/api/v1/fills?symbol=BTC-USDT"
/* python3 -c "import hmac,hashlib; k=hashlib.sha256(b'demo-secret-1001').digest();
 *   print(hmac.new(k, b'1700000000000\nGET\n/api/v1/fills?symbol=BTC-USDT\n', hashlib.sha256).hexdigest())" */
#define SIG_GET "e749f3da926626fc21b4ab4d3e40f4f7ef6fd360f92c188418d81a5ca392f14d"
/* ... b'1700000000000\nPOST\n/api/v1/orders\n{"symbol":"BTC-USDT"}' */
#define SIG_POST "e461ea0a939c99f5bd6119255e7f96670da3224dec325154dd52f2f4f1e7a987"
/* ... b'1700000000000\nGET\n/api/v1/fills?\n' */
#define SIG_EMPTY_QUERY "8db3ab03abc8d9bbfc3e10f5679b96ae2fabd70204b3400031baa4e03c556e50"

typedef struct fx {
    xt_creds_t creds;
    xt_replay_cache_t rc;
    xt_http_req_t req;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (f == NULL || xt_creds_demo(&f->creds) != 0 || xt_replay_init(&f->rc, 1024) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    xt_creds_free(&f->creds);
    xt_replay_destroy(&f->rc);
    free(f);
    return 0;
}

/* A request head with the four headers (NULL: left out). */
static void head(fx_t *f, const char *method, const char *target, const char *acc, const char *key, const char *ts,
                 const char *sig)
{
    char h[1024];
    int n = snprintf(h, sizeof h, "%s %s HTTP/1.1\r\nHost: x\r\n", method, target);
    const char *names[4] = {"X-XT-Account", "X-XT-Key", "X-XT-Timestamp", "X-XT-Signature"};
    const char *vals[4] = {acc, key, ts, sig};
    for (int i = 0; i < 4; i++)
        if (vals[i])
            n += snprintf(h + n, sizeof h - (size_t)n, "%s: %s\r\n", names[i], vals[i]);
    snprintf(h + n, sizeof h - (size_t)n, "\r\n");
    assert_true(parse_str(h, &f->req) > 0);
}

static xt_auth_result_t auth(fx_t *f, const char *method, const char *body, int64_t now)
{
    return xt_rest_authenticate(&f->creds, &f->rc, &f->req, method, body, body ? strlen(body) : 0, now, 5000);
}

static void expect(xt_auth_result_t r, int status, const char *msg)
{
    assert_int_equal(r.status, status);
    if (msg)
        assert_string_equal(r.msg, msg);
}

static void auth_known_answer(void **state)
{
    fx_t *f = *state;
    uint8_t key[32], mac[32];
    xt_creds_sign_key("demo-secret-1001", 16, key);
    assert_int_equal(xt_rest_sign(key, TS, "GET", TARGET, NULL, 0, mac), 0);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(hex, SIG_GET);
    head(f, "GET", TARGET, "1001", "demo1001", TS, SIG_GET);
    xt_auth_result_t r = auth(f, "GET", NULL, NOW);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.account, 1001);
    expect(auth(f, "GET", NULL, NOW + 10), 401, "replayed request");
    head(f, "POST", "/api/v1/orders", "1001", "demo1001", TS, SIG_POST);
    expect(auth(f, "POST", "{\"symbol\":\"BTC-USDT\"}", NOW), 0, NULL);
    head(f, "GET", "/api/v1/fills?", "1001", "demo1001", TS, SIG_EMPTY_QUERY);
    expect(auth(f, "GET", NULL, NOW), 0, NULL);
}

static void auth_uppercase_hex(void **state)
{
    fx_t *f = *state;
    char up[65];
    for (int i = 0; i < 64; i++)
        up[i] = (char)(SIG_GET[i] >= 'a' ? SIG_GET[i] - 32 : SIG_GET[i]);
    up[64] = 0;
    head(f, "GET", TARGET, "1001", "demo1001", TS, up);
    expect(auth(f, "GET", NULL, NOW), 0, NULL);
}

static void auth_headers(void **state)
{
    fx_t *f = *state;
    static const char *const msgs[4] = {
        "missing or malformed X-XT-Account header", "missing or malformed X-XT-Key header",
        "missing or malformed X-XT-Timestamp header", "missing or malformed X-XT-Signature header"};
    head(f, "GET", TARGET, NULL, "demo1001", TS, SIG_GET);
    expect(auth(f, "GET", NULL, NOW), 400, msgs[0]);
    head(f, "GET", TARGET, "1001", NULL, TS, SIG_GET);
    expect(auth(f, "GET", NULL, NOW), 400, msgs[1]);
    head(f, "GET", TARGET, "1001", "demo1001", NULL, SIG_GET);
    expect(auth(f, "GET", NULL, NOW), 400, msgs[2]);
    head(f, "GET", TARGET, "1001", "demo1001", TS, NULL);
    expect(auth(f, "GET", NULL, NOW), 400, msgs[3]);
    static const char *const bad_acc[] = {"", "0", "-1", "abc", "4294967296", "12345678901", "1001x"};
    for (size_t i = 0; i < sizeof bad_acc / sizeof bad_acc[0]; i++) {
        head(f, "GET", TARGET, bad_acc[i], "demo1001", TS, SIG_GET);
        expect(auth(f, "GET", NULL, NOW), 400, msgs[0]);
    }
    static const char *const bad_key[] = {"demo 1001", "12345678901234567", "dé"};
    for (size_t i = 0; i < sizeof bad_key / sizeof bad_key[0]; i++) {
        head(f, "GET", TARGET, "1001", bad_key[i], TS, SIG_GET);
        expect(auth(f, "GET", NULL, NOW), 400, msgs[1]);
    }
    static const char *const bad_ts[] = {"-1700000000000", "1.7e12", "1700000000000000", "0x10"};
    for (size_t i = 0; i < sizeof bad_ts / sizeof bad_ts[0]; i++) {
        head(f, "GET", TARGET, "1001", "demo1001", bad_ts[i], SIG_GET);
        expect(auth(f, "GET", NULL, NOW), 400, msgs[2]);
    }
    static const char *const bad_sig[] = {"e749", SIG_GET "0",
                                          "g749f3da926626fc21b4ab4d3e40f4f7ef6fd360f92c188418d81a5ca392f14d"};
    for (size_t i = 0; i < sizeof bad_sig / sizeof bad_sig[0]; i++) {
        head(f, "GET", TARGET, "1001", "demo1001", TS, bad_sig[i]);
        expect(auth(f, "GET", NULL, NOW), 400, msgs[3]);
    }
}

static void auth_refusals(void **state)
{
    fx_t *f = *state;
    head(f, "GET", TARGET, "1001", "demo1002", TS, SIG_GET);
    expect(auth(f, "GET", NULL, NOW), 401, "unknown account or key");
    head(f, "GET", TARGET, "9999", "demo1001", TS, SIG_GET);
    expect(auth(f, "GET", NULL, NOW), 401, "unknown account or key");
    head(f, "GET", TARGET, "1001", "demo1001", TS, SIG_GET);
    expect(auth(f, "GET", NULL, NOW + 5001), 401, "timestamp outside the receive window");
    expect(auth(f, "GET", NULL, NOW - 5001), 401, "timestamp outside the receive window");
    /* the signature covers the method, the target, the body */
    expect(auth(f, "POST", NULL, NOW), 401, "bad signature");
    expect(auth(f, "GET", "x", NOW), 401, "bad signature");
    head(f, "GET", TARGET "&limit=1", "1001", "demo1001", TS, SIG_GET);
    expect(auth(f, "GET", NULL, NOW), 401, "bad signature");
    head(f, "GET", TARGET, "1001", "demo1001", "1700000000001", SIG_GET);
    expect(auth(f, "GET", NULL, NOW), 401, "bad signature");
    /* a bad signature is not recorded: the right one still passes, at the window's edges */
    head(f, "GET", TARGET, "1001", "demo1001", TS, SIG_GET);
    expect(auth(f, "GET", NULL, NOW + 5000), 0, NULL);
    /* in the window's last millisecond too: it was taken as expired then, every copy let through */
    expect(auth(f, "GET", NULL, NOW + 5000), 401, "replayed request");
    expect(auth(f, "GET", NULL, NOW - 5000), 401, "replayed request");
}

/* After a restart the cache is empty: a timestamp an earlier run could
 * have taken (up to its end plus the window) is refused, the rest served. */
static void auth_signed_before_a_restart(void **state)
{
    fx_t *f = *state;
    assert_int_equal(f->rc.earlier_run_until_ms, INT64_MIN); /* none, as made */
    f->rc.earlier_run_until_ms = NOW;                        /* the request's own timestamp: an earlier run's */
    head(f, "GET", TARGET, "1001", "demo1001", TS, SIG_GET);
    expect(auth(f, "GET", "x", NOW + 100), 401, "bad signature"); /* told only to a signer */
    expect(auth(f, "GET", NULL, NOW + 100), 503, XT_REST_SIGNED_BEFORE_START);
    expect(auth(f, "GET", NULL, NOW + 100), 503, XT_REST_SIGNED_BEFORE_START); /* not recorded */
    assert_int_equal(f->rc.latest_taken_ms, INT64_MIN);                        /* nothing taken yet */
    f->rc.earlier_run_until_ms = NOW - 1;                                      /* signed after: served once */
    expect(auth(f, "GET", NULL, NOW + 100), 0, NULL);
    expect(auth(f, "GET", NULL, NOW + 100), 401, "replayed request");
    assert_int_equal(f->rc.latest_taken_ms, NOW); /* the request's timestamp, not the server's clock */
}

/* ---- what a clean stop hands to the next start (rest_signed.c) ----------------------- */

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

/* Loads dir's file into a fresh cache; returns its bound. */
static int64_t load(const char *dir, int have_run, int expect_rc)
{
    xt_replay_cache_t c;
    assert_int_equal(xt_replay_init(&c, 4), 0);
    char why[512] = "";
    assert_int_equal(xt_rest_signed_load(dir, have_run, NOW, 5000, &c, why, sizeof why), expect_rc);
    if (expect_rc)
        assert_non_null(strstr(why, "rest-signed: cannot remove it"));
    int64_t bound = c.earlier_run_until_ms;
    xt_replay_destroy(&c);
    return bound;
}

static void signed_file_across_restarts(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s", tmpdir_make("xt-rest-signed"));
    xt_replay_cache_t c;
    assert_int_equal(xt_replay_init(&c, 4), 0);
    /* no file: a data directory with a journal had a run whose signatures are not known */
    assert_int_equal(load(dir, 1, 0), NOW + 5000);
    assert_int_equal(load(dir, 0, 0), INT64_MIN);
    /* a clean stop writes the latest taken; the next start takes it and removes the file */
    c.latest_taken_ms = NOW - 7;
    xt_rest_signed_save(dir, &c);
    assert_true(exists(dir, XT_REST_SIGNED_FILE) && !exists(dir, XT_REST_SIGNED_FILE ".tmp"));
    assert_int_equal(load(dir, 1, 0), NOW - 7);
    assert_false(exists(dir, XT_REST_SIGNED_FILE)); /* a crash after this start leaves none to believe */
    assert_int_equal(load(dir, 1, 0), NOW + 5000);
    /* the bound this run refused up to, when later than what it took */
    c.earlier_run_until_ms = NOW + 3;
    xt_rest_signed_save(dir, &c);
    assert_int_equal(load(dir, 0, 0), NOW + 3);
    /* nothing taken and no bound: 0 */
    c.earlier_run_until_ms = c.latest_taken_ms = INT64_MIN;
    xt_rest_signed_save(dir, &c);
    assert_int_equal(load(dir, 1, 0), 0);
    /* by hand: comments, blank lines and \r\n */
    write_text(dir, XT_REST_SIGNED_FILE, "# x\r\n\r\n1700000000042\r\n\n");
    assert_int_equal(load(dir, 0, 0), NOW + 42);
    /* not one timestamp: not used (as no file, with or without a journal), and removed */
    static const char *const bad[] = {"",
                                      "12x\n",
                                      "1 2\n",
                                      "1\n2\n",
                                      "-5\n",
                                      "1234567890123456\n",
                                      "\357\273\2771\n", /* a byte-order mark, then 1 */
                                      "# only\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(dir, XT_REST_SIGNED_FILE, bad[i]);
        assert_int_equal(load(dir, (int)(i % 2), 0), NOW + 5000);
        assert_false(exists(dir, XT_REST_SIGNED_FILE));
    }
    /* one that cannot be removed stops the start */
    char sub[256];
    snprintf(sub, sizeof sub, "%s/%s", dir, XT_REST_SIGNED_FILE);
    assert_int_equal(mkdir(sub, 0700), 0);
    load(dir, 1, -1);
    assert_int_equal(rmdir(sub), 0);
    xt_replay_destroy(&c);
    tmpdir_remove(dir);
}

static void auth_cache_full(void **state)
{
    fx_t *f = *state;
    xt_replay_destroy(&f->rc);
    assert_int_equal(xt_replay_init(&f->rc, 1), 0);
    head(f, "GET", TARGET, "1001", "demo1001", TS, SIG_GET);
    expect(auth(f, "GET", NULL, NOW), 0, NULL);
    head(f, "GET", "/api/v1/fills?", "1001", "demo1001", TS, SIG_EMPTY_QUERY);
    expect(auth(f, "GET", NULL, NOW), 503, NULL);
    expect(auth(f, "GET", NULL, NOW + 5000), 503, NULL); /* the first one is kept through NOW + 5000 */
    /* ... and then refused anyway */
    expect(auth(f, "GET", NULL, NOW + 5001), 401, "timestamp outside the receive window");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_dup_and_expiry),
        cmocka_unit_test(replay_full),
        cmocka_unit_test(replay_many),
        cmocka_unit_test(head_target_and_headers),
        cmocka_unit_test_setup_teardown(auth_known_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_uppercase_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_signed_before_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_cache_full, setup, teardown),
        cmocka_unit_test(signed_file_across_restarts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
