/* screener import - load bars from CSV files. */
#include "app/app.h"
#include "backtest/backtest_results.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/csv.h"
#include "collect/csvimport.h"
#include "screen/results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener import [options] FILE...\n\n"
    "Load daily bars from CSV files into the store (FILE '-': standard input, once; a pipe\n"
    "is read once and held whole, up to 4 GiB). A file's header names at least\n"
    "symbol,date,open,high,low,close,volume (any order, any case); vwap and trades are\n"
    "optional; other columns are ignored. Bad rows (not numbers, non-positive prices, high\n"
    "below low, bad dates, dates after today in New York, a Sunday or a Saturday (since\n"
    "1952, when the market is closed), a symbol and date given twice with different values:\n"
    "none of them) are reported with file:line and skipped. A file that cannot be read or\n"
    "lacks a column is named and left out, and the other files are still imported (the\n"
    "exit code is the first such failure's). Bars already stored are skipped,\n"
    "so importing a file twice changes nothing; a bar stored with different values is a\n"
    "conflict: reported, not written, exit code 4. Then the results follow the store as\n"
    "after a collection: the newest stored date's screen results (results/screen/, latest.csv,\n"
    "closes.csv, bars-1y.csv) are written after new bars or when they are missing or older,\n"
    "the top-candidate history gets every stored date it lacks, and the default backtest\n"
    "(results/backtest/; docs/backtest.md) is refreshed after new bars or when it is behind\n"
    "the store, so the rerun of an interrupted import completes them, and a rerun with\n"
    "nothing new writes nothing.\n\n"
    "Options:\n"
    "      --strict             a bad row fails its whole file (exit code 3); the other files\n"
    "                           are still imported\n"
    "      --rejects FILE       write every rejected row (bad, or conflicting with the store) to\n"
    "                           FILE as CSV: file,line,symbol,date,reason (the log shows only\n"
    "                           the first 20)\n"
    "      --splits FILE        also record split facts: CSV symbol,ex_date,new_rate,old_rate\n"
    "                           (a 2-for-1 split is new_rate 2, old_rate 1); repeatable;\n"
    "                           '-': standard input (once for the command)\n"
    "      --no-progress        no progress line on a terminal\n" APP_COMMON_HELP;

/* Standard input ("-") in messages and in the rejects file. */
#define STDIN_NAME "<stdin>"

enum { OPT_STRICT = OPT_FIRST_FREE_, OPT_SPLITS, OPT_REJECTS, OPT_NO_PROGRESS };

struct rejects {
    FILE *f;
    const char *path;
    size_t rows;
    int failed;
    struct buf line;
};

static void on_reject(void *ctx, const char *path, size_t line, const char *symbol,
                      const char *date, const char *reason)
{
    struct rejects *r = ctx;
    if (r->failed)
        return;
    buf_reset(&r->line);
    char num[32];
    snprintf(num, sizeof num, ",%zu,", line);
    int err = csv_write_field(&r->line, path, strlen(path));
    if (!err)
        err = buf_puts(&r->line, num);
    if (!err)
        err = csv_write_field(&r->line, symbol, strlen(symbol));
    if (!err)
        err = buf_puts(&r->line, ",");
    if (!err)
        err = csv_write_field(&r->line, date, strlen(date));
    if (!err)
        err = buf_puts(&r->line, ",");
    if (!err)
        err = csv_write_field(&r->line, reason, strlen(reason));
    if (!err)
        err = buf_puts(&r->line, "\n");
    if (err || fwrite(r->line.data, 1, r->line.len, r->f) != r->line.len)
        r->failed = 1;
    else
        r->rows++;
}

/* The progress line: how far the file is read, and in which pass. */
static void on_progress(void *ctx, const struct csvimport_progress *ip)
{
    struct app_progress *p = ctx;
    double mb = (double)ip->bytes / 1e6, size = (double)ip->size / 1e6;
    int pct = ip->size ? (int)(100 * ip->bytes / ip->size) : 0;
    if (ip->groups && ip->size)
        app_progress_show(
            p, ip->bytes == 0, "import: %s: %s dates, group %zu of %zu: %.1f of %.1f MB (%d%%)",
            ip->path, ip->checking ? "checking" : "storing", ip->group, ip->groups, mb, size, pct);
    else if (ip->size)
        app_progress_show(p, ip->bytes == 0, "import: %s: %.1f of %.1f MB read (%d%%), %zu rows",
                          ip->path, mb, size, pct, ip->rows);
    else
        app_progress_show(p, ip->bytes == 0, "import: %s: %.1f MB read, %zu rows", ip->path, mb,
                          ip->rows);
}

/* Whether the default backtest in the results is missing or ran over other stored dates than
 * the store now holds: an import stopped after its bars were written, before the refresh. */
static int backtest_behind(struct app *a, int32_t first, int32_t last, size_t ndays)
{
    struct backtest_stored *bt = malloc(sizeof *bt);
    struct diag d = {{0}};
    int behind = !bt || backtest_stored_read(a->os, bt, &d) != ERR_OK || bt->sum.start != first ||
                 bt->sum.end != last || bt->sum.trading_days != ndays;
    free(bt);
    return behind;
}

/* The results follow the stored bars, as after a collection: the newest stored date's screen
 * results (its screen, latest.csv, its top candidates, closes.csv and bars-1y.csv) are written
 * when bars were stored or they are missing or older than the store, the results already
 * written of the dates from changed_from on (the first date of a new bar, the first ex_date of
 * new split facts; INT32_MAX: none) are computed again, the top-candidate history gets every
 * stored date it lacks, and the default backtest is refreshed when bars were stored or the
 * results are behind the store.  Run after every import, not only one that
 * stored bars, so that a rerun of an import stopped (Ctrl-C, kill -9, a failed write) after
 * its bars were written and before its results finishes the job; an import of nothing new
 * into a store whose results are complete writes nothing.  Warned about, never the import's
 * failure. */
static void follow_results(struct app *a, int stored, int32_t changed_from, struct app_progress *p)
{
    int32_t first, last;
    size_t ndays;
    struct diag d = {{0}};
    if (barstore_date_range(a->bs, &first, &last, &ndays, &d) != ERR_OK)
        return; /* no bars: nothing to follow */
    int current = 0;
    if (!stored && results_newest_current(a->os, last, &current, &d) != ERR_OK)
        current = 0; /* unknown: written again, which changes nothing that was right */
    if (!current) {
        char day[DATE_STRLEN + 1];
        date_format(last, day);
        app_progress_show(p, 1, "import: results: the screen of %s", day);
        struct results_newest nw;
        if (results_write_newest(a->os, a->bs, &nw, &d)) {
            app_progress_end(p);
            fprintf(stderr, "%s: warning: the newest date's screen results were not written: %s\n",
                    a->prog, d.text);
        }
        free(nw.rows);
    }
    if (changed_from < last) {
        struct screen_opts so;
        screen_opts_default(&so);
        so.by = SCREEN_BY_DRAWDOWN;
        so.top = 0;
        size_t redone = 0;
        app_progress_show(p, 1, "import: results: the dates the new bars and splits change");
        if (results_rewrite(a->os, a->bs, &so, changed_from, last - 1, RESULTS_TOP_DEFAULT, &redone,
                            &d)) {
            app_progress_end(p);
            fprintf(stderr,
                    "%s: warning: the results of the dates the import changed were not computed "
                    "again: %s\n",
                    a->prog, d.text);
        } else if (redone) {
            log_info("results recomputed: the stored bars of their dates changed",
                     LF_INT("dates", redone));
        }
    }
    struct results_fill_stats fs = {0};
    app_progress_show(p, 1, "import: results: the top-candidate history");
    if (results_fill_top(a->os, a->bs, RESULTS_TOP_DEFAULT, 0, &fs, &d)) {
        app_progress_end(p);
        fprintf(stderr, "%s: warning: the top-candidate history was not filled: %s\n", a->prog,
                d.text);
    } else if (fs.dates_added) {
        log_info("top-candidate history filled", LF_INT("dates_added", fs.dates_added),
                 LF_INT("dates_missing", fs.dates_missing), LF_INT("dates_stored", fs.dates_stored),
                 LF_INT("passes", fs.passes), LF_INT("days_read", fs.days_read));
    }
    if (stored || fs.dates_added || backtest_behind(a, first, last, ndays)) {
        struct backtest_refresh_opts ro = {0};
        enum backtest_refresh_outcome outcome;
        app_progress_show(p, 1, "import: results: the backtest");
        if (backtest_refresh(a->os, a->bs, &ro, &outcome, NULL, &d)) {
            app_progress_end(p);
            fprintf(stderr, "%s: warning: the backtest in the results was not refreshed: %s\n",
                    a->prog, d.text);
        }
    }
    app_progress_end(p);
}

int cmd_import(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"strict", no_argument, NULL, OPT_STRICT},
        {"splits", required_argument, NULL, OPT_SPLITS},
        {"rejects", required_argument, NULL, OPT_REJECTS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener import");
    struct csvimport_opts o = {.strict = 0, .max_report = 20};
    const char *splits[64], *rejects_path = NULL;
    size_t nsplits = 0;
    int opt, rc, progress = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_STRICT:
            o.strict = 1;
            break;
        case OPT_REJECTS:
            rejects_path = optarg;
            break;
        case OPT_NO_PROGRESS:
            progress = 0;
            break;
        case OPT_SPLITS:
            if (nsplits == sizeof splits / sizeof splits[0])
                return app_usage_error(&a, "--splits: at most 64 files");
            splits[nsplits++] = optarg;
            break;
        case '?':
            return app_usage_error(&a, "unknown or incomplete option");
        default:
            if ((rc = app_common_option(&a, opt, optarg)) != 0)
                return rc < 0 ? EXIT_USAGE : rc;
        }
    }
    if (optind == argc && nsplits == 0)
        return app_usage_error(&a, "no file to import");
    /* "-" is standard input, which can be read once. */
    int dashes = 0;
    for (int i = optind; i < argc + (int)nsplits; i++)
        dashes += strcmp(i < argc ? argv[i] : splits[i - argc], "-") == 0;
    if (dashes > 1)
        return app_usage_error(&a, "'-' (standard input) is given %d times; it can be read once",
                               dashes);
    /* The rejects file is created empty before any file is read: naming an input there would
     * destroy that input. */
    struct stat rs, is;
    if (rejects_path && stat(rejects_path, &rs) == 0) {
        for (int i = optind; i < argc + (int)nsplits; i++) {
            const char *in = i < argc ? argv[i] : splits[i - argc];
            int std_in = strcmp(in, "-") == 0;
            if ((std_in ? fstat(STDIN_FILENO, &is) : stat(in, &is)) != 0 ||
                is.st_dev != rs.st_dev || is.st_ino != rs.st_ino)
                continue;
            if (std_in)
                return app_usage_error(&a, "--rejects: '%s' is standard input ('-'), to import",
                                       rejects_path);
            return app_usage_error(&a, "--rejects: '%s' is also a file to import", in);
        }
    }

    struct rejects rj = {.path = rejects_path};
    buf_init(&rj.line, 4096);
    if (rejects_path) {
        rj.f = fopen(rejects_path, "w");
        if (!rj.f) {
            fprintf(stderr, "%s: error: cannot create '%s': %s\n", a.prog, rejects_path,
                    strerror(errno));
            buf_release(&rj.line);
            return EXIT_FAIL;
        }
        fputs("file,line,symbol,date,reason\n", rj.f);
        o.on_reject = on_reject;
        o.ctx = &rj;
    }
    struct diag d = {{0}};
    int err = app_open_store(&a, &d);
    if (err) {
        rc = app_fail(&a, err, &d);
        if (rj.f)
            fclose(rj.f);
        buf_release(&rj.line);
        app_release(&a);
        return rc;
    }
    struct csvimport_stats st = {0};
    struct app_progress p;
    app_progress_init(&p, progress);
    if (p.enabled) {
        o.on_progress = on_progress;
        o.progress_ctx = &p;
    }
    /* A file that fails whole (unreadable, no usable header, a bad row with --strict) is
     * named and left out, and the other files are still imported: the exit code is that of
     * the first such failure.  A store that cannot be read or written stops everything. */
    int worst = ERR_OK, file_rc = 0, store_failed = 0;
    rc = 0;
    for (int i = optind; i < argc; i++) {
        size_t failed_before = st.files_failed;
        err = strcmp(argv[i], "-") == 0 ? csvimport_fd(a.bs, STDIN_FILENO, STDIN_NAME, &o, &st, &d)
                                        : csvimport_file(a.bs, argv[i], &o, &st, &d);
        if (err)
            app_progress_end(&p);
        if (err == ERR_CONFLICT) {
            fprintf(stderr, "%s: %s: %s\n", a.prog, argv[i], d.text);
            worst = err;
        } else if (err && st.files_failed > failed_before) {
            int code = app_fail(&a, err, &d);
            if (!file_rc)
                file_rc = code;
        } else if (err) {
            rc = app_fail(&a, err, &d);
            store_failed = 1;
            break;
        }
    }
    app_progress_end(&p);
    size_t added_splits = 0;
    int32_t changed_from = st.days_stored ? st.first_stored : INT32_MAX;
    for (size_t i = 0; i < nsplits && rc == 0; i++) {
        size_t added;
        int32_t first;
        err = strcmp(splits[i], "-") == 0
                  ? csvimport_splits_fd(a.bs, STDIN_FILENO, STDIN_NAME, &added, &first, &d)
                  : csvimport_splits(a.bs, splits[i], &added, &first, &d);
        if (err)
            rc = app_fail(&a, err, &d);
        added_splits += added;
        if (added && first < changed_from)
            changed_from = first;
    }
    printf("imported %zu new bars on %zu days from %zu file%s: %zu already stored, %zu bad rows "
           "skipped, %zu conflicts",
           st.imported, st.days, st.files, st.files == 1 ? "" : "s", st.present, st.bad,
           st.conflicts);
    if (st.files_failed)
        printf("; %zu file%s not imported (see the errors)", st.files_failed,
               st.files_failed == 1 ? "" : "s");
    if (nsplits)
        printf("; %zu new split facts", added_splits);
    printf("\n");
    if (st.disputed)
        fprintf(stderr,
                "%s: warning: another writer stored %zu of these bars at the same time with "
                "other values; these were kept (their part comes first in name order)\n",
                a.prog, st.disputed);
    if (rj.f) {
        if (fclose(rj.f) != 0)
            rj.failed = 1;
        if (rj.failed) {
            fprintf(stderr, "%s: error: cannot write '%s': %s\n", a.prog, rejects_path,
                    strerror(errno));
            if (!rc)
                rc = EXIT_FAIL;
        } else if (rj.rows) {
            fprintf(stderr, "%s: %zu rejected row%s written to %s\n", a.prog, rj.rows,
                    rj.rows == 1 ? "" : "s", rejects_path);
        }
    }
    buf_release(&rj.line);
    log_info("import finished", LF_INT("rows", st.rows), LF_INT("imported", st.imported),
             LF_INT("present", st.present), LF_INT("bad", st.bad),
             LF_INT("conflicts", st.conflicts));
    /* The results as a collection leaves them: the newest date's screen, past picks from day
     * one (the history of top candidates covers every stored date) and the backtest over the
     * whole history. */
    if (!store_failed)
        follow_results(&a, st.imported || added_splits, changed_from, &p);
    app_release(&a);
    if (rc)
        return rc;
    if (file_rc)
        return file_rc;
    return app_exit_code(worst);
}
