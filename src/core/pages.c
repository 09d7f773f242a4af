/* pages.c - big, long-lived tables straight from the OS (see pages.h).
 *
 * Layout of one mapping: a header page, then the table at the next page
 * boundary - at a 2 MiB boundary for a huge-page table, so that
 * its whole length can be mapped by 2 MiB entries. The header records the
 * mapping's length for xt_pages_free. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): MADV_HUGEPAGE, MADV_DONTFORK */
#include "pages.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define XT_PAGES_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XT_PAGES_ASAN 1
#endif
#endif

#define HUGE_BYTES ((size_t)2 << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

typedef struct {
    size_t map_bytes; /* the whole mapping, header page included */
    uint64_t magic;
} header_t;

#define MAGIC 0x7874706167657321ull /* "xtpages!" */

#ifdef XT_PAGES_ASAN
void *xt_pages_alloc(size_t bytes, unsigned flags)
{
    uint8_t *p = calloc(1, bytes ? bytes : 1);
    if (p && (flags & XT_PAGES_TOUCH)) /* as in a normal build: resident from the start */
        for (size_t o = 0; o < bytes; o += 4096)
            ((volatile uint8_t *)p)[o] = 0;
    return p;
}

void xt_pages_free(void *p)
{
    free(p);
}
#else
static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/* Faults every page in, writable: the kernel's populate, or a write per
 * page where it has none (EINVAL: before Linux 5.14; the writes zero
 * nothing, the pages are new). -1 when the memory is not there (ENOMEM):
 * a clear failure at start, rather than the OOM killer while trading. */
static int touch(uint8_t *p, size_t bytes, size_t page)
{
    if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0)
        return 0;
    if (errno != EINVAL)
        return -1;
    for (size_t o = 0; o < bytes; o += page)
        ((volatile uint8_t *)p)[o] = 0;
    return 0;
}

void *xt_pages_alloc(size_t bytes, unsigned flags)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int huge = (flags & XT_PAGES_TOUCH) && bytes >= HUGE_BYTES;
    size_t align = huge ? HUGE_BYTES : page;
    size_t len = round_up(bytes ? bytes : 1, align);
    if (len < bytes || len > SIZE_MAX - align - page)
        return NULL;
    size_t span = page + len + (align - page); /* room to slide the table to its boundary */
    uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uint8_t *p = m + (round_up((uintptr_t)m + page, align) - (uintptr_t)m); /* past the header, aligned */
    uint8_t *head = p - page, *end = m + span;
    if (head > m)
        munmap(m, (size_t)(head - m));
    if (p + len < end)
        munmap(p + len, (size_t)(end - (p + len)));
    *(header_t *)head = (header_t){page + len, MAGIC};
    /* A hint: without THP the table is on 4 KiB pages. A table touched as used is kept off huge pages
     * even where the system's THP setting is "always". */
    (void)madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    if (flags & XT_PAGES_NOFORK)
        (void)madvise(head, page + len, MADV_DONTFORK);
    if ((flags & XT_PAGES_TOUCH) && touch(p, len, page) != 0) {
        munmap(head, page + len);
        return NULL;
    }
    return p;
}

void xt_pages_free(void *p)
{
    if (!p)
        return;
    uint8_t *head = (uint8_t *)p - (size_t)sysconf(_SC_PAGESIZE);
    const header_t *h = (const header_t *)head;
    if (h->magic != MAGIC)
        abort(); /* not ours: freeing it would unmap someone else's memory */
    munmap(head, h->map_bytes);
}
#endif
