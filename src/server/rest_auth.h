/* rest_auth.h - signed requests of the private REST endpoints
 * (docs/rest.md, "Signed requests"): the signature check and the replay
 * cache. Pure code over the caller's state: no clock (now_ms is given), no
 * lock (the caller holds the credentials' read lock), nothing allocated
 * after xt_replay_init (the HMAC context is made there and reused).
 *
 * A request carries X-XT-Account, X-XT-Key, X-XT-Timestamp (milliseconds
 * since the epoch) and X-XT-Signature: 64 hex digits of
 *   HMAC-SHA256(K, "<timestamp>\n<METHOD>\n<request-target>\n<body>")
 * with K = SHA-256(API secret), the signing key of the credentials file.
 */
#ifndef XT_SERVER_REST_AUTH_H
#define XT_SERVER_REST_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "credentials.h"
#include "net/ws.h"

/* ---- the replay cache ------------------------------------------------------------ */

/* An open-addressing set of the signatures seen, each until its expiry:
 * (signature, expires_ms) in a table of a power of two places, probed
 * linearly from a hash keyed by a random seed (a client cannot aim its
 * signatures at one place). Expired entries are reused in place. Owned by
 * one thread. */
typedef struct xt_replay_entry {
    uint8_t sig[32];
    int64_t expires_ms; /* 0: never used */
} xt_replay_entry_t;

typedef struct xt_replay_cache {
    xt_replay_entry_t *v;
    uint32_t mask;
    uint64_t seed;
    void *mac; /* an OpenSSL EVP_MAC_CTX for HMAC-SHA256, made once for xt_rest_authenticate */
    /* Timestamps up to this (ms) may have been signed for an earlier run of
     * the server, which could have taken them; its cache is gone with it.
     * INT64_MIN (xt_replay_init): none. */
    int64_t earlier_run_until_ms;
    /* The latest timestamp taken in this run (INT64_MIN: none), which a
     * clean stop hands to the next start (rest_signed.h). */
    int64_t latest_taken_ms;
} xt_replay_cache_t;

#define XT_REPLAY_PROBES 64 /* places looked at for one signature, at most */

/* Allocates the power of two >= capacity places and the HMAC context.
 * Returns 0, XT_EINVAL (capacity 0 or over 2^30) or XT_ENOMEM. */
int xt_replay_init(xt_replay_cache_t *c, uint32_t capacity);
/* Frees the table; twice is fine. */
void xt_replay_destroy(xt_replay_cache_t *c);

/* Records sig until expires_ms. Returns 0 (recorded), XT_EEXIST (sig is
 * there and has not expired at now_ms: a replay), or XT_ECAPACITY (the
 * XT_REPLAY_PROBES places sig may take all hold live entries: the cache is
 * full of them). */
int xt_replay_add(xt_replay_cache_t *c, const uint8_t sig[32], int64_t expires_ms, int64_t now_ms);

/* ---- the signature check ---------------------------------------------------------- */

/* status 0: authenticated as account; else the HTTP status to answer
 * (400, 401, 503) with msg (static text). */
typedef struct xt_auth_result {
    int status;
    const char *msg;
    uint32_t account;
} xt_auth_result_t;

/* The refusal of a timestamp an earlier run could have taken (below). */
#define XT_REST_SIGNED_BEFORE_START                                                                                    \
    "signed for a time an earlier run of the server could have taken it, and its replay cache is gone with it: "       \
    "sign it again with a later timestamp (after the latest the earlier run took, when it stopped cleanly; else "      \
    "rest.recv_window_ms after the server's start)"

/* Checks req's signature, in this order (each failure its own answer):
 *   400 "missing or malformed X-XT-<name> header"  (account: 1..2^32-1
 *       decimal; key: 1..16 of [A-Za-z0-9._-]; timestamp: decimal
 *       milliseconds, up to 15 digits; signature: 64 hex digits)
 *   401 "unknown account or key"
 *   401 "timestamp outside the receive window"  (|timestamp - now_ms| >
 *       window_ms)
 *   401 "bad signature"
 *   503 XT_REST_SIGNED_BEFORE_START  (timestamp <= rc->earlier_run_until_ms)
 *   401 "replayed request"  (this signature was accepted before)
 *   503 "too many signed requests in the receive window: try again later"
 *       (the replay cache is full of live signatures)
 * method_name is the method in capitals ("GET"); body may be NULL when
 * body_len is 0. A signature is recorded in rc only once it verified,
 * until timestamp + window_ms (after which the window check refuses it).
 * creds must not change during the call (the caller's read lock). */
xt_auth_result_t xt_rest_authenticate(const xt_creds_t *creds, xt_replay_cache_t *rc, const xt_http_req_t *req,
                                      const char *method_name, const char *body, size_t body_len, int64_t now_ms,
                                      uint32_t window_ms);

/* The signature of a request (32 bytes into mac): HMAC-SHA256(key, the
 * message above), with a context made for the call (for tests and tools;
 * the server's check reuses the cache's). Returns 0 or XT_ENOMEM. */
int xt_rest_sign(const uint8_t key[32], const char *timestamp, const char *method_name, const char *target,
                 const char *body, size_t body_len, uint8_t mac[32]);

#endif
