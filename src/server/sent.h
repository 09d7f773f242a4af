/* sent.h - how much of what was written to a TCP socket its peer has
 * taken (its TCP acknowledged it), to tell a slow reader from one that
 * reads nothing: the kernel's send queue drains to a slow reader long
 * after the server's last write. Used by the order-entry gateway and by
 * market data for connections that close behind a backlog, idle HTTP and
 * pongs. A sample of the send queue alone misses progress that a write
 * refilled; written less held does not. */
#ifndef XT_SERVER_SENT_H
#define XT_SERVER_SENT_H

#include <stdint.h>
#include <sys/types.h>

typedef struct xt_sent {
    uint64_t written;    /* bytes written to the socket, ever */
    uint64_t acked_seen; /* of those, acknowledged at the last look */
} xt_sent_t;

/* Counts a write's result (w <= 0: nothing). */
static inline void xt_sent_add(xt_sent_t *s, ssize_t w)
{
    if (w > 0)
        s->written += (uint64_t)w;
}

/* What fd's send queue still holds - written, not yet acknowledged
 * (SIOCOUTQ); 0 when it cannot tell. */
uint32_t xt_sent_held(int fd);

/* 1 when the peer acknowledged bytes since the last call, else 0; *held
 * (when not NULL): what the send queue holds now. */
int xt_sent_taken(xt_sent_t *s, int fd, uint32_t *held);

#endif
