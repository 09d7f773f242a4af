/* src/client/client.c - stub, being written. */
typedef int xt_stub_client;
