/* rest_auth.c - the signature check of the private REST endpoints and its
 * replay cache (rest_auth.h, docs/rest.md "Signed requests"). */
#include "rest_auth.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "xt/engine.h"
#include "xt/error.h"

/* ---- HMAC-SHA256 ----------------------------------------------------------------- */

/* A context for HMAC-SHA256, or NULL. */
static EVP_MAC_CTX *mac_new(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *x = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context holds its own reference */
    char digest[] = "SHA256";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (x && EVP_MAC_CTX_set_params(x, p) != 1) {
        EVP_MAC_CTX_free(x);
        return NULL;
    }
    return x;
}

static int mac_run(EVP_MAC_CTX *x, const uint8_t key[32], const char *ts, const char *method, const char *target,
                   const char *body, size_t body_len, uint8_t out[32])
{
    size_t n = 0;
    int ok = EVP_MAC_init(x, key, 32, NULL) == 1 && EVP_MAC_update(x, (const uint8_t *)ts, strlen(ts)) == 1 &&
             EVP_MAC_update(x, (const uint8_t *)"\n", 1) == 1 &&
             EVP_MAC_update(x, (const uint8_t *)method, strlen(method)) == 1 &&
             EVP_MAC_update(x, (const uint8_t *)"\n", 1) == 1 &&
             EVP_MAC_update(x, (const uint8_t *)target, strlen(target)) == 1 &&
             EVP_MAC_update(x, (const uint8_t *)"\n", 1) == 1 &&
             (body_len == 0 || EVP_MAC_update(x, (const uint8_t *)body, body_len) == 1) &&
             EVP_MAC_final(x, out, &n, 32) == 1 && n == 32;
    return ok ? 0 : XT_ENOMEM;
}

int xt_rest_sign(const uint8_t key[32], const char *timestamp, const char *method_name, const char *target,
                 const char *body, size_t body_len, uint8_t mac[32])
{
    EVP_MAC_CTX *x = mac_new();
    int rc = x ? mac_run(x, key, timestamp, method_name, target, body, body_len, mac) : XT_ENOMEM;
    EVP_MAC_CTX_free(x);
    return rc;
}

/* ---- the replay cache ------------------------------------------------------------ */

int xt_replay_init(xt_replay_cache_t *c, uint32_t capacity)
{
    memset(c, 0, sizeof *c);
    if (capacity == 0 || capacity > (1u << 30))
        return XT_EINVAL;
    uint32_t n = 1;
    while (n < capacity)
        n <<= 1;
    c->v = calloc(n, sizeof *c->v);
    c->mac = mac_new();
    if (c->v == NULL || c->mac == NULL || RAND_bytes((unsigned char *)&c->seed, sizeof c->seed) != 1) {
        xt_replay_destroy(c);
        return XT_ENOMEM;
    }
    c->mask = n - 1;
    c->earlier_run_until_ms = c->latest_taken_ms = INT64_MIN;
    return 0;
}

void xt_replay_destroy(xt_replay_cache_t *c)
{
    free(c->v);
    EVP_MAC_CTX_free(c->mac);
    c->v = NULL;
    c->mac = NULL;
}

/* A place for sig: its first 8 bytes under the secret seed, mixed
 * (MurmurHash3's finalizer). */
static uint32_t home(const xt_replay_cache_t *c, const uint8_t sig[32])
{
    uint64_t h;
    memcpy(&h, sig, sizeof h);
    h ^= c->seed;
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return (uint32_t)h & c->mask;
}

/* Entries are never emptied (an expired one is reused in place), so a
 * live sig is always found before the first place never used. */
int xt_replay_add(xt_replay_cache_t *c, const uint8_t sig[32], int64_t expires_ms, int64_t now_ms)
{
    uint32_t at = home(c, sig), probes = c->mask < XT_REPLAY_PROBES ? c->mask + 1 : XT_REPLAY_PROBES;
    xt_replay_entry_t *free_e = NULL;
    for (uint32_t i = 0; i < probes; i++) {
        xt_replay_entry_t *e = &c->v[(at + i) & c->mask];
        if (e->expires_ms == 0) {
            if (free_e == NULL)
                free_e = e;
            break;
        }
        if (e->expires_ms <= now_ms) {
            if (free_e == NULL)
                free_e = e;
            continue;
        }
        if (memcmp(e->sig, sig, 32) == 0)
            return XT_EEXIST;
    }
    if (free_e == NULL)
        return XT_ECAPACITY;
    memcpy(free_e->sig, sig, 32);
    free_e->expires_ms = expires_ms > 0 ? expires_ms : 1;
    return 0;
}

/* ---- the signature check ---------------------------------------------------------- */

/* Decimal digits only, 1..maxd of them: the value, or -1. */
static int64_t digits(const char *s, size_t maxd)
{
    size_t n = strlen(s);
    int64_t v = 0;
    if (n == 0 || n > maxd)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static xt_auth_result_t refuse(int status, const char *msg)
{
    xt_auth_result_t r = {status, msg, 0};
    return r;
}

/* The four headers, checked: 0, or the index of the first one missing or
 * malformed. */
static int parse_headers(const xt_http_auth_t *a, uint32_t *account, char key_id[16], int64_t *ts, uint8_t sig[32])
{
    for (int i = 0; i < XT_AUTH_HEADERS; i++)
        if (!(a->seen & (1u << i)) || (a->bad & (1u << i)))
            return i + 1;
    int64_t acc = digits(a->v[XT_AUTH_ACCOUNT], 10);
    if (acc <= 0 || acc > (int64_t)UINT32_MAX)
        return XT_AUTH_ACCOUNT + 1;
    *account = (uint32_t)acc;
    size_t klen = strlen(a->v[XT_AUTH_KEY]);
    if (!xt_symbol_valid(a->v[XT_AUTH_KEY], klen)) /* key ids are spelt like symbols (credentials.c) */
        return XT_AUTH_KEY + 1;
    memset(key_id, 0, 16);
    memcpy(key_id, a->v[XT_AUTH_KEY], klen);
    if ((*ts = digits(a->v[XT_AUTH_TIMESTAMP], 15)) < 0)
        return XT_AUTH_TIMESTAMP + 1;
    if (xt_hex32_parse(a->v[XT_AUTH_SIGNATURE], sig) != 0)
        return XT_AUTH_SIGNATURE + 1;
    return 0;
}

xt_auth_result_t xt_rest_authenticate(const xt_creds_t *creds, xt_replay_cache_t *rc, const xt_http_req_t *req,
                                      const char *method_name, const char *body, size_t body_len, int64_t now_ms,
                                      uint32_t window_ms)
{
    static const char *const malformed[XT_AUTH_HEADERS] = {
        "missing or malformed X-XT-Account header", "missing or malformed X-XT-Key header",
        "missing or malformed X-XT-Timestamp header", "missing or malformed X-XT-Signature header"};
    uint32_t account = 0;
    char key_id[16];
    int64_t ts = 0;
    uint8_t sig[32], mac[32];
    int bad = parse_headers(&req->auth, &account, key_id, &ts, sig);
    if (bad)
        return refuse(400, malformed[bad - 1]);
    const xt_cred_t *cr = xt_creds_find(creds, account, key_id);
    if (cr == NULL)
        return refuse(401, "unknown account or key");
    if (ts - now_ms > (int64_t)window_ms || now_ms - ts > (int64_t)window_ms)
        return refuse(401, "timestamp outside the receive window");
    if (mac_run(rc->mac, cr->sign_key, req->auth.v[XT_AUTH_TIMESTAMP], method_name, req->target, body, body_len, mac) !=
        0)
        return refuse(503, "the signature cannot be checked now: try again later");
    if (CRYPTO_memcmp(mac, sig, 32) != 0)
        return refuse(401, "bad signature");
    /* A restart empties the cache: a signature an earlier run took would
     * pass again. That run took only timestamps up to its end plus the
     * window; after the window none is left, and a client may sign ahead
     * (up to the window) to be served at once. */
    if (ts <= rc->earlier_run_until_ms)
        return refuse(503, XT_REST_SIGNED_BEFORE_START);
    /* Kept until the first millisecond the window refuses it: ts + window
     * itself is accepted above, so an entry expiring then would let
     * every copy through in that millisecond. */
    int r = xt_replay_add(rc, sig, ts + (int64_t)window_ms + 1, now_ms);
    if (r == XT_EEXIST)
        return refuse(401, "replayed request");
    if (r != 0)
        return refuse(503, "too many signed requests in the receive window: try again later");
    if (ts > rc->latest_taken_ms)
        rc->latest_taken_ms = ts;
    xt_auth_result_t ok = {0, NULL, account};
    return ok;
}
