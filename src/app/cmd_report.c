/* screener report - the HTML report of a screened date (report/report.h). */
#include "app/app.h"
#include "account/account.h"
#include "account/portfolio.h"
#include "base/clock.h"
#include "base/date.h"
#include "daily/report_page.h"
#include "report/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener report [options]\n\n"
    "Write the HTML report of a screened date: the worst drawdowns and one-day drops with\n"
    "sortable columns and a sparkline per row, the distribution of drawdowns, how past top\n"
    "candidates did since, the portfolio against its profit target (when snapshots are\n"
    "stored) and the backtest's equity against its benchmark (when results/backtest/\n"
    "equity.csv exists).  One self-contained page: it makes no request of any kind, so it\n"
    "opens from a file, from a presigned S3 link or offline, on a phone or a desktop, and\n"
    "prints.  Each collection writes one; this command makes one on demand.\n\n"
    "By default the page goes to the store as results/report/YYYY-MM-DD.html and, unless a\n"
    "newer date has a report, results/report/latest.html.\n\n"
    "Options:\n"
    "      --date DATE          the date to report (YYYY-MM-DD; default: the latest screen)\n"
    "      --out FILE           write the page to FILE instead ('-': standard output)\n"
    "      --top N              rows in each table (default 50)\n"
    "      --target PCT         the profit target for the portfolio section (default\n"
    "                           $SCREENER_PROFIT_TARGET, else 100)\n" APP_COMMON_HELP
    "\nSCREENER_PORTFOLIO=0 leaves the portfolio section out.\n";

enum { OPT_DATE = OPT_FIRST_FREE_, OPT_OUT, OPT_TOP, OPT_TARGET };

static int write_file(const struct app *a, const char *path, const struct buf *page)
{
    if (strcmp(path, "-") == 0)
        return app_write_stdout(a, page->data, page->len);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf_cstr(page), 1, page->len, f) == page->len;
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        fprintf(stderr, "%s: error: cannot write '%s': %s\n", a->prog, path, strerror(e));
        return EXIT_FAIL;
    }
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"date", required_argument, NULL, OPT_DATE},
        {"out", required_argument, NULL, OPT_OUT},
        {"top", required_argument, NULL, OPT_TOP},
        {"target", required_argument, NULL, OPT_TARGET},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener report");
    struct report_opts ro = {.top = REPORT_TOP_DEFAULT};
    const char *out = NULL, *target_arg = NULL;
    int32_t date = 0;
    int opt, rc;
    long v;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_DATE:
            if ((rc = app_parse_date(&a, "--date", optarg, &date)))
                return rc;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_TOP:
            if ((rc = app_parse_long(&a, "--top", optarg, 1, REPORT_TOP_MAX, &v)))
                return rc;
            ro.top = (size_t)v;
            break;
        case OPT_TARGET:
            target_arg = optarg;
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (optind < argc)
        return app_usage_error(&a, "unexpected argument '%s'", argv[optind]);
    if (out && !*out)
        return app_usage_error(&a, "--out: expected a file name or '-'");

    struct diag d = {{0}};
    double target;
    if (target_arg) {
        if (portfolio_parse_target(target_arg, &target) != ERR_OK)
            return app_usage_error(&a,
                                   "--target: expected a percentage above -100 such as 100 or "
                                   "50.5, got '%s'",
                                   target_arg);
    } else if (account_profit_target(&target, &d)) {
        rc = app_fail(&a, ERR_USAGE, &d);
        app_release(&a);
        return rc;
    }

    struct buf page = BUF_INIT(REPORT_MAX);
    struct report_position *pos = NULL;
    struct report_portfolio rp;
    int err = app_open_store(&a, &d);
    if (!err)
        app_read_once(&a);
    if (!err && !date) {
        /* The portfolio is matched to the date: find the latest screen's first. */
        struct results_screen s = {0};
        err = results_read_screen(a.os, 0, &s, &d);
        if (err == ERR_NOTFOUND)
            err = diag_set(&d, ERR_NOTFOUND,
                           "no screen in the results yet (a collection or an import writes it)");
        date = s.date;
        results_screen_release(&s);
    }
    if (!err && account_tracking_enabled()) {
        struct diag pd = {{0}};
        int perr = daily_report_portfolio(a.os, date, target, &rp, &pos, &pd);
        if (perr == ERR_OK)
            ro.portfolio = &rp;
        else if (perr != ERR_NOTFOUND)
            fprintf(stderr, "%s: warning: no portfolio section: %s\n", a.prog,
                    pd.text[0] ? pd.text : err_str(perr));
    }
    ro.now_ms = clock_wall_ms();
    if (!err && out) {
        int32_t got;
        err = report_build(a.os, date, &ro, &page, &got, &d);
        if (!err) {
            rc = write_file(&a, out, &page);
            goto done;
        }
    } else if (!err) {
        struct report_published p;
        err = report_publish(a.os, date, &ro, &p, &d);
        if (!err) {
            struct buf link = BUF_INIT(4096);
            struct diag ld = {{0}};
            printf("wrote %s (%zu bytes)%s\n", p.key, p.bytes,
                   p.latest ? " and " REPORT_LATEST_KEY : "; a newer report stays the latest");
            if (objstore_link(a.os, p.key, 3600, &link, &ld) == ERR_OK)
                printf("%s\n", buf_cstr(&link));
            buf_release(&link);
        }
    }
    rc = err ? app_fail(&a, err, &d) : 0;
done:
    free(pos);
    buf_release(&page);
    app_release(&a);
    return rc;
}
