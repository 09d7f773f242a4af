#ifndef XT_SERVER_PORTS_H
#define XT_SERVER_PORTS_H

#include <stddef.h>
#include <stdint.h>

/* The server's TCP ports are bound before recovery and listened on after it
 * (xt_server_open). A port in use thus ends a start before it recovers -
 * which may take minutes, and creates and initialises a data directory that
 * is not there yet - and a client that connects while the server recovers is
 * still refused at once: a socket bound but not listening answers a SYN with
 * a reset, where a listening one would hold the connection in a backlog that
 * nobody accepts from yet. */

/* A socket bound to host:port (port 0: any; *bound says which). host is an
 * IPv4 address (config.c stored "*" and "localhost" as addresses). key names
 * the config key in why. */
int xt_port_bind(const char *key, const char *host, uint16_t port, int *fd, uint16_t *bound, char *why, size_t n);

/* Listens on a socket xt_port_bind bound. */
int xt_port_listen(const char *key, const char *host, uint16_t port, int fd, char *why, size_t n);

#endif
