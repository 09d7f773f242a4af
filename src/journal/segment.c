/* segment.c - segment headers (see segment.h). */
#include "segment.h"

#include <string.h>

#include "codec.h"
#include "crc32c.h"

void xt_segment_header(uint8_t h[XT_SEG_HDR], uint64_t first_seq, int64_t created, const xt_caps_t *caps,
                       uint32_t torn_window)
{
    memset(h, 0, XT_SEG_HDR);
    memcpy(h, XT_SEG_MAGIC, 8); /* NOLINT(bugprone-not-null-terminated-result): 8 bytes, no NUL */
    /* Version 2 records the matching rules at offset 52; version 1, with
     * zeros there, stands for XT_RULES_1 (the rules before they had a
     * revision), so a segment under them is still written as one. */
    uint32_t rules = caps->rules ? caps->rules : XT_RULES_CURRENT;
    xt_put32(h + 8, rules == XT_RULES_1 ? 1u : 2u);
    xt_put32(h + 12, XT_SEG_HDR);
    xt_put64(h + 16, first_seq);
    xt_put64(h + 24, (uint64_t)created);
    xt_put32(h + 32, caps->max_orders);
    xt_put32(h + 36, caps->max_levels);
    xt_put32(h + 40, caps->max_instruments);
    xt_put32(h + 44, caps->max_ladder_nodes);
    xt_put32(h + 48, torn_window);
    if (rules != XT_RULES_1)
        xt_put32(h + 52, rules);
    xt_put32(h + 60, xt_crc32c(h, 60));
}

int xt_segment_header_newer(const uint8_t h[XT_SEG_HDR], uint32_t *version, uint32_t *rules)
{
    if (memcmp(h, XT_SEG_MAGIC, 8) != 0 || xt_get32(h + 12) != XT_SEG_HDR || xt_get32(h + 60) != xt_crc32c(h, 60))
        return 0;
    *version = xt_get32(h + 8);
    *rules = xt_get32(h + 52);
    return *version > 2 || (*version == 2 && *rules > XT_RULES_CURRENT);
}

int xt_segment_header_ok(const uint8_t h[XT_SEG_HDR], uint64_t *first_seq, xt_caps_t *caps, uint32_t *torn_window)
{
    uint32_t version = xt_get32(h + 8);
    if (memcmp(h, XT_SEG_MAGIC, 8) != 0 || (version != 1 && version != 2) || xt_get32(h + 12) != XT_SEG_HDR ||
        xt_get32(h + 60) != xt_crc32c(h, 60))
        return 0;
    if (xt_get32(h + 56) != 0 || (version == 1 && xt_get32(h + 52) != 0))
        return 0; /* zeros, as journal-format.md says (a header that checks but is no header written here) */
    caps->rules = version == 1 ? XT_RULES_1 : xt_get32(h + 52);
    if (version == 2 && (caps->rules < XT_RULES_2 || caps->rules > XT_RULES_CURRENT))
        return 0; /* version 2 names a revision after XT_RULES_1 that this build knows */
    *first_seq = xt_get64(h + 16);
    caps->max_orders = xt_get32(h + 32);
    caps->max_levels = xt_get32(h + 36);
    caps->max_instruments = xt_get32(h + 40);
    caps->max_ladder_nodes = xt_get32(h + 44);
    uint32_t window = xt_get32(h + 48);
    if (window != 0 && window != XT_WAL_TORN_WINDOW)
        return 0;
    if (torn_window)
        *torn_window = window;
    return *first_seq > 0 && caps->max_orders > 0 && caps->max_levels > 0 && caps->max_instruments > 0 &&
           caps->max_ladder_nodes > 0;
}
