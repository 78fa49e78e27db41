/* run_counts.c - a collection run's counts and totals (see run_counts.h). */
#include "collect/run_counts.h"

#include <string.h>

#include "base/banned.h"

void run_counts_from_stats(struct run_counts *c, const struct collect_stats *st, int err)
{
    memset(c, 0, sizeof *c);
    c->end = st->end;
    c->symbols = st->symbols;
    c->symbols_current = st->symbols_current;
    c->symbols_planned = st->symbols_planned;
    c->symbols_failed = st->symbols_failed;
    c->symbols_not_attempted = st->symbols_not_attempted;
    size_t out = st->symbols_failed + st->symbols_not_attempted;
    c->symbols_fetched = st->symbols_planned > out ? st->symbols_planned - out : 0;
    c->bars_received = st->bars_received;
    c->bars_new = st->bars_new;
    c->bars_same = st->bars_same;
    c->splits_new = st->splits_new;
    c->symbol_changes_new = st->symbol_changes_new;
    c->bars_revised = st->bars_revised;
    c->bars_finalized = st->bars_finalized;
    c->bars_provisional = st->bars_provisional;
    c->final_day = st->final_day;
    c->closed_days_learned = st->closed_days_learned;
    c->recent_data_refusals = st->recent_data_refusals;
    c->requests = st->fetch.requests;
    c->retries = st->fetch.retries;
    c->rate_limited = st->fetch.rate_limited;
    c->duration_ms = st->elapsed_ms;
    c->run_failed = err != ERR_OK;
#define RUN_COUNTS_COPY_(f, what) c->f = st->f;
    RUN_PROBLEMS(RUN_COUNTS_COPY_)
#undef RUN_COUNTS_COPY_
}

size_t run_counts_problems(const struct run_counts *c)
{
    size_t n = 0;
#define RUN_COUNTS_SUM_(f, what) n += c->f;
    RUN_PROBLEMS(RUN_COUNTS_SUM_)
#undef RUN_COUNTS_SUM_
    return n;
}

size_t run_counts_errors(const struct run_counts *c)
{
    return run_counts_problems(c) + c->symbols_failed + (c->run_failed ? 1 : 0);
}

int run_counts_problems_text(struct buf *out, const struct run_counts *c)
{
    int err = ERR_OK;
    const char *sep = "";
#define RUN_COUNTS_TEXT_(f, what)                                                                  \
    if (!err) {                                                                                    \
        err = buf_printf(out, "%s%zu %s", sep, c->f, what);                                        \
        sep = ", ";                                                                                \
    }
    RUN_PROBLEMS(RUN_COUNTS_TEXT_)
#undef RUN_COUNTS_TEXT_
    return err;
}
