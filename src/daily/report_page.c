/* report_page.c - the report's portfolio section from the stored snapshots (report_page.h). */
#include "daily/report_page.h"
#include "account/account.h"
#include "account/portfolio.h"
#include "base/date.h"
#include "base/log.h"
#include "account/trading.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

int daily_report_portfolio(struct objstore *os, int32_t date, double target,
                           struct report_portfolio *rp, struct report_position **pos,
                           struct diag *d)
{
    int32_t *dates = NULL;
    size_t n = 0;
    *pos = NULL;
    int err = portfolio_snapshot_dates(os, &dates, &n, d);
    if (err)
        return err;
    size_t k = n;
    while (k > 0 && dates[k - 1] > date)
        k--;
    if (k == 0) {
        free(dates);
        return ERR_NOTFOUND;
    }
    char key[OBJ_KEY_MAX];
    portfolio_snapshot_key(dates[k - 1], key);
    free(dates);
    struct buf b = BUF_INIT(PORTFOLIO_SNAPSHOT_MAX);
    struct portfolio pf = {0};
    err = objstore_get(os, key, &b, NULL, d);
    if (!err)
        err = portfolio_parse_snapshot(key, buf_cstr(&b), b.len, &pf, d);
    buf_release(&b);
    if (err) {
        portfolio_release(&pf);
        return err == ERR_NOTFOUND ? ERR_IO : err; /* listed a moment ago */
    }
    struct portfolio_signal sig;
    portfolio_signal(&pf, target, &sig);
    *pos = calloc(pf.n ? pf.n : 1, sizeof **pos);
    if (!*pos) {
        portfolio_release(&pf);
        return diag_set(d, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < pf.n; i++) {
        const struct portfolio_row *r = &pf.rows[i];
        struct report_position *p = &(*pos)[i];
        memcpy(p->symbol, r->symbol, sizeof p->symbol);
#define MONEY(v) ((v) == TRADING_NONE ? (double)NAN : (double)(v) / 1e6)
        p->qty = MONEY(r->qty);
        p->entry = MONEY(r->avg_entry_price);
        p->price = MONEY(r->current_price);
        p->value = MONEY(r->market_value);
#undef MONEY
        p->return_pct = r->return_pct;
        p->rank = r->rank;
    }
    *rp = (struct report_portfolio){
        .date = pf.date,
        .target_pct = target,
        .average_pct = sig.average_pct,
        .ntop = sig.ntop,
        .reached = sig.reached,
        .pos = *pos,
        .n = pf.n,
    };
    portfolio_release(&pf);
    return ERR_OK;
}

int daily_publish_report(struct objstore *os, struct barstore *bs, int32_t date, int64_t now_ms,
                         struct report_published *out, struct diag *d)
{
    struct report_published p = {0};
    if (out)
        *out = p;
    if (!date)
        return ERR_OK;
    struct report_opts ro = {.top = REPORT_TOP_DEFAULT, .now_ms = now_ms, .bars = bs};
    struct report_portfolio rp;
    struct report_position *pos = NULL;
    if (account_tracking_enabled()) {
        struct diag pd = {{0}};
        double target;
        int perr = account_profit_target(&target, &pd);
        if (!perr)
            perr = daily_report_portfolio(os, date, target, &rp, &pos, &pd);
        if (perr == ERR_OK)
            ro.portfolio = &rp;
        else if (perr != ERR_NOTFOUND)
            log_warn("report: no portfolio section",
                     LF_STR("error", pd.text[0] ? pd.text : err_str(perr)));
    }
    int err = report_publish(os, date, &ro, &p, d);
    free(pos);
    char day[DATE_STRLEN + 1];
    date_format(date, day);
    if (err) {
        if (!d->text[0])
            diag_set(d, err, "%s", err_str(err));
        log_error("report: not written", LF_STR("date", day), LF_STR("error", d->text));
        return err;
    }
    log_info("report written", LF_STR("date", day), LF_STR("key", p.key),
             LF_INT("bytes", (int64_t)p.bytes), LF_BOOL("latest", p.latest));
    if (out)
        *out = p;
    return ERR_OK;
}
