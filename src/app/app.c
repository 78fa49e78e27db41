#include "app/app.h"
#include "base/clock.h"
#include "base/date.h"
#include "base/file.h"
#include "base/log.h"
#include "codec/num.h"
#include "collect/collector.h"
#include "collect/run_counts.h"
#include "collect/universe.h"
#include "store/symlog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

void app_init(struct app *a, const char *prog)
{
    memset(a, 0, sizeof *a);
    a->prog = prog;
    log_setup(LOG_WARN, LOG_FORMAT_AUTO);
    const char *env = getenv("SCREENER_LOG_LEVEL");
    enum log_level level;
    if (env && log_level_parse(env, &level) == ERR_OK)
        log_setup(level, LOG_FORMAT_AUTO);
}

void app_release(struct app *a)
{
    barstore_free(a->bs);
    objstore_free(a->os);
    a->bs = NULL;
    a->os = NULL;
}

int app_common_option(struct app *a, int opt, const char *arg)
{
    switch (opt) {
    case OPT_STORE:
        /* An empty value (an unset shell variable) would quietly mean the default store:
         * ./data, or the S3_BUCKET_NAME bucket. */
        if (!*arg)
            return app_usage_error(a, "--store: expected a directory, file://DIR or "
                                      "s3://BUCKET/PREFIX, got ''");
        a->store_location = arg;
        return 0;
    case OPT_LOG_LEVEL: {
        enum log_level level;
        if (log_level_parse(arg, &level))
            return app_usage_error(a,
                                   "--log-level: expected debug, info, warn, error or off, "
                                   "got '%s'",
                                   arg);
        log_setup(level, LOG_FORMAT_AUTO);
        return 0;
    }
    case OPT_LOG_FORMAT: {
        enum log_format f;
        if (log_format_parse(arg, &f))
            return app_usage_error(a, "--log-format: expected auto, json or human, got '%s'", arg);
        log_setup(log_get_level(), f);
        return 0;
    }
    default:
        return -1;
    }
}

int app_open_store(struct app *a, struct diag *d)
{
    char s3[OBJ_KEY_MAX];
    const char *loc = a->store_location;
    if (!loc)
        loc = getenv("SCREENER_STORE");
    if (!loc || !*loc) {
        const char *bucket = getenv("S3_BUCKET_NAME");
        if (bucket && *bucket) {
            snprintf(s3, sizeof s3, "s3://%s", bucket);
            loc = s3;
        } else {
            loc = APP_DEFAULT_STORE;
        }
    }
    int err = objstore_open(loc, &a->os, d);
    if (!err)
        err = barstore_new(a->os, &a->bs, d);
    return err;
}

void app_read_once(struct app *a)
{
    barstore_read_once(a->bs, 1);
    symlog_ahead(a->bs);
}

int app_exit_code(int err)
{
    switch (err) {
    case ERR_OK:
        return 0;
    case ERR_USAGE:
        return EXIT_USAGE;
    case ERR_PARSE:
    case ERR_INVALID:
    case ERR_TOOBIG:
    case ERR_DAMAGED:
        return EXIT_DATA;
    case ERR_CONFLICT:
        return EXIT_CONFLICT;
    case ERR_NOTFOUND:
        return EXIT_NODATA;
    case ERR_UNAVAILABLE:
    case ERR_TIMEOUT:
    case ERR_NETWORK:
    case ERR_RATELIMIT:
        return EXIT_INCOMPLETE;
    case ERR_AUTH:
        return EXIT_CONFIG;
    default:
        return EXIT_FAIL;
    }
}

void app_store_warnings(const struct app *a)
{
    if (!a->bs)
        return;
    const struct strvec *bad = barstore_damaged(a->bs);
    if (bad->n) {
        fprintf(stderr,
                "%s: WARNING: %zu damaged part%s left out; the results lack their bars. Run "
                "'screener verify' for details:\n",
                a->prog, bad->n, bad->n == 1 ? " was" : "s were");
        for (size_t i = 0; i < bad->n; i++)
            fprintf(stderr, "  %s\n", bad->v[i]);
    }
    size_t disagree = barstore_disagreements(a->bs);
    if (disagree)
        fprintf(stderr,
                "%s: warning: %zu bar%s stored twice with different values (two writers at "
                "once); the part first in name order was used. 'screener verify' lists them\n",
                a->prog, disagree, disagree == 1 ? " is" : "s are");
    size_t revised = barstore_final_revised(a->bs);
    if (revised)
        fprintf(stderr,
                "%s: warning: %zu revision%s of final bars outside their settle window %s not "
                "used; the final bars were. 'screener verify' lists them\n",
                a->prog, revised, revised == 1 ? "" : "s", revised == 1 ? "was" : "were");
}

int app_fail(const struct app *a, int err, const struct diag *d)
{
    fprintf(stderr, "%s: error: %s\n", a->prog, d && d->text[0] ? d->text : err_str(err));
    return app_exit_code(err);
}

int app_usage_error(const struct app *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", a->prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", a->prog);
    va_end(ap);
    return EXIT_USAGE;
}

int app_parse_long(const struct app *a, const char *flag, const char *s, long min, long max,
                   long *out)
{
    int64_t v;
    if (num_parse_int(s, strlen(s), &v) || strchr(s, '.') || v < min || v > max)
        return app_usage_error(a, "%s: expected a whole number from %ld to %ld, got '%s'", flag,
                               min, max, s);
    *out = (long)v;
    return 0;
}

int app_parse_date(const struct app *a, const char *flag, const char *s, int32_t *out)
{
    if (date_parse(s, strlen(s), out))
        return app_usage_error(a, "%s: expected a date YYYY-MM-DD, got '%s'", flag, s);
    return 0;
}

static int range_end_parse(const struct app *a, const char *flag, const char *s,
                           struct app_range_end *out)
{
    out->text = s;
    out->kind = APP_RANGE_NONE;
    out->date = 0;
    if (!s)
        return 0;
    if (strcmp(s, "first") == 0)
        out->kind = APP_RANGE_FIRST;
    else if (strcmp(s, "last") == 0)
        out->kind = APP_RANGE_LAST;
    else if (date_parse(s, strlen(s), &out->date))
        return app_usage_error(a, "%s: expected a date YYYY-MM-DD, 'first' or 'last', got '%s'",
                               flag, s);
    else
        out->kind = APP_RANGE_DATE;
    return 0;
}

int app_range_parse(const struct app *a, const char *from, const char *to, struct app_range *r)
{
    int rc = range_end_parse(a, "--from", from, &r->from);
    if (!rc)
        rc = range_end_parse(a, "--to", to, &r->to);
    if (rc)
        return rc;
    if (r->from.kind == APP_RANGE_DATE && r->to.kind == APP_RANGE_DATE && r->to.date < r->from.date)
        return app_usage_error(a, "--to %s is before --from %s", to, from);
    return 0;
}

static int32_t range_end_date(const struct app_range_end *e, int32_t dflt, int32_t first,
                              int32_t last)
{
    switch (e->kind) {
    case APP_RANGE_FIRST:
        return first;
    case APP_RANGE_LAST:
        return last;
    case APP_RANGE_DATE:
        return e->date;
    default:
        return dflt;
    }
}

/* "2024-03-01" for a date as typed, "last (2024-04-19)" for a keyword (dflt: the one an end
 * not given stands for). */
static void range_end_text(const struct app_range_end *e, const char *dflt, const char *date,
                           char *buf, size_t cap)
{
    const char *k = e->kind == APP_RANGE_FIRST  ? "first"
                    : e->kind == APP_RANGE_LAST ? "last"
                                                : dflt;
    if (e->kind == APP_RANGE_DATE)
        snprintf(buf, cap, "%s", date);
    else
        snprintf(buf, cap, "%s (%s)", k, date);
}

int app_range_resolve(const struct app_range *r, int32_t first, int32_t last, int32_t *lo,
                      int32_t *hi, struct diag *d)
{
    *lo = range_end_date(&r->from, first, first, last);
    *hi = range_end_date(&r->to, last, first, last);
    if (*lo <= *hi && *lo <= last && *hi >= first)
        return ERR_OK;
    /* Nothing stored in the range: say where the stored dates are. */
    char f[DATE_STRLEN + 1], t[DATE_STRLEN + 1], s0[DATE_STRLEN + 1], s1[DATE_STRLEN + 1];
    date_format(*lo, f);
    date_format(*hi, t);
    date_format(first, s0);
    date_format(last, s1);
    if (*hi == last && *lo > last)
        return diag_set(d, ERR_NOTFOUND, "no bars stored from %s on: the store holds %s to %s", f,
                        s0, s1);
    if (*lo == first && *hi < first)
        return diag_set(d, ERR_NOTFOUND, "no bars stored up to %s: the store holds %s to %s", t, s0,
                        s1);
    if (*hi < *lo) { /* an end given as a keyword: the date it stands for */
        char tt[64], ft[64];
        range_end_text(&r->to, "last", t, tt, sizeof tt);
        range_end_text(&r->from, "first", f, ft, sizeof ft);
        return diag_set(d, ERR_NOTFOUND, "--to %s is before --from %s: the store holds %s to %s",
                        tt, ft, s0, s1);
    }
    return diag_set(d, ERR_NOTFOUND, "no bars stored from %s to %s: the store holds %s to %s", f, t,
                    s0, s1);
}

int app_parse_price(const struct app *a, const char *flag, const char *s, int64_t *out)
{
    if (num_parse_fixed(s, strlen(s), out) || *out < 0)
        return app_usage_error(a,
                               "%s: expected a price, a decimal number such as 5 or 2.50 from 0 "
                               "to 9223372036854 (no exponent), got '%s'",
                               flag, s);
    return 0;
}

int app_write_stdout(const struct app *a, const char *data, size_t len)
{
    fflush(stdout); /* keep order with anything printed through stdio */
    while (len) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno != EPIPE)
                fprintf(stderr, "%s: error: cannot write output: %s\n", a->prog, strerror(errno));
            return EXIT_FAIL;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

void app_progress_init(struct app_progress *p, int enabled)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled && isatty(STDERR_FILENO) && log_get_format() != LOG_FORMAT_JSON;
    p->start_us = clock_mono_us();
}

void app_progress_show(struct app_progress *p, int force, const char *fmt, ...)
{
    if (!p->enabled)
        return;
    int64_t now = clock_mono_us();
    if (!force && now - p->last_us < 200000)
        return;
    p->last_us = now;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* The line is rewritten in place: what was longer before is cleared. */
    fprintf(stderr, "\r%s\033[K", line);
    p->shown = 1;
}

static void on_progress(void *ctx, const struct collect_stats *st)
{
    struct app_progress *p = ctx;
    int64_t now = clock_mono_us();
    double frac = st->bars_expected ? (double)st->bars_received / (double)st->bars_expected : 0;
    if (frac > 1)
        frac = 1;
    double elapsed = (double)(now - p->start_us) / 1e6;
    char eta[32] = "";
    if (frac > 0.02 && frac < 1)
        snprintf(eta, sizeof eta, ", ETA %.0fs", elapsed / frac * (1 - frac));
    app_progress_show(p, 0, "collect: %zu/%zu symbols, %zu bars, %zu requests, %zu retries%s",
                      st->symbols_done + st->symbols_current, st->symbols, st->bars_received,
                      (size_t)st->fetch.requests, (size_t)st->fetch.retries, eta);
}

void app_progress_start(struct app_progress *p, int enabled, struct collect_opts *co)
{
    app_progress_init(p, enabled);
    if (p->enabled) {
        co->on_progress = on_progress;
        co->ctx = p;
    }
}

void app_progress_end(struct app_progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
    p->shown = 0;
}

void app_print_run_details(const struct run_counts *c)
{
    if (c->bars_revised || c->bars_finalized || c->bars_provisional) {
        char fin[DATE_STRLEN + 1];
        date_format(c->final_day, fin);
        printf("Revisions: %zu stored bars changed by the vendor (new values recorded), %zu "
               "confirmed final; %zu bars provisional (final from 20:15 New York of their "
               "day; final up to %s)\n",
               c->bars_revised, c->bars_finalized, c->bars_provisional, fin);
    }
    if (run_counts_problems(c)) {
        struct buf text = BUF_INIT(1024);
        if (run_counts_problems_text(&text, c) == ERR_OK)
            printf("Data problems (reported above, not stored): %s\n", buf_cstr(&text));
        buf_release(&text);
    }
}

int app_load_universe(struct app *a, const char *file, struct universe *u, struct diag *d)
{
    struct buf data = BUF_INIT(UNIVERSE_INPUT_MAX);
    int err;
    const char *source = file;
    if (file) {
        err = file_read(file, &data, d);
        if (err) {
            buf_release(&data);
            return diag_prefix(d, err, "universe");
        }
    } else {
        source = APP_UNIVERSE_KEY;
        err = objstore_get(a->os, APP_UNIVERSE_KEY, &data, NULL, d);
        if (err == ERR_NOTFOUND) {
            buf_release(&data);
            return diag_set(d, ERR_USAGE,
                            "no universe: name symbols, pass --universe FILE, or run "
                            "'screener universe fetch' first");
        }
        if (err) {
            buf_release(&data);
            return err;
        }
    }
    err = universe_parse(data.data ? data.data : "", data.len, source, NULL, u, d);
    buf_release(&data);
    return err;
}

const char *app_font_file(char *buf, size_t cap)
{
    const char *env = getenv("SCREENER_FONT");
    if (env && *env)
        return env;
    const char *root = getenv("LAMBDA_TASK_ROOT");
    if (root && *root && (size_t)snprintf(buf, cap, "%s/fonts/DejaVuSans.ttf", root) < cap &&
        access(buf, R_OK) == 0)
        return buf;
    return NULL;
}
