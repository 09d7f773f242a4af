/* fd_budget.c - the connection limits fitted to the open-file limit, and
 * the spare descriptor of an accept loop (fd_budget.h). */
#define _GNU_SOURCE 1 /* NOLINT(bugprone-reserved-identifier): accept4 */
#include "fd_budget.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
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

int xt_fd_spare_open(xt_fd_spare_t *sp, int ep)
{
    sp->ep = ep;
    sp->n_paused = 0;
    sp->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return sp->fd < 0 ? -1 : 0;
}

void xt_fd_spare_close(xt_fd_spare_t *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
}

static void pause_listener(xt_fd_spare_t *sp, int lfd, uint64_t id)
{
    for (uint32_t i = 0; i < sp->n_paused; i++)
        if (sp->paused[i].fd == lfd)
            return;
    if (sp->n_paused == XT_FD_LISTENERS || epoll_ctl(sp->ep, EPOLL_CTL_DEL, lfd, NULL) != 0)
        return;
    sp->paused[sp->n_paused].fd = lfd;
    sp->paused[sp->n_paused++].id = id;
}

int xt_fd_spare_accept(xt_fd_spare_t *sp, int lfd, uint64_t id, int err, struct sockaddr *a, socklen_t *al)
{
    if (err != EMFILE && err != ENFILE)
        return -1;
    if (sp->fd >= 0) {
        close(sp->fd);
        sp->fd = -1;
        int fd = accept4(lfd, a, al, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd; /* the caller restores the spare after its refusal */
        xt_fd_spare_restore(sp);
        if (sp->fd >= 0)
            return -1; /* no client was waiting */
    }
    pause_listener(sp, lfd, id);
    return -1;
}

void xt_fd_spare_restore(xt_fd_spare_t *sp)
{
    if (sp->fd < 0)
        sp->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void xt_fd_spare_tick(xt_fd_spare_t *sp, int resume)
{
    xt_fd_spare_restore(sp); /* lost to another thread's open: taken again once one is free */
    for (uint32_t i = 0; resume && i < sp->n_paused; i++) {
        struct epoll_event ev = {EPOLLIN, {.u64 = sp->paused[i].id}};
        epoll_ctl(sp->ep, EPOLL_CTL_ADD, sp->paused[i].fd, &ev);
    }
    if (resume)
        sp->n_paused = 0;
}
