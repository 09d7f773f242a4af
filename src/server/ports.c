/* Binding the server's ports before recovery, listening after it (ports.h). */
#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int xt_port_bind(const char *key, const char *host, uint16_t port, int *fd, uint16_t *bound, char *why, size_t n)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    *fd = -1;
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        snprintf(why, n, "%s: '%s' is not an IPv4 address", key, host);
        return -1;
    }
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        if (s >= 0)
            close(s);
        snprintf(why, n, "%s %s:%u: %s", key, host, (unsigned)port, strerror(e));
        return -1;
    }
    /* SO_REUSEADDR lets the bind pass a restart's TIME_WAIT connections, but while it is set another
     * socket with it may bind the same port as long as neither listens: a second server would get
     * through its recovery before one of the two listen()s failed. Off until the listen. */
    int zero = 0;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &zero, sizeof zero);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    *fd = s;
    *bound = ntohs(a.sin_port);
    return 0;
}

int xt_port_listen(const char *key, const char *host, uint16_t port, int fd, char *why, size_t n)
{
    int one = 1; /* on again: listen() checks the port again, and would fail on a TIME_WAIT without it */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 || listen(fd, 4096) != 0) {
        snprintf(why, n, "%s %s:%u: %s", key, host, (unsigned)port, strerror(errno));
        return -1;
    }
    return 0;
}
