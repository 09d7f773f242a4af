/* src/server/sessions.c - stub, being written. */
typedef int xt_stub_sessions;
