/* reply_stored.c - /portfolio, /account, /monitor from the account the last collection
 * stored. */
#include "bot/reply_stored.h"

#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "account/stored.h"
#include "base/calendar.h"
#include "base/date.h"
#include "base/log.h"
#include "bot/format.h"
#include "bot/reply_account.h"

#include "base/banned.h"

/* ---- answers from the stored account ---- */

static int stored_note(struct buf *out, int64_t taken_ms)
{
    int minute;
    char day[DATE_STRLEN + 1];
    date_format(cal_ny_date(taken_ms, &minute), day);
    return buf_printf(out, "\n<i>As of %s %02d:%02d New York, from the last collection.</i>", day,
                      minute / 60, minute % 60);
}

static int stored_missing_html(struct buf *out, const char *command)
{
    int e = buf_puts(out, "<b>/");
    e = e ? e : fmt_html(out, command);
    return e ? e
             : buf_puts(out, "</b>\nNothing is stored yet: this bot answers from what the "
                             "collector stores after each collection, and none has stored the "
                             "account so far. /trigger starts one.");
}

static int stored_unreadable_html(struct buf *out, const char *command, const char *why)
{
    int e = buf_puts(out, "<b>/");
    e = e ? e : fmt_html(out, command);
    e = e ? e : buf_puts(out, "</b>\nThe account stored by the last collection cannot be read (");
    e = e ? e : fmt_html(out, why);
    return e ? e : buf_puts(out, "). The next collection replaces it; /trigger starts one.");
}

static int stored_no_account_html(struct buf *out, int64_t taken_ms)
{
    int e = buf_puts(out, "<b>Account</b>\nThe last collection could not read the account "
                          "(its positions are in /portfolio).");
    return e ? e : stored_note(out, taken_ms);
}

/* The stored problems that concern command's answer: a collection reads the account, the
 * positions and the history at once, and /portfolio should not mention the history. */
static int problems_for(const struct strvec *all, int account, struct strvec *out)
{
    for (size_t i = 0; i < all->n; i++) {
        int position = strncmp(all->v[i], "position", 8) == 0;
        if (position != account && strvec_push(out, all->v[i]))
            return ERR_NOMEM;
    }
    return ERR_OK;
}

int bot_stored_answer(struct objstore *os, const char *command, struct buf *text, struct diag *d)
{
    struct trading_data t;
    struct diag rd = {{0}};
    int err = account_stored_read(os, &t, &rd);
    int e = 0;
    if (err == ERR_NOTFOUND) {
        e = stored_missing_html(text, command);
        err = ERR_OK;
    } else if (err == ERR_PARSE || err == ERR_TOOBIG) {
        log_warn("bot: the stored account cannot be read", LF_STR("error", rd.text));
        e = stored_unreadable_html(text, command, rd.text);
        err = ERR_OK;
    } else if (err) {
        *d = rd;
    } else {
        double target;
        struct account_view v;
        int64_t taken = t.fetched_ms;
        if ((err = account_profit_target(&target, d)) == ERR_OK)
            err = account_view_from(&t, os, target, &v, d);
        else
            memset(&v, 0, sizeof v);
        int account = strcmp(command, "account") == 0;
        struct strvec pr = STRVEC_INIT;
        if (!err)
            e = problems_for(&v.t.problems, account, &pr);
        if (!err && !e && account && !(v.t.have & TRADING_ACCOUNT))
            e = stored_no_account_html(text, taken);
        else if (!err && !e && account)
            e = bot_account_html(text, &v.t.account,
                                 (v.t.have & TRADING_HISTORY) ? &v.t.history : NULL, &pr);
        else if (!err && !e && strcmp(command, "monitor") == 0)
            e = bot_monitor_html(text, &v.pf, &v.signal, &pr);
        else if (!err && !e)
            e = bot_portfolio_html(text, &v.pf, &pr);
        if (!err && !e && (!account || (v.t.have & TRADING_ACCOUNT)))
            e = stored_note(text, taken);
        strvec_release(&pr);
        account_view_release(&v);
    }
    trading_data_release(&t);
    return e ? diag_set(d, ERR_NOMEM, "out of memory") : err;
}

int bot_stored_holdings(struct objstore *os, char ***symbols, size_t *n, struct diag *d)
{
    *symbols = NULL;
    *n = 0;
    struct trading_data t;
    int err = account_stored_read(os, &t, d);
    if (err == ERR_NOTFOUND)
        return ERR_OK;
    if (!err)
        err = trading_position_symbols(&t, symbols, n, d);
    trading_data_release(&t);
    return err;
}
