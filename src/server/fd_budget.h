/* fd_budget.h - the process's file descriptors: the connection limits
 * fitted to the open-file limit at start, and a spare descriptor that lets
 * an accept loop answer a client when none is left.
 *
 * Every connection holds a descriptor, and so do the server's own files
 * (the journal, its snapshots, the K-line history) and the bridges of
 * order entry over WebSocket and REST. A process out of descriptors fails
 * whatever opens the next one: the journal's next segment would fail the
 * journal closed, and an accept loop would find its listener ready again
 * and again without taking the client. So the connection limits are cut
 * at start to what the limit leaves after the server's own (config.md,
 * "Open files"), and an accept that fails all the same (EMFILE, ENFILE:
 * another process, the system's limit) takes the client with the spare
 * descriptor, refuses it and closes it.
 */
#ifndef XT_SERVER_FD_BUDGET_H
#define XT_SERVER_FD_BUDGET_H

#include <stdint.h>
#include <sys/socket.h>

/* Descriptors kept for the server's own use: 64 for standard streams, the
 * lock, the journal's segments and directory, a snapshot, K-line and
 * md-state files, the log file, listeners, epoll, eventfds, signalfd, the
 * admin socket and its XT_ADMIN_CONNS connections, and the spares; and 128
 * for the socketpairs of up to XT_ADOPT_MAX (64) order-entry bridges on
 * their way from the md thread to a gateway that may refuse them. */
#define XT_FD_RESERVE 192

/* Descriptors the limits can hold: gw order-entry connections (the
 * gateway's ends of the bridges among them), md market-data connections,
 * the md thread's ends of up to min(gw, bridges) bridges, and the reserve. */
uint64_t xt_fd_budget_need(uint32_t gw, uint32_t md, uint32_t bridges);

/* Cuts *gw and *md until xt_fd_budget_need fits limit, to shares of what
 * the reserve leaves: two thirds for order entry (with its bridges), one
 * third for market data. A side that asks for at most its share keeps it
 * and the other takes the rest. Returns 0 (they fit as they are), 1 (cut),
 * or -1 (limit is below what one connection of each needs: nothing
 * changed). */
int xt_fd_budget_fit(uint32_t *gw, uint32_t *md, uint32_t bridges, uint64_t limit);

#define XT_FD_LISTENERS 4 /* listeners one thread accepts on, at most */

/* One spare descriptor per accepting thread (/dev/null, opened at start),
 * and the thread's listeners taken out of its epoll for want of one. */
typedef struct xt_fd_spare {
    int fd;
    int ep; /* the thread's epoll */
    uint32_t n_paused;
    struct {
        int fd;
        uint64_t id; /* its epoll data */
    } paused[XT_FD_LISTENERS];
} xt_fd_spare_t;

/* 0, or -1 (errno). */
int xt_fd_spare_open(xt_fd_spare_t *sp, int ep);
void xt_fd_spare_close(xt_fd_spare_t *sp);
/* After accept4 on lfd (in the thread's epoll with data id) failed with
 * err: when err is EMFILE or ENFILE and the spare is held, gives it up and
 * accepts one client with it. Returns that client's descriptor, for the
 * caller to refuse (answer and close) and then call xt_fd_spare_restore;
 * or -1: nothing accepted, stop. When that is for want of descriptors with
 * no spare, lfd leaves epoll (it would be ready again at once, a spin)
 * until xt_fd_spare_tick. */
int xt_fd_spare_accept(xt_fd_spare_t *sp, int lfd, uint64_t id, int err, struct sockaddr *a, socklen_t *al);
/* Takes the spare again (it may fail while descriptors are short: the
 * next xt_fd_spare_accept then accepts nothing and pauses the listener). */
void xt_fd_spare_restore(xt_fd_spare_t *sp);
/* The thread's timers: the spare taken again if it was lost, and, when
 * resume, the paused listeners back in epoll (not while stopping). */
void xt_fd_spare_tick(xt_fd_spare_t *sp, int resume);

#endif
