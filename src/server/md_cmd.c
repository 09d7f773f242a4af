/* md_cmd.c - WebSocket market-data commands (see md_cmd.h). */
#include "md_cmd.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md/md.h"
#include "md_encode.h"

static const struct {
    const char *name;
    int op;
} ops[] = {{"subscribe", XT_MDOP_SUBSCRIBE}, {"unsubscribe", XT_MDOP_UNSUBSCRIBE},
           {"snapshot", XT_MDOP_SNAPSHOT},   {"list", XT_MDOP_LIST},
           {"ping", XT_MDOP_PING},           {"stats", XT_MDOP_STATS}};

int xt_md_cmd_id(json_t *id, char out[XT_MDCMD_ID_MAX])
{
    if (id == NULL || json_is_null(id)) {
        memcpy(out, "null", 5);
        return 0;
    }
    if (json_is_integer(id)) {
        json_int_t v = json_integer_value(id);
        if (v > (json_int_t)1 << 53 || v < -((json_int_t)1 << 53))
            return -1;
        snprintf(out, XT_MDCMD_ID_MAX, "%lld", (long long)v);
        return 0;
    }
    if (json_is_string(id) && json_string_length(id) <= 64) {
        /* JSON_ENCODE_ANY re-escapes the string exactly once. */
        char *t = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
        size_t n = t ? strlen(t) : XT_MDCMD_ID_MAX;
        int ok = n < XT_MDCMD_ID_MAX; /* (always, but for a failed allocation: the size is for the worst) */
        if (ok)
            memcpy(out, t, n + 1);
        free(t);
        return ok ? 0 : -1;
    }
    return -1;
}

static int fail(char *why, size_t n, const char *msg)
{
    snprintf(why, n, "%s", msg);
    return -1;
}

static int read_args(json_t *args, xt_md_cmd_t *cmd, char *why, size_t n)
{
    if (args == NULL)
        return cmd->op >= XT_MDOP_LIST ? 0 : fail(why, n, "args must be an array");
    if (!json_is_array(args))
        return fail(why, n, "args must be an array");
    if (json_array_size(args) > XT_MDCMD_MAX_ARGS)
        return fail(why, n, "too many args (at most 64)");
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a)
    {
        if (!json_is_string(a) || json_string_length(a) >= XT_MDCMD_ARG_MAX ||
            strlen(json_string_value(a)) != json_string_length(a))
            return fail(why, n, "args must be channel names (strings under 64 bytes)");
        memcpy(cmd->args[cmd->n_args++], json_string_value(a), json_string_length(a) + 1);
    }
    return 0;
}

int xt_md_cmd_read(json_t *root, xt_md_cmd_t *cmd, char *why, size_t whylen)
{
    memset(cmd, 0, sizeof *cmd);
    memcpy(cmd->id, "null", 5);
    if (!json_is_object(root))
        return fail(why, whylen, "a command is a JSON object");
    if (xt_md_cmd_id(json_object_get(root, "id"), cmd->id))
        return fail(why, whylen, "id must be an integer or a string of up to 64 bytes");
    const char *op = json_string_value(json_object_get(root, "op"));
    for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i].name) == 0)
            cmd->op = ops[i].op;
    if (cmd->op == 0)
        return fail(why, whylen,
                    "op must be subscribe, unsubscribe, snapshot, list, ping, stats, or an order-entry op "
                    "(auth.challenge, login, logout, order.*)");
    return read_args(json_object_get(root, "args"), cmd, why, whylen);
}

int xt_md_cmd_parse(const char *text, size_t len, xt_md_cmd_t *cmd, char *why, size_t whylen)
{
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL) {
        memset(cmd, 0, sizeof *cmd);
        memcpy(cmd->id, "null", 5);
        return fail(why, whylen, "bad JSON");
    }
    int rc = xt_md_cmd_read(root, cmd, why, whylen);
    json_decref(root);
    return rc;
}

int xt_md_channel_parse(const char *name, const char **sym, size_t *sym_len, int *throttle)
{
    const char *at = strrchr(name, '@');
    *throttle = 0;
    if (at && strcmp(at, "@100ms") == 0)
        *throttle = 1;
    else if (at && strcmp(at, "@1000ms") == 0)
        *throttle = 2;
    else if (at)
        return -1;
    const char *dot = strchr(name, '.');
    if (dot == NULL)
        return -1;
    size_t kn = (size_t)(dot - name);
    int kind = -1;
    char b[16];
    for (int k = 0; k < XT_CH_KLINE; k++)
        if (strlen(xt_ch_kind_name(k, b)) == kn && memcmp(name, xt_ch_kind_name(k, b), kn) == 0)
            kind = k;
    if (kind < 0 && kn == 5 && memcmp(name, "kline", 5) == 0) {
        const char *iv = dot + 1, *dot2 = strchr(iv, '.');
        int interval = dot2 ? xt_kline_interval_parse(iv, (size_t)(dot2 - iv)) : -1;
        if (interval < 0)
            return -1;
        kind = XT_CH_KLINE + interval;
        dot = dot2;
    }
    size_t sl = at ? (size_t)(at - dot - 1) : strlen(dot + 1);
    if (kind < 0 || dot[1] == '\0' || (at && at < dot) || sl == 0)
        return -1;
    *sym = dot + 1;
    *sym_len = sl;
    return kind;
}
