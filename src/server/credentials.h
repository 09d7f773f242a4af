/* credentials.h - accounts and their API keys.
 *
 * File format (docs/config.md#credentials): one key per line,
 *   <account> <key_id> <signing key, 64 hex digits>
 * with `#` comments and blank lines. The signing key is SHA-256 of the API
 * secret: the secret itself is never stored, logged or sent (the login
 * signature is an HMAC with the signing key; docs/protocol.md). An account
 * may have several keys. Key ids are 1..16 characters [A-Za-z0-9._-].
 *
 * Embedded demo credentials (used when server.credentials is empty):
 * accounts 1001..1004 with key ids "demo1001".. and secrets
 * "demo-secret-1001".. - printed at start so a new user can log in.
 */
#ifndef XT_SERVER_CREDENTIALS_H
#define XT_SERVER_CREDENTIALS_H

#define XT_CREDS_FILE_MAX (64 << 20) /* bytes: a credentials file larger is refused */

#include <stddef.h>
#include <stdint.h>

typedef struct xt_cred {
    uint32_t account;
    char key_id[17]; /* NUL-terminated */
    uint8_t sign_key[32];
} xt_cred_t;

typedef struct xt_creds {
    xt_cred_t *v; /* sorted by (account, key_id) */
    size_t n;
} xt_creds_t;

/* The embedded demo credentials. Returns 0 or XT_ENOMEM. */
int xt_creds_demo(xt_creds_t *c);

/* The demo accounts' secrets, for printing at start: a NULL-terminated
 * array of "account key_id secret" lines. */
const char *const *xt_creds_demo_lines(void);

/* Loads a credentials file. Returns 0, or -1 with "FILE:LINE: what" in why
 * (never quoting the key material). */
int xt_creds_load(xt_creds_t *c, const char *path, char *why, size_t whylen);

void xt_creds_free(xt_creds_t *c);

/* Finds (account, key_id[16], NUL-padded as on the wire); NULL if absent.
 * The pointer is borrowed until xt_creds_free. */
const xt_cred_t *xt_creds_find(const xt_creds_t *c, uint32_t account, const char key_id[16]);

/* The value of a hex digit (either case), or -1. */
int xt_hex_digit(char ch);
/* Exactly 64 hex digits into out[32]: 0, or -1 (out partly written). */
int xt_hex32_parse(const char *s, uint8_t out[32]);

/* signing key = SHA-256(secret). */
void xt_creds_sign_key(const char *secret, size_t len, uint8_t out[32]);

#endif
