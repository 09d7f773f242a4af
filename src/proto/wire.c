/* src/proto/wire.c - stub, being written. */
typedef int xt_stub_wire;
