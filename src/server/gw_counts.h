/* gw_counts.h - a count per 32-bit key, for the gateway's limits: sessions
 * per account (gw_sessions.c) and connections per source address
 * (gateway.c).
 *
 * Open addressing with linear probing over at least 2 x max_keys slots. A
 * key holds a slot only while its count is above 0: when it falls to 0 the
 * slot is emptied and the entries behind it in the probe run move back
 * (backward-shift deletion, no tombstones), so the table never fills up
 * with keys seen long ago and a probe stays short however many keys have
 * come and gone. At most max_keys keys may have a count at once (the
 * caller's limits ensure it). Allocated at init; nothing afterwards.
 */
#ifndef XT_SERVER_GW_COUNTS_H
#define XT_SERVER_GW_COUNTS_H

#include <stdint.h>

typedef struct xt_gw_counts {
    uint32_t *keys;
    uint32_t *counts; /* 0: an empty slot */
    uint32_t mask;
} xt_gw_counts_t;

/* Room for max_keys keys with a count. Returns 0 or XT_ENOMEM. */
int xt__gw_counts_init(xt_gw_counts_t *t, uint32_t max_keys);
void xt__gw_counts_destroy(xt_gw_counts_t *t);

/* The key's count; 0 if it has none. */
uint32_t xt__gw_counts_get(const xt_gw_counts_t *t, uint32_t key);
/* Adds 1 to the key's count. Returns 0, or XT_ELIMIT when the table is
 * full (more than max_keys keys: a caller's bug). */
int xt__gw_counts_inc(xt_gw_counts_t *t, uint32_t key);
/* Takes 1 from the key's count (nothing if it has none); at 0 the key
 * leaves the table. */
void xt__gw_counts_dec(xt_gw_counts_t *t, uint32_t key);

#endif
