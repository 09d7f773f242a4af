/* src/server/config.c - stub, being written. */
typedef int xt_stub_config;
