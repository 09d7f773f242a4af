/* echo_server.h - `xtrading bench echo`: a minimal single-thread epoll
 * server speaking the order-entry framing (docs/protocol.md) that answers
 * every request at once, without journal or matching. Driven with
 * `xtrading loadgen`, it measures the floor of the network path. */
#ifndef XT_BENCH_ECHO_SERVER_H
#define XT_BENCH_ECHO_SERVER_H

/* The `bench echo` subcommand: argv[0] is "echo", then
 * [--listen HOST:PORT] (default 127.0.0.1:9101; port 0 picks a free one).
 * Prints "echo: listening on HOST:PORT" and serves until SIGINT/SIGTERM.
 * Returns the exit status: 0 after a signal, 1 if it cannot listen, 2 on
 * bad flags. */
int bench_echo_cmd(int argc, char **argv);

#endif
