/* screener demo - the whole job offline: generate a sample market, import it, screen it. */
#include "app/app.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/barcsv.h"
#include "collect/csvimport.h"
#include "screen/screen_run.h"
#include "sim/market.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

static const char help[] =
    "usage: screener demo [options]\n\n"
    "Run the main job end to end, offline: generate a realistic sample market (random walks,\n"
    "a few crashes, stock splits), write it as CSV, import it into the store, then screen\n"
    "the latest day and print the 10 worst 180-day drawdowns and the 10 worst one-day drops.\n"
    "Running it again finds everything already stored and changes nothing.\n\n"
    "Options:\n"
    "      --symbols N          symbols in the sample market (default 520)\n"
    "      --years N            years of daily bars, ending 2026-11-20 (default 3)\n"
    "      --seed N             random seed (default 42)\n" APP_COMMON_HELP;

enum { OPT_SYMBOLS = OPT_FIRST_FREE_, OPT_YEARS, OPT_SEED };

/* The sample market ends on a fixed date so that a rerun adds nothing and conflicts with
 * nothing: the same seed always gives the same bars. */
#define DEMO_LAST_YEAR  2026
#define DEMO_LAST_MONTH 11
#define DEMO_LAST_DAY   20

static int write_file(const char *path, const struct buf *b, struct diag *d)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return diag_set(d, ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    size_t n = fwrite(b->data, 1, b->len, f);
    int bad = n != b->len || fclose(f) != 0;
    if (bad)
        return diag_set(d, ERR_IO, "cannot write '%s'", path);
    return ERR_OK;
}

/* Generate the market as two CSV files in dir: market.csv (bars) and splits.csv. */
static int generate(const struct market_opts *mo, const char *dir, size_t *rows, int32_t *days,
                    struct diag *d)
{
    struct market *m;
    int err = market_new(mo, &m, d);
    if (err)
        return err;
    struct buf csv = BUF_INIT((size_t)2 << 30);
    struct barvec day;
    barvec_init(&day);
    err = barcsv_write_header(&csv);
    int32_t date;
    *rows = 0;
    *days = 0;
    while (!err && (err = market_next_day(m, &date, &day)) == ERR_OK) {
        for (size_t i = 0; i < day.n && !err; i++)
            err = barcsv_write_row(&csv, &day.v[i]);
        *rows += day.n;
        (*days)++;
    }
    if (err == ERR_EOF)
        err = ERR_OK;
    char path[1100];
    if (!err) {
        snprintf(path, sizeof path, "%s/market.csv", dir);
        err = write_file(path, &csv, d);
    } else {
        diag_set(d, err, "generating the sample market: %s", err_str(err));
    }
    if (!err) {
        size_t n;
        const struct split *s = market_splits(m, &n);
        buf_reset(&csv);
        err = splitcsv_write(&csv, s, n);
        snprintf(path, sizeof path, "%s/splits.csv", dir);
        if (!err)
            err = write_file(path, &csv, d);
    }
    buf_release(&csv);
    barvec_release(&day);
    market_free(m);
    return err;
}

struct table_out {
    struct screen_writer w;
    struct buf b;
};

static int emit(void *ctx, int32_t date, const struct screen_row *rows, size_t n)
{
    struct table_out *t = ctx;
    (void)date;
    return screen_writer_rows(&t->w, &t->b, rows, n);
}

static int print_screen(struct app *a, enum screen_metric by, struct diag *d)
{
    struct screen_opts so;
    screen_opts_default(&so);
    so.by = by;
    struct table_out t;
    buf_init(&t.b, 1 << 20);
    screen_writer_begin(&t.w, &t.b, SCREEN_FORMAT_TABLE, &so);
    struct screen_run_stats st;
    int err = screen_run(a->bs, &so, INT32_MIN, INT32_MIN, emit, &t, &st, d);
    if (!err) {
        buf_putc(&t.b, '\n');
        err = app_write_stdout(a, t.b.data, t.b.len) ? ERR_IO : ERR_OK;
    }
    buf_release(&t.b);
    return err;
}

static void remove_dir(const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/market.csv", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/splits.csv", dir);
    unlink(path);
    rmdir(dir);
}

int cmd_demo(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"symbols", required_argument, NULL, OPT_SYMBOLS},
        {"years", required_argument, NULL, OPT_YEARS},
        {"seed", required_argument, NULL, OPT_SEED},
        APP_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct app a;
    app_init(&a, "screener demo");
    struct market_opts mo;
    market_opts_default(&mo);
    long years = 3, v;
    int opt, rc;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(help, stdout);
            return 0;
        case OPT_SYMBOLS:
            if ((rc = app_parse_long(&a, "--symbols", optarg, 1, 20000, &v)))
                return rc;
            mo.nsymbols = (size_t)v;
            break;
        case OPT_YEARS:
            if ((rc = app_parse_long(&a, "--years", optarg, 1, 50, &years)))
                return rc;
            break;
        case OPT_SEED:
            if ((rc = app_parse_long(&a, "--seed", optarg, 0, 2147483647L, &v)))
                return rc;
            mo.seed = (uint64_t)v;
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
    mo.last_day = date_from_ymd(DEMO_LAST_YEAR, DEMO_LAST_MONTH, DEMO_LAST_DAY);
    mo.first_day = date_from_ymd(DEMO_LAST_YEAR - (int)years, DEMO_LAST_MONTH, DEMO_LAST_DAY);

    struct diag d = {{0}};
    int err = app_open_store(&a, &d);
    if (err)
        goto fail;

    const char *tmp = getenv("TMPDIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/screener-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        err = diag_set(&d, ERR_IO, "cannot create a temporary directory: %s", strerror(errno));
        goto fail;
    }
    char first[DATE_STRLEN + 1], last[DATE_STRLEN + 1];
    date_format(mo.first_day, first);
    date_format(mo.last_day, last);
    printf("Generating a sample market: %zu symbols, %s to %s ...\n", mo.nsymbols, first, last);
    fflush(stdout);
    size_t rows;
    int32_t days;
    err = generate(&mo, dir, &rows, &days, &d);
    if (!err) {
        printf("  %zu bars on %d trading days, written as CSV\n", rows, (int)days);
        printf("Importing into the store at %s ...\n", a.os->location);
        fflush(stdout);
        struct csvimport_opts io = {.strict = 1, .max_report = 20};
        struct csvimport_stats st = {0};
        char path[1100];
        snprintf(path, sizeof path, "%s/market.csv", dir);
        err = csvimport_file(a.bs, path, &io, &st, &d);
        size_t added = 0;
        snprintf(path, sizeof path, "%s/splits.csv", dir);
        if (!err)
            err = csvimport_splits(a.bs, path, &added, &d);
        if (!err)
            printf("  %zu new bars, %zu already stored, %zu new split facts\n\n", st.imported,
                   st.present, added);
    }
    remove_dir(dir);
    if (!err)
        err = print_screen(&a, SCREEN_BY_DRAWDOWN, &d);
    if (!err)
        err = print_screen(&a, SCREEN_BY_CHANGE, &d);
    if (!err) {
        printf("Try: screener screen --help, screener screen --by change --top 20 --format csv\n");
        app_release(&a);
        return 0;
    }
fail:
    rc = app_fail(&a, err, &d);
    app_release(&a);
    return rc;
}
