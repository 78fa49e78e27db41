#include "screen/screen_run.h"
#include "base/date.h"
#include "base/log.h"

#include <string.h>

#include "base/banned.h"

struct run {
    struct screen *engine;
    int32_t from, to;
    screen_emit_fn emit;
    void *ctx;
    struct screen_run_stats *stats;
    struct diag *d;
};

static int on_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct run *r = ctx;
    r->stats->days_read++;
    r->stats->bars_read += n;
    int err = screen_add_day(r->engine, date, bars, n, r->d);
    if (err || date < r->from)
        return err;
    const struct screen_row *rows;
    size_t nrows;
    if ((err = screen_rank(r->engine, &rows, &nrows)))
        return diag_set(r->d, err, "ranking: %s", err_str(err));
    r->stats->days_ranked++;
    return r->emit(r->ctx, date, rows, nrows);
}

int screen_run(struct barstore *bs, const struct screen_opts *opts, int32_t from, int32_t to,
               screen_emit_fn emit, void *ctx, struct screen_run_stats *stats, struct diag *d)
{
    memset(stats, 0, sizeof *stats);
    int err;
    if (from == INT32_MIN) {
        int32_t first;
        if ((err = barstore_date_range(bs, &first, &from, NULL, d)))
            return err;
        to = from;
    }
    if (to < from)
        return diag_set(d, ERR_USAGE, "the range ends before it starts");

    struct splitvec splits;
    splitvec_init(&splits);
    if ((err = barstore_read_splits(bs, &splits, d)))
        return err;
    struct run r = {NULL, from, to, emit, ctx, stats, d};
    err = screen_new(opts, splits.v, splits.n, &r.engine, d);
    splitvec_release(&splits);
    if (err)
        return err;
    int32_t start = opts->min_bars <= 1 ? INT32_MIN : from - (opts->window_days - 1);
    struct log_timer t = log_timer_start("screen");
    err = barstore_scan_ahead(bs, start, to, on_day, &r, d);
    stats->symbols = screen_symbols(r.engine);
    screen_free(r.engine);
    if (!err && stats->days_ranked == 0) {
        char a[DATE_STRLEN + 1], b[DATE_STRLEN + 1];
        date_format(from, a);
        date_format(to, b);
        err = from == to ? diag_set(d, ERR_NOTFOUND, "no bars stored for %s", a)
                         : diag_set(d, ERR_NOTFOUND, "no bars stored from %s to %s", a, b);
    }
    log_timer_end(&t, err);
    return err;
}
