/* crc32c.c - CRC32C over ISA-L (see crc32c.h). */
#include "crc32c.h"

#include <isa-l/crc.h>
#include <limits.h>

uint32_t xt_crc32c_extend(uint32_t crc, const void *p, size_t n)
{
    /* ISA-L works on the raw register and takes an int length. */
    unsigned int reg = ~crc;
    const unsigned char *b = p;
    while (n > 0) {
        int chunk = n > (size_t)(INT_MAX & ~4095) ? (INT_MAX & ~4095) : (int)n;
        reg = crc32_iscsi((unsigned char *)b, chunk, reg);
        b += chunk;
        n -= (size_t)chunk;
    }
    return ~reg;
}

uint32_t xt_crc32c(const void *p, size_t n)
{
    return xt_crc32c_extend(0, p, n);
}
