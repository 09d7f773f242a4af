/* le.h - little-endian integers written and read byte by byte, so that
 * every file and wire format is the same on any host, whatever its byte
 * order or alignment. Shared by the journal's codec and the wire protocol. */
#ifndef XT_CORE_LE_H
#define XT_CORE_LE_H

#include <stdint.h>

static inline void xt_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void xt_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void xt_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t xt_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t xt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t xt_get64(const uint8_t *p)
{
    return (uint64_t)xt_get32(p) | (uint64_t)xt_get32(p + 4) << 32;
}

#endif
