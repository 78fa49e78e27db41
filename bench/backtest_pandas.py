#!/usr/bin/python3
"""The backtest (docs/definitions.md) in pandas, vectorised where the rules allow, on the screener's store.

usage: backtest_pandas.py STORE OUTDIR [--top N] [--every K] [--target PCT]
                          [--signal-top M] [--cost-bps C] [--capital X]
                          [--window DAYS] [--min-bars N]

Computes what `screener backtest --equity OUTDIR/equity.csv --trades OUTDIR/trades.csv`
computes over the whole stored history (no stop, no maximum hold: the defaults).  The screen
(split basis, rolling peak, eligibility, ranking on the signal dates), the price matrices, the
split factors between dates and the equal-weight benchmark are whole-frame operations; only
the portfolio, whose every step depends on the one before, is a loop over the dates, touching
the few positions held.
"""
import argparse
import glob
import os
import sys

import numpy as np
import pandas as pd

SCALE = 1_000_000
DELIST = 10


def read_bars(store):
    paths = sorted(glob.glob(os.path.join(store, "bars", "**", "part-*.csv"), recursive=True))
    if not paths:
        sys.exit(f"backtest_pandas: no part files under {store}/bars")
    cols = ["symbol", "date", "open", "high", "close"]
    frames = [pd.read_csv(p, usecols=cols, dtype={"symbol": str}) for p in paths]
    bars = pd.concat(frames, ignore_index=True)
    bars["date"] = pd.to_datetime(bars["date"], format="%Y-%m-%d")
    bars = bars.drop_duplicates(["symbol", "date"])
    bars["symbol"] = bars["symbol"].astype("category")
    for c in ("open", "high", "close"):
        bars[c] = np.rint(bars[c].to_numpy(dtype=np.float64) * SCALE)
    return bars


def read_splits(store):
    paths = sorted(glob.glob(os.path.join(store, "splits", "*.csv")))
    if not paths:
        return pd.DataFrame({"symbol": pd.Series(dtype=str),
                             "ex_date": pd.Series(dtype="datetime64[ns]"),
                             "factor": pd.Series(dtype=np.float64)})
    sp = pd.concat([pd.read_csv(p, dtype={"symbol": str}) for p in paths], ignore_index=True)
    sp["ex_date"] = pd.to_datetime(sp["ex_date"], format="%Y-%m-%d")
    sp = sp.drop_duplicates(["symbol", "ex_date"]).sort_values(["symbol", "ex_date"])
    sp["factor"] = (np.rint(sp["new_rate"].to_numpy(dtype=np.float64) * SCALE) /
                    np.rint(sp["old_rate"].to_numpy(dtype=np.float64) * SCALE))
    return sp[["symbol", "ex_date", "factor"]]


def basis_matrix(splits, dates, symbols):
    """G[i, j]: the product of symbol j's split factors with ex_date <= dates[i]."""
    g = np.ones((len(dates), len(symbols)))
    col = {s: j for j, s in enumerate(symbols)}
    for s, grp in splits.groupby("symbol"):
        if s not in col:
            continue
        cum = 1.0
        for ex, f in zip(grp["ex_date"].to_numpy(), grp["factor"].to_numpy()):
            cum *= f
            i = np.searchsorted(dates, ex, side="left")
            g[i:, col[s]] = cum
    return g


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("out")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--target", type=float, default=100.0)
    ap.add_argument("--signal-top", type=int, default=5)
    ap.add_argument("--cost-bps", type=float, default=5.0)
    ap.add_argument("--capital", type=float, default=100000.0)
    ap.add_argument("--window", type=int, default=180)
    ap.add_argument("--min-bars", type=int, default=30)
    a = ap.parse_args()

    bars = read_bars(a.store)
    splits = read_splits(a.store)
    symbols = list(bars["symbol"].cat.categories)  # sorted: byte order for tickers
    dates = np.sort(bars["date"].unique())
    n, m = len(dates), len(symbols)

    # Price matrices (NaN: no bar) and the split basis of every date.
    di = np.searchsorted(dates, bars["date"].to_numpy())
    sj = bars["symbol"].cat.codes.to_numpy()
    open_px = np.full((n, m), np.nan)
    close_px = np.full((n, m), np.nan)
    open_px[di, sj] = bars["open"].to_numpy() / SCALE
    close_px[di, sj] = bars["close"].to_numpy() / SCALE
    G = basis_matrix(splits, dates, symbols)
    step = np.ones((n, m))
    step[1:] = G[1:] / G[:-1]  # split factors with ex_date in (T[i-1], T[i]]

    # The screen on the signal dates: rolling peak over the window, in the split basis.
    bars["i"] = di
    bars["g"] = G[di, sj]
    bars["high_s"] = bars["high"] * bars["g"]
    bars["close_s"] = bars["close"] * bars["g"]
    bars = bars.sort_values(["symbol", "date"], ignore_index=True)
    roll = bars.groupby("symbol", sort=False, observed=True).rolling(f"{a.window}D", on="date")["high_s"]
    bars["peak_s"] = roll.max().to_numpy()
    bars["nbars"] = roll.count().to_numpy()
    signal_dates = dates[np.arange(0, n - 1, a.every)]
    elig = bars[(bars["nbars"] >= a.min_bars) & bars["date"].isin(signal_dates)].copy()
    elig["dd"] = 100.0 * (elig["close_s"] - elig["peak_s"]) / elig["peak_s"]
    elig["symbol"] = elig["symbol"].astype(str)
    elig = elig.sort_values(["i", "dd", "symbol"], kind="stable")
    ranked = elig.groupby("i", sort=False).head(2 * a.top)
    cands = {i: list(g.to_numpy()) for i, g in ranked.groupby("i", sort=False)["symbol"]}

    # The equal-weight benchmark: whole-matrix returns.
    np.seterr(divide="ignore", invalid="ignore")
    prev = close_px[:-1] / step[1:]
    rets = close_px[1:] / prev - 1.0
    both = ~np.isnan(rets)
    cnt = both.sum(axis=1)
    mean = np.where(cnt > 0, np.nansum(np.where(both, rets, 0.0), axis=1) / np.maximum(cnt, 1), 0.0)
    bench = np.concatenate([[1.0], np.cumprod(1.0 + mean)])

    # The portfolio: a loop over the dates, over the positions held.
    col = {s: j for j, s in enumerate(symbols)}
    c = a.cost_bps / 10000.0
    cash = a.capital
    held = {}  # symbol -> [entry_i, entry_price, qty, x, last_close, missing, mark]
    buys = []
    trades = []
    day_s = pd.DatetimeIndex(dates).strftime("%Y-%m-%d")
    eq_rows = []

    def trade(sym, p, i, price, proceeds, reason):
        trades.append((sym, day_s[p[0]], p[1], day_s[i], price, p[2], p[3], proceeds,
                       100.0 * (proceeds / p[3] - 1.0), i - p[0], reason))

    for i in range(n):
        if i > 0:
            for sym, p in held.items():
                f = step[i, col[sym]]
                if f != 1.0:
                    p[2] *= f
                    p[1] /= f
                    p[4] /= f
            for sym in sorted(held):
                p = held[sym]
                o = open_px[i, col[sym]]
                if p[6] and not np.isnan(o):
                    proceeds = p[2] * o * (1 - c)
                    cash += proceeds
                    trade(sym, p, i, o, proceeds, p[6])
                    del held[sym]
            slots = a.top - len(held)
            if buys and slots > 0:
                x = cash / slots
                k = 0
                for sym in buys:
                    if k == slots:
                        break
                    o = open_px[i, col[sym]]
                    if np.isnan(o):
                        continue
                    held[sym] = [i, o, x * (1 - c) / o, x, o, 0, None]
                    cash -= x
                    k += 1
            buys = []
        for sym, p in held.items():
            cl = close_px[i, col[sym]]
            if np.isnan(cl):
                p[5] += 1
            else:
                p[4] = cl
                p[5] = 0
        if held:
            r = sorted((p[4] / p[1] - 1.0 for p in held.values()), reverse=True)[:a.signal_top]
            if sum(r) / len(r) >= a.target / 100.0:
                for p in held.values():
                    p[6] = p[6] or "target"
        for sym in sorted(held):
            p = held[sym]
            if p[5] >= DELIST:
                proceeds = p[2] * p[4] * (1 - c)
                cash += proceeds
                trade(sym, p, i, p[4], proceeds, p[6] or "delisted")
                del held[sym]
        if i % a.every == 0 and i != n - 1:
            slots = a.top - sum(1 for p in held.values() if not p[6])
            buys = [s for s in cands.get(i, []) if s not in held][:slots]
        equity = cash + sum(p[2] * p[4] for p in held.values())
        eq_rows.append((day_s[i], equity, cash, len(held), a.capital * bench[i]))
    for sym in sorted(held):
        p = held[sym]
        trade(sym, p, n - 1, p[4], p[2] * p[4], "open")

    os.makedirs(a.out, exist_ok=True)
    eq = pd.DataFrame(eq_rows, columns=["date", "equity", "cash", "positions", "benchmark"])
    eq.to_csv(os.path.join(a.out, "equity.csv"), index=False, float_format="%.6f")
    tr = pd.DataFrame(trades, columns=["symbol", "entry_date", "entry_price", "exit_date",
                                       "exit_price", "qty", "cost_basis", "proceeds",
                                       "return_pct", "hold_days", "exit_reason"])
    tr.to_csv(os.path.join(a.out, "trades.csv"), index=False, float_format="%.6f")
    print(f"backtest_pandas: bars={len(bars)} dates={n} trades={len(trades)}", file=sys.stderr)


if __name__ == "__main__":
    main()
