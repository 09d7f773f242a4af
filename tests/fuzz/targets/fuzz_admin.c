/* fuzz_admin.c - libFuzzer target: the input is one admin socket request
 * line (docs/admin.md), parsed by xt_admin_parse().
 *
 * Checked: a parse either fails with a non-empty reason of printable ASCII
 * or gives an op in range whose arguments hold what admin_cmd.h says
 * (account and session 1..UINT32_MAX where the op needs them, a symbol of
 * [A-Za-z0-9._-]{1,16} or empty); the same input parses the same way twice;
 * a parsed command written back as its canonical line parses to the same
 * command. Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "server/admin_cmd.h"

static void check_symbol(const char *s, int required)
{
    size_t n = strlen(s);
    CHECK(n <= XT_SYMBOL_MAX && (n > 0 || !required));
    for (size_t i = 0; i < n; i++)
        CHECK((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '.' || s[i] == '_' || s[i] == '-');
}

static void check_cmd(const xt_admin_cmd_t *c)
{
    CHECK(c->op >= XT_ADM_HELP && c->op < XT_ADM_OPS_);
    int acct = c->op == XT_ADM_KICK || c->op == XT_ADM_MASS_CANCEL;
    CHECK(!acct || c->account > 0);
    CHECK(c->op == XT_ADM_KICK ? c->session > 0 : c->session == 0);
    CHECK(acct || c->op == XT_ADM_SESSIONS || c->account == 0);
    check_symbol(c->symbol, c->op == XT_ADM_HALT || c->op == XT_ADM_RESUME);
    CHECK(c->op == XT_ADM_HALT || c->op == XT_ADM_RESUME || c->op == XT_ADM_MASS_CANCEL ||
          c->op == XT_ADM_INSTRUMENTS || c->symbol[0] == '\0');
}

/* The command as the line that asks for it. */
static size_t canonical(const xt_admin_cmd_t *c, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s", xt_admin_op_name(c->op));
    if (c->account)
        n += snprintf(out + n, cap - (size_t)n, " %u", c->account);
    if (c->session)
        n += snprintf(out + n, cap - (size_t)n, " %u", c->session);
    if (c->symbol[0])
        n += snprintf(out + n, cap - (size_t)n, " %s", c->symbol);
    return (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xt_admin_cmd_t a, b;
    char why[256], why2[256];
    int ra = xt_admin_parse((const char *)data, size, &a, why, sizeof why);
    int rb = xt_admin_parse((const char *)data, size, &b, why2, sizeof why2);
    CHECK(ra == rb && (ra == 0 || ra == -1));
    if (ra != 0) {
        CHECK(why[0] != '\0' && strcmp(why, why2) == 0);
        for (const char *p = why; *p; p++)
            CHECK(*p >= 0x20 && *p <= 0x7e);
        return 0;
    }
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    check_cmd(&a);
    char line[128];
    size_t n = canonical(&a, line, sizeof line);
    CHECK(n < sizeof line);
    xt_admin_cmd_t c;
    CHECK(xt_admin_parse(line, n, &c, why, sizeof why) == 0);
    CHECK(c.op == a.op && c.account == a.account && c.session == a.session && strcmp(c.symbol, a.symbol) == 0);
    return 0;
}
