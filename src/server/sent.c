/* sent.c - see sent.h. */
#include "sent.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

uint32_t xt_sent_held(int fd)
{
    int n = 0;
    return ioctl(fd, SIOCOUTQ, &n) == 0 && n > 0 ? (uint32_t)n : 0;
}

int xt_sent_taken(xt_sent_t *s, int fd, uint32_t *held)
{
    uint32_t h = xt_sent_held(fd);
    uint64_t acked = s->written - (h < s->written ? h : s->written);
    int took = acked > s->acked_seen;
    s->acked_seen = acked;
    if (held)
        *held = h;
    return took;
}
