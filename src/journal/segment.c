/* segment.c - segment headers (see segment.h). */
#include "segment.h"

#include <string.h>

#include "crc32c.h"

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void xt_segment_header(uint8_t h[XT_SEG_HDR], uint64_t first_seq, int64_t created, const xt_caps_t *caps)
{
    memset(h, 0, XT_SEG_HDR);
    memcpy(h, XT_SEG_MAGIC, 8); /* NOLINT(bugprone-not-null-terminated-result): 8 bytes, no NUL */
    put32(h + 8, 1);
    put32(h + 12, XT_SEG_HDR);
    put64(h + 16, first_seq);
    put64(h + 24, (uint64_t)created);
    put32(h + 32, caps->max_orders);
    put32(h + 36, caps->max_levels);
    put32(h + 40, caps->max_instruments);
    put32(h + 44, caps->max_ladder_nodes);
    put32(h + 60, xt_crc32c(h, 60));
}

int xt_segment_header_ok(const uint8_t h[XT_SEG_HDR], uint64_t *first_seq, xt_caps_t *caps)
{
    if (memcmp(h, XT_SEG_MAGIC, 8) != 0 || get32(h + 8) != 1 || get32(h + 12) != XT_SEG_HDR ||
        get32(h + 60) != xt_crc32c(h, 60))
        return 0;
    *first_seq = get64(h + 16);
    caps->max_orders = get32(h + 32);
    caps->max_levels = get32(h + 36);
    caps->max_instruments = get32(h + 40);
    caps->max_ladder_nodes = get32(h + 44);
    return *first_seq > 0 && caps->max_orders > 0 && caps->max_levels > 0 && caps->max_instruments > 0 &&
           caps->max_ladder_nodes > 0;
}
