/* ws.h - the server side of HTTP/1.1 requests and WebSocket (RFC 6455) over
 * caller buffers. Like wslay, it never touches a socket: bytes in,
 * callbacks and bytes out, so it fits our epoll loop and tests byte by byte.
 *
 * HTTP request heads are parsed with Debian's http-parser; inbound frames
 * with wslay's frame layer (wslay_frame_recv), which unmasks them; the
 * reassembly of fragmented messages, control frames, UTF-8 checks of text
 * and the limits are ours. Outbound frames are built here (server frames
 * are never masked), header and payload apart, so one encoded payload can
 * be shared by every subscriber (writev of the header, then the shared
 * bytes - or one buffer holding both, built once).
 */
#ifndef XT_NET_WS_H
#define XT_NET_WS_H

#include <stddef.h>
#include <stdint.h>

/* ---- UTF-8 ------------------------------------------------------------------------ */

/* The length (1..4) of the well-formed UTF-8 sequence at s[0..n) (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0 with *bad set
 * to the bytes of its longest ill-formed start (1..3; a truncated sequence
 * included). Bytes are read in order up to the first that does not fit, so
 * a NUL-terminated string may be passed with n = 4. n >= 1. */
size_t xt_utf8_seq(const uint8_t *s, size_t n, size_t *bad);

/* ---- HTTP request heads ------------------------------------------------------ */

#define XT_HTTP_HEAD_MAX 8192   /* a larger request head is refused (431) */
#define XT_HTTP_TARGET_MAX 2048 /* bytes of the request target, at most */

/* The signed-request headers of the private REST endpoints (docs/rest.md,
 * "Signed requests"), trimmed of spaces around them, NUL-terminated. */
enum {
    XT_AUTH_ACCOUNT,   /* X-XT-Account */
    XT_AUTH_KEY,       /* X-XT-Key */
    XT_AUTH_TIMESTAMP, /* X-XT-Timestamp */
    XT_AUTH_SIGNATURE, /* X-XT-Signature */
    XT_AUTH_HEADERS
};
#define XT_AUTH_VALUE_MAX 80 /* a longer value is kept as "" with its bad bit set */

typedef struct xt_http_auth {
    char v[XT_AUTH_HEADERS][XT_AUTH_VALUE_MAX + 1];
    uint8_t seen; /* bit XT_AUTH_*: the header is present */
    uint8_t bad;  /* bit XT_AUTH_*: its value is over XT_AUTH_VALUE_MAX bytes, or it came twice */
} xt_http_auth_t;

typedef struct xt_http_req {
    int method;                          /* enum http_method of http-parser (HTTP_GET = 1, ...) */
    char path[512];                      /* the request target's path, NUL-terminated, undecoded */
    char query[512];                     /* after '?', NUL-terminated, "" when none */
    char target[XT_HTTP_TARGET_MAX + 1]; /* the request target exactly as on the request line */
    xt_http_auth_t auth;                 /* the X-XT-* headers */
    uint8_t keep_alive;
    uint8_t http_1_1;          /* HTTP/1.1 (else 1.0; other versions are refused) */
    uint8_t upgrade_websocket; /* Upgrade: websocket and Connection: upgrade */
    uint8_t ws_version_ok;     /* Sec-WebSocket-Version: 13 */
    uint8_t hosts;             /* Host header lines: 0, 1 or 2 (two or more) */
    char ws_key[64];           /* Sec-WebSocket-Key, "" when absent or not
                                  the base64 of 16 bytes (24 characters) */
    uint64_t content_length;   /* 0 when absent */
} xt_http_req_t;

/* Opaque parser state, embedded by the caller (no allocation). */
typedef struct xt_http_parser {
    uint8_t opaque[256];
} xt_http_parser_t;

/* Call before each request head (again for the next request on a kept-alive
 * connection). */
void xt_http_parser_init(xt_http_parser_t *p);

/* Parses one request head from the bytes given so far (the caller keeps
 * them and passes the whole head each time, from its start). Returns the
 * head's length in bytes when complete (req filled; the body, if any,
 * follows), 0 when more bytes are needed, XT_EPARSE when the bytes are not
 * HTTP/1.x (also: a version other than 1.0 or 1.1, or a Transfer-Encoding
 * header, since only Content-Length bodies are supported), or XT_ERANGE when
 * the head passes XT_HTTP_HEAD_MAX or a field does not fit req (path, query,
 * a target over XT_HTTP_TARGET_MAX, or an Upgrade, Connection or
 * Sec-WebSocket-* value over 255 bytes; an X-XT-* value too long only sets
 * its bit in req->auth.bad). The
 * bytes are scanned once, incrementally; req is filled in one more pass when
 * the head is complete. Once complete or failed, further calls return the
 * same result. */
int xt_http_parse_head(xt_http_parser_t *p, const uint8_t *buf, size_t len, xt_http_req_t *req);

/* Writes the 101 Switching Protocols answer for key (Sec-WebSocket-Accept =
 * base64(SHA-1(key + RFC 6455 GUID)), OpenSSL) into out, followed by a NUL
 * when there is room. Returns its length, XT_ERANGE when cap is too small,
 * XT_ENOMEM when OpenSSL fails (it allocates a digest context: this is not
 * for a hot path). */
int xt_ws_handshake_response(const char *key, char *out, size_t cap);

/* Writes a complete HTTP/1.1 response with Content-Length (and
 * "Connection: close" unless keep_alive, else "Connection: keep-alive"),
 * then the body. content_type may be NULL (no Content-Type). A 426 also
 * carries "Upgrade: websocket" and "Sec-WebSocket-Version: 13" (RFC 6455
 * §4.4). Returns its length, XT_ERANGE when cap is too small, XT_EINVAL for a
 * status outside 100-599 or a content_type over 127 bytes or holding control
 * characters. */
int xt_http_response(char *out, size_t cap, int status, const char *content_type, const char *body, size_t body_len,
                     int keep_alive);

/* Adds "Allow: methods" (e.g. "GET, POST") behind the status line of the
 * response out[0..n) that xt_http_response wrote: a 405 names the methods
 * the target takes (RFC 9110 15.5.6). Returns the new length, XT_ERANGE
 * when cap is too small, XT_EINVAL when n is not such a response. */
int xt_http_add_allow(char *out, size_t cap, int n, const char *methods);

/* ---- inbound frames ------------------------------------------------------------ */

enum {
    XT_WS_OP_CONT = 0x0,
    XT_WS_OP_TEXT = 0x1,
    XT_WS_OP_BINARY = 0x2,
    XT_WS_OP_CLOSE = 0x8,
    XT_WS_OP_PING = 0x9,
    XT_WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 §7.4.1) the reader reports. */
enum {
    XT_WS_CLOSE_NORMAL = 1000,
    XT_WS_CLOSE_GOING_AWAY = 1001,
    XT_WS_CLOSE_PROTOCOL = 1002,
    XT_WS_CLOSE_BAD_DATA = 1007, /* text that is not UTF-8 */
    XT_WS_CLOSE_POLICY = 1008,
    XT_WS_CLOSE_TOO_BIG = 1009,
    XT_WS_CLOSE_INTERNAL = 1011,
    XT_WS_CLOSE_TRY_AGAIN = 1013,
};

/* One complete message: a text or binary message (fragments joined), or a
 * control frame (PING, PONG, CLOSE; for CLOSE, data holds the code and
 * reason as sent). `data` is borrowed for the callback. */
typedef struct xt_ws_msg {
    int opcode;
    const uint8_t *data;
    size_t len;
} xt_ws_msg_t;

/* Returns 0 to go on, nonzero to stop feeding (the feed returns it). */
typedef int (*xt_ws_msg_fn)(void *ctx, const xt_ws_msg_t *m);

/* ---- reader scratch, shared ------------------------------------------------------- */

/* The readers of one thread share a pool of scratch items: wslay's frame
 * context (it buffers up to 4 KiB of input) and a message buffer of msg_cap
 * bytes, the largest message accepted. A reader holds an item only while a
 * frame or a fragmented message is under way (or a callback stopped a feed
 * with bytes left), so an idle connection costs its xt_ws_reader_t alone.
 * Items are allocated on first need, at most max_items, and kept for reuse
 * until the pool is destroyed: memory follows the peak number of readers
 * caught mid-frame at once, not the number of connections. Not thread-safe:
 * one pool per thread. */
typedef struct xt_ws_pool xt_ws_pool_t;

/* Returns 0 (*out set), XT_EINVAL (max_items 0) or XT_ENOMEM. */
int xt_ws_pool_create(xt_ws_pool_t **out, size_t msg_cap, uint32_t max_items);
/* Frees every item, those still held included: destroy the readers (or
 * stop using them) first. NULL is fine. */
void xt_ws_pool_destroy(xt_ws_pool_t *p);
/* An item's buffer (msg_cap bytes) for another use, e.g. an HTTP request
 * head; NULL when max_items are taken or memory is short. Give it back
 * with xt_ws_pool_give_buffer. */
uint8_t *xt_ws_pool_take_buffer(xt_ws_pool_t *p);
void xt_ws_pool_give_buffer(xt_ws_pool_t *p, uint8_t *buf);
size_t xt_ws_pool_msg_cap(const xt_ws_pool_t *p);
/* Items held now (by readers and as buffers) and allocated so far. */
uint32_t xt_ws_pool_in_use(const xt_ws_pool_t *p);
uint32_t xt_ws_pool_allocated(const xt_ws_pool_t *p);

/* ---- inbound frames, per connection ---------------------------------------------- */

/* Per-connection reader over a shared pool. It may be moved or copied
 * while it holds no item (xt_ws_reader_idle). The fields are private. */
typedef struct xt_ws_reader {
    xt_ws_pool_t *pool;
    void *item;    /* the scratch held, NULL when idle */
    uint64_t held; /* bytes given to wslay and not yet parsed (header or payload) */
    size_t msg_len;
    size_t utf8_done; /* of a text message being reassembled: its first bytes found UTF-8, whole sequences */
    int msg_opcode;   /* of the message being reassembled, 0 = none */
    uint8_t ctl[125];
    size_t ctl_len;
    int ctl_opcode;
    int frame_opcode, frame_fin;
    uint64_t frame_left; /* payload bytes of the current frame still to come */
    const uint8_t *in;   /* the bytes being fed */
    size_t in_len, in_pos;
    uint8_t tail[14]; /* the last bytes given to wslay: a header it holds back until payload comes */
    int error;        /* the close code after a violation, else 0 */
} xt_ws_reader_t;

/* Sets up a reader; it allocates nothing (it takes an item from the pool
 * when bytes arrive). */
void xt_ws_reader_init(xt_ws_reader_t *r, xt_ws_pool_t *pool);
/* Gives back the item held, if any. Twice is fine. */
void xt_ws_reader_destroy(xt_ws_reader_t *r);
/* 1 when the reader holds no item: nothing of a frame or message pending. */
int xt_ws_reader_idle(const xt_ws_reader_t *r);

/* Feeds bytes read from the socket (any split). Calls fn for each complete
 * message, in order. Returns 0 when all bytes were consumed, the callback's
 * nonzero value when it stopped, or a negative close code (-1002, -1007,
 * -1009, -1013) after a protocol violation or when no scratch item was to be
 * had (-1013, "try again later": the pool's max_items are all held, or
 * memory is short). Violations: unmasked client frame, reserved bits or
 * opcodes, a control frame over 125 bytes or fragmented, a continuation
 * without a start, a new message inside a fragmented one, text that is not
 * UTF-8, or a message over msg_cap; also a CLOSE of 1 byte, or with a code
 * RFC 6455 §7.4 does not allow (valid: 1000-1003, 1007-1014, 3000-4999; 1002)
 * or a reason that is not UTF-8 (1007). After a violation the reader stays
 * failed (r->error) and every feed returns -r->error without calling fn.
 * When fn stopped the feed, r->in_pos bytes of data were taken (the reader
 * keeps those it has not processed yet): to go on, feed data + r->in_pos
 * (len - r->in_pos bytes; 0 is fine). Any split of the same bytes gives the
 * same calls of fn and the same result. fn may destroy the reader (when
 * its connection closes); the feed then returns fn's value at once. */
int xt_ws_reader_feed(xt_ws_reader_t *r, const uint8_t *data, size_t len, xt_ws_msg_fn fn, void *ctx);

/* ---- outbound frames ------------------------------------------------------------ */

#define XT_WS_HEADER_MAX 10

/* Writes the header of a final, unmasked frame of `opcode` carrying len
 * payload bytes. Returns the header length (2, 4 or 10). */
size_t xt_ws_frame_header(uint8_t out[XT_WS_HEADER_MAX], int opcode, uint64_t len);

/* Reading a frame header h of which `have` bytes are there: how long the
 * whole header is, its mask key included (2 while have < 2: the second
 * byte tells); and, once its length field is there (the size less a mask
 * key's 4 bytes), the payload length it announces. */
size_t xt_ws_header_size(const uint8_t *h, size_t have);
uint64_t xt_ws_header_payload_len(const uint8_t *h);

/* Writes a whole CLOSE frame (code, then reason cut to fit 123 bytes, at a
 * UTF-8 character boundary) into out (at least 127 bytes). Code 0 writes a
 * CLOSE without payload (no code, no reason). Returns its length. */
size_t xt_ws_close_frame(uint8_t *out, uint16_t code, const char *reason);

#endif
