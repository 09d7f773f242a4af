/* replay.c - parser and formatter of the replay text format
 * (docs/replay-format.md). */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xt/decimal.h"
#include "xt/error.h"

#define MAX_TOKENS 12

typedef struct tok {
    const char *p;
    size_t n;
} tok_t;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int tok_is(tok_t t, const char *s)
{
    size_t n = strlen(s);
    return t.n == n && memcmp(t.p, s, n) == 0;
}

/* Quotes a token for an error message, shortened if long. */
static void quote(tok_t t, char *buf, size_t cap)
{
    size_t n = t.n < 24 ? t.n : 24;
    snprintf(buf, cap, "'%.*s%s'", (int)n, t.p, t.n > n ? "..." : "");
}

static int fail(char *err, int rc, const char *what, tok_t t)
{
    char q[40];
    quote(t, q, sizeof q);
    snprintf(err, XT_REPLAY_ERRSZ, "%s %s", what, q);
    return rc;
}

/* A positive integer no larger than max, digits only. */
static int parse_positive(tok_t t, uint64_t max, uint64_t *out)
{
    if (t.n == 0)
        return XT_EPARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return XT_EPARSE;
        unsigned d = (unsigned)(t.p[i] - '0');
        if (v > (max - d) / 10)
            return XT_ERANGE;
        v = v * 10 + d;
    }
    if (v == 0)
        return XT_ERANGE;
    *out = v;
    return 0;
}

static int parse_id(tok_t t, int64_t *id, char *err)
{
    uint64_t v;
    int rc = parse_positive(t, (uint64_t)INT64_MAX, &v);
    if (rc)
        return fail(err, rc, rc == XT_EPARSE ? "bad order id" : "order id must be 1..2^63-1, got", t);
    *id = (int64_t)v;
    return 0;
}

static int parse_account(tok_t t, uint32_t *acct, char *err)
{
    uint64_t v;
    int rc = parse_positive(t, UINT32_MAX, &v);
    if (rc)
        return fail(err, rc, rc == XT_EPARSE ? "bad account" : "account must be 1..2^32-1, got", t);
    *acct = (uint32_t)v;
    return 0;
}

static int parse_dec(tok_t t, const char *what, xt_decimal_t *out, char *err)
{
    int rc = xt_decimal_parse(t.p, t.n, out);
    if (rc == XT_ERANGE) {
        snprintf(err, XT_REPLAY_ERRSZ, "%s out of range", what);
        return rc;
    }
    if (rc) {
        char msg[48];
        snprintf(msg, sizeof msg, "bad %s", what);
        return fail(err, rc, msg, t);
    }
    return 0;
}

static int parse_instrument(tok_t *tk, int nt, xt_replay_line_t *out, char *err)
{
    if (nt < 4) {
        snprintf(err, XT_REPLAY_ERRSZ, "INSTRUMENT needs a symbol, tick= and lot=");
        return XT_EPARSE;
    }
    xt_instrument_def_t *d = &out->def;
    tok_t sym = tk[1];
    if (sym.n > XT_SYMBOL_MAX || !xt_symbol_valid(sym.p, sym.n))
        return fail(err, XT_EPARSE, "bad symbol (want [A-Za-z0-9._-]{1,16})", sym);
    memcpy(d->symbol, sym.p, sym.n);
    static const char *const keys[] = {"tick", "lot", "min", "max", "ref", "band"};
    xt_decimal_t *vals[] = {&d->tick, &d->lot, &d->min_qty, &d->max_qty, &d->ref_price, &d->band_pct};
    unsigned seen = 0;
    for (int i = 2; i < nt; i++) {
        const char *eq = memchr(tk[i].p, '=', tk[i].n);
        size_t kn = eq ? (size_t)(eq - tk[i].p) : 0;
        int k = -1;
        for (int j = 0; j < 6 && eq; j++)
            if (strlen(keys[j]) == kn && memcmp(keys[j], tk[i].p, kn) == 0)
                k = j;
        if (k < 0)
            return fail(err, XT_EPARSE, "unknown INSTRUMENT field", tk[i]);
        if (seen & (1u << k))
            return fail(err, XT_EPARSE, "repeated INSTRUMENT field", tk[i]);
        seen |= 1u << k;
        tok_t v = {eq + 1, tk[i].n - kn - 1};
        int rc = parse_dec(v, keys[k], vals[k], err);
        if (rc)
            return rc;
        int bad = k == 5 ? vals[k]->m < 0 : vals[k]->m <= 0;
        if (bad) {
            snprintf(err, XT_REPLAY_ERRSZ, "%s must be %s", keys[k], k == 5 ? ">= 0" : "> 0");
            return XT_EPARSE;
        }
    }
    if ((seen & 3u) != 3u) {
        snprintf(err, XT_REPLAY_ERRSZ, "INSTRUMENT needs tick= and lot=");
        return XT_EPARSE;
    }
    if (((seen >> 4) & 3u) == 1u || ((seen >> 4) & 3u) == 2u) {
        snprintf(err, XT_REPLAY_ERRSZ, "ref= and band= go together");
        return XT_EPARSE;
    }
    d->flags =
        (uint8_t)(((seen & 4u) ? XT_DEF_MIN : 0) | ((seen & 8u) ? XT_DEF_MAX : 0) | ((seen & 16u) ? XT_DEF_BAND : 0));
    if ((seen & 12u) == 12u && xt_decimal_cmp(d->max_qty, d->min_qty) < 0) {
        snprintf(err, XT_REPLAY_ERRSZ, "max is below min");
        return XT_EPARSE;
    }
    out->kind = XT_RL_INSTRUMENT;
    return 0;
}

static int parse_new(tok_t *tk, int nt, xt_replay_line_t *out, char *err)
{
    if (nt < 8 || nt > 10) {
        snprintf(err, XT_REPLAY_ERRSZ, "NEW takes 8 to 10 fields, got %d", nt);
        return XT_EPARSE;
    }
    int rc;
    if ((rc = parse_id(tk[1], &out->id, err)) || (rc = parse_account(tk[2], &out->account, err)))
        return rc;
    if (tk[3].n <= XT_SYMBOL_MAX)
        memcpy(out->symbol, tk[3].p, tk[3].n); /* validity is the engine's call */
    if (tok_is(tk[4], "BUY"))
        out->side = XT_BUY;
    else if (tok_is(tk[4], "SELL"))
        out->side = XT_SELL;
    else
        return fail(err, XT_EPARSE, "bad side (want BUY or SELL)", tk[4]);
    if (tok_is(tk[5], "LIMIT"))
        out->type = XT_LIMIT;
    else if (tok_is(tk[5], "MARKET"))
        out->type = XT_MARKET;
    else
        return fail(err, XT_EPARSE, "bad order type (want LIMIT or MARKET)", tk[5]);
    if (!tok_is(tk[6], "-")) {
        if ((rc = parse_dec(tk[6], "price", &out->price, err)))
            return rc;
        out->has_price = 1;
    }
    if ((rc = parse_dec(tk[7], "quantity", &out->qty, err)))
        return rc;
    static const char *const tifs[] = {"GTC", "IOC", "FOK", "POST"};
    static const char *const stps[] = {"STP=NONE", "STP=CN", "STP=CO", "STP=CB"};
    for (int i = 8; i < nt; i++) {
        int matched = 0;
        for (int j = 0; j < 4; j++) {
            if (tok_is(tk[i], tifs[j])) {
                if (out->tif)
                    return fail(err, XT_EPARSE, "time in force given twice:", tk[i]);
                out->tif = (uint8_t)(XT_GTC + j);
                matched = 1;
            } else if (tok_is(tk[i], stps[j])) {
                if (out->stp)
                    return fail(err, XT_EPARSE, "STP given twice:", tk[i]);
                out->stp = (uint8_t)(XT_STP_NONE + j);
                matched = 1;
            }
        }
        if (!matched)
            return fail(err, XT_EPARSE, "bad option (want GTC|IOC|FOK|POST or STP=NONE|CN|CO|CB)", tk[i]);
    }
    out->kind = XT_RL_NEW;
    return 0;
}

static int parse_cancel_amend(tok_t *tk, int nt, xt_replay_line_t *out, char *err, int amend)
{
    int want = amend ? 5 : 3;
    if (nt != want) {
        snprintf(err, XT_REPLAY_ERRSZ, "%s takes %d fields, got %d", amend ? "AMEND" : "CANCEL", want, nt);
        return XT_EPARSE;
    }
    int rc;
    if ((rc = parse_id(tk[1], &out->id, err)) || (rc = parse_account(tk[2], &out->account, err)))
        return rc;
    if (amend) {
        if (!tok_is(tk[3], "-")) {
            if ((rc = parse_dec(tk[3], "price", &out->price, err)))
                return rc;
            out->has_price = 1;
        }
        if ((rc = parse_dec(tk[4], "quantity", &out->qty, err)))
            return rc;
    }
    out->kind = amend ? XT_RL_AMEND : XT_RL_CANCEL;
    return 0;
}

/* SESSION_END <account> <session>: a gateway session's end, which the
 * journal holds and which takes a sequence number (docs/journal-format.md),
 * so that a dump replays to the same sequence numbers and state hash. */
static int parse_session_end(tok_t *tk, int nt, xt_replay_line_t *out, char *err)
{
    if (nt != 3) {
        snprintf(err, XT_REPLAY_ERRSZ, "SESSION_END takes 3 fields, got %d", nt);
        return XT_EPARSE;
    }
    uint64_t v;
    int rc = parse_account(tk[1], &out->account, err);
    if (rc)
        return rc;
    if ((rc = parse_positive(tk[2], UINT32_MAX, &v)) != 0)
        return fail(err, rc, rc == XT_EPARSE ? "bad session" : "session must be 1..2^32-1, got", tk[2]);
    out->session = (uint32_t)v;
    out->kind = XT_RL_SESSION_END;
    return 0;
}

int xt_replay_parse(const char *line, size_t len, xt_replay_line_t *out, char *err)
{
    memset(out, 0, sizeof *out);
    const char *hash = memchr(line, '#', len);
    if (hash)
        len = (size_t)(hash - line);
    tok_t tk[MAX_TOKENS + 1];
    int nt = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space(line[i]))
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && !is_space(line[i]))
            i++;
        if (nt == MAX_TOKENS + 1) {
            snprintf(err, XT_REPLAY_ERRSZ, "too many fields");
            return XT_EPARSE;
        }
        tk[nt].p = line + start;
        tk[nt].n = i - start;
        nt++;
    }
    if (nt == 0) {
        out->kind = XT_RL_BLANK;
        return 0;
    }
    for (int i = 0; i < nt; i++)
        for (size_t k = 0; k < tk[i].n; k++)
            if ((unsigned char)tk[i].p[k] < 0x20 || (unsigned char)tk[i].p[k] == 0x7f) {
                snprintf(err, XT_REPLAY_ERRSZ, "control character in field %d", i + 1);
                return XT_EPARSE;
            }
    if (nt > MAX_TOKENS) {
        snprintf(err, XT_REPLAY_ERRSZ, "too many fields");
        return XT_EPARSE;
    }
    if (tok_is(tk[0], "INSTRUMENT"))
        return parse_instrument(tk, nt, out, err);
    if (tok_is(tk[0], "NEW"))
        return parse_new(tk, nt, out, err);
    if (tok_is(tk[0], "CANCEL"))
        return parse_cancel_amend(tk, nt, out, err, 0);
    if (tok_is(tk[0], "AMEND"))
        return parse_cancel_amend(tk, nt, out, err, 1);
    if (tok_is(tk[0], "SESSION_END"))
        return parse_session_end(tk, nt, out, err);
    return fail(err, XT_EPARSE, "unknown command", tk[0]);
}

static int64_t to_price(const xt_replay_line_t *l, xt_decimal_t tick)
{
    int64_t v;
    if (!l->has_price)
        return XT_PRICE_NONE;
    if (xt_decimal_to_units(l->price, tick, &v))
        return XT_PRICE_INVALID;
    /* Keep the engine's own checks meaningful: a value that is a multiple
     * but lands on a sentinel is clamped to an ordinary invalid price. */
    return v < -XT_PRICE_MAX ? -1 : v;
}

static int64_t to_qty(const xt_replay_line_t *l, xt_decimal_t lot)
{
    int64_t v;
    if (xt_decimal_to_units(l->qty, lot, &v))
        return XT_QTY_INVALID;
    return v < -XT_QTY_MAX ? -1 : v;
}

void xt_replay_to_cmd(const xt_engine_t *e, const xt_replay_line_t *l, xt_cmd_t *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    xt_instrument_info_t info;
    switch (l->kind) {
    case XT_RL_INSTRUMENT:
        cmd->type = XT_CMD_INSTRUMENT;
        cmd->u.instrument = l->def;
        break;
    case XT_RL_NEW: {
        xt_order_new_t *o = &cmd->u.new_order;
        cmd->type = XT_CMD_NEW;
        o->id = l->id;
        o->account = l->account;
        o->side = l->side;
        o->type = l->type;
        o->tif = l->tif;
        o->stp = l->stp;
        o->instrument = xt_engine_find_symbol(e, l->symbol, strlen(l->symbol));
        o->price = XT_PRICE_INVALID;
        o->qty = XT_QTY_INVALID;
        if (o->instrument != XT_INSTRUMENT_NONE && xt_engine_instrument(e, o->instrument, &info) == 0) {
            o->price = to_price(l, info.def.tick);
            o->qty = to_qty(l, info.def.lot);
        }
        break;
    }
    case XT_RL_CANCEL:
        cmd->type = XT_CMD_CANCEL;
        cmd->u.cancel.id = l->id;
        cmd->u.cancel.account = l->account;
        break;
    case XT_RL_AMEND: {
        xt_order_amend_t *a = &cmd->u.amend;
        xt_order_info_t oi;
        cmd->type = XT_CMD_AMEND;
        a->id = l->id;
        a->account = l->account;
        a->price = XT_PRICE_INVALID;
        a->qty = XT_QTY_INVALID;
        if (xt_engine_order(e, l->id, &oi) == 0 && xt_engine_instrument(e, oi.instrument, &info) == 0) {
            a->price = to_price(l, info.def.tick);
            a->qty = to_qty(l, info.def.lot);
        }
        break;
    }
    case XT_RL_SESSION_END:
        cmd->type = XT_CMD_SESSION_END;
        cmd->u.session_end.account = l->account;
        cmd->u.session_end.session = l->session;
        break;
    default: break;
    }
}

/* ---- output ----------------------------------------------------------- */

/* Appends s at b + n, unterminated: the line is terminated when complete. */
static size_t put_str(char *b, size_t n, const char *s)
{
    size_t k = strlen(s);
    memcpy(b + n, s, k); /* NOLINT(bugprone-not-null-terminated-result) */
    return n + k;
}

static size_t put_i64(char *b, size_t n, int64_t v)
{
    char tmp[24];
    int k = 0;
    uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    do {
        tmp[k++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (v < 0)
        b[n++] = '-';
    while (k)
        b[n++] = tmp[--k];
    return n;
}

static size_t put_units(char *b, size_t n, int64_t units, xt_decimal_t unit)
{
    return n + (size_t)xt_units_format(units, unit, b + n);
}

size_t xt_replay_format_event(const xt_engine_t *e, const xt_event_t *ev, char *b)
{
    xt_instrument_info_t info;
    size_t n = 0;
    int need_inst = ev->type == XT_EV_TRADE || ev->type == XT_EV_CANCELED || ev->type == XT_EV_AMENDED;
    if (need_inst && xt_engine_instrument(e, ev->instrument, &info) != 0)
        return 0;
    switch (ev->type) {
    case XT_EV_ACCEPTED:
        n = put_str(b, n, "ACCEPTED ");
        n = put_i64(b, n, ev->order_id);
        break;
    case XT_EV_REJECTED:
        n = put_str(b, n, "REJECTED ");
        n = put_i64(b, n, ev->order_id);
        b[n++] = ' ';
        n = put_str(b, n, xt_reason_name(ev->reason));
        break;
    case XT_EV_TRADE:
        n = put_str(b, n, "TRADE ");
        n = put_str(b, n, info.symbol);
        b[n++] = ' ';
        n = put_units(b, n, ev->price, info.def.tick);
        b[n++] = ' ';
        n = put_units(b, n, ev->qty, info.def.lot);
        b[n++] = ' ';
        n = put_i64(b, n, ev->u.trade.maker_id);
        b[n++] = ' ';
        n = put_i64(b, n, ev->order_id);
        break;
    case XT_EV_CANCELED:
        n = put_str(b, n, "CANCELED ");
        n = put_i64(b, n, ev->order_id);
        b[n++] = ' ';
        n = put_units(b, n, ev->qty, info.def.lot);
        b[n++] = ' ';
        n = put_str(b, n, xt_reason_name(ev->reason));
        break;
    case XT_EV_AMENDED:
        n = put_str(b, n, "AMENDED ");
        n = put_i64(b, n, ev->order_id);
        b[n++] = ' ';
        n = put_units(b, n, ev->price, info.def.tick);
        b[n++] = ' ';
        n = put_units(b, n, ev->qty, info.def.lot);
        break;
    default: return 0;
    }
    b[n++] = '\n';
    b[n] = '\0';
    return n;
}

static size_t put_dec(char *b, size_t n, xt_decimal_t d)
{
    return n + (size_t)xt_decimal_format(d, b + n);
}

static size_t put_price(char *b, size_t n, int64_t ticks, const xt_instrument_info_t *in)
{
    if (ticks == XT_PRICE_NONE)
        return put_str(b, n, "-");
    if (!in || ticks == XT_PRICE_INVALID || ticks <= 0 || ticks > XT_PRICE_MAX)
        return ticks > 0 && ticks <= XT_PRICE_MAX ? put_i64(b, n, ticks) : put_str(b, n, "0");
    return put_units(b, n, ticks, in->def.tick);
}

static size_t put_qty(char *b, size_t n, int64_t lots, const xt_instrument_info_t *in)
{
    if (!in || lots == XT_QTY_INVALID || lots <= 0 || lots > XT_QTY_MAX)
        return lots > 0 && lots <= XT_QTY_MAX ? put_i64(b, n, lots) : put_str(b, n, "0");
    return put_units(b, n, lots, in->def.lot);
}

static size_t put_instrument(char *b, size_t n, const xt_instrument_def_t *d)
{
    n = put_str(b, n, "INSTRUMENT ");
    n = put_str(b, n, d->symbol);
    n = put_str(b, n, " tick=");
    n = put_dec(b, n, d->tick);
    n = put_str(b, n, " lot=");
    n = put_dec(b, n, d->lot);
    if (d->flags & XT_DEF_MIN) {
        n = put_str(b, n, " min=");
        n = put_dec(b, n, d->min_qty);
    }
    if (d->flags & XT_DEF_MAX) {
        n = put_str(b, n, " max=");
        n = put_dec(b, n, d->max_qty);
    }
    if (d->flags & XT_DEF_BAND) {
        n = put_str(b, n, " ref=");
        n = put_dec(b, n, d->ref_price);
        n = put_str(b, n, " band=");
        n = put_dec(b, n, d->band_pct);
    }
    return n;
}

size_t xt_replay_format_cmd(const xt_engine_t *e, const xt_cmd_t *c, char *b)
{
    size_t n = 0;
    xt_instrument_info_t info, *in = NULL;
    switch (c->type) {
    case XT_CMD_INSTRUMENT: n = put_instrument(b, n, &c->u.instrument); break;
    case XT_CMD_NEW: {
        const xt_order_new_t *o = &c->u.new_order;
        if (xt_engine_instrument(e, o->instrument, &info) == 0)
            in = &info;
        n = put_str(b, n, "NEW ");
        n = put_i64(b, n, o->id);
        b[n++] = ' ';
        n = put_i64(b, n, o->account);
        b[n++] = ' ';
        n = put_str(b, n, in ? in->symbol : "?");
        b[n++] = ' ';
        n = put_str(b, n, xt_side_name(o->side));
        b[n++] = ' ';
        n = put_str(b, n, xt_ord_type_name(o->type));
        b[n++] = ' ';
        n = put_price(b, n, o->price, in);
        b[n++] = ' ';
        n = put_qty(b, n, o->qty, in);
        if (o->tif != XT_TIF_DEFAULT) {
            b[n++] = ' ';
            n = put_str(b, n, xt_tif_name(o->tif));
        }
        if (o->stp != XT_STP_DEFAULT) {
            n = put_str(b, n, " STP=");
            n = put_str(b, n, xt_stp_name(o->stp));
        }
        break;
    }
    case XT_CMD_CANCEL:
        n = put_str(b, n, "CANCEL ");
        n = put_i64(b, n, c->u.cancel.id);
        b[n++] = ' ';
        n = put_i64(b, n, c->u.cancel.account);
        break;
    case XT_CMD_AMEND: {
        const xt_order_amend_t *a = &c->u.amend;
        xt_order_info_t o;
        if (xt_engine_order(e, a->id, &o) == 0 && xt_engine_instrument(e, o.instrument, &info) == 0)
            in = &info;
        n = put_str(b, n, "AMEND ");
        n = put_i64(b, n, a->id);
        b[n++] = ' ';
        n = put_i64(b, n, a->account);
        b[n++] = ' ';
        n = put_price(b, n, a->price, in);
        b[n++] = ' ';
        n = put_qty(b, n, a->qty, in);
        break;
    }
    case XT_CMD_SESSION_END:
        n = put_str(b, n, "SESSION_END ");
        n = put_i64(b, n, c->u.session_end.account);
        b[n++] = ' ';
        n = put_i64(b, n, c->u.session_end.session);
        break;
    default: n = put_str(b, n, "# unknown command"); break;
    }
    b[n++] = '\n';
    b[n] = '\0';
    return n;
}

const char *xt_replay_apply_error(int kind, int rc)
{
    if (kind == XT_RL_INSTRUMENT) {
        switch (rc) {
        case XT_EEXIST:
            return "instrument defined again with another tick, lot, min or max (only ref and band may change)";
        case XT_ECAPACITY: return "too many instruments (see --max-instruments)";
        case XT_EINVAL:
            return "invalid instrument definition: no whole lot between min and max, or a price band outside the price "
                   "range";
        default: break;
        }
    }
    return xt_strerror(rc);
}

int xt_replay_line_cmd(const xt_engine_t *e, const char *line, size_t len, xt_cmd_t *cmd, int *kind, char *err)
{
    xt_replay_line_t l;
    if (memchr(line, '\0', len)) {
        snprintf(err, XT_REPLAY_ERRSZ, "NUL byte in line");
        return XT_EPARSE;
    }
    int rc = xt_replay_parse(line, len, &l, err);
    if (rc)
        return rc;
    *kind = l.kind;
    if (l.kind != XT_RL_BLANK)
        xt_replay_to_cmd(e, &l, cmd);
    return 0;
}

int xt_replay_apply_line(xt_engine_t *e, const char *line, size_t len, uint64_t *seq, int64_t ts, char *err)
{
    xt_cmd_t cmd;
    int kind;
    int rc = xt_replay_line_cmd(e, line, len, &cmd, &kind, err);
    if (rc || kind == XT_RL_BLANK)
        return rc;
    cmd.seq = *seq + 1;
    cmd.ts = ts;
    rc = xt_engine_apply(e, &cmd);
    if (rc) {
        snprintf(err, XT_REPLAY_ERRSZ, "%s", xt_replay_apply_error(kind, rc));
        return rc;
    }
    *seq = cmd.seq;
    return 0;
}

typedef struct sym_index {
    char symbol[XT_SYMBOL_MAX + 1];
    uint32_t index;
} sym_index_t;

static int cmp_symbol(const void *a, const void *b)
{
    return strcmp(((const sym_index_t *)a)->symbol, ((const sym_index_t *)b)->symbol);
}

static void write_side(const xt_engine_t *e, const xt_instrument_info_t *in, xt_side_t side, xt_replay_write_fn w,
                       void *ctx)
{
    xt_level_iter_t it;
    xt_level_info_t lv;
    char b[XT_REPLAY_LINESZ];
    xt_level_iter_init(&it, e, in->index, side);
    while (xt_level_iter_next(&it, &lv)) {
        size_t n = put_str(b, 0, "BOOK ");
        n = put_str(b, n, in->symbol);
        b[n++] = ' ';
        n = put_str(b, n, xt_side_name(side));
        b[n++] = ' ';
        n = put_units(b, n, lv.price, in->def.tick);
        w(ctx, b, n);
        xt_order_iter_t oit;
        xt_order_info_t o;
        xt_order_iter_init(&oit, e, in->index, side, lv.price);
        while (xt_order_iter_next(&oit, &o)) {
            n = 0;
            b[n++] = ' ';
            n = put_i64(b, n, o.id);
            b[n++] = ':';
            n = put_units(b, n, o.qty, in->def.lot);
            w(ctx, b, n);
        }
        w(ctx, "\n", 1);
    }
}

int xt_replay_write_books(const xt_engine_t *e, xt_replay_write_fn w, void *ctx)
{
    uint32_t n = xt_engine_instrument_count(e);
    sym_index_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return XT_ENOMEM;
    xt_instrument_info_t in;
    for (uint32_t i = 0; i < n; i++) {
        xt_engine_instrument(e, i, &in);
        memcpy(order[i].symbol, in.symbol, sizeof order[i].symbol);
        order[i].index = i;
    }
    qsort(order, n, sizeof *order, cmp_symbol);
    for (uint32_t i = 0; i < n; i++) {
        xt_engine_instrument(e, order[i].index, &in);
        write_side(e, &in, XT_BUY, w, ctx);
        write_side(e, &in, XT_SELL, w, ctx);
    }
    free(order);
    return 0;
}
