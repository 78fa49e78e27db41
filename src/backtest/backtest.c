#include "backtest/backtest.h"
#include "base/date.h"
#include "base/log.h"
#include "codec/num.h"
#include "codec/symchange.h"
#include "store/symlog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

void backtest_opts_default(struct backtest_opts *o)
{
    memset(o, 0, sizeof *o);
    o->top = 10;
    o->every = 5;
    o->target_pct = 100;
    o->signal_top = 5;
    o->stop_pct = 0;
    o->max_hold = 0;
    o->cost_bps = 5;
    o->capital = 100000;
    screen_opts_default(&o->screen);
}

int backtest_opts_check(const struct backtest_opts *o, struct diag *d)
{
    if (o->top < 1 || o->top > BACKTEST_TOP_MAX)
        return diag_set(d, ERR_USAGE, "top must be 1 to %d, got %d", BACKTEST_TOP_MAX, o->top);
    if (o->every < 1)
        return diag_set(d, ERR_USAGE, "every must be at least 1, got %d", o->every);
    if (o->signal_top < 1)
        return diag_set(d, ERR_USAGE, "signal-top must be at least 1, got %d", o->signal_top);
    if (!isfinite(o->target_pct))
        return diag_set(d, ERR_USAGE, "target must be a number");
    if (!isfinite(o->stop_pct) || o->stop_pct < 0 || o->stop_pct > 100)
        return diag_set(d, ERR_USAGE, "stop must be 0 (off) to 100 percent, got %g", o->stop_pct);
    if (o->max_hold < 0)
        return diag_set(d, ERR_USAGE, "max-hold must be 0 (off) or more, got %d", o->max_hold);
    if (!isfinite(o->cost_bps) || o->cost_bps < 0 || o->cost_bps >= 10000)
        return diag_set(d, ERR_USAGE, "cost-bps must be 0 to below 10000, got %g", o->cost_bps);
    if (!isfinite(o->capital) || o->capital <= 0 || o->capital > 1e15)
        return diag_set(d, ERR_USAGE, "capital must be positive (at most 1e15), got %g",
                        o->capital);
    const struct screen_opts *s = &o->screen;
    if (s->window_days < 1 || s->window_days > SCREEN_WINDOW_MAX)
        return diag_set(d, ERR_USAGE, "window must be 1 to %d days, got %d", SCREEN_WINDOW_MAX,
                        s->window_days);
    if (s->min_bars < 1 || s->min_bars > s->window_days)
        return diag_set(d, ERR_USAGE,
                        "--min-bars %d is more than the window of %d day%s: give --min-bars %d "
                        "or less, or a longer --window",
                        s->min_bars, s->window_days, s->window_days == 1 ? "" : "s",
                        s->window_days);
    if (s->min_price < 0 || s->min_volume < 0)
        return diag_set(d, ERR_USAGE, "min-price and min-volume cannot be negative");
    return ERR_OK;
}

const char *backtest_exit_name(enum backtest_exit e)
{
    switch (e) {
    case BACKTEST_TARGET:
        return "target";
    case BACKTEST_STOP:
        return "stop";
    case BACKTEST_MAX_HOLD:
        return "max-hold";
    case BACKTEST_DELISTED:
        return "delisted";
    case BACKTEST_OPEN:
        break;
    }
    return "open";
}

/* ---- one parameter set ---- */

struct pos {
    char symbol[BAR_SYMBOL_MAX + 1];
    int entry_idx;
    int32_t entry_date;
    double entry_price, qty, cost_basis, last_close;
    int missing;             /* consecutive dates of T without a bar */
    enum backtest_exit mark; /* BACKTEST_OPEN: not marked for sale */
};

struct bt {
    const struct backtest_opts *o;
    const struct backtest_sink *sink;
    struct backtest_summary *sum;
    size_t engine;
    double c; /* cost as a fraction */
    double cash;
    struct pos *pos; /* sorted by symbol, at most top */
    size_t npos;
    char (*buy)[BAR_SYMBOL_MAX + 1]; /* decided at the last signal's close */
    size_t nbuy;
    double *r; /* scratch: returns of the positions */
    double *equity;
    size_t neq, eqcap;
    double peak, maxdd;
    size_t exposed, closed, wins;
    double hold_sum;
    int last_signal_idx, last_signal_without_universe;
};

struct eng {
    struct screen_opts so;
    struct screen *s;
    int32_t start;
    int32_t ranked_date;
    const struct screen_row *rows;
    size_t nrows;
};

struct day_split {
    char symbol[BAR_SYMBOL_MAX + 1];
    double f;
};

struct close_rec {
    char symbol[BAR_SYMBOL_MAX + 1];
    double close;
};

struct run {
    struct bt *bt;
    size_t nbt;
    struct eng *eng;
    size_t neng;
    int32_t from, to;
    struct split *splits; /* by ex_date */
    size_t nsplits, next_split;
    struct day_split *today; /* splits with ex_date in (previous date, date] */
    size_t ntoday, today_cap;
    struct close_rec *prev; /* the previous date's closes, by symbol */
    size_t nprev, prev_cap;
    double bench; /* compounded factor */
    int idx;      /* index of the current date in T; -1 before from */
    int32_t date, prev_date;
    const struct backtest_universe *u;
    size_t u_loaded; /* index of the loaded snapshot, or SIZE_MAX */
    struct strvec usyms;
    struct backtest_stats *stats;
    struct diag *d;
    /* Symbol changes (docs/definitions.md#symbol-changes), by date. */
    const struct symchange *changes;
    size_t nchanges, next_change;
    struct barvec day; /* a day's bars under the names of the day */
};

static double px(int64_t millionths)
{
    return (double)millionths / (double)NUM_FIXED_SCALE;
}

static const struct bar *find_bar(const struct bar *bars, size_t n, const char *symbol)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(bars[mid].symbol, symbol);
        if (c == 0)
            return &bars[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Index of symbol among the positions, or where it would go (*found 0). */
static size_t find_pos(const struct bt *b, const char *symbol, int *found)
{
    size_t lo = 0, hi = b->npos;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->pos[mid].symbol, symbol);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static int emit_trade(struct run *r, struct bt *b, const struct pos *p, int exit_idx,
                      double exit_price, double proceeds, enum backtest_exit reason)
{
    struct backtest_trade t;
    memcpy(t.symbol, p->symbol, sizeof t.symbol);
    t.entry_date = p->entry_date;
    t.exit_date = r->date;
    t.entry_price = p->entry_price;
    t.exit_price = exit_price;
    t.qty = p->qty;
    t.cost_basis = p->cost_basis;
    t.proceeds = proceeds;
    t.return_pct = 100.0 * (proceeds / p->cost_basis - 1.0);
    t.hold_days = exit_idx - p->entry_idx;
    t.reason = reason;
    if (reason != BACKTEST_OPEN) {
        b->closed++;
        b->wins += t.return_pct > 0;
        b->hold_sum += t.hold_days;
    }
    return b->sink && b->sink->trade ? b->sink->trade(b->sink->ctx, &t) : ERR_OK;
}

/* The open of T[idx]: splits, then the sells marked at the last close, then the buys. */
static int bt_open(struct run *r, struct bt *b, const struct bar *bars, size_t n)
{
    int found, err;
    for (size_t k = 0; k < r->ntoday; k++) {
        size_t i = find_pos(b, r->today[k].symbol, &found);
        if (found) {
            b->pos[i].qty *= r->today[k].f;
            b->pos[i].entry_price /= r->today[k].f;
            b->pos[i].last_close /= r->today[k].f;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < b->npos; i++) {
        struct pos *p = &b->pos[i];
        const struct bar *bar = p->mark != BACKTEST_OPEN ? find_bar(bars, n, p->symbol) : NULL;
        if (!bar) {
            b->pos[kept++] = *p;
            continue;
        }
        double open = px(bar->open), proceeds = p->qty * open * (1.0 - b->c);
        b->cash += proceeds;
        if ((err = emit_trade(r, b, p, r->idx, open, proceeds, p->mark)))
            return err;
    }
    b->npos = kept;

    size_t slots = (size_t)b->o->top - b->npos, bought = 0;
    double x = slots ? b->cash / (double)slots : 0;
    for (size_t k = 0; k < b->nbuy && bought < slots; k++) {
        const struct bar *bar = find_bar(bars, n, b->buy[k]);
        if (!bar) {
            b->sum->buys_dropped++;
            continue;
        }
        size_t i = find_pos(b, b->buy[k], &found);
        if (found)
            continue; /* cannot happen: the list holds symbols not held */
        memmove(&b->pos[i + 1], &b->pos[i], (b->npos - i) * sizeof *b->pos);
        struct pos *p = &b->pos[i];
        memcpy(p->symbol, b->buy[k], sizeof p->symbol);
        p->entry_idx = r->idx;
        p->entry_date = r->date;
        p->entry_price = px(bar->open);
        p->qty = x * (1.0 - b->c) / p->entry_price;
        p->cost_basis = x;
        p->last_close = p->entry_price;
        p->missing = 0;
        p->mark = BACKTEST_OPEN;
        b->npos++;
        b->cash -= x;
        bought++;
    }
    b->nbuy = 0;
    return ERR_OK;
}

static int cmp_desc(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a > b ? -1 : a < b ? 1 : 0;
}

static int rank_engine(struct run *r, struct eng *e)
{
    if (e->ranked_date == r->date)
        return ERR_OK;
    if (screen_rank(e->s, &e->rows, &e->nrows))
        return diag_set(r->d, ERR_NOMEM, "out of memory");
    e->ranked_date = r->date;
    r->stats->ranks++;
    return ERR_OK;
}

/* The snapshot in force on the current date, loaded; 0 when there is none. */
static int universe_in_force(struct run *r, int *have)
{
    const struct backtest_universe *u = r->u;
    size_t lo = 0, hi = u ? u->n : 0;
    while (lo < hi) { /* first snapshot dated after the date */
        size_t mid = lo + (hi - lo) / 2;
        if (u->dates[mid] <= r->date)
            lo = mid + 1;
        else
            hi = mid;
    }
    *have = lo > 0;
    if (!*have || r->u_loaded == lo - 1)
        return ERR_OK;
    strvec_release(&r->usyms);
    strvec_init(&r->usyms);
    r->u_loaded = SIZE_MAX;
    int err = u->load(u->ctx, lo - 1, &r->usyms, r->d);
    if (err)
        return err;
    strvec_sort(&r->usyms);
    r->u_loaded = lo - 1;
    return ERR_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The close of T[idx]: last closes, exits, the signal, the valuation. */
static int bt_close(struct run *r, struct bt *b, const struct bar *bars, size_t n)
{
    const struct backtest_opts *o = b->o;
    int err;
    size_t marked = 0;
    for (size_t i = 0; i < b->npos; i++) {
        struct pos *p = &b->pos[i];
        const struct bar *bar = find_bar(bars, n, p->symbol);
        if (bar) {
            p->last_close = px(bar->close);
            p->missing = 0;
        } else {
            p->missing++;
        }
        b->r[i] = p->last_close / p->entry_price - 1.0;
    }
    if (b->npos) {
        double *best = b->r + o->top;
        memcpy(best, b->r, b->npos * sizeof *best);
        qsort(best, b->npos, sizeof *best, cmp_desc);
        size_t m = b->npos < (size_t)o->signal_top ? b->npos : (size_t)o->signal_top;
        double s = 0;
        for (size_t i = 0; i < m; i++)
            s += best[i];
        int target = s / (double)m >= o->target_pct / 100.0;
        for (size_t i = 0; i < b->npos; i++) {
            struct pos *p = &b->pos[i];
            if (p->mark == BACKTEST_OPEN && target)
                p->mark = BACKTEST_TARGET;
            if (p->mark == BACKTEST_OPEN && o->stop_pct > 0 && b->r[i] <= -o->stop_pct / 100.0)
                p->mark = BACKTEST_STOP;
            if (p->mark == BACKTEST_OPEN && o->max_hold > 0 &&
                r->idx - p->entry_idx + 1 >= o->max_hold)
                p->mark = BACKTEST_MAX_HOLD;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < b->npos; i++) {
        struct pos *p = &b->pos[i];
        if (p->missing < BACKTEST_DELIST_DATES) {
            marked += p->mark != BACKTEST_OPEN;
            b->pos[kept++] = *p;
            continue;
        }
        double proceeds = p->qty * p->last_close * (1.0 - b->c);
        b->cash += proceeds;
        err = emit_trade(r, b, p, r->idx, p->last_close, proceeds,
                         p->mark != BACKTEST_OPEN ? p->mark : BACKTEST_DELISTED);
        if (err)
            return err;
    }
    b->npos = kept;

    if (r->idx % o->every == 0) {
        b->sum->signal_dates++;
        b->last_signal_idx = r->idx;
        b->last_signal_without_universe = 0;
        size_t slots = (size_t)o->top - (b->npos - marked);
        struct eng *e = &r->eng[b->engine];
        int have = 1;
        if (o->universe_asof) {
            if ((err = universe_in_force(r, &have)))
                return err;
            if (!have) {
                b->sum->signals_without_universe++;
                b->last_signal_without_universe = 1;
            }
        }
        if (have && slots && (err = rank_engine(r, e)))
            return err;
        for (size_t k = 0; have && k < e->nrows && b->nbuy < slots; k++) {
            const char *sym = e->rows[k].symbol;
            int found;
            if (o->universe_asof &&
                !bsearch(&sym, r->usyms.v, r->usyms.n, sizeof *r->usyms.v, str_cmp))
                continue;
            find_pos(b, sym, &found);
            if (!found)
                memcpy(b->buy[b->nbuy++], sym, sizeof b->buy[0]);
        }
    }

    double equity = b->cash;
    for (size_t i = 0; i < b->npos; i++)
        equity += b->pos[i].qty * b->pos[i].last_close;
    if (b->neq == b->eqcap) {
        size_t cap = b->eqcap ? b->eqcap * 2 : 1024;
        double *v = realloc(b->equity, cap * sizeof *v);
        if (!v)
            return diag_set(r->d, ERR_NOMEM, "out of memory");
        b->equity = v;
        b->eqcap = cap;
    }
    b->equity[b->neq++] = equity;
    if (b->neq == 1 || equity > b->peak)
        b->peak = equity;
    if (equity / b->peak - 1.0 < b->maxdd)
        b->maxdd = equity / b->peak - 1.0;
    b->exposed += b->npos > 0;
    if (b->sink && b->sink->day) {
        struct backtest_day day = {r->date, equity, b->cash, b->npos, o->capital * r->bench};
        return b->sink->day(b->sink->ctx, &day);
    }
    return ERR_OK;
}

static int bt_finish(struct run *r, struct bt *b)
{
    struct backtest_summary *s = b->sum;
    if (b->last_signal_idx == r->idx) { /* the last date is no signal date */
        s->signal_dates--;
        s->signals_without_universe -= (size_t)b->last_signal_without_universe;
    }
    for (size_t i = 0; i < b->npos; i++) {
        const struct pos *p = &b->pos[i];
        int err = emit_trade(r, b, p, r->idx, p->last_close, p->qty * p->last_close, BACKTEST_OPEN);
        if (err)
            return err;
    }
    double capital = b->o->capital, fin = b->equity[b->neq - 1];
    s->end = r->date;
    s->trading_days = b->neq;
    s->final_equity = fin;
    s->total_return_pct = 100.0 * (fin / capital - 1.0);
    int32_t days = s->end - s->start;
    s->cagr_pct = days > 0 ? 100.0 * (pow(fin / capital, 365.25 / days) - 1.0) : (double)NAN;
    s->vol_pct = s->sharpe = (double)NAN;
    size_t nr = b->neq - 1;
    if (nr >= 2) {
        double mean = 0, ss = 0;
        for (size_t i = 1; i < b->neq; i++)
            mean += b->equity[i] / b->equity[i - 1] - 1.0;
        mean /= (double)nr;
        for (size_t i = 1; i < b->neq; i++) {
            double x = b->equity[i] / b->equity[i - 1] - 1.0 - mean;
            ss += x * x;
        }
        double sd = sqrt(ss / (double)(nr - 1));
        s->vol_pct = 100.0 * sd * sqrt(252.0);
        if (sd > 0)
            s->sharpe = mean / sd * sqrt(252.0);
    }
    s->max_drawdown_pct = 100.0 * b->maxdd;
    s->trades = b->closed;
    s->win_rate_pct = b->closed ? 100.0 * (double)b->wins / (double)b->closed : (double)NAN;
    s->avg_hold_days = b->closed ? b->hold_sum / (double)b->closed : (double)NAN;
    s->exposure_pct = 100.0 * (double)b->exposed / (double)b->neq;
    s->benchmark_return_pct = 100.0 * (r->bench - 1.0);
    return ERR_OK;
}

/* ---- the pass over the store ---- */

static int split_by_date(const void *pa, const void *pb)
{
    const struct split *a = pa, *b = pb;
    if (a->ex_date != b->ex_date)
        return a->ex_date < b->ex_date ? -1 : 1;
    return strcmp(a->symbol, b->symbol);
}

/* The splits with ex_date in (previous date, date]; the benchmark's return of the date. */
static int advance(struct run *r, const struct bar *bars, size_t n)
{
    r->ntoday = 0;
    while (r->next_split < r->nsplits && r->splits[r->next_split].ex_date <= r->date) {
        const struct split *s = &r->splits[r->next_split++];
        if (r->idx == 0 || s->ex_date <= r->prev_date)
            continue;
        if (r->ntoday == r->today_cap) {
            size_t cap = r->today_cap ? r->today_cap * 2 : 16;
            struct day_split *v = realloc(r->today, cap * sizeof *v);
            if (!v)
                return diag_set(r->d, ERR_NOMEM, "out of memory");
            r->today = v;
            r->today_cap = cap;
        }
        /* Two splits of one symbol between two dates: their factors multiply. */
        if (r->ntoday && strcmp(r->today[r->ntoday - 1].symbol, s->symbol) == 0) {
            r->today[r->ntoday - 1].f *= split_factor(s);
            continue;
        }
        memcpy(r->today[r->ntoday].symbol, s->symbol, sizeof s->symbol);
        r->today[r->ntoday++].f = split_factor(s);
    }
    if (r->idx > 0) {
        double sum = 0;
        size_t count = 0, j = 0;
        for (size_t i = 0; i < n; i++) {
            int c = -1;
            while (j < r->nprev && (c = strcmp(r->prev[j].symbol, bars[i].symbol)) < 0)
                j++;
            if (j == r->nprev || c != 0)
                continue;
            double prev = r->prev[j].close;
            for (size_t k = 0; k < r->ntoday; k++)
                if (strcmp(r->today[k].symbol, bars[i].symbol) == 0)
                    prev /= r->today[k].f;
            sum += px(bars[i].close) / prev - 1.0;
            count++;
        }
        if (count)
            r->bench *= 1.0 + sum / (double)count;
    }
    if (n > r->prev_cap) {
        struct close_rec *v = realloc(r->prev, n * sizeof *v);
        if (!v)
            return diag_set(r->d, ERR_NOMEM, "out of memory");
        r->prev = v;
        r->prev_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(r->prev[i].symbol, bars[i].symbol, sizeof bars[i].symbol);
        r->prev[i].close = px(bars[i].close);
    }
    r->nprev = n;
    return ERR_OK;
}

static int pos_cmp(const void *pa, const void *pb)
{
    return strcmp(((const struct pos *)pa)->symbol, ((const struct pos *)pb)->symbol);
}

static int close_cmp(const void *pa, const void *pb)
{
    return strcmp(((const struct close_rec *)pa)->symbol, ((const struct close_rec *)pb)->symbol);
}

static int rename_in(char *symbol, const struct symchange *c)
{
    if (strcmp(symbol, c->old_symbol) != 0)
        return 0;
    memcpy(symbol, c->new_symbol, strlen(c->new_symbol) + 1);
    return 1;
}

/* The changes made by date carry the renamed companies over: their screen histories, the
 * positions held, the candidates to buy and the previous closes; the day's bars get the names
 * of the day. */
static int apply_symbol_changes(struct run *r, int32_t date, const struct bar **bars, size_t *n)
{
    int err = ERR_OK;
    while (!err && r->next_change < r->nchanges && r->changes[r->next_change].date <= date) {
        const struct symchange *c = &r->changes[r->next_change++];
        for (size_t e = 0; e < r->neng && !err; e++)
            err = screen_rename(r->eng[e].s, c->old_symbol, c->new_symbol, r->d);
        for (size_t i = 0; i < r->nbt; i++) {
            struct bt *b = &r->bt[i];
            int moved = 0;
            for (size_t k = 0; k < b->npos; k++)
                moved |= rename_in(b->pos[k].symbol, c);
            if (moved)
                qsort(b->pos, b->npos, sizeof *b->pos, pos_cmp);
            for (size_t k = 0; k < b->nbuy; k++)
                rename_in(b->buy[k], c);
        }
        int moved = 0;
        for (size_t k = 0; k < r->nprev; k++)
            moved |= rename_in(r->prev[k].symbol, c);
        if (moved)
            qsort(r->prev, r->nprev, sizeof *r->prev, close_cmp);
    }
    if (!err && symchange_day_names(r->changes, r->nchanges, date, bars, n, &r->day))
        err = diag_set(r->d, ERR_NOMEM, "out of memory");
    return err;
}

static int on_day(void *ctx, int32_t date, const struct bar *bars, size_t n)
{
    struct run *r = ctx;
    int err;
    r->stats->days_read++;
    r->stats->bars_read += n;
    if (r->nchanges && (err = apply_symbol_changes(r, date, &bars, &n)))
        return err;
    for (size_t e = 0; e < r->neng; e++)
        if (date >= r->eng[e].start && (err = screen_add_day(r->eng[e].s, date, bars, n, r->d)))
            return err;
    if (date < r->from)
        return ERR_OK;
    r->prev_date = r->date;
    r->date = date;
    r->idx++;
    if ((err = advance(r, bars, n)))
        return err;
    for (size_t i = 0; i < r->nbt; i++) {
        struct bt *b = &r->bt[i];
        if (r->idx == 0)
            b->sum->start = date;
        else if ((err = bt_open(r, b, bars, n)))
            return err;
        if ((err = bt_close(r, b, bars, n)))
            return err;
    }
    return ERR_OK;
}

static int same_screen(const struct screen_opts *a, const struct screen_opts *b)
{
    return a->window_days == b->window_days && a->min_bars == b->min_bars &&
           a->min_price == b->min_price && a->min_volume == b->min_volume;
}

int backtest_run(struct barstore *bs, int32_t from, int32_t to, const struct backtest_opts *opts,
                 size_t n, const struct backtest_sink *sinks, const struct backtest_universe *u,
                 struct backtest_summary *sum, struct backtest_stats *stats, struct diag *d)
{
    memset(stats, 0, sizeof *stats);
    if (n == 0)
        return diag_set(d, ERR_USAGE, "no parameter set to run");
    if (to < from)
        return diag_set(d, ERR_USAGE, "the range ends before it starts");
    int err;
    for (size_t i = 0; i < n; i++) {
        if ((err = backtest_opts_check(&opts[i], d)))
            return err;
        if (opts[i].universe_asof && !u)
            return diag_set(d, ERR_USAGE, "a point-in-time universe needs its snapshots");
    }
    struct run r = {0};
    struct symchangevec changes;
    symchangevec_init(&changes);
    barvec_init(&r.day);
    r.from = from;
    r.to = to;
    r.idx = -1;
    r.nbt = n;
    r.bench = 1.0;
    r.u = u;
    r.u_loaded = SIZE_MAX;
    r.stats = stats;
    r.d = d;
    strvec_init(&r.usyms);
    struct splitvec splits;
    splitvec_init(&splits);
    r.bt = calloc(n, sizeof *r.bt);
    r.eng = calloc(n, sizeof *r.eng);
    if (!r.bt || !r.eng) {
        err = diag_set(d, ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((err = barstore_read_splits(bs, &splits, d)) || (err = symlog_read(bs, &changes, d)))
        goto out;
    /* A split recorded under a company's old symbol applies to its history under the new. */
    symchange_map_splits(changes.v, changes.n, SYMCHANGE_BAR_DATE, &splits);
    r.changes = changes.v;
    r.nchanges = changes.n;
    for (size_t i = 0; i < n; i++) {
        struct bt *b = &r.bt[i];
        const struct backtest_opts *o = &opts[i];
        memset(&sum[i], 0, sizeof sum[i]);
        b->o = o;
        b->sink = sinks ? &sinks[i] : NULL;
        b->sum = &sum[i];
        b->c = o->cost_bps / 10000.0;
        b->cash = o->capital;
        b->last_signal_idx = -1;
        b->pos = calloc((size_t)o->top, sizeof *b->pos);
        b->buy = calloc((size_t)o->top, sizeof *b->buy);
        b->r = calloc(2 * (size_t)o->top, sizeof *b->r);
        if (!b->pos || !b->buy || !b->r) {
            err = diag_set(d, ERR_NOMEM, "out of memory");
            goto out;
        }
        /* Candidates needed: the `slots` best not held, slots + held <= 2 top; with a
         * universe to filter by, all of them. */
        size_t need = o->universe_asof ? 0 : 2 * (size_t)o->top;
        size_t e = 0;
        while (e < r.neng && !same_screen(&r.eng[e].so, &o->screen))
            e++;
        if (e == r.neng) {
            r.eng[e].so = o->screen;
            r.eng[e].so.by = SCREEN_BY_DRAWDOWN;
            r.eng[e].so.top = need;
            r.eng[e].ranked_date = INT32_MIN;
            r.eng[e].start =
                o->screen.min_bars <= 1 ? INT32_MIN : from - (o->screen.window_days - 1);
            r.neng++;
        } else if (r.eng[e].so.top && (need == 0 || need > r.eng[e].so.top)) {
            r.eng[e].so.top = need;
        }
        b->engine = e;
    }
    int32_t start = INT32_MAX;
    for (size_t e = 0; e < r.neng; e++) {
        if ((err = screen_new(&r.eng[e].so, splits.v, splits.n, &r.eng[e].s, d)))
            goto out;
        if (r.eng[e].start < start)
            start = r.eng[e].start;
    }
    stats->screens = r.neng;
    r.splits = splits.v;
    r.nsplits = splits.n;
    if (r.nsplits > 1)
        qsort(r.splits, r.nsplits, sizeof *r.splits, split_by_date);

    struct log_timer t = log_timer_start("backtest");
    /* The store is read and parsed on a second thread ahead of the dates, as for the screen,
     * unless the universe's snapshots are loaded from it as the dates go by: that thread must
     * have the store to itself. */
    err = u ? barstore_scan(bs, start, to, on_day, &r, d)
            : barstore_scan_ahead(bs, start, to, on_day, &r, d);
    if (!err && r.idx < 0) {
        char a[DATE_STRLEN + 1], b[DATE_STRLEN + 1];
        date_format(from, a);
        date_format(to, b);
        err = diag_set(d, ERR_NOTFOUND, "no bars stored from %s to %s", a, b);
    }
    for (size_t i = 0; !err && i < n; i++)
        err = bt_finish(&r, &r.bt[i]);
    log_timer_end(&t, err);
out:
    for (size_t i = 0; r.bt && i < n; i++) {
        free(r.bt[i].pos);
        free(r.bt[i].buy);
        free(r.bt[i].r);
        free(r.bt[i].equity);
    }
    for (size_t e = 0; r.eng && e < r.neng; e++)
        screen_free(r.eng[e].s);
    free(r.bt);
    free(r.eng);
    free(r.today);
    free(r.prev);
    strvec_release(&r.usyms);
    splitvec_release(&splits);
    symchangevec_release(&changes);
    barvec_release(&r.day);
    return err;
}
