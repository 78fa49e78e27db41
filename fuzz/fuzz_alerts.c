/* fuzz_alerts.c - a chat's alert file (bot/alerts.h) and the threshold the user types, on
 * arbitrary bytes.
 *
 * A file that parses holds at most ALERTS_PER_CHAT alerts, each on a valid symbol, one per
 * symbol and kind, with a threshold from -100 % to below zero and the date it fired unless
 * armed; written back it parses to the same alerts and writes the same text.  A threshold
 * that parses is in that range and reads back from its own formatting.
 */
#include "bot/alerts.h"
#include "base/buf.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_alerts(const struct alerts *a)
{
    CHECK(a->n <= ALERTS_PER_CHAT);
    for (size_t i = 0; i < a->n; i++) {
        const struct alert *x = &a->v[i];
        size_t n = strnlen(x->symbol, sizeof x->symbol);
        CHECK(n < sizeof x->symbol && bar_symbol_valid(x->symbol, n));
        CHECK(x->kind == ALERT_DRAWDOWN || x->kind == ALERT_DROP);
        CHECK(x->threshold < 0 && x->threshold >= -10000);
        CHECK(x->state == ALERT_ARMED || x->state == ALERT_PENDING || x->state == ALERT_FIRED);
        CHECK(x->state == ALERT_ARMED || x->fired != 0);
        for (size_t k = 0; k < i; k++)
            CHECK(a->v[k].kind != x->kind || strcmp(a->v[k].symbol, x->symbol) != 0);
    }
}

static void check_file(const char *text, size_t size)
{
    struct alerts a;
    struct diag d;
    diag_clear(&d);
    int err = alerts_parse("fuzz", text, size, &a, &d);
    if (err != ERR_OK) {
        CHECKF(err == ERR_PARSE || err == ERR_TOOBIG, "unexpected error %s\n", err_name(err));
        CHECK(fuzz_diag_ok(&d));
        return;
    }
    check_alerts(&a);
    struct buf out = BUF_INIT((size_t)1 << 20);
    CHECK(alerts_format(&a, &out) == 0);
    struct alerts back;
    err = alerts_parse("fuzz", out.data, out.len, &back, &d);
    CHECKF(err == ERR_OK, "the written file does not parse back: %s\n", d.text);
    CHECK(back.n == a.n);
    CHECK(memcmp(back.v, a.v, a.n * sizeof *a.v) == 0);
    struct buf again = BUF_INIT((size_t)1 << 20);
    CHECK(alerts_format(&back, &again) == 0);
    CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    buf_release(&again);
    buf_release(&out);
}

static void check_threshold(const uint8_t *data, size_t size)
{
    char s[64];
    if (size >= sizeof s)
        size = sizeof s - 1;
    memcpy(s, data, size);
    s[size] = '\0';
    int32_t t = 1;
    int r = alerts_parse_threshold(s, &t);
    CHECK(r >= -1 && r <= 2);
    if (r != 0)
        return;
    CHECK(t < 0 && t >= -10000);
    char f[16];
    alerts_format_threshold(t, f, sizeof f);
    int32_t back = 0;
    CHECK(alerts_parse_threshold(f, &back) == 0 && back == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    if (!text)
        return 0;
    check_file(text, size);
    check_threshold(data, size);
    CHECK(size == 0 || memcmp(text, data, size) == 0);
    free(text);
    return 0;
}
