/* bench/echo_server.c - stub, being written. */
typedef int xt_stub_echo_server;
