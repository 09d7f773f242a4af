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

/* The same as cursors: writes at p and returns the byte after it, or
 * reads at *p and moves *p past it - for fixed layouts written field by
 * field. */
static inline uint8_t *xt_put32_next(uint8_t *p, uint32_t v)
{
    xt_put32(p, v);
    return p + 4;
}

static inline uint8_t *xt_put64_next(uint8_t *p, uint64_t v)
{
    xt_put64(p, v);
    return p + 8;
}

static inline uint64_t xt_get64_next(const uint8_t **p)
{
    uint64_t v = xt_get64(*p);
    *p += 8;
    return v;
}

#ifdef __SIZEOF_INT128__
/* A signed 128-bit integer: its low 64 bits, then its high 64 bits. */
static inline void xt_put128(uint8_t *p, __int128 v)
{
    unsigned __int128 u = (unsigned __int128)v;
    xt_put64(p, (uint64_t)u);
    xt_put64(p + 8, (uint64_t)(u >> 64));
}

static inline __int128 xt_get128(const uint8_t *p)
{
    return (__int128)(((unsigned __int128)xt_get64(p + 8) << 64) | xt_get64(p));
}
#endif

#endif
