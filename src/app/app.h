/* app.h - what the command mains share: options common to every subcommand, opening the
 * store, and turning errors into messages and documented exit codes.  Only this layer prints
 * to the user or exits. */
#ifndef APP_APP_H
#define APP_APP_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/barstore.h"
#include "store/objstore.h"

/* Exit codes (docs/usage.md#exit-codes and `screener --help`). */
enum {
    EXIT_OK_ = 0,
    EXIT_FAIL = 1,       /* an I/O or internal failure */
    EXIT_USAGE = 2,      /* bad command line */
    EXIT_DATA = 3,       /* bad input data (malformed rows, stored data that fails validation) */
    EXIT_CONFLICT = 4,   /* bars that conflict with stored ones were refused */
    EXIT_NODATA = 5,     /* nothing to work on (empty store, no bars on the date asked) */
    EXIT_INCOMPLETE = 6, /* some requests still failed after retries: a rerun completes */
    EXIT_CONFIG = 7,     /* credentials missing or refused, configuration missing */
};

#define APP_DEFAULT_STORE "./data"
/* Where `screener universe fetch` keeps the universe in the store. */
#define APP_UNIVERSE_KEY "universe/symbols.txt"
#define APP_HOLDINGS_KEY "universe/holdings.csv"
/* One plain list per fetch, named by its date: the point-in-time universe. */
#define APP_UNIVERSE_SNAPSHOTS "universe/snapshots/"

struct app {
    const char *prog; /* "screener import" etc., for messages */
    const char *store_location;
    struct objstore *os;
    struct barstore *bs;
};

/* Long options every subcommand accepts; add APP_COMMON_LONGOPTS to a getopt_long table and
 * pass unknown codes to app_common_option(). */
enum { OPT_STORE = 0x1000, OPT_LOG_LEVEL, OPT_LOG_FORMAT, OPT_FIRST_FREE_ };
#define APP_COMMON_LONGOPTS                                                                        \
    {"store", required_argument, NULL, OPT_STORE},                                                 \
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},                                     \
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},                                   \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }
#define APP_COMMON_HELP                                                                            \
    "      --store LOCATION     bar store: a directory, file://DIR or s3://BUCKET/PREFIX\n"        \
    "                           (default: $SCREENER_STORE, else s3://$S3_BUCKET_NAME, else\n"      \
    "                           ./data)\n"                                                         \
    "      --log-level LEVEL    debug, info, warn (default), error, off\n"                         \
    "      --log-format FORMAT  auto (text on a terminal, else JSON lines), json, human\n"         \
    "  -h, --help               show this help\n"

void app_init(struct app *a, const char *prog);
void app_release(struct app *a);

/* Handle a common option; returns 0 when handled, EXIT_USAGE on a bad value, -1 when opt is
 * not a common one. */
int app_common_option(struct app *a, int opt, const char *arg);

/* Resolve and open the store (flag, SCREENER_STORE, S3_BUCKET_NAME, ./data). */
int app_open_store(struct app *a, struct diag *d);

/* The store is read for this command alone: on S3 its logs' listings go along with its first
 * listing, and a listing of every bar part answers the later ones (barstore_read_once). */
void app_read_once(struct app *a);

/* Warn on stderr about what the store's reads met: damaged parts left out, parts that
 * disagree (the part first in name order was used).  Nothing when there was nothing. */
void app_store_warnings(const struct app *a);

/* Print "<prog>: error: <diag or err_str>" to stderr and return the exit code for err. */
int app_fail(const struct app *a, int err, const struct diag *d);
int app_usage_error(const struct app *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int app_exit_code(int err);

/* Parse helpers for flag values: whole numbers in [min, max], dates, prices. */
int app_parse_long(const struct app *a, const char *flag, const char *s, long min, long max,
                   long *out);
int app_parse_date(const struct app *a, const char *flag, const char *s, int32_t *out);
int app_parse_price(const struct app *a, const char *flag, const char *s, int64_t *out);

/* A --from/--to range as typed.  Each end is not given, a keyword (the first or last stored
 * date) or a date; the store's dates make it a range of dates (app_range_resolve). */
enum app_range_kind { APP_RANGE_NONE, APP_RANGE_FIRST, APP_RANGE_LAST, APP_RANGE_DATE };
struct app_range_end {
    const char *text; /* as typed; NULL when not given */
    enum app_range_kind kind;
    int32_t date; /* APP_RANGE_DATE */
};
struct app_range {
    struct app_range_end from, to;
};

/* Parse --from and --to (NULL: not given) into r: a date YYYY-MM-DD, 'first' or 'last' (the
 * first or last stored date, for either flag).  Reads no store.  EXIT_USAGE after a message for a
 * bad value, or when both are dates and --to is before --from (wrong whatever the store holds);
 * else 0. */
int app_range_parse(const struct app *a, const char *from, const char *to, struct app_range *r);

/* The dates [*lo, *hi] of r in a store whose dates run from first to last: a --from not given
 * is the first, a --to not given the last.  ERR_NOTFOUND, with d saying which dates the store
 * holds, when the range reaches none of them (a --from after the last, say). */
int app_range_resolve(const struct app_range *r, int32_t first, int32_t last, int32_t *lo,
                      int32_t *hi, struct diag *d);

/* The charts' font file: $SCREENER_FONT, else fonts/DejaVuSans.ttf of the Lambda package
 * ($LAMBDA_TASK_ROOT) when it is there, else NULL (the system's DejaVu Sans).  buf holds the
 * path built. */
const char *app_font_file(char *buf, size_t cap);

/* Write all of data to stdout; EXIT_FAIL (after a message) when stdout fails. */
int app_write_stdout(const struct app *a, const char *data, size_t len);

/* A progress line on a terminal (stderr) for long work: collect, demo, import.  It is on
 * only when enabled (no --no-progress), stderr is a terminal and the log is not set to JSON
 * lines; show rewrites it at most five times a second (force: now, for a new stage); end
 * clears it.  start is the collection's: init, and co's progress callback when it is on. */
struct collect_opts;
struct app_progress {
    int enabled;
    int64_t last_us, start_us;
    int shown;
};
void app_progress_init(struct app_progress *p, int enabled);
void app_progress_show(struct app_progress *p, int force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void app_progress_start(struct app_progress *p, int enabled, struct collect_opts *co);
void app_progress_end(struct app_progress *p);

/* After a collection's summary line, for collect and demo: the "Revisions: ..." line when
 * stored bars were revised, confirmed final or left provisional, and the "Data problems ..."
 * line when there were any (stdout). */
struct run_counts;
void app_print_run_details(const struct run_counts *c);

struct universe;
/* The universe from file (a plain list or iShares holdings), else the list `screener universe
 * fetch` stored; ERR_USAGE when there is neither.  The problems found are in u->problems for
 * the caller to report. */
int app_load_universe(struct app *a, const char *file, struct universe *u, struct diag *d);

/* Subcommands */
int cmd_import(int argc, char **argv);
int cmd_screen(int argc, char **argv);
int cmd_backtest(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_chart(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_universe(int argc, char **argv);
int cmd_presign(int argc, char **argv);
int cmd_lambda(int argc, char **argv);
int cmd_invoke(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_poll(int argc, char **argv);
int cmd_bot(int argc, char **argv);
int cmd_portfolio(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

#endif
