/* gw_counts.c - counts per 32-bit key with backward-shift deletion
 * (gw_counts.h). */
#include "gw_counts.h"

#include <stdlib.h>

#include "xt/error.h"

static uint32_t home(const xt_gw_counts_t *t, uint32_t key)
{
    return (key * 2654435761u) & t->mask;
}

int xt__gw_counts_init(xt_gw_counts_t *t, uint32_t max_keys)
{
    uint32_t n = 2;
    while (n < 2 * (uint64_t)max_keys)
        n <<= 1;
    t->mask = n - 1;
    t->keys = calloc(n, sizeof *t->keys);
    t->counts = calloc(n, sizeof *t->counts);
    if (t->keys && t->counts)
        return 0;
    xt__gw_counts_destroy(t);
    return XT_ENOMEM;
}

void xt__gw_counts_destroy(xt_gw_counts_t *t)
{
    free(t->keys);
    free(t->counts);
    t->keys = t->counts = NULL;
}

/* The key's slot, or the empty slot that ends its probe run (then
 * counts[slot] == 0); UINT32_MAX only when every slot holds another key. */
static uint32_t slot_of(const xt_gw_counts_t *t, uint32_t key)
{
    uint32_t h = home(t, key);
    for (uint32_t k = 0; k <= t->mask; k++, h = (h + 1) & t->mask)
        if (t->counts[h] == 0 || t->keys[h] == key)
            return h;
    return UINT32_MAX;
}

uint32_t xt__gw_counts_get(const xt_gw_counts_t *t, uint32_t key)
{
    uint32_t h = slot_of(t, key);
    return h == UINT32_MAX ? 0 : t->counts[h];
}

int xt__gw_counts_inc(xt_gw_counts_t *t, uint32_t key)
{
    uint32_t h = slot_of(t, key);
    if (h == UINT32_MAX)
        return XT_ELIMIT;
    t->keys[h] = key;
    t->counts[h]++;
    return 0;
}

void xt__gw_counts_dec(xt_gw_counts_t *t, uint32_t key)
{
    uint32_t i = slot_of(t, key);
    if (i == UINT32_MAX || t->counts[i] == 0 || --t->counts[i] != 0)
        return;
    /* Slot i is empty now: move back each later entry of the run whose
     * home is not in (i, j] (it would not be found past the hole). */
    for (uint32_t j = (i + 1) & t->mask; t->counts[j] != 0; j = (j + 1) & t->mask) {
        uint32_t h = home(t, t->keys[j]);
        int stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (stays)
            continue;
        t->keys[i] = t->keys[j];
        t->counts[i] = t->counts[j];
        t->counts[j] = 0;
        i = j;
    }
}
