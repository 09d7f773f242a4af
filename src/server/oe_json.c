/* oe_json.c - order entry in JSON: requests to frames, messages to JSON
 * (see oe_json.h). */
#include "oe_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/le.h"
#include "metrics.h" /* xt_text_t */
#include "xt/decimal.h"
#include "xt/error.h"
#include "xt/types.h"

static const struct {
    const char *name;
    int kind;
} op_names[] = {{"order.new", XT_OE_NEW},
                {"order.cancel", XT_OE_CANCEL},
                {"order.amend", XT_OE_AMEND},
                {"order.mass_cancel", XT_OE_MASS_CANCEL},
                {"order.status", XT_OE_STATUS}};

int xt_oe_op(const char *name)
{
    for (size_t i = 0; name && i < sizeof op_names / sizeof op_names[0]; i++)
        if (strcmp(name, op_names[i].name) == 0)
            return op_names[i].kind;
    return 0;
}

/* why = what + rest ("qty" " must be ..."). */
static int fail(char *why, size_t n, const char *what, const char *rest)
{
    snprintf(why, n, "%s%s", what, rest);
    return -1;
}

/* An unsigned id: a JSON integer >= 0 or a string of decimal digits (for
 * clients whose numbers are doubles). Absent: *v untouched, 0. */
static int get_u64(json_t *args, const char *name, uint64_t *v, char *why, size_t n)
{
    json_t *j = json_object_get(args, name);
    if (!j)
        return 0;
    if (json_is_integer(j) && json_integer_value(j) >= 0) {
        *v = (uint64_t)json_integer_value(j);
        return 0;
    }
    const char *s = json_string_value(j);
    size_t len = s ? json_string_length(j) : 0;
    if (!s || len == 0 || len > 20 || strspn(s, "0123456789") != len)
        return fail(why, n, name, " must be a non-negative integer (or a string of digits)");
    uint64_t x = 0; /* the whole u64 range, as the binary protocol's ids */
    for (size_t k = 0; k < len; k++) {
        unsigned d = (unsigned)(s[k] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return fail(why, n, name, " is past 18446744073709551615");
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

/* A client order id the request chose: any but UINT64_MAX, which stands
 * for "none chosen" (OE_ID_NEXT, md_oe_internal.h). */
static int get_clordid(json_t *args, uint64_t *v, char *why, size_t n)
{
    uint64_t x = *v;
    if (get_u64(args, "client_order_id", &x, why, n))
        return -1;
    if (x == UINT64_MAX && json_object_get(args, "client_order_id"))
        return fail(why, n, "client_order_id", " is at most 18446744073709551614 here");
    *v = x;
    return 0;
}

/* One of names[0..count) (case-insensitive), its index plus `base`; absent:
 * *v untouched. */
static int get_enum(json_t *args, const char *name, const char *const *names, int count, int base, uint8_t *v,
                    char *why, size_t n)
{
    json_t *j = json_object_get(args, name);
    if (!j)
        return 0;
    const char *s = json_string_value(j);
    for (int k = 0; s && k < count; k++)
        if (strcasecmp(s, names[k]) == 0) {
            *v = (uint8_t)(base + k);
            return 0;
        }
    return fail(why, n, name, " has an unknown value");
}

/* Decimals of s[0..len) after its point, trailing zeros not counted. */
static size_t decimals(const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    if (!dot)
        return 0;
    size_t n = len - (size_t)(dot + 1 - s);
    while (n > 0 && dot[n] == '0')
        n--;
    return n;
}

/* A price or quantity: a decimal string (or a JSON integer) that is a whole
 * number of `unit`, as units. Absent: *v untouched. */
static int get_units(json_t *args, const char *name, xt_decimal_t unit, int64_t *v, char *why, size_t n)
{
    json_t *j = json_object_get(args, name);
    if (!j)
        return 0;
    char buf[64];
    const char *s = json_string_value(j);
    size_t len = s ? json_string_length(j) : 0;
    if (json_is_integer(j)) {
        len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(j));
        s = buf;
    }
    xt_decimal_t d;
    int64_t u;
    int rc = s ? xt_decimal_parse(s, len, &d) : XT_EPARSE;
    if (rc == XT_ERANGE && decimals(s, len) > XT_DECIMAL_MAX_SCALE)
        return fail(why, n, name, " is out of range: more than 18 decimals");
    if (rc == XT_ERANGE)
        return fail(why, n, name, " is out of range: more digits than a 63-bit mantissa holds (18 always fit)");
    if (rc != 0)
        return fail(why, n, name, " must be a decimal string");
    if (xt_decimal_to_units(d, unit, &u) != 0 || u <= 0)
        return fail(why, n, name, " must be a positive whole number of the instrument's tick (price) or lot (qty)");
    *v = u;
    return 0;
}

/* args' symbol into *sym and *id: 0, XT_ENOENT when no instrument has
 * that name, -1 when it is missing. */
static int get_symbol(const xt_oe_insts_t *in, json_t *args, const xt_md_sym_t **sym, uint32_t *id, char *why, size_t n)
{
    const char *s = json_string_value(json_object_get(args, "symbol"));
    if (!s)
        return fail(why, n, "symbol is required", "");
    if (!(*sym = in->by_symbol(in->ctx, s, id))) {
        size_t len = json_string_length(json_object_get(args, "symbol"));
        /* named as GET's answers name it, when it could be a symbol at all (no cut UTF-8 sequence) */
        snprintf(why, n, "unknown symbol%s%s", len <= XT_SYMBOL_MAX ? " " : "", len <= XT_SYMBOL_MAX ? s : "");
        return XT_ENOENT;
    }
    return 0;
}

static int new_order(const xt_oe_insts_t *in, json_t *args, uint64_t clordid, uint8_t *f, uint64_t *key, char *why,
                     size_t n)
{
    static const char *const sides[] = {"buy", "sell"}, *const types[] = {"limit", "market"},
                             *const tifs[] = {"gtc", "ioc", "fok", "post"}, *const stps[] = {"none", "cn", "co", "cb"};
    xt_msg_new_order_t m = {.clordid = clordid, .side = 255, .type = XT_LIMIT};
    const xt_md_sym_t *sym;
    int rc = get_symbol(in, args, &sym, &m.instrument, why, n);
    if (rc)
        return rc;
    if (get_clordid(args, &m.clordid, why, n) || get_enum(args, "side", sides, 2, XT_BUY, &m.side, why, n) ||
        get_enum(args, "type", types, 2, XT_LIMIT, &m.type, why, n) ||
        get_enum(args, "tif", tifs, 4, XT_GTC, &m.tif, why, n) ||
        get_enum(args, "stp", stps, 4, XT_STP_NONE, &m.stp, why, n) || get_units(args, "qty", sym->lot, &m.qty, why, n))
        return -1;
    if (m.side == 255)
        return fail(why, n, "side is required", "");
    if (m.qty == 0)
        return fail(why, n, "qty is required", "");
    if (m.type == XT_LIMIT && get_units(args, "price", sym->tick, &m.price, why, n))
        return -1;
    if (m.type == XT_LIMIT && m.price == 0)
        return fail(why, n, "a limit order needs a price", "");
    if (m.type == XT_MARKET && json_object_get(args, "price"))
        return fail(why, n, "a market order has no price", "");
    if (m.clordid == 0)
        return fail(why, n, "client_order_id is required (a positive integer)", "");
    *key = m.clordid;
    return (int)xt_wire_put_new_order(f, &m);
}

/* The order a cancel, amend or status names: order_id (path or args) or
 * orig_client_order_id, exactly one. */
static int target(json_t *args, int64_t path_id, uint64_t *orig, int64_t *id, char *why, size_t n)
{
    uint64_t oid = 0;
    if (get_u64(args, "orig_client_order_id", orig, why, n) || get_u64(args, "order_id", &oid, why, n))
        return -1;
    if (oid >= INT64_MAX) /* 2^63 - 1 stands for "none" on the binary protocol */
        return fail(why, n, "order_id is out of range (at most 9223372036854775806)", "");
    if (path_id && json_object_get(args, "order_id")) /* (REST: which of the two was meant is not known) */
        return fail(why, n, "order_id is in the path: the body names no order", "");
    *id = path_id ? path_id : (int64_t)oid;
    if ((*orig == 0) == (*id == 0))
        return fail(why, n, "name the order by exactly one of order_id and orig_client_order_id", "");
    return 0;
}

/* The members each request takes, by xt_oe_kind (oe_json.h): any other is
 * refused, so that a misspelt one ("time_in_force" for "tif",
 * "clientOrderId") never places an order other than the one meant. The
 * mass cancel says so its own way (below). */
static const char *const new_members[] = {"symbol",          "side", "type", "tif", "stp", "price", "qty",
                                          "client_order_id", NULL},
                         *const cancel_members[] = {"client_order_id", "order_id", "orig_client_order_id", NULL},
                         *const amend_members[] = {"symbol",   "client_order_id",
                                                   "order_id", "orig_client_order_id",
                                                   "price",    "qty",
                                                   NULL},
                         *const status_members[] = {"order_id", "orig_client_order_id", NULL};
static const char *const *const members[] = {[XT_OE_NEW] = new_members,
                                             [XT_OE_CANCEL] = cancel_members,
                                             [XT_OE_AMEND] = amend_members,
                                             [XT_OE_STATUS] = status_members};

int xt_oe_members_only(json_t *args, const char *const *names, char *why, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach(args, k, v) /* (nothing for args not an object) */
    {
        size_t i = 0;
        while (names[i] && strcmp(names[i], k) != 0)
            i++;
        if (!names[i]) {
            char name[40]; /* a long one cut at 32 bytes: the message is a few dozen */
            snprintf(name, sizeof name, "%.32s%s", k, strlen(k) > 32 ? "..." : "");
            return fail(why, n, "args has an unknown member: ", name);
        }
    }
    return 0;
}

int xt_oe_frame(const xt_oe_insts_t *in, int kind, json_t *args, uint64_t clordid, int64_t order_id, uint8_t *f,
                uint64_t *key, char *why, size_t n)
{
    why[0] = '\0';
    if (!json_is_object(args) &&
        !((args == NULL || json_is_null(args)) && kind == XT_OE_MASS_CANCEL)) /* all optional */
        return fail(why, n, "args must be an object", "");
    if (kind > 0 && (size_t)kind < sizeof members / sizeof members[0] && members[kind] &&
        xt_oe_members_only(args, members[kind], why, n))
        return -1;
    uint64_t orig = 0;
    int64_t id = 0;
    switch (kind) {
    case XT_OE_NEW: return new_order(in, args, clordid, f, key, why, n);
    case XT_OE_CANCEL: {
        xt_msg_cancel_t m = {.clordid = clordid};
        if (get_clordid(args, &m.clordid, why, n) || target(args, order_id, &orig, &id, why, n))
            return -1;
        if (m.clordid == 0)
            return fail(why, n, "client_order_id (of this cancel request) is required", "");
        m.orig_clordid = orig;
        m.order_id = id;
        *key = m.clordid;
        return (int)xt_wire_put_cancel(f, &m);
    }
    case XT_OE_AMEND: {
        xt_msg_amend_t m = {.clordid = clordid};
        uint32_t inst = 0;
        const xt_md_sym_t *sym;
        int rc = get_symbol(in, args, &sym, &inst, why, n);
        if (rc)
            return rc;
        if (get_clordid(args, &m.clordid, why, n) || target(args, order_id, &orig, &id, why, n) ||
            get_units(args, "price", sym->tick, &m.price, why, n) || get_units(args, "qty", sym->lot, &m.qty, why, n))
            return -1;
        if (m.qty == 0)
            return fail(why, n, "qty is required, above 0", "");
        if (m.clordid == 0) /* none given, and the session's next is past the last */
            return fail(why, n, "client_order_id (of this amend request) is required", "");
        m.orig_clordid = orig;
        m.order_id = id;
        m.instrument = inst; /* the order must be on it: price and qty were read in its units */
        *key = m.clordid;
        return (int)xt_wire_put_amend_checked(f, &m);
    }
    case XT_OE_MASS_CANCEL: {
        xt_msg_mass_cancel_t m = {clordid, UINT32_MAX};
        const xt_md_sym_t *sym;
        /* a misspelt symbol must not widen the cancel to every instrument */
        for (void *it = json_is_object(args) ? json_object_iter(args) : NULL; it;
             it = json_object_iter_next(args, it)) {
            const char *k = json_object_iter_key(it);
            if (strcmp(k, "symbol") != 0)
                return fail(why, n, "a mass cancel takes only symbol (left out: every instrument), not ", k);
        }
        int rc = json_object_get(args, "symbol") ? get_symbol(in, args, &sym, &m.instrument, why, n) : 0;
        if (rc)
            return rc;
        *key = clordid;
        return (int)xt_wire_put_mass_cancel(f, &m);
    }
    case XT_OE_STATUS: {
        xt_msg_order_status_t m = {.request_id = clordid};
        if (target(args, order_id, &m.orig_clordid, &m.order_id, why, n))
            return -1;
        *key = clordid;
        return (int)xt_wire_put_order_status(f, &m);
    }
    default: return fail(why, n, "unknown op", "");
    }
}

/* ---- server messages ------------------------------------------------------------ */

static void lower(const char *s, char *b, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        b[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    b[i] = '\0';
}

/* "symbol":"..","side":"buy" and, with sym, decimals in its units. */
static const xt_md_sym_t *put_inst(const xt_oe_insts_t *in, xt_text_t *o, uint32_t id)
{
    const xt_md_sym_t *sym = in->by_id(in->ctx, id);
    if (sym)
        xt_text_printf(o, ",\"symbol\":\"%s\"", sym->symbol);
    else
        xt_text_printf(o, ",\"symbol\":null");
    return sym;
}

static void put_side(xt_text_t *o, const char *name, int side)
{
    char b[16];
    lower(xt_side_name(side), b, sizeof b);
    xt_text_printf(o, ",\"%s\":\"%s\"", name, b);
}

/* "client_order_id":..,"order_id":..,"symbol":..,"side":..: the order a
 * message is about. Returns its instrument (NULL: unknown, decimals null). */
static const xt_md_sym_t *put_order(const xt_oe_insts_t *in, xt_text_t *o, uint64_t clordid, int64_t order_id,
                                    uint32_t instrument, int side)
{
    xt_text_printf(o, ",\"client_order_id\":%llu,\"order_id\":%lld", (unsigned long long)clordid, (long long)order_id);
    const xt_md_sym_t *sym = put_inst(in, o, instrument);
    put_side(o, "side", side);
    return sym;
}

static void put_units(xt_text_t *o, const char *name, int64_t v, const xt_md_sym_t *sym, int lot)
{
    char b[XT_DECIMAL_BUFSZ];
    if (!sym || v == XT_PRICE_NONE)
        xt_text_printf(o, ",\"%s\":null", name);
    else {
        xt_units_format(v, lot ? sym->lot : sym->tick, b);
        xt_text_printf(o, ",\"%s\":\"%s\"", name, b);
    }
}

static void put_order_kind(xt_text_t *o, int type, int tif, int stp)
{
    char a[16], b[16], c[16];
    lower(xt_ord_type_name(type), a, sizeof a);
    lower(xt_tif_name(tif), b, sizeof b);
    lower(xt_stp_name(stp), c, sizeof c);
    xt_text_printf(o, ",\"type\":\"%s\",\"tif\":\"%s\"", a, b);
    if (stp >= 0)
        xt_text_printf(o, ",\"stp\":\"%s\"", c);
}

static void put_reason(xt_text_t *o, int reason)
{
    const char *r = xt_wire_reason_name(reason);
    xt_text_printf(o, ",\"reason\":\"%s\"", r ? r : "UNKNOWN");
}

static void msg_accepted(const xt_oe_insts_t *in, xt_text_t *o, const uint8_t *f)
{
    xt_msg_accepted_t m;
    xt_wire_get_accepted(f, &m);
    const xt_md_sym_t *sym = put_order(in, o, m.clordid, m.order_id, m.instrument, m.side);
    put_order_kind(o, m.type, m.tif, m.stp);
    put_units(o, "price", m.type == XT_MARKET ? XT_PRICE_NONE : m.price, sym, 0);
    put_units(o, "qty", m.qty, sym, 1);
    xt_text_printf(o, ",\"ts\":%lld", (long long)m.ts);
}

static void msg_rejected(const xt_oe_insts_t *in, xt_text_t *o, const uint8_t *f)
{
    xt_msg_rejected_t m;
    xt_wire_get_rejected(f, &m);
    static const char *const reqs[] = {[XT_MSG_NEW_ORDER] = "new",
                                       [XT_MSG_CANCEL] = "cancel",
                                       [XT_MSG_AMEND] = "amend",
                                       [XT_MSG_MASS_CANCEL] = "mass_cancel",
                                       [XT_MSG_ORDER_STATUS] = "status"};
    const char *req = m.request < sizeof reqs / sizeof reqs[0] && reqs[m.request] ? reqs[m.request] : "unknown";
    xt_text_printf(o, ",\"client_order_id\":%llu,\"order_id\":%lld,\"request\":\"%s\"", (unsigned long long)m.clordid,
                   (long long)m.order_id, req);
    put_reason(o, m.reason);
    if (m.request == XT_MSG_NEW_ORDER)
        put_inst(in, o, m.instrument);
    xt_text_printf(o, ",\"ts\":%lld", (long long)m.ts);
}

static void msg_fill(const xt_oe_insts_t *in, xt_text_t *o, const uint8_t *f)
{
    xt_msg_fill_t m;
    xt_wire_get_fill(f, &m);
    xt_text_printf(o, ",\"client_order_id\":%llu,\"order_id\":%lld,\"trade_id\":%llu", (unsigned long long)m.clordid,
                   (long long)m.order_id, (unsigned long long)m.trade_id);
    const xt_md_sym_t *sym = put_inst(in, o, m.instrument);
    put_side(o, "side", m.side);
    xt_text_printf(o, ",\"liquidity\":\"%s\"", m.liquidity == XT_LIQ_MAKER ? "maker" : "taker");
    put_units(o, "price", m.price, sym, 0);
    put_units(o, "qty", m.qty, sym, 1);
    put_units(o, "remaining", m.remaining, sym, 1);
    xt_text_printf(o, ",\"ts\":%lld", (long long)m.ts);
}

static void msg_canceled(const xt_oe_insts_t *in, xt_text_t *o, const uint8_t *f)
{
    xt_msg_canceled_t m;
    xt_wire_get_canceled(f, &m);
    const xt_md_sym_t *sym = put_order(in, o, m.clordid, m.order_id, m.instrument, m.side);
    put_reason(o, m.reason);
    put_units(o, "qty", m.qty, sym, 1);
    xt_text_printf(o, ",\"request_client_order_id\":%llu,\"ts\":%lld", (unsigned long long)m.request_clordid,
                   (long long)m.ts);
}

static void msg_amended(const xt_oe_insts_t *in, xt_text_t *o, const uint8_t *f)
{
    xt_msg_amended_t m;
    xt_wire_get_amended(f, &m);
    xt_text_printf(o, ",\"client_order_id\":%llu,\"order_id\":%lld,\"orig_client_order_id\":%llu",
                   (unsigned long long)m.clordid, (long long)m.order_id, (unsigned long long)m.orig_clordid);
    const xt_md_sym_t *sym = put_inst(in, o, m.instrument);
    put_units(o, "price", m.price, sym, 0);
    put_units(o, "qty", m.qty, sym, 1);
    /* price_ticks / qty_lots: as before AMENDED named its instrument */
    xt_text_printf(o, ",\"price_ticks\":%lld,\"qty_lots\":%lld,\"priority_kept\":%s,\"ts\":%lld", (long long)m.price,
                   (long long)m.qty, m.priority_kept ? "true" : "false", (long long)m.ts);
}

static void msg_status(const xt_oe_insts_t *in, xt_text_t *o, const uint8_t *f)
{
    xt_msg_status_reply_t m;
    xt_wire_get_status_reply(f, &m);
    xt_text_printf(o, ",\"request_id\":%llu,\"status\":\"%s\"", (unsigned long long)m.request_id,
                   m.status == XT_OS_OPEN ? "open" : "unknown");
    if (m.status != XT_OS_OPEN)
        return;
    const xt_md_sym_t *sym = put_order(in, o, m.clordid, m.order_id, m.instrument, m.side);
    put_order_kind(o, m.type, m.tif, -1);
    put_units(o, "price", m.price, sym, 0);
    put_units(o, "remaining", m.remaining, sym, 1);
    put_units(o, "filled", m.filled, sym, 1);
}

size_t xt_oe_json(const xt_oe_insts_t *in, const uint8_t *f, const xt_wire_hdr_t *h, char *out, size_t cap)
{
    xt_text_t o = {out, cap, 0, 0};
    const char *name = NULL;
    switch (h->type) {
    case XT_MSG_ACCEPTED: name = "accepted"; break;
    case XT_MSG_REJECTED: name = "rejected"; break;
    case XT_MSG_FILL: name = "fill"; break;
    case XT_MSG_CANCELED: name = "canceled"; break;
    case XT_MSG_AMENDED: name = "amended"; break;
    case XT_MSG_STATUS_REPLY: name = "status"; break;
    case XT_MSG_MASS_CANCEL_ACK: name = "mass_cancel_ack"; break;
    default: return 0;
    }
    xt_text_printf(&o, "\"event\":\"%s\",\"seq\":%llu,\"sequenced\":%s", name, (unsigned long long)h->seq,
                   (h->flags & XT_WF_SEQUENCED) ? "true" : "false");
    switch (h->type) {
    case XT_MSG_ACCEPTED: msg_accepted(in, &o, f); break;
    case XT_MSG_REJECTED: msg_rejected(in, &o, f); break;
    case XT_MSG_FILL: msg_fill(in, &o, f); break;
    case XT_MSG_CANCELED: msg_canceled(in, &o, f); break;
    case XT_MSG_AMENDED: msg_amended(in, &o, f); break;
    case XT_MSG_STATUS_REPLY: msg_status(in, &o, f); break;
    default: {
        xt_msg_mass_cancel_ack_t m;
        xt_wire_get_mass_cancel_ack(f, &m);
        xt_text_printf(&o, ",\"request_id\":%llu,\"canceled\":%u", (unsigned long long)m.request_id, m.canceled);
    }
    }
    return o.over ? 0 : o.len;
}

void xt_oe_outcome_add(xt_oe_outcome_t *o, const uint8_t *f, const xt_wire_hdr_t *h)
{
    if (h->type == XT_MSG_FILL) {
        xt_msg_fill_t m;
        xt_wire_get_fill(f, &m);
        o->fills++;
        o->filled += m.qty;
        o->remaining = m.remaining;
    } else if (h->type == XT_MSG_CANCELED) {
        xt_msg_canceled_t m;
        xt_wire_get_canceled(f, &m);
        o->state = XT_OE_CANCELED;
        o->cancel_reason = m.reason;
        o->remaining = 0;
    }
}

void xt_oe_outcome_end(xt_oe_outcome_t *o, const xt_msg_status_reply_t *r)
{
    if (r && r->status == XT_OS_OPEN) {
        o->state = XT_OE_OPEN;
        o->remaining = r->remaining;
    } else if (o->state != XT_OE_CANCELED && o->fills > 0 && o->remaining == 0) {
        o->state = XT_OE_FILLED;
    } else if (o->state != XT_OE_CANCELED) {
        o->state = XT_OE_UNKNOWN; /* closed, and neither its last FILL nor a CANCELED came before the reply */
        o->remaining = 0;
    }
}

size_t xt_oe_outcome_json(const xt_oe_insts_t *in, const xt_oe_outcome_t *o, char *out, size_t cap)
{
    static const char *const states[] = {"unknown", "open", "filled", "canceled"};
    xt_text_t t = {out, cap, 0, 0};
    if (!o) {
        xt_text_printf(&t, ",\"outcome\":null");
        return t.over ? 0 : t.len;
    }
    const xt_md_sym_t *sym = in->by_id(in->ctx, o->instrument);
    xt_text_printf(&t, ",\"outcome\":{\"state\":\"%s\"", states[o->state <= XT_OE_CANCELED ? o->state : 0]);
    put_units(&t, "filled", o->filled, sym, 1);
    put_units(&t, "remaining", o->remaining, sym, 1);
    xt_text_printf(&t, ",\"fills\":%u", o->fills);
    const char *r = o->state == XT_OE_CANCELED ? xt_wire_reason_name(o->cancel_reason) : NULL;
    if (r)
        xt_text_printf(&t, ",\"cancel_reason\":\"%s\"}", r);
    else
        xt_text_printf(&t, ",\"cancel_reason\":null}");
    return t.over ? 0 : t.len;
}

uint64_t xt_oe_answer_key(const uint8_t *f, const xt_wire_hdr_t *h)
{
    if (h->type == XT_MSG_CANCELED) {
        xt_msg_canceled_t m;
        xt_wire_get_canceled(f, &m);
        return m.request_clordid;
    }
    if (h->type != XT_MSG_ACCEPTED && h->type != XT_MSG_REJECTED && h->type != XT_MSG_AMENDED &&
        h->type != XT_MSG_STATUS_REPLY && h->type != XT_MSG_MASS_CANCEL_ACK)
        return 0;
    return xt_get64(f + XT_WIRE_HDR); /* these carry it first: clordid or request_id */
}

int xt_oe_http_status(int reason)
{
    switch (reason) {
    case XT_R_RATE_LIMIT: return 429;
    case XT_R_OVERLOADED:
    case XT_R_SHUTTING_DOWN:
    case XT_R_JOURNAL_FAILED: return 503;
    case XT_R_DUPLICATE_CLORDID: return 409;
    case XT_R_UNKNOWN_ORDER:
    case XT_R_NOT_OWNER: return 404; /* another account's order is not shown to exist */
    default: return 400;
    }
}
