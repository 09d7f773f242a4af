/* test_pages.c - pages.c: the big tables' memory. Zeroed and aligned;
 * faulted in with XT_PAGES_TOUCH and only then on 2 MiB boundaries; left
 * out of a fork's child with XT_PAGES_NOFORK (the child that reads such a
 * table dies of SIGSEGV, one that reads an inherited table sees its
 * contents). Under AddressSanitizer the tables come from calloc, so only
 * what holds there too is checked. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): mincore */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pages.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

#define MIB ((size_t)1 << 20)

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Pages of [p, p + n) resident now. */
static size_t resident_pages(const void *p, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1);
    size_t len = (uintptr_t)p + n - a, pages = (len + page - 1) / page, in = 0;
    unsigned char *v = malloc(pages);
    assert_non_null(v);
    assert_int_equal(mincore((void *)a, len, v), 0);
    for (size_t i = 0; i < pages; i++)
        in += v[i] & 1;
    free(v);
    return in;
}

static void zeroed_writable_and_freed(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 4095, 4096, 4097, 2 * MIB - 1, 2 * MIB, 5 * MIB + 3};
    unsigned flags[] = {0, XT_PAGES_TOUCH, XT_PAGES_NOFORK, XT_PAGES_TOUCH | XT_PAGES_NOFORK};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            uint8_t *p = xt_pages_alloc(sizes[i], flags[f]);
            assert_non_null(p);
            assert_true(all_zero(p, sizes[i]));
            if (sizes[i]) {
                p[0] = 1;
                p[sizes[i] - 1] = 2; /* the last byte is ours */
            }
            xt_pages_free(p);
        }
    xt_pages_free(NULL);
}

static void touch_faults_in_and_aligns_huge_tables(void **state)
{
    (void)state;
    size_t n = 6 * MIB + 12345, page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *lazy = xt_pages_alloc(n, 0), *now = xt_pages_alloc(n, XT_PAGES_TOUCH);
    assert_non_null(lazy);
    assert_non_null(now);
    assert_int_equal(resident_pages(now, n), (n + page - 1) / page);
    if (!ASAN) {
        assert_int_equal((uintptr_t)now % (2 * MIB), 0); /* whole 2 MiB pages */
        assert_int_equal((uintptr_t)lazy % page, 0);
        assert_int_equal(resident_pages(lazy, n), 0); /* touched as used */
    }
    xt_pages_free(lazy);
    xt_pages_free(now);
}

/* What a fork's child sees at p[0]: 0..255 its value, 256 killed by
 * SIGSEGV, -1 otherwise. */
static int child_reads(const volatile uint8_t *p)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        _exit(p[0]);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? 256 : -1;
}

static void nofork_is_not_inherited(void **state)
{
    (void)state;
    uint8_t *kept = xt_pages_alloc(3 * MIB, XT_PAGES_TOUCH), *left = xt_pages_alloc(3 * MIB, XT_PAGES_NOFORK);
    assert_non_null(kept);
    assert_non_null(left);
    kept[0] = 42;
    left[0] = 43;
    assert_int_equal(child_reads(kept), 42);
    assert_int_equal(child_reads(left), ASAN ? 43 : 256);
    xt_pages_free(kept);
    xt_pages_free(left);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zeroed_writable_and_freed),
        cmocka_unit_test(touch_faults_in_and_aligns_huge_tables),
        cmocka_unit_test(nofork_is_not_inherited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
