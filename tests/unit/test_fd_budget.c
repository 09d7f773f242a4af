/* test_fd_budget.c - the process's descriptors (src/server/fd_budget.h):
 * the connection limits cut to an open-file limit (kept when they fit,
 * cut to shares and never past it, refused below the least), and the
 * spare descriptor taking a client from a listener when the process has
 * no descriptor left, under a lowered RLIMIT_NOFILE, and the listener
 * paused without one and resumed by the timers. */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/fd_budget.h"

static void limits_that_fit_are_kept(void **state)
{
    (void)state;
    uint32_t gw = 20000, md = 60000;
    uint64_t need = xt_fd_budget_need(gw, md, 1024);
    assert_int_equal(need, 20000 + 60000 + 1024 + XT_FD_RESERVE);
    assert_int_equal(xt_fd_budget_need(10, 5, 1024), 10 + 5 + 10 + XT_FD_RESERVE); /* bridges: at most gw */
    assert_int_equal(xt_fd_budget_fit(&gw, &md, 1024, need), 0);
    assert_int_equal(gw, 20000);
    assert_int_equal(md, 60000);
}

static void limits_are_cut_to_shares(void **state)
{
    (void)state;
    uint64_t avail = 20000 - XT_FD_RESERVE, gw_share = avail * 2 / 3;
    /* both ask for more than their shares: two thirds to order entry (its bridges in it), a third to md */
    uint32_t gw = 20000, md = 60000;
    assert_int_equal(xt_fd_budget_fit(&gw, &md, 1024, 20000), 1);
    assert_int_equal(gw, gw_share - 1024);
    assert_int_equal(md, avail - gw_share);
    assert_true(gw >= 10000); /* issue 4's 10,000 sessions under this VM's hard limit */
    assert_int_equal(xt_fd_budget_need(gw, md, 1024), 20000);
    /* a small limit set on purpose is kept; the other takes the rest */
    gw = 4, md = 60000;
    assert_int_equal(xt_fd_budget_fit(&gw, &md, 1024, 20000), 1);
    assert_int_equal(gw, 4);
    assert_int_equal(md, avail - 8);
    gw = 20000, md = 100;
    assert_int_equal(xt_fd_budget_fit(&gw, &md, 1024, 20000), 1);
    assert_int_equal(md, 100);
    assert_int_equal(gw, avail - 100 - 1024);
    /* fewer order-entry connections than bridges: each holds two */
    gw = 900, md = 900;
    assert_int_equal(xt_fd_budget_fit(&gw, &md, 1024, 900 + XT_FD_RESERVE), 1);
    assert_int_equal(gw, 300); /* 600 descriptors */
    assert_int_equal(md, 300);
}

static void every_limit_fits_after_a_cut(void **state)
{
    (void)state;
    uint64_t least = xt_fd_budget_need(1, 1, 1024);
    assert_int_equal(least, 3 + XT_FD_RESERVE);
    uint32_t asks[][2] = {{20000, 60000}, {20000, 1}, {1, 60000}, {1000000, 1000000}, {1, 1}, {5000, 10}};
    uint64_t limits[] = {least, least + 1, least + 7, 300, 1100, 2200, 20000, 65536};
    for (size_t a = 0; a < sizeof asks / sizeof asks[0]; a++)
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            uint32_t gw = asks[a][0], md = asks[a][1];
            int rc = xt_fd_budget_fit(&gw, &md, 1024, limits[l]);
            assert_true(rc == 0 || rc == 1);
            assert_true(gw >= 1 && md >= 1 && gw <= asks[a][0] && md <= asks[a][1]);
            if (xt_fd_budget_need(gw, md, 1024) > limits[l])
                fail_msg("asked %u/%u, limit %llu: cut to %u/%u needing %llu", asks[a][0], asks[a][1],
                         (unsigned long long)limits[l], gw, md, (unsigned long long)xt_fd_budget_need(gw, md, 1024));
        }
    uint32_t gw = 5, md = 5;
    assert_int_equal(xt_fd_budget_fit(&gw, &md, 1024, least - 1), -1);
    assert_int_equal(gw, 5);
    assert_int_equal(md, 5);
}

static int listener(struct sockaddr_in *a)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    socklen_t al = sizeof *a;
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_true(l >= 0 && bind(l, (struct sockaddr *)a, sizeof *a) == 0 && listen(l, 16) == 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)a, &al), 0);
    return l;
}

static int client(const struct sockaddr_in *a)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c >= 0 && connect(c, (const struct sockaddr *)a, sizeof *a) == 0);
    return c;
}

/* Fills the descriptor table (under a lowered soft limit); returns how
 * many were taken, into fds. */
static int exhaust(int *fds, int max)
{
    int n = 0;
    while (n < max && (fds[n] = dup(0)) >= 0)
        n++;
    assert_int_equal(errno, EMFILE);
    return n;
}

static void spare_takes_a_client_when_none_is_left(void **state)
{
    (void)state;
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    struct sockaddr_in a;
    int l = listener(&a), c1 = client(&a), c2 = client(&a), fds[64];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {EPOLLIN, {.u64 = 7}};
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
    xt_fd_spare_t sp;
    assert_int_equal(xt_fd_spare_open(&sp, ep), 0);
    int n = exhaust(fds, 64);
    /* out of descriptors: accept4 fails, and the spare takes the client */
    assert_int_equal(accept4(l, NULL, NULL, SOCK_CLOEXEC), -1);
    int err = errno;
    assert_int_equal(err, EMFILE);
    assert_int_equal(xt_fd_spare_accept(&sp, l, 7, EINVAL, NULL, NULL), -1); /* not a want of descriptors */
    int fd = xt_fd_spare_accept(&sp, l, 7, err, NULL, NULL);
    assert_true(fd >= 0);
    assert_int_equal(sp.fd, -1);
    close(fd); /* refused: the client sees its connection closed, not a hang */
    char b;
    assert_int_equal(recv(c1, &b, 1, 0), 0);
    xt_fd_spare_restore(&sp);
    assert_true(sp.fd >= 0);
    /* the spare taken by someone else: nothing is accepted, the caller stops,
     * and the listener leaves epoll (else it is ready again at once) */
    int thief = sp.fd;
    sp.fd = -1;
    assert_int_equal(xt_fd_spare_accept(&sp, l, 7, EMFILE, NULL, NULL), -1);
    assert_int_equal(sp.n_paused, 1);
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_MOD, l, &ev), -1); /* not in epoll */
    xt_fd_spare_restore(&sp);                                   /* still none free */
    assert_int_equal(sp.fd, -1);
    close(thief);
    xt_fd_spare_tick(&sp, 0); /* stopping: the spare again, the listener stays out */
    assert_true(sp.fd >= 0);
    assert_int_equal(sp.n_paused, 1);
    xt_fd_spare_tick(&sp, 1); /* the timers: back in epoll */
    assert_int_equal(sp.n_paused, 0);
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_MOD, l, &ev), 0);
    fd = xt_fd_spare_accept(&sp, l, 7, EMFILE, NULL, NULL);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(recv(c2, &b, 1, 0), 0);
    xt_fd_spare_restore(&sp);
    assert_true(sp.fd >= 0);
    /* no client waiting: nothing accepted, the spare is kept, the listener stays */
    assert_int_equal(xt_fd_spare_accept(&sp, l, 7, EMFILE, NULL, NULL), -1);
    assert_true(sp.fd >= 0);
    assert_int_equal(sp.n_paused, 0);
    while (n > 0)
        close(fds[--n]);
    xt_fd_spare_close(&sp);
    assert_int_equal(sp.fd, -1);
    close(c1);
    close(c2);
    close(ep);
    close(l);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limits_that_fit_are_kept),
        cmocka_unit_test(limits_are_cut_to_shares),
        cmocka_unit_test(every_limit_fits_after_a_cut),
        cmocka_unit_test(spare_takes_a_client_when_none_is_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
