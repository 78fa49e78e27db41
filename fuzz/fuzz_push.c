/* fuzz_push.c - what the daily push keeps in the store, on arbitrary bytes: the day's marker
 * (bot/pushed/YYYY-MM-DD, bot/push.h) and the subscriber list (bot/subscribers.csv,
 * bot/subscribers.h).  The first byte picks which; the rest is the file.
 *
 * A refusal is a clear message.  A marker that parses counts no more chats than it has
 * lines, "superseded" implies done, and a "done" or "superseded DAY" line added to it closes
 * it without changing who was addressed.  A subscriber list that parses holds non-zero chat
 * ids in strictly ascending order, and written out again it parses to the same list.
 */
#include "bot/push.h"
#include "bot/subscribers.h"
#include "base/buf.h"
#include "base/date.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int refused_cleanly(int err, const struct diag *d)
{
    CHECKF(err == ERR_PARSE || err == ERR_TOOBIG || err == ERR_NOMEM, "unexpected error %s\n",
           err_name(err));
    CHECK(fuzz_diag_ok(d));
    return 1;
}

static void check_marker(const char *text, size_t size)
{
    struct push_marker_summary m;
    struct diag d;
    diag_clear(&d);
    int err = push_marker_parse("fuzz", text, size, &m, &d);
    if (err != ERR_OK) {
        refused_cleanly(err, &d);
        return;
    }
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    CHECK(m.chats <= lines);
    CHECK(!m.superseded || m.done);
    /* Closing it: the same chats addressed, done (superseded when said so). */
    if (size < 5 || memcmp(text, "push ", 5) != 0 || text[size - 1] != '\n')
        return;
    static const char *const tails[] = {"done\n", "superseded 2026-11-20\n"};
    for (size_t t = 0; t < 2; t++) {
        struct buf b = BUF_INIT((size_t)8 << 20);
        if (buf_append(&b, text, size) || buf_puts(&b, tails[t])) {
            buf_release(&b);
            return;
        }
        struct push_marker_summary c;
        diag_clear(&d);
        CHECKF(push_marker_parse("fuzz", b.data, b.len, &c, &d) == ERR_OK, "%s\n", d.text);
        CHECK(c.done && c.chats == m.chats);
        CHECK(c.superseded == (t == 1 || m.superseded));
        buf_release(&b);
    }
}

static void check_subscribers(const char *text, size_t size)
{
    struct subscribers s = {0};
    struct diag d;
    diag_clear(&d);
    int err = subscribers_parse("fuzz", text, size, &s, &d);
    if (err != ERR_OK) {
        refused_cleanly(err, &d);
        subscribers_release(&s);
        return;
    }
    CHECK(s.n <= SUBSCRIBERS_MAX);
    struct buf b = BUF_INIT((size_t)SUBSCRIBERS_MAX * 40);
    int e = buf_puts(&b, "chat_id,since\n");
    for (size_t i = 0; i < s.n && !e; i++) {
        CHECK(s.v[i].chat_id != 0);
        CHECK(i == 0 || s.v[i - 1].chat_id < s.v[i].chat_id);
        char day[DATE_STRLEN + 1];
        date_format(s.v[i].since, day);
        e = buf_printf(&b, "%lld,%s\n", (long long)s.v[i].chat_id, day);
    }
    if (!e) {
        struct subscribers again = {0};
        diag_clear(&d);
        CHECKF(subscribers_parse("fuzz", b.data ? b.data : "", b.len, &again, &d) == ERR_OK, "%s\n",
               d.text);
        CHECK(again.n == s.n);
        for (size_t i = 0; i < s.n; i++)
            CHECK(again.v[i].chat_id == s.v[i].chat_id && again.v[i].since == s.v[i].since);
        subscribers_release(&again);
    }
    buf_release(&b);
    subscribers_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = fuzz_dup(data + 1, size - 1);
    if (!text)
        return 0;
    if (data[0] & 1)
        check_subscribers(text, size - 1);
    else
        check_marker(text, size - 1);
    free(text);
    return 0;
}
