/* fuzz_mdcmd.c - libFuzzer target: the input is one WebSocket text message
 * to the market-data port (docs/websocket.md), parsed by xt_md_cmd_parse()
 * (jansson) and its channel names by xt_md_channel_parse().
 *
 * Checked: a parse either fails with a message or gives an op in range, at
 * most XT_MDCMD_MAX_ARGS NUL-terminated args, and an id that is "null", an
 * integer or a JSON string (quoted, ASCII, escapes intact); a channel name
 * parses to a kind in range, a throttle 0..2 and a non-empty symbol inside
 * the name; error texts and args escaped by xt_md_json_string() are one
 * JSON string each (jansson reads them back to the same bytes). Parsing twice gives the
 * same result. Any violation aborts.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/md_cmd.h"
#include "server/md_encode.h"

static void check_id(const char *id)
{
    size_t n = strlen(id);
    CHECK(n > 0 && n < sizeof((xt_md_cmd_t *)0)->id);
    if (strcmp(id, "null") == 0)
        return;
    json_error_t e;
    json_t *v = json_loads(id, JSON_DECODE_ANY, &e);
    CHECK(v != NULL && (json_is_integer(v) || json_is_string(v)));
    json_decref(v);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)id[i] >= 0x20 && (unsigned char)id[i] <= 0x7f); /* ASCII, no control bytes */
}

static void check_escape(const char *s)
{
    char out[1024];
    size_t n = xt_md_json_string(out, sizeof out, s);
    if (n == 0)
        return; /* did not fit */
    json_error_t e;
    json_t *v = json_loadb(out, n, JSON_DECODE_ANY, &e);
    /* s is UTF-8 (args come from jansson, which checks; messages are ours) */
    CHECK(v != NULL && json_is_string(v) && strcmp(json_string_value(v), s) == 0);
    json_decref(v);
}

static void check_channel(const char *name)
{
    const char *sym;
    size_t sl;
    int th = -1;
    int kind = xt_md_channel_parse(name, &sym, &sl, &th);
    if (kind < 0)
        return;
    CHECK(kind < XT_CH_KINDS && th >= 0 && th <= 2 && sl > 0);
    CHECK(sym > name && sym + sl <= name + strlen(name));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static xt_md_cmd_t a, b;
    char why[160], why2[160];
    int ra = xt_md_cmd_parse((const char *)data, size, &a, why, sizeof why);
    int rb = xt_md_cmd_parse((const char *)data, size, &b, why2, sizeof why2);
    CHECK(ra == rb);
    check_id(a.id);
    CHECK(strcmp(a.id, b.id) == 0);
    if (ra != 0) {
        CHECK(ra == -1 && why[0] != '\0' && strcmp(why, why2) == 0);
        check_escape(why);
        return 0;
    }
    CHECK(a.op >= XT_MDOP_SUBSCRIBE && a.op <= XT_MDOP_STATS && a.op == b.op);
    CHECK(a.n_args <= XT_MDCMD_MAX_ARGS && a.n_args == b.n_args);
    for (uint32_t i = 0; i < a.n_args; i++) {
        CHECK(memchr(a.args[i], '\0', XT_MDCMD_ARG_MAX) != NULL);
        CHECK(strcmp(a.args[i], b.args[i]) == 0);
        check_channel(a.args[i]);
        check_escape(a.args[i]);
    }
    return 0;
}
