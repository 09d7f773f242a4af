/* src/server/outlog.c - stub, being written. */
typedef int xt_stub_outlog;
