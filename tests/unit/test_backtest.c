/* Unit tests: the backtest engine on hand-built markets whose trades are worked out on paper
 * (docs/definitions.md#the-backtest): a target, a stop, a sell that waits for a bar, a maximum
 * hold, a delisting, a split while held, a tie in ranks, a dropped buy, costs, the point-in-time
 * universe, and a grid sharing one screen.  Dates are the weekdays from Monday 2024-01-01: day k is
 * T[k]. */
#include "testutil.h"

#include "backtest/backtest.h"
#include "base/date.h"
#include "base/log.h"
#include "store/barstore.h"
#include "store/objstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXROWS 64

struct got {
    struct backtest_trade t[MAXROWS];
    size_t nt;
    struct backtest_day day[MAXROWS];
    size_t nd;
};

static int on_day(void *ctx, const struct backtest_day *day)
{
    struct got *g = ctx;
    assert_true(g->nd < MAXROWS);
    g->day[g->nd++] = *day;
    return ERR_OK;
}

static int on_trade(void *ctx, const struct backtest_trade *t)
{
    struct got *g = ctx;
    assert_true(g->nt < MAXROWS);
    g->t[g->nt++] = *t;
    return ERR_OK;
}

static int32_t day(int k) /* the k-th weekday from 2024-01-01 */
{
    int32_t d = date_from_ymd(2024, 1, 1);
    while (k > 0) {
        d++;
        if (date_weekday(d) != 0 && date_weekday(d) != 6)
            k--;
    }
    return d;
}

struct market {
    char *dir;
    struct objstore *os;
    struct barstore *bs;
    struct barvec bars;
};

static void market_open(struct market *m)
{
    struct diag d;
    m->dir = tu_mkdtemp();
    assert_int_equal(objstore_open(m->dir, &m->os, &d), ERR_OK);
    assert_int_equal(barstore_new(m->os, &m->bs, &d), ERR_OK);
    barvec_init(&m->bars);
}

/* A bar on day k: high and low are the open and the close. */
static void bar(struct market *m, const char *symbol, int k, double open, double close)
{
    char date[DATE_STRLEN + 1];
    date_format(day(k), date);
    struct bar b = tu_bar(symbol, date, open, open > close ? open : close,
                          open < close ? open : close, close, 1000);
    assert_int_equal(barvec_push(&m->bars, &b), ERR_OK);
}

/* The same price on days [k0, k1]. */
static void flat(struct market *m, const char *symbol, int k0, int k1, double price)
{
    for (int k = k0; k <= k1; k++)
        bar(m, symbol, k, price, price);
}

static void split(struct market *m, const char *symbol, int k, int64_t new_rate, int64_t old_rate)
{
    struct split s = {
        .ex_date = day(k), .new_rate = new_rate * 1000000, .old_rate = old_rate * 1000000};
    snprintf(s.symbol, sizeof s.symbol, "%s", symbol);
    size_t added;
    struct diag d;
    assert_int_equal(barstore_write_splits(m->bs, &s, 1, &added, &d), ERR_OK);
}

static void market_close(struct market *m)
{
    barstore_free(m->bs);
    objstore_free(m->os);
    barvec_release(&m->bars);
    tu_rmrf(m->dir);
    free(m->dir);
}

/* Paper-friendly defaults: no cost, 1000 of capital, every bar counts. */
static void opts(struct backtest_opts *o)
{
    backtest_opts_default(o);
    o->cost_bps = 0;
    o->capital = 1000;
    o->screen.window_days = 30;
    o->screen.min_bars = 1;
}

static void run(struct market *m, const struct backtest_opts *o, struct got *g,
                struct backtest_summary *s)
{
    struct diag d;
    struct barstore_write_stats st;
    if (m->bars.n) {
        assert_int_equal(barstore_write(m->bs, m->bars.v, m->bars.n, NULL, &st, &d), ERR_OK);
        m->bars.n = 0;
    }
    memset(g, 0, sizeof *g);
    struct backtest_sink sink = {on_day, on_trade, g};
    struct backtest_stats bst;
    int err = backtest_run(m->bs, INT32_MIN + 1, INT32_MAX, o, 1, &sink, NULL, s, &bst, &d);
    if (err)
        fail_msg("backtest_run: %s", d.text);
}

static void near_(double a, double b, int line)
{
    if (!(fabs(a - b) < 1e-9 * (1 + fabs(b))))
        fail_msg("line %d: %.12g, want %.12g", line, a, b);
}
#define near(a, b) near_((a), (double)(b), __LINE__)

static void trade_is(const struct backtest_trade *t, const char *symbol, int entry,
                     double entry_price, int exit_, double exit_price, double qty, double cost,
                     double proceeds, int hold, enum backtest_exit reason)
{
    assert_string_equal(t->symbol, symbol);
    assert_int_equal(t->entry_date, day(entry));
    near(t->entry_price, entry_price);
    assert_int_equal(t->exit_date, day(exit_));
    near(t->exit_price, exit_price);
    near(t->qty, qty);
    near(t->cost_basis, cost);
    near(t->proceeds, proceeds);
    near(t->return_pct, 100.0 * (proceeds / cost - 1.0));
    assert_int_equal(t->hold_days, hold);
    assert_string_equal(backtest_exit_name(t->reason), backtest_exit_name(reason));
}

/* A and B tie on day 0 (both at their high): A wins by symbol, is bought at day 1's open,
 * closes 60% up (target 50 of the best 1): sold at day 2's open; B, the next candidate, is
 * bought the same open with all the cash. */
static void test_target_and_tie(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 10, 10);
    bar(&m, "A", 1, 10, 16);
    bar(&m, "A", 2, 15, 15);
    flat(&m, "B", 0, 2, 20);
    struct backtest_opts o;
    opts(&o);
    o.top = 1;
    o.every = 1;
    o.target_pct = 50;
    o.signal_top = 1;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    assert_int_equal(g.nt, 2);
    trade_is(&g.t[0], "A", 1, 10, 2, 15, 100, 1000, 1500, 1, BACKTEST_TARGET);
    trade_is(&g.t[1], "B", 2, 20, 2, 20, 75, 1500, 1500, 0, BACKTEST_OPEN);
    assert_int_equal(g.nd, 3);
    near(g.day[0].equity, 1000);
    near(g.day[1].equity, 1600);
    near(g.day[1].cash, 0);
    near(g.day[2].equity, 1500);
    assert_int_equal(g.day[2].positions, 1);
    /* Benchmark: day 1 (0.6 + 0) / 2, day 2 (15/16 - 1 + 0) / 2. */
    near(g.day[1].benchmark, 1300);
    near(s.benchmark_return_pct, 100 * (1.3 * (1 - 0.0625 / 2) - 1));
    assert_int_equal(s.trading_days, 3);
    near(s.total_return_pct, 50);
    assert_int_equal(s.trades, 1);
    near(s.win_rate_pct, 100);
    near(s.avg_hold_days, 1);
    near(s.exposure_pct, 200.0 / 3);
    near(s.max_drawdown_pct, 100 * (1500.0 / 1600 - 1));
    near(s.cagr_pct, 100 * (pow(1.5, 365.25 / 2) - 1));
    double r1 = 0.6, r2 = 1500.0 / 1600 - 1, mean = (r1 + r2) / 2;
    double sd = sqrt(((r1 - mean) * (r1 - mean) + (r2 - mean) * (r2 - mean)) / 1);
    near(s.vol_pct, 100 * sd * sqrt(252));
    near(s.sharpe, mean / sd * sqrt(252));
    market_close(&m);
}

/* The same with costs of 100 bps on both sides. */
static void test_costs(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 10, 10);
    bar(&m, "A", 1, 10, 16);
    bar(&m, "A", 2, 15, 15);
    flat(&m, "B", 0, 2, 20);
    struct backtest_opts o;
    opts(&o);
    o.top = 1;
    o.every = 100;
    o.target_pct = 50;
    o.cost_bps = 100;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    assert_int_equal(g.nt, 1);
    trade_is(&g.t[0], "A", 1, 10, 2, 15, 99, 1000, 99 * 15 * 0.99, 1, BACKTEST_TARGET);
    near(s.final_equity, 99 * 15 * 0.99);
    near(s.exposure_pct, 100.0 / 3);
    market_close(&m);
}

/* A falls 25% on day 1 (stop 20): marked at that close, no bar on day 2, so the sell waits
 * and executes at day 3's open. */
static void test_stop_waits_for_a_bar(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 10, 10);
    bar(&m, "A", 1, 10, 7.5);
    bar(&m, "A", 3, 8, 9);
    flat(&m, "B", 0, 4, 20);
    struct backtest_opts o;
    opts(&o);
    o.top = 1;
    o.every = 100;
    o.stop_pct = 20;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    assert_int_equal(g.nt, 1);
    trade_is(&g.t[0], "A", 1, 10, 3, 8, 100, 1000, 800, 2, BACKTEST_STOP);
    near(g.day[2].equity, 750); /* still held on day 2, at its last close */
    assert_int_equal(g.day[2].positions, 1);
    assert_int_equal(g.day[3].positions, 0);
    near(s.final_equity, 800);
    near(s.win_rate_pct, 0);
    market_close(&m);
}

/* Max hold 2: bought at day 1's open, its closes of days 1 and 2 count, sold at day 3's. */
static void test_max_hold(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 10, 10);
    bar(&m, "A", 1, 10, 11);
    bar(&m, "A", 2, 11, 12);
    bar(&m, "A", 3, 13, 13);
    flat(&m, "B", 0, 3, 20);
    struct backtest_opts o;
    opts(&o);
    o.top = 1;
    o.every = 100;
    o.max_hold = 2;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    assert_int_equal(g.nt, 1);
    trade_is(&g.t[0], "A", 1, 10, 3, 13, 100, 1000, 1300, 2, BACKTEST_MAX_HOLD);
    market_close(&m);
}

/* No bar for A on days 2..11: on day 11, the 10th date without one, it is sold at its last
 * close (12) and valued at it on the dates between. */
static void test_delisting(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 10, 10);
    bar(&m, "A", 1, 10, 12);
    flat(&m, "B", 0, 13, 20);
    struct backtest_opts o;
    opts(&o);
    o.top = 1;
    o.every = 100;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    assert_int_equal(g.nt, 1);
    trade_is(&g.t[0], "A", 1, 10, 11, 12, 100, 1000, 1200, 10, BACKTEST_DELISTED);
    near(g.day[6].equity, 1200);
    assert_int_equal(g.day[10].positions, 1);
    assert_int_equal(g.day[11].positions, 0);
    near(g.day[11].cash, 1200);
    near(s.final_equity, 1200);
    market_close(&m);
}

/* A stopped on day 1 never trades again: its sell waits, and on day 11, the 10th date without
 * a bar, it is sold at its last close, keeping the reason that marked it. */
static void test_waiting_sell_then_delisted(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 10, 10);
    bar(&m, "A", 1, 10, 7);
    flat(&m, "B", 0, 12, 20);
    struct backtest_opts o;
    opts(&o);
    o.top = 1;
    o.every = 100;
    o.stop_pct = 20;
    o.cost_bps = 10;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    assert_int_equal(g.nt, 1);
    double qty = 1000 * 0.999 / 10;
    trade_is(&g.t[0], "A", 1, 10, 11, 7, qty, 1000, qty * 7 * 0.999, 10, BACKTEST_STOP);
    assert_int_equal(g.day[10].positions, 1);
    assert_int_equal(g.day[11].positions, 0);
    market_close(&m);
}

/* Two splits between two dates (one on a weekend) multiply; the benchmark sees through them. */
static void test_two_splits_between_dates(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 60, 60);
    bar(&m, "A", 1, 60, 60);
    bar(&m, "A", 2, 60, 60); /* Wednesday 2024-01-03 */
    bar(&m, "A", 5, 10, 11); /* Monday 2024-01-08: 2-for-1 on Saturday, 3-for-1 today */
    flat(&m, "B", 0, 2, 20);
    flat(&m, "B", 5, 5, 20);
    split(&m, "A", 5, 3, 1);
    struct split sat = {
        .ex_date = date_from_ymd(2024, 1, 6), .new_rate = 2000000, .old_rate = 1000000};
    snprintf(sat.symbol, sizeof sat.symbol, "A");
    size_t added;
    struct diag d;
    assert_int_equal(barstore_write_splits(m.bs, &sat, 1, &added, &d), ERR_OK);
    struct backtest_opts o;
    opts(&o);
    o.top = 1;
    o.every = 100;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    /* Days 0, 1, 2 and 5 are T: T[3] is Monday.  A bought at 60 on day 1: 1000 / 60 shares,
     * 6 times as many after the splits, at an entry price of 10. */
    assert_int_equal(g.nd, 4);
    assert_int_equal(g.nt, 1);
    trade_is(&g.t[0], "A", 1, 10, 5, 11, 6000.0 / 60, 1000, 1100, 2, BACKTEST_OPEN);
    near(g.day[3].benchmark / g.day[2].benchmark, 1 + (11 / 10.0 - 1) / 2);
    market_close(&m);
}

/* A 2-for-1 split on day 2 while A is held: quantity 100 -> 200, entry price 10 -> 5; no cash
 * moves, no false crash; the position is still open at the last date. */
static void test_split_while_held(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 10, 10);
    bar(&m, "A", 1, 10, 11);
    bar(&m, "A", 2, 5, 6);
    bar(&m, "A", 3, 6, 6);
    flat(&m, "B", 0, 3, 20);
    split(&m, "A", 2, 2, 1);
    struct backtest_opts o;
    opts(&o);
    o.top = 1;
    o.every = 100;
    o.stop_pct = 30; /* a -45% day without the split */
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    assert_int_equal(g.nt, 1);
    trade_is(&g.t[0], "A", 1, 5, 3, 6, 200, 1000, 1200, 2, BACKTEST_OPEN);
    near(g.day[1].equity, 1100);
    near(g.day[2].equity, 1200);
    /* The benchmark sees A's 11 -> 6 as 5.5 -> 6. */
    near(g.day[2].benchmark / g.day[1].benchmark, 1 + (6 / 5.5 - 1) / 2);
    assert_int_equal(s.trades, 0);
    assert_true(isnan(s.win_rate_pct));
    market_close(&m);
}

/* Two slots; A (-50%) and B (-25%) are the candidates; A has no bar at the next open: its buy
 * is dropped and its half of the cash stays in cash. */
static void test_dropped_buy(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 20, 10);
    bar(&m, "A", 2, 10, 10);
    bar(&m, "B", 0, 20, 15);
    bar(&m, "B", 1, 15, 18);
    bar(&m, "B", 2, 18, 18);
    flat(&m, "C", 0, 2, 30);
    struct backtest_opts o;
    opts(&o);
    o.top = 2;
    o.every = 100;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    assert_int_equal(g.nt, 1);
    trade_is(&g.t[0], "B", 1, 15, 2, 18, 500.0 / 15, 500, 600, 1, BACKTEST_OPEN);
    near(g.day[1].cash, 500);
    near(s.final_equity, 1100);
    assert_int_equal(s.buys_dropped, 1);
    market_close(&m);
}

/* Slots count positions being sold as free at the signal, but a sell that waits keeps its
 * slot at the open: top 2, A stopped and waiting, one buy of the two listed executes, with
 * all the cash (slots' = 1). */
static void test_waiting_sell_keeps_its_slot(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 20, 10); /* -50% */
    bar(&m, "A", 1, 10, 5);  /* bought at 10, -50%: stopped */
    bar(&m, "A", 3, 6, 6);
    bar(&m, "B", 0, 20, 15); /* -25%: bought with A */
    bar(&m, "B", 1, 15, 15);
    bar(&m, "B", 2, 15, 15);
    bar(&m, "B", 3, 15, 15);
    bar(&m, "C", 0, 30, 30);
    bar(&m, "C", 1, 30, 24); /* -20% */
    bar(&m, "C", 2, 24, 24);
    bar(&m, "C", 3, 24, 24);
    bar(&m, "D", 0, 30, 30);
    bar(&m, "D", 1, 30, 27); /* -10% */
    bar(&m, "D", 2, 27, 27);
    bar(&m, "D", 3, 27, 27);
    struct backtest_opts o;
    opts(&o);
    o.top = 2;
    o.every = 1;
    o.stop_pct = 40;
    struct got g;
    struct backtest_summary s;
    run(&m, &o, &g, &s);
    /* Day 1 close: A stopped; slots = 2 - (2 - 1) = 1: list [C].  Day 2 open: A has no bar,
     * waits; slots' = 2 - 2 = 0: C is not bought.  Day 2 close: slots 1, list [C] again.
     * Day 3 open: A sold at 6 (500 / 10 * 6 = 300), then C bought with 300. */
    assert_int_equal(g.nt, 3);
    trade_is(&g.t[0], "A", 1, 10, 3, 6, 50, 500, 300, 2, BACKTEST_STOP);
    trade_is(&g.t[1], "B", 1, 15, 3, 15, 500.0 / 15, 500, 500, 2, BACKTEST_OPEN);
    trade_is(&g.t[2], "C", 3, 24, 3, 24, 12.5, 300, 300, 0, BACKTEST_OPEN);
    assert_int_equal(g.day[2].positions, 2);
    assert_int_equal(s.buys_dropped, 0);
    market_close(&m);
}

/* The point-in-time universe: the snapshot in force on each signal date; none before the
 * first one. */
static int load_snap(void *ctx, size_t i, struct strvec *symbols, struct diag *d)
{
    (void)ctx;
    (void)d;
    return strvec_push(symbols, i == 0 ? "B" : "A");
}

static void test_universe_asof(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    bar(&m, "A", 0, 20, 10);
    bar(&m, "A", 1, 10, 10);
    bar(&m, "A", 2, 10, 10);
    bar(&m, "A", 3, 10, 10);
    bar(&m, "B", 0, 20, 15);
    flat(&m, "B", 1, 3, 15);
    struct backtest_opts o;
    opts(&o);
    o.top = 2;
    o.every = 1;
    o.universe_asof = 1;
    int32_t dates[] = {day(1), day(2)};
    struct backtest_universe u = {dates, 2, load_snap, NULL};
    struct got g;
    memset(&g, 0, sizeof g);
    struct backtest_sink sink = {on_day, on_trade, &g};
    struct backtest_summary s;
    struct backtest_stats st;
    struct diag d;
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(m.bs, m.bars.v, m.bars.n, NULL, &ws, &d), ERR_OK);
    assert_int_equal(backtest_run(m.bs, day(0), day(3), &o, 1, &sink, &u, &s, &st, &d), ERR_OK);
    /* Day 0: no snapshot, no candidates.  Day 1: {B}: B bought on day 2.  Day 2: {A}. */
    assert_int_equal(s.signal_dates, 3);
    assert_int_equal(s.signals_without_universe, 1);
    assert_int_equal(g.nt, 2);
    assert_string_equal(g.t[0].symbol, "A");
    assert_int_equal(g.t[0].entry_date, day(3));
    assert_string_equal(g.t[1].symbol, "B");
    assert_int_equal(g.t[1].entry_date, day(2));
    market_close(&m);
}

/* A grid shares the screen: two parameter sets with one window, one engine; each summary
 * equals its own run. */
static void test_grid_shares_the_screen(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    uint64_t rng = tu_seed("grid");
    const char *syms[] = {"A", "B", "C", "D", "E", "F"};
    for (int k = 0; k < 60; k++)
        for (int i = 0; i < 6; i++) {
            double p = 10 + (double)(tu_rand(&rng) % 1000) / 100;
            bar(&m, syms[i], k, p, p + (double)(tu_rand(&rng) % 100) / 100 - 0.5);
        }
    struct barstore_write_stats ws;
    struct diag d;
    assert_int_equal(barstore_write(m.bs, m.bars.v, m.bars.n, NULL, &ws, &d), ERR_OK);
    struct backtest_opts o[3];
    opts(&o[0]);
    o[0].top = 2;
    o[0].target_pct = 5;
    /* Prices are drawn afresh each day: positions bought at a high open may never reach the
     * target; a holding limit closes trades whatever the draw. */
    o[0].max_hold = 10;
    o[1] = o[0];
    o[1].top = 3;
    o[1].every = 3;
    o[2] = o[0];
    o[2].screen.window_days = 10;
    struct backtest_summary s[3], one;
    struct backtest_stats st;
    assert_int_equal(backtest_run(m.bs, day(0), day(59), o, 3, NULL, NULL, s, &st, &d), ERR_OK);
    assert_int_equal(st.screens, 2);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(backtest_run(m.bs, day(0), day(59), &o[i], 1, NULL, NULL, &one, &st, &d),
                         ERR_OK);
        assert_memory_equal(&one, &s[i], sizeof one);
    }
    assert_true(s[0].trades > 0);
    market_close(&m);
}

static void test_errors(void **state)
{
    (void)state;
    struct market m;
    market_open(&m);
    struct backtest_opts o;
    opts(&o);
    struct backtest_summary s;
    struct backtest_stats st;
    struct diag d;
    assert_int_equal(backtest_run(m.bs, day(0), day(5), &o, 1, NULL, NULL, &s, &st, &d),
                     ERR_NOTFOUND);
    flat(&m, "A", 0, 3, 10);
    struct barstore_write_stats ws;
    assert_int_equal(barstore_write(m.bs, m.bars.v, m.bars.n, NULL, &ws, &d), ERR_OK);
    assert_int_equal(backtest_run(m.bs, day(10), day(20), &o, 1, NULL, NULL, &s, &st, &d),
                     ERR_NOTFOUND);
    assert_int_equal(backtest_run(m.bs, day(3), day(1), &o, 1, NULL, NULL, &s, &st, &d), ERR_USAGE);
    o.top = 0;
    assert_int_equal(backtest_run(m.bs, day(0), day(3), &o, 1, NULL, NULL, &s, &st, &d), ERR_USAGE);
    assert_non_null(strstr(d.text, "top"));
    opts(&o);
    o.universe_asof = 1;
    assert_int_equal(backtest_run(m.bs, day(0), day(3), &o, 1, NULL, NULL, &s, &st, &d), ERR_USAGE);
    /* One date: no returns, no calendar days. */
    opts(&o);
    assert_int_equal(backtest_run(m.bs, day(0), day(0), &o, 1, NULL, NULL, &s, &st, &d), ERR_OK);
    assert_int_equal(s.trading_days, 1);
    assert_true(isnan(s.cagr_pct) && isnan(s.vol_pct) && isnan(s.sharpe));
    assert_int_equal(s.signal_dates, 0);
    market_close(&m);
}

static void test_output(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(1 << 16);
    struct backtest_trade t = {"BRK.B", day(1), day(3),         10, 12, 100, 1000, 1200,
                               20,      2,      BACKTEST_TARGET};
    assert_int_equal(backtest_trade_csv(&b, &t), ERR_OK);
    assert_string_equal(b.data, "BRK.B,2024-01-02,10.000000,2024-01-04,12.000000,100.00000000,"
                                "1000.000000,1200.000000,20.000000,2,target\n");
    buf_reset(&b);
    struct backtest_summary s = {0};
    s.start = day(0);
    s.end = day(2);
    s.trading_days = 3;
    s.cagr_pct = s.vol_pct = s.sharpe = s.win_rate_pct = s.avg_hold_days = (double)NAN;
    const char *w[] = {"a \"quoted\" warning"};
    assert_int_equal(backtest_write_summaries(&b, BACKTEST_FORMAT_JSON, NULL, 0, NULL, &s, 1, w, 1),
                     ERR_OK);
    assert_non_null(strstr(b.data, "\"start\":\"2024-01-01\""));
    assert_non_null(strstr(b.data, "\"cagr_pct\":null"));
    assert_non_null(strstr(b.data, "\"warnings\":[\"a \\\"quoted\\\" warning\"]}"));
    buf_reset(&b);
    const char *names[] = {"top"}, *values[] = {"5", "10"};
    struct backtest_summary two[2] = {s, s};
    assert_int_equal(
        backtest_write_summaries(&b, BACKTEST_FORMAT_CSV, names, 1, values, two, 2, NULL, 0),
        ERR_OK);
    assert_non_null(strstr(b.data, "top,start,end,"));
    assert_non_null(strstr(b.data, "\n10,2024-01-01,2024-01-03,3,"));
    /* A rounding error below zero prints as zero, not "-0": the cash after buys that spend
     * it all, a return or a drawdown of a hair below nothing. */
    buf_reset(&b);
    struct backtest_day dy = {day(1), 100000, -1.4551915228366852e-11, 3, 100000};
    assert_int_equal(backtest_equity_csv(&b, &dy), ERR_OK);
    assert_string_equal(b.data, "2024-01-02,100000.000000,0.000000,3,100000.000000\n");
    buf_reset(&b);
    t.return_pct = -1e-12;
    assert_int_equal(backtest_trade_csv(&b, &t), ERR_OK);
    assert_non_null(strstr(b.data, ",0.000000,2,target\n"));
    buf_reset(&b);
    s.total_return_pct = -0.001;
    s.max_drawdown_pct = -1e-9;
    assert_int_equal(
        backtest_write_summaries(&b, BACKTEST_FORMAT_TABLE, NULL, 0, NULL, &s, 1, NULL, 0), ERR_OK);
    assert_null(strstr(b.data, "-0.00"));
    buf_reset(&b);
    assert_int_equal(
        backtest_write_summaries(&b, BACKTEST_FORMAT_CSV, NULL, 0, NULL, &s, 1, NULL, 0), ERR_OK);
    assert_null(strstr(b.data, "-0.000000"));
    assert_non_null(strstr(b.data, ",-0.001000,"));
    assert_int_equal(backtest_metric_index("sharpe"), 7);
    assert_int_equal(backtest_metric_index("nope"), -1);
    buf_release(&b);
}

int main(void)
{
    log_setup(LOG_OFF, LOG_FORMAT_JSON);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_and_tie),
        cmocka_unit_test(test_costs),
        cmocka_unit_test(test_stop_waits_for_a_bar),
        cmocka_unit_test(test_max_hold),
        cmocka_unit_test(test_delisting),
        cmocka_unit_test(test_split_while_held),
        cmocka_unit_test(test_waiting_sell_then_delisted),
        cmocka_unit_test(test_two_splits_between_dates),
        cmocka_unit_test(test_dropped_buy),
        cmocka_unit_test(test_waiting_sell_keeps_its_slot),
        cmocka_unit_test(test_universe_asof),
        cmocka_unit_test(test_grid_shares_the_screen),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
