/* src/server/engine_thread.c - stub, being written. */
typedef int xt_stub_engine_thread;
