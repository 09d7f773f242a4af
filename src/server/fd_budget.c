/* fd_budget.c - the connection limits fitted to the open-file limit, and
 * the spare descriptor of an accept loop (fd_budget.h). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4 */
#include "fd_budget.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

uint64_t xt_fd_budget_need(uint32_t gw, uint32_t md, uint32_t bridges)
{
    return (uint64_t)gw + md + (gw < bridges ? gw : bridges) + XT_FD_RESERVE;
}

/* What gw order-entry connections hold: their own and the md thread's
 * ends of their bridges. */
static uint64_t gw_cost(uint64_t gw, uint32_t bridges)
{
    return gw + (gw < bridges ? gw : bridges);
}

/* The most order-entry connections room descriptors hold. */
static uint64_t gw_most(uint64_t room, uint32_t bridges)
{
    return room >= 2 * (uint64_t)bridges ? room - bridges : room / 2;
}

int xt_fd_budget_fit(uint32_t *gw, uint32_t *md, uint32_t bridges, uint64_t limit)
{
    if (xt_fd_budget_need(*gw, *md, bridges) <= limit)
        return 0;
    if (xt_fd_budget_need(1, 1, bridges) > limit)
        return -1;
    /* Weighted max-min shares: order entry's share is two thirds, as
     * trading comes before quotes (market data can be served by more
     * processes); a side that asks for at most its share keeps what it
     * asked for and the other takes the rest. So a limit set low on
     * purpose is never cut. */
    uint64_t avail = limit - XT_FD_RESERVE, gw_share = avail * 2 / 3, md_share = avail - gw_share;
    uint64_t g = *gw, m = *md;
    if (gw_cost(g, bridges) <= gw_share) {
        m = avail - gw_cost(g, bridges);
    } else if (m <= md_share) {
        g = gw_most(avail - m, bridges);
    } else {
        g = gw_most(gw_share, bridges);
        m = avail - gw_cost(g, bridges);
    }
    *gw = (uint32_t)(g < *gw ? g : *gw);
    *md = (uint32_t)(m < *md ? m : *md);
    return 1;
}

int xt_fd_spare_open(xt_fd_spare_t *sp)
{
    sp->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return sp->fd < 0 ? -1 : 0;
}

void xt_fd_spare_close(xt_fd_spare_t *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
}

int xt_fd_spare_accept(xt_fd_spare_t *sp, int lfd, int err, struct sockaddr *a, socklen_t *al)
{
    if ((err != EMFILE && err != ENFILE) || sp->fd < 0)
        return -1;
    close(sp->fd);
    sp->fd = -1;
    int fd = accept4(lfd, a, al, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        xt_fd_spare_restore(sp);
    return fd;
}

void xt_fd_spare_restore(xt_fd_spare_t *sp)
{
    if (sp->fd < 0)
        sp->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}
