/* md_cmd_bin.c - what a client sends to the binary market-data port
 * (md_bin.h, docs/md-binary.md): framing and the request body. Fuzzed by
 * fuzz_mdbin.
 *
 * SUBSCRIBE (0x20), UNSUBSCRIBE (0x21), SNAPSHOT (0x22), 32 bytes:
 *   16 u64 request_id   24 u32 instrument   28 u8 channels   29 u8 depth   30 u16 reserved
 * HEARTBEAT (0x02): the header alone (16 bytes).
 */
#include <string.h>

#include "core/le.h"
#include "md_bin.h"

size_t xt_mdb_request_len(uint8_t type)
{
    switch (type) {
    case XT_MSG_HEARTBEAT: return XT_WIRE_HDR;
    case XT_MDB_SUBSCRIBE:
    case XT_MDB_UNSUBSCRIBE:
    case XT_MDB_SNAPSHOT: return XT_MDB_LEN_REQUEST;
    default: return 0;
    }
}

int xt_mdb_frame(const uint8_t *buf, size_t avail, xt_wire_hdr_t *hdr)
{
    return xt_wire_frame_of(buf, avail, XT_MDB_IN_MAX, xt_mdb_request_len, hdr);
}

void xt_mdb_get_request(const uint8_t *f, xt_mdb_request_t *r)
{
    r->request_id = xt_get64(f + 16);
    r->instrument = xt_get32(f + 24);
    r->channels = f[28];
    r->depth = f[29];
}

size_t xt_mdb_put_request(uint8_t *f, uint8_t type, const xt_mdb_request_t *r)
{
    memset(f, 0, XT_MDB_LEN_REQUEST);
    xt_put16(f, XT_MDB_LEN_REQUEST);
    f[2] = type;
    xt_put64(f + 16, r->request_id);
    xt_put32(f + 24, r->instrument);
    f[28] = r->channels;
    f[29] = r->depth;
    return XT_MDB_LEN_REQUEST;
}
