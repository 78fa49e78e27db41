#include "screen/screen_run.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/symchange.h"
#include "store/symlog.h"

#include <string.h>

#include "base/banned.h"

struct run {
    struct screen *engine;
    int32_t from, to;
    screen_emit_fn emit;
    void *ctx;
    struct screen_run_stats *stats;
    struct diag *d;
    const struct symchange *changes; /* sorted by date */
    size_t nchanges, next_change;
    struct barvec day; /* a day's bars under their names on the day */
};

/* The symbol changes made by this date carry their histories over; the day's bars get the
 * names their companies had on it (docs/definitions.md#symbol-changes). */
static int apply_symbol_changes(struct run *r, int32_t date, const struct bar **bars, size_t *n)
{
    int err = ERR_OK;
    while (!err && r->next_change < r->nchanges && r->changes[r->next_change].date <= date) {
        const struct symchange *c = &r->changes[r->next_change++];
        err = screen_rename(r->engine, c->old_symbol, c->new_symbol, r->d);
    }
    if (!err && symchange_day_names(r->changes, r->nchanges, date, bars, n, &r->day))
        err = diag_set(r->d, ERR_NOMEM, "out of memory");
    return err;
}

static int on_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct run *r = ctx;
    r->stats->days_read++;
    r->stats->bars_read += n;
    int err = r->nchanges ? apply_symbol_changes(r, date, &bars, &n) : ERR_OK;
    if (!err)
        err = screen_add_day(r->engine, date, bars, n, r->d);
    if (err || date < r->from)
        return err;
    const struct screen_row *rows;
    size_t nrows;
    if ((err = screen_rank(r->engine, &rows, &nrows)))
        return diag_set(r->d, err, "ranking: %s", err_str(err));
    r->stats->days_ranked++;
    return r->emit(r->ctx, date, rows, nrows);
}

/* Screen [from, to]; the days are read by a scan of idx when given (it must hold the window's
 * days, from - (window - 1) on), else by a scan of the store, on a second thread when ahead. */
/* The first day a screen of from on needs: the window's, or the first stored one. */
static int32_t window_start(const struct screen_opts *opts, int32_t from)
{
    return opts->min_bars <= 1 || from == SCREEN_RUN_FIRST ? INT32_MIN
                                                           : from - (opts->window_days - 1);
}

static int run(struct barstore *bs, const struct screen_opts *opts, int32_t from, int32_t to,
               const struct bar_index *idx, int ahead, screen_emit_fn emit, void *ctx,
               struct screen_run_stats *stats, struct diag *d)
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
    struct symchangevec changes;
    int32_t start = window_start(opts, from);
    /* On S3 the logs' listings and the scan's go together: each is a round trip. */
    symlog_ahead(bs);
    barstore_index_ahead(bs, start, to);
    splitvec_init(&splits);
    symchangevec_init(&changes);
    if ((err = barstore_read_splits(bs, &splits, d)) || (err = symlog_read(bs, &changes, d))) {
        splitvec_release(&splits);
        return err;
    }
    /* A split recorded under a company's old symbol applies to its history under the new. */
    symchange_map_splits(changes.v, changes.n, SYMCHANGE_BAR_DATE, &splits);
    struct run r = {NULL, from, to, emit, ctx, stats, d, changes.v, changes.n, 0, {0}};
    barvec_init(&r.day);
    err = screen_new(opts, splits.v, splits.n, &r.engine, d);
    splitvec_release(&splits);
    if (err) {
        symchangevec_release(&changes);
        return err;
    }
    struct log_timer t = log_timer_start("screen");
    err = idx     ? barstore_scan_index(bs, idx, on_day, &r, d)
          : ahead ? barstore_scan_ahead(bs, start, to, on_day, &r, d)
                  : barstore_scan(bs, start, to, on_day, &r, d);
    stats->symbols = screen_symbols(r.engine);
    screen_free(r.engine);
    barvec_release(&r.day);
    symchangevec_release(&changes);
    if (!err && stats->days_ranked == 0 && from == SCREEN_RUN_FIRST) {
        int32_t first, last; /* the store's own words for an empty store */
        err = barstore_date_range(bs, &first, &last, NULL, d);
        if (!err)
            err = diag_set(d, ERR_NOTFOUND, "no bars stored up to the given date");
    } else if (!err && stats->days_ranked == 0) {
        char a[DATE_STRLEN + 1], b[DATE_STRLEN + 1];
        date_format(from, a);
        date_format(to, b);
        err = from == to ? diag_set(d, ERR_NOTFOUND, "no bars stored for %s", a)
                         : diag_set(d, ERR_NOTFOUND, "no bars stored from %s to %s", a, b);
    }
    log_timer_end(&t, err);
    return err;
}

int screen_run(struct barstore *bs, const struct screen_opts *opts, int32_t from, int32_t to,
               screen_emit_fn emit, void *ctx, struct screen_run_stats *stats, struct diag *d)
{
    return run(bs, opts, from, to, NULL, 1, emit, ctx, stats, d);
}

int screen_run_alone(struct barstore *bs, const struct screen_opts *opts, int32_t from, int32_t to,
                     screen_emit_fn emit, void *ctx, struct screen_run_stats *stats, struct diag *d)
{
    int err = ERR_OK;
    struct bar_index idx = {0};
    int have_idx = 0;
    if (window_start(opts, from == INT32_MIN ? 0 : from) != INT32_MIN) {
        /* A range with its window: listed once, its parts read at once when few. */
        int32_t first;
        if (from == INT32_MIN && !(err = barstore_date_range(bs, &first, &from, NULL, d)))
            to = from;
        if (!err && to < from)
            err = diag_set(d, ERR_USAGE, "the range ends before it starts");
        if (!err && !(err = barstore_index(bs, window_start(opts, from), to, &idx, d))) {
            have_idx = 1;
            if (idx.ndays <= SCREEN_RUN_ALONE_DAYS)
                barstore_prefetch_index(bs, &idx, 1);
        }
    }
    if (!err)
        err = run(bs, opts, from, to, have_idx ? &idx : NULL, 1, emit, ctx, stats, d);
    if (have_idx)
        bar_index_release(&idx);
    barstore_prefetch_drop(bs);
    return err;
}

int screen_run_inline(struct barstore *bs, const struct screen_opts *opts, int32_t from, int32_t to,
                      screen_emit_fn emit, void *ctx, struct screen_run_stats *stats,
                      struct diag *d)
{
    return run(bs, opts, from, to, NULL, 0, emit, ctx, stats, d);
}
