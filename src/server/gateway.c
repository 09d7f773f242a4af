/* src/server/gateway.c - stub, being written. */
typedef int xt_stub_gateway;
