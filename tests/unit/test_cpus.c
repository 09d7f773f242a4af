/* test_cpus.c - CPU lists and pinning (src/server/cpus.h): the list
 * syntax and its errors; a list naming a CPU this process may not run on
 * is refused naming the key; and, once a thread is pinned, a fork's child
 * (the snapshot writer) moves off the pinned CPUs at once, to those no
 * list names. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): cpu_set_t */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/cpus.h"

static void lists(void **state)
{
    (void)state;
    cpu_set_t s;
    char why[160];
    assert_int_equal(xt_cpus_parse("", &s, why, sizeof why), 0);
    assert_int_equal(CPU_COUNT(&s), 0);
    assert_int_equal(xt_cpus_parse("3", &s, why, sizeof why), 0);
    assert_true(CPU_COUNT(&s) == 1 && CPU_ISSET(3, &s));
    assert_int_equal(xt_cpus_parse("0,2-4,7,1023", &s, why, sizeof why), 0);
    assert_int_equal(CPU_COUNT(&s), 6);
    assert_true(CPU_ISSET(0, &s) && CPU_ISSET(2, &s) && CPU_ISSET(3, &s) && CPU_ISSET(4, &s) && CPU_ISSET(7, &s) &&
                CPU_ISSET(1023, &s) && !CPU_ISSET(1, &s) && !CPU_ISSET(5, &s));
    const char *bad[] = {"a",     "1,", ",1", "1-", "-1", "1 2", "1,,2", "2-1", "1024", "99999999999999999999",
                         "1-2-3", " 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        if (xt_cpus_parse(bad[i], &s, why, sizeof why) == 0)
            fail_msg("'%s' parsed", bad[i]);
        assert_true(why[0] != '\0');
    }
    xt_cpus_parse("2-1", &s, why, sizeof why);
    assert_non_null(strstr(why, "backwards"));
    xt_cpus_parse("1024", &s, why, sizeof why);
    assert_non_null(strstr(why, "1023"));
    xt_cpus_parse("12345678901234567890123", &s, why, sizeof why); /* named whole (it was cut to 20 digits) */
    assert_non_null(strstr(why, "CPU 12345678901234567890123 is past"));
}

/* The lowest CPU this process may not run on, or -1 if it may run on all. */
static int forbidden_cpu(void)
{
    cpu_set_t a;
    assert_int_equal(sched_getaffinity(0, sizeof a, &a), 0);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (!CPU_ISSET(c, &a))
            return c;
    return -1;
}

static void only_allowed_cpus(void **state)
{
    (void)state;
    xt_cpus_t c;
    char why[256], list[16];
    int f = forbidden_cpu();
    assert_true(f >= 0); /* CPU_SETSIZE is past any machine here */
    snprintf(list, sizeof list, "%d", f);
    assert_int_equal(xt_cpus_prepare(&c, "", list, "", why, sizeof why), -1);
    assert_non_null(strstr(why, "server.engine_cpus: CPU"));
    assert_int_equal(xt_cpus_prepare(&c, "", "", "x", why, sizeof why), -1);
    assert_non_null(strstr(why, "server.md_cpus: "));
    assert_int_equal(xt_cpus_prepare(&c, "", "", "", why, sizeof why), 0);
    assert_int_equal(CPU_COUNT(&c.gateway) + CPU_COUNT(&c.engine) + CPU_COUNT(&c.md), 0);
    assert_false(c.any);
}

static void a_fork_child_leaves_the_pinned_cpus(void **state)
{
    (void)state;
    cpu_set_t whole, one;
    assert_int_equal(sched_getaffinity(0, sizeof whole, &whole), 0);
    if (CPU_COUNT(&whole) < 2) {
        print_message("one CPU only: nowhere else for the child to go; not checked here\n");
        skip();
    }
    int first = 0;
    while (!CPU_ISSET(first, &whole))
        first++;
    char list[16], why[256];
    snprintf(list, sizeof list, "%d", first);
    xt_cpus_t c;
    assert_int_equal(xt_cpus_prepare(&c, "", list, "", why, sizeof why), 0);
    assert_true(c.any && CPU_COUNT(&c.rest) == CPU_COUNT(&whole) - 1 && !CPU_ISSET(first, &c.rest));
    assert_int_equal(xt_cpus_pin(&c.engine, "engine"), 0);
    assert_int_equal(sched_getaffinity(0, sizeof one, &one), 0);
    assert_int_equal(CPU_COUNT(&one), 1);
    pid_t pid = fork();
    if (pid == 0) { /* off the engine's CPU at once: its mask, and where it runs */
        cpu_set_t got;
        int cpu = sched_getcpu();
        _exit(sched_getaffinity(0, sizeof got, &got) == 0 && CPU_EQUAL(&got, &c.rest) && cpu != first ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(sched_getaffinity(0, sizeof one, &one), 0); /* the parent stays pinned */
    assert_int_equal(CPU_COUNT(&one), 1);
    assert_int_equal(sched_setaffinity(0, sizeof whole, &whole), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lists),
        cmocka_unit_test(only_allowed_cpus),
        cmocka_unit_test(a_fork_child_leaves_the_pinned_cpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
