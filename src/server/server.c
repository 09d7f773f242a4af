/* src/server/server.c - stub, being written. */
typedef int xt_stub_server;
