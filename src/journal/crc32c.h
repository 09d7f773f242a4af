/* crc32c.h - CRC32C (Castagnoli), the checksum of journal records and
 * snapshots. Standard parameters: reflected, init and final xor
 * 0xffffffff; xt_crc32c("123456789") == 0xe3069283.
 *
 * Computed by Intel ISA-L (Debian's libisal), which picks the hardware
 * instruction (SSE4.2 crc32, or ARMv8 crc) at run time. */
#ifndef XT_JOURNAL_CRC32C_H
#define XT_JOURNAL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC32C of p[0..n). */
uint32_t xt_crc32c(const void *p, size_t n);

/* Continues a CRC32C: xt_crc32c_extend(xt_crc32c(a), b) == xt_crc32c(a b). */
uint32_t xt_crc32c_extend(uint32_t crc, const void *p, size_t n);

#endif
