/* pages.h - big, long-lived tables taken straight from the OS.
 *
 * A snapshot forks the server, and fork() copies the page tables of every
 * page the process has touched: with 4 KiB pages that is one entry (and a
 * reference count) per page, ~5 ms for the ~250 MB a loaded server holds
 * (bench/RESULTS.md, "A snapshot's stall on order entry"). A table on 2 MiB
 * pages costs fork() one entry per 2 MiB instead. So every big table
 * (the engine's pools, the sessions' tables, the message log, the rings)
 * comes from here: an anonymous mapping of its own. One faulted in at once
 * (XT_PAGES_TOUCH) and 2 MiB or more is aligned to 2 MiB and advised
 * MADV_HUGEPAGE (transparent huge pages, used when the system's setting is
 * "madvise" or "always"). One touched as it is used stays on 4 KiB pages:
 * a first touch of a huge page clears 2 MiB, which took up to 2.7 ms here,
 * too long for a hot path.
 *
 * The memory starts zeroed. Under AddressSanitizer it comes from calloc
 * instead, so that overruns past a table's end are still caught there;
 * that build differs: XT_PAGES_NOFORK is ignored (a child would see the
 * table), the memory is only 16-byte aligned, and xt_pages_free takes any
 * malloc'd pointer (a normal build aborts on one that is not its own).
 */
#ifndef XT_CORE_PAGES_H
#define XT_CORE_PAGES_H

#include <stddef.h>

/* Not inherited by a fork's child (MADV_DONTFORK): for tables a snapshot
 * never reads (market data's connections, buffers, rings). */
#define XT_PAGES_NOFORK 1u
/* Every page is faulted in now (MADV_POPULATE_WRITE, or writing zeros
 * where the kernel lacks it), so none is faulted in while trading: a page
 * fault is an allocation by the kernel, with its own latency. */
#define XT_PAGES_TOUCH 2u

/* bytes of zeroed memory, page-aligned; NULL if the OS has none. */
void *xt_pages_alloc(size_t bytes, unsigned flags);
/* Returns the memory of xt_pages_alloc; NULL is ignored. */
void xt_pages_free(void *p);

#endif
