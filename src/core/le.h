/* le.h - little-endian integers at any address, so that every file and
 * wire format is the same on any host, whatever its byte order or
 * alignment. Shared by the journal's codec, the wire protocols and the
 * market-data state.
 *
 * On a little-endian host each is one unaligned load or store (memcpy,
 * which the compiler turns into a single mov); elsewhere byte by byte.
 * (gcc did not merge the byte loops into one store everywhere: the md
 * state's encoder stored byte by byte.) */
#ifndef XT_CORE_LE_H
#define XT_CORE_LE_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define XT_LE_HOST 1
#else
#define XT_LE_HOST 0
#endif

static inline void xt_put16(uint8_t *p, uint16_t v)
{
    if (XT_LE_HOST) {
        memcpy(p, &v, sizeof v);
        return;
    }
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void xt_put32(uint8_t *p, uint32_t v)
{
    if (XT_LE_HOST) {
        memcpy(p, &v, sizeof v);
        return;
    }
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void xt_put64(uint8_t *p, uint64_t v)
{
    if (XT_LE_HOST) {
        memcpy(p, &v, sizeof v);
        return;
    }
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t xt_get16(const uint8_t *p)
{
    if (XT_LE_HOST) {
        uint16_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t xt_get32(const uint8_t *p)
{
    if (XT_LE_HOST) {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t xt_get64(const uint8_t *p)
{
    if (XT_LE_HOST) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    return (uint64_t)xt_get32(p) | (uint64_t)xt_get32(p + 4) << 32;
}

#endif
