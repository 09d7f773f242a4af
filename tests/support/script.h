/* script.h - run replay-format text through a fresh engine, as
 * `xtrading replay --book` does, for tests that state a rule as input and
 * expected output. Invariants (xt_engine_verify) are checked after every
 * line; a broken one aborts the test with its description. */
#ifndef XT_TEST_SCRIPT_H
#define XT_TEST_SCRIPT_H

#include "strbuf.h"
#include "xt/engine.h"

/* Appends the events (and, if book, the final books) to out. On a malformed
 * line appends "line N: <reason>\n" and stops. Returns 0 or that N. */
int script_run(const char *script, const xt_engine_config_t *cfg, int book, strbuf_t *out);

/* cmocka helper: runs with --book semantics and asserts the output. */
#define EXPECT_SCRIPT(script, expected)                                                                                \
    do {                                                                                                               \
        strbuf_t out_ = {0};                                                                                           \
        script_run((script), NULL, 1, &out_);                                                                          \
        assert_string_equal(sb_str(&out_), (expected));                                                                \
        sb_free(&out_);                                                                                                \
    } while (0)

#define EXPECT_SCRIPT_CFG(cfg, script, expected)                                                                       \
    do {                                                                                                               \
        strbuf_t out_ = {0};                                                                                           \
        script_run((script), (cfg), 1, &out_);                                                                         \
        assert_string_equal(sb_str(&out_), (expected));                                                                \
        sb_free(&out_);                                                                                                \
    } while (0)

#endif
