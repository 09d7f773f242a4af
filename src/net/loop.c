/* src/net/loop.c - stub, being written. */
typedef int xt_stub_loop;
