/* ws.c - HTTP/1.x request heads and outbound WebSocket (RFC 6455) frames
 * over caller buffers; the contract is ws.h. Inbound frames are read in
 * ws_reader.c.
 *
 * Request heads: http-parser scans the bytes once, incrementally, its state
 * kept in the caller's xt_http_parser_t (copied in and out, so the opaque
 * bytes need no alignment); when the head is complete, one more pass over
 * the whole head with data callbacks fills the xt_http_req_t.
 */
#include "net/ws.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <http_parser.h>
#include <openssl/evp.h>

#include "xt/error.h"

/* ---- HTTP request heads: the incremental scan -------------------------------------- */

typedef struct head_state {
    http_parser hp;
    size_t fed;  /* bytes of the head given to hp so far */
    size_t done; /* the head's length once complete, else 0 */
    int err;     /* XT_EPARSE or XT_ERANGE once failed, else 0 */
} head_state_t;

static_assert(sizeof(head_state_t) <= sizeof(((xt_http_parser_t *)0)->opaque), "xt_http_parser_t too small");

static int scan_headers_complete(http_parser *hp)
{
    (void)hp;
    return 1; /* no body: the head is all we parse */
}

static int pause_at_message_complete(http_parser *hp)
{
    http_parser_pause(hp, 1);
    return 0;
}

void xt_http_parser_init(xt_http_parser_t *p)
{
    head_state_t st;
    memset(&st, 0, sizeof st);
    http_parser_init(&st.hp, HTTP_REQUEST);
    memset(p, 0, sizeof *p);
    memcpy(p->opaque, &st, sizeof st);
}

/* Feeds the bytes not yet seen. Returns the head's length, 0 for more, or
 * an error (all remembered in st). */
static int head_scan(head_state_t *st, const uint8_t *buf, size_t len)
{
    static const http_parser_settings settings = {
        .on_headers_complete = scan_headers_complete,
        .on_message_complete = pause_at_message_complete,
    };
    if (len < st->fed) { /* the caller started over without init */
        memset(st, 0, sizeof *st);
        http_parser_init(&st->hp, HTTP_REQUEST);
    }
    if (st->err || st->done)
        return st->err ? st->err : (int)st->done;
    size_t lim = len < XT_HTTP_HEAD_MAX ? len : XT_HTTP_HEAD_MAX;
    if (lim > st->fed) {
        size_t want = lim - st->fed;
        size_t n = http_parser_execute(&st->hp, &settings, (const char *)buf + st->fed, want);
        enum http_errno e = HTTP_PARSER_ERRNO(&st->hp);
        if (e == HPE_PAUSED || (e == HPE_OK && n < want)) {
            st->done = st->fed + n;
            st->fed = st->done;
            if (st->done == 0 || buf[st->done - 1] != '\n')
                return st->err = XT_EPARSE; /* http-parser takes any byte for the last LF */
            return (int)st->done;
        }
        if (e != HPE_OK)
            return st->err = XT_EPARSE;
        st->fed = lim;
    }
    if (lim == XT_HTTP_HEAD_MAX)
        return st->err = XT_ERANGE;
    return 0;
}

/* ---- HTTP request heads: the filling pass ------------------------------------------ */

enum { H_OTHER, H_HOST, H_UPGRADE, H_CONNECTION, H_WS_KEY, H_WS_VERSION, H_TRANSFER_ENCODING, H_XT_AUTH };
/* H_XT_AUTH + XT_AUTH_*: the X-XT-* headers (ws.h) */

typedef struct fill {
    xt_http_req_t *req;
    int err;
    int in_value; /* the last callback was on_header_value */
    int val_over; /* an X-XT-* value did not fit val */
    int hdr;      /* H_* of the header whose value is being read */
    int keys;     /* Sec-WebSocket-Key headers seen */
    int upgrade_ws, connection_upgrade, version_seen;
    size_t name_len, val_len, url_len;
    char name[32]; /* longer names are none of ours */
    char val[256];
    char url[XT_HTTP_TARGET_MAX];
} fill_t;

static const struct {
    const char *name;
    int id;
} known_headers[] = {
    {"host", H_HOST},
    {"upgrade", H_UPGRADE},
    {"connection", H_CONNECTION},
    {"sec-websocket-key", H_WS_KEY},
    {"sec-websocket-version", H_WS_VERSION},
    {"transfer-encoding", H_TRANSFER_ENCODING},
    {"x-xt-account", H_XT_AUTH + XT_AUTH_ACCOUNT},
    {"x-xt-key", H_XT_AUTH + XT_AUTH_KEY},
    {"x-xt-timestamp", H_XT_AUTH + XT_AUTH_TIMESTAMP},
    {"x-xt-signature", H_XT_AUTH + XT_AUTH_SIGNATURE},
};

static int header_id(const fill_t *f)
{
    if (f->name_len >= sizeof f->name)
        return H_OTHER;
    for (size_t i = 0; i < sizeof known_headers / sizeof known_headers[0]; i++)
        if (strlen(known_headers[i].name) == f->name_len &&
            strncasecmp(known_headers[i].name, f->name, f->name_len) == 0)
            return known_headers[i].id;
    return H_OTHER;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* 1 when the comma-separated list s[0..n) holds token tok (any case). */
static int has_token(const char *s, size_t n, const char *tok)
{
    size_t tn = strlen(tok), i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && is_ows(s[a]))
            a++;
        while (b > a && is_ows(s[b - 1]))
            b--;
        if (b - a == tn && strncasecmp(s + a, tok, tn) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

/* 1 when s[0..n) is the base64 of 16 bytes: 22 characters then "==". */
static int ws_key_ok(const char *s, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n != 24 || s[22] != '=' || s[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (s[i] == '\0' || strchr(b64, s[i]) == NULL)
            return 0;
    return 1;
}

/* An X-XT-* value (trimmed: v[0..n)), at most once each and bounded. */
static void auth_header(fill_t *f, int i, const char *v, size_t n)
{
    xt_http_auth_t *a = &f->req->auth;
    uint8_t bit = (uint8_t)(1u << i);
    if ((a->seen & bit) || f->val_over || n > XT_AUTH_VALUE_MAX) {
        a->bad |= bit;
        a->v[i][0] = '\0';
    } else { /* seen first here: bad cannot be set yet (it is only set with seen) */
        memcpy(a->v[i], v, n);
        a->v[i][n] = '\0';
    }
    a->seen |= bit;
}

/* The value of the header just read is complete. */
static void header_done(fill_t *f)
{
    const char *v = f->val;
    size_t a = 0, b = f->val_len;
    while (a < b && is_ows(v[a]))
        a++;
    while (b > a && is_ows(v[b - 1]))
        b--;
    switch (f->hdr) {
    case H_UPGRADE: f->upgrade_ws |= has_token(v, f->val_len, "websocket"); break;
    case H_CONNECTION: f->connection_upgrade |= has_token(v, f->val_len, "upgrade"); break;
    case H_WS_VERSION:
        f->req->ws_version_ok = (uint8_t)((f->version_seen++ == 0 || f->req->ws_version_ok) && b - a == 2 &&
                                          v[a] == '1' && v[a + 1] == '3');
        break;
    case H_WS_KEY:
        f->req->ws_key[0] = '\0';
        if (f->keys++ == 0 && ws_key_ok(v + a, b - a)) { /* two keys: none */
            memcpy(f->req->ws_key, v + a, b - a);
            f->req->ws_key[b - a] = '\0';
        }
        break;
    case H_TRANSFER_ENCODING: f->err = XT_EPARSE; break;
    case H_HOST: f->req->hosts += f->req->hosts < 2; break;
    case H_OTHER: break;
    default: auth_header(f, f->hdr - H_XT_AUTH, v + a, b - a); break;
    }
}

static int on_url(http_parser *hp, const char *at, size_t n)
{
    fill_t *f = hp->data;
    if (n > sizeof f->url - f->url_len) {
        f->err = XT_ERANGE;
        return 1;
    }
    memcpy(f->url + f->url_len, at, n);
    f->url_len += n;
    return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t n)
{
    fill_t *f = hp->data;
    /* White space in a name, "Host : x" above all: http-parser takes it
     * (not built strict); RFC 9112 5.1 says a server MUST refuse it (400),
     * as a proxy in front may read the head another way. */
    if (memchr(at, ' ', n) || memchr(at, '\t', n)) {
        f->err = XT_EPARSE;
        return 1;
    }
    if (f->in_value) {
        header_done(f);
        if (f->err)
            return 1;
        f->in_value = 0;
        f->name_len = 0;
    }
    if (f->name_len < sizeof f->name) {
        size_t k = n < sizeof f->name - f->name_len ? n : sizeof f->name - f->name_len;
        memcpy(f->name + f->name_len, at, k);
    }
    f->name_len = n > sizeof f->name - f->name_len ? sizeof f->name : f->name_len + n;
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t n)
{
    fill_t *f = hp->data;
    size_t sep = 0;
    if (!f->in_value) {
        f->in_value = 1;
        f->hdr = header_id(f);
        f->val_len = 0;
        f->val_over = 0;
    } else {
        sep = 1; /* the whole head is in one buffer: only a folded line splits a value */
    }
    if (f->hdr == H_OTHER || f->hdr == H_HOST) /* Host: only counted */
        return 0;
    if (f->val_over)
        return 0;
    if (sep + n > sizeof f->val - f->val_len) {
        if (f->hdr >= H_XT_AUTH) { /* not a reason to refuse the head: the request is refused as unsigned */
            f->val_over = 1;
            return 0;
        }
        f->err = XT_ERANGE;
        return 1;
    }
    if (sep)
        f->val[f->val_len++] = ' ';
    memcpy(f->val + f->val_len, at, n);
    f->val_len += n;
    return 0;
}

static int fill_headers_complete(http_parser *hp)
{
    fill_t *f = hp->data;
    xt_http_req_t *req = f->req;
    if (f->in_value)
        header_done(f);
    if (f->err)
        return -1;
    if (hp->http_major != 1 || hp->http_minor > 1) {
        f->err = XT_EPARSE;
        return -1;
    }
    req->method = (int)hp->method;
    req->keep_alive = (uint8_t)(http_should_keep_alive(hp) != 0);
    req->http_1_1 = (uint8_t)(hp->http_minor == 1);
    req->upgrade_websocket = (uint8_t)(f->upgrade_ws && f->connection_upgrade);
    req->content_length = (hp->flags & F_CONTENTLENGTH) ? hp->content_length : 0;
    return 1; /* no body: the caller reads it */
}

/* Copies field uf of the parsed URL into dst[cap] (NUL-terminated). */
static int url_field(const fill_t *f, const struct http_parser_url *u, int uf, char *dst, size_t cap)
{
    size_t off = 0, n = 0;
    if (u->field_set & (1u << uf))
        off = u->field_data[uf].off, n = u->field_data[uf].len;
    if (n >= cap)
        return XT_ERANGE;
    memcpy(dst, f->url + off, n);
    dst[n] = '\0';
    return 0;
}

/* Parses the complete head buf[0..len) into req. Returns len or an error. */
static int head_fill(const uint8_t *buf, size_t len, xt_http_req_t *req)
{
    static const http_parser_settings settings = {
        .on_url = on_url,
        .on_header_field = on_header_field,
        .on_header_value = on_header_value,
        .on_headers_complete = fill_headers_complete,
        .on_message_complete = pause_at_message_complete,
    };
    fill_t f;
    memset(&f, 0, sizeof f);
    memset(req, 0, sizeof *req);
    f.req = req;
    http_parser hp;
    http_parser_init(&hp, HTTP_REQUEST);
    hp.data = &f;
    (void)http_parser_execute(&hp, &settings, (const char *)buf, len);
    if (f.err)
        return f.err;
    if (HTTP_PARSER_ERRNO(&hp) != HPE_PAUSED && !hp.upgrade)
        return XT_EPARSE; /* cannot be: the scan found this head whole */
    struct http_parser_url u;
    memset(&u, 0, sizeof u);
    if (http_parser_parse_url(f.url, f.url_len, req->method == HTTP_CONNECT, &u) != 0)
        return XT_EPARSE;
    memcpy(req->target, f.url, f.url_len); /* f.url_len <= XT_HTTP_TARGET_MAX: on_url checked it */
    req->target[f.url_len] = '\0';
    int rc = url_field(&f, &u, UF_PATH, req->path, sizeof req->path);
    if (rc == 0)
        rc = url_field(&f, &u, UF_QUERY, req->query, sizeof req->query);
    if (rc == 0 && req->path[0] == '\0' && (u.field_set & (1u << UF_SCHEMA)))
        strcpy(req->path, "/"); /* absolute-form without a path */
    return rc != 0 ? rc : (int)len;
}

int xt_http_parse_head(xt_http_parser_t *p, const uint8_t *buf, size_t len, xt_http_req_t *req)
{
    head_state_t st;
    memcpy(&st, p->opaque, sizeof st);
    int rc = head_scan(&st, buf, len);
    memcpy(p->opaque, &st, sizeof st);
    if (rc <= 0)
        return rc;
    return head_fill(buf, (size_t)rc, req);
}

/* ---- HTTP responses ------------------------------------------------------------------ */

int xt_ws_handshake_response(const char *key, char *out, size_t cap)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(c, key, strlen(key)) == 1 &&
             EVP_DigestUpdate(c, guid, sizeof guid - 1) == 1 && EVP_DigestFinal_ex(c, md, &mdn) == 1 && mdn == 20;
    EVP_MD_CTX_free(c);
    if (!ok)
        return XT_ENOMEM;
    unsigned char accept[32]; /* 28 characters and a NUL */
    EVP_EncodeBlock(accept, md, 20);
    char tmp[160];
    int n = snprintf(tmp, sizeof tmp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n",
                     (const char *)accept);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return XT_ERANGE;
    if ((size_t)n > cap)
        return XT_ERANGE;
    memcpy(out, tmp, (size_t)n + ((size_t)n < cap)); /* with the NUL when it fits */
    return n;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

int xt_http_response(char *out, size_t cap, int status, const char *content_type, const char *body, size_t body_len,
                     int keep_alive)
{
    if (status < 100 || status > 599 || (body == NULL && body_len > 0))
        return XT_EINVAL;
    if (content_type != NULL) {
        size_t cn = strlen(content_type);
        if (cn > 127)
            return XT_EINVAL;
        for (size_t i = 0; i < cn; i++)
            if ((unsigned char)content_type[i] < 0x20 || content_type[i] == 0x7F)
                return XT_EINVAL;
    }
    char head[384];
    int n =
        snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%s%s%s%sContent-Length: %zu\r\nConnection: %s\r\n\r\n", status,
                 reason_phrase(status), content_type ? "Content-Type: " : "", content_type ? content_type : "",
                 content_type ? "\r\n" : "", status == 426 ? "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" : "",
                 body_len, keep_alive ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= sizeof head)
        return XT_ERANGE;
    if (body_len > cap || (size_t)n > cap - body_len || (size_t)n + body_len > 0x7FFFFFFF)
        return XT_ERANGE;
    memcpy(out, head, (size_t)n);
    if (body_len > 0)
        memcpy(out + n, body, body_len);
    return n + (int)body_len;
}

int xt_http_add_allow(char *out, size_t cap, int n, const char *methods)
{
    if (n < 0)
        return n;
    char h[128];
    int hn = snprintf(h, sizeof h, "Allow: %s\r\n", methods);
    const char *eol = memchr(out, '\n', (size_t)n);
    if (!eol || hn < 0 || (size_t)hn >= sizeof h)
        return XT_EINVAL;
    size_t at = (size_t)(eol - out) + 1, add = (size_t)hn;
    if (add > cap || (size_t)n > cap - add)
        return XT_ERANGE;
    memmove(out + at + add, out + at, (size_t)n - at);
    memcpy(out + at, h, add);
    return n + (int)add;
}

/* ---- outbound frames ----------------------------------------------------------------- */

size_t xt_ws_frame_header(uint8_t out[XT_WS_HEADER_MAX], int opcode, uint64_t len)
{
    assert(len >> 63 == 0);
    out[0] = (uint8_t)(0x80u | ((unsigned)opcode & 0x0Fu));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t xt_ws_header_size(const uint8_t *h, size_t have)
{
    if (have < 2)
        return 2;
    size_t len7 = h[1] & 0x7F;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
}

uint64_t xt_ws_header_payload_len(const uint8_t *h)
{
    uint64_t len = h[1] & 0x7F;
    if (len == 126)
        return (uint64_t)h[2] << 8 | h[3];
    if (len == 127) {
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | h[i];
    }
    return len;
}

size_t xt_ws_close_frame(uint8_t *out, uint16_t code, const char *reason)
{
    size_t rn = 0;
    if (code != 0 && reason != NULL) {
        rn = strnlen(reason, 124);
        if (rn > 123) { /* cut before the character that straddles byte 123 */
            rn = 123;
            while (rn > 0 && ((uint8_t)reason[rn] & 0xC0) == 0x80)
                rn--;
        }
    }
    out[0] = 0x80 | XT_WS_OP_CLOSE;
    if (code == 0) {
        out[1] = 0;
        return 2;
    }
    out[1] = (uint8_t)(2 + rn);
    out[2] = (uint8_t)(code >> 8);
    out[3] = (uint8_t)code;
    if (rn > 0)
        memcpy(out + 4, reason, rn);
    return 4 + rn;
}
