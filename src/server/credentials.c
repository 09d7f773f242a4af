/* src/server/credentials.c - stub, being written. */
typedef int xt_stub_credentials;
