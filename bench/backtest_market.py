#!/usr/bin/python3
"""A large sample market for the backtest benchmark, as CSV for `screener import`.

usage: backtest_market.py DIR [SYMBOLS [YEARS [SEED]]]    (1000, 25, 1)

Writes DIR/bars-YYYY.csv and DIR/splits.csv: weekday bars of SYMBOLS symbols over YEARS years
ending 2026-11-20, log prices mean-reverting around a level of their own (so that 25 years
stay within realistic prices), with crashes and rallies, missing days, late listings and
delistings, and forward and reverse splits (raw prices jump, the split log says why).
"""
import os
import sys

import numpy as np
import pandas as pd


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    nsym = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    years = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    os.makedirs(out, exist_ok=True)
    end = pd.Timestamp("2026-11-20")
    days = pd.bdate_range(end - pd.DateOffset(years=years), end)
    n = len(days)
    symbols = np.array([f"{chr(65 + i // 676)}{chr(65 + i // 26 % 26)}{chr(65 + i % 26)}"
                        for i in range(nsym)])

    level = rng.uniform(np.log(10), np.log(300), nsym)
    shocks = rng.normal(0, 0.022, (n, nsym))
    jumps = rng.random((n, nsym))
    shocks[jumps < 0.0015] -= 0.25  # crashes
    shocks[jumps > 0.9985] += 0.20  # rallies
    logp = np.empty((n, nsym))
    x = level + rng.normal(0, 0.3, nsym)
    for t in range(n):
        x = x + 0.004 * (level - x) + shocks[t]
        logp[t] = x
    close = np.exp(logp)
    open_ = close * np.exp(rng.normal(0, 0.01, (n, nsym)))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.01, (n, nsym))))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.01, (n, nsym))))
    volume = rng.integers(100_000, 5_000_000, (n, nsym))

    present = rng.random((n, nsym)) > 0.003
    first = np.where(rng.random(nsym) < 0.15, rng.integers(0, n // 2, nsym), 0)
    last = np.where(rng.random(nsym) < 0.10, rng.integers(n // 2, n, nsym), n - 1)
    t_idx = np.arange(n)[:, None]
    present &= (t_idx >= first) & (t_idx <= last)

    # Splits: raw prices before the ex-date are in the old share basis (times the factor).
    split_rows = []
    raw = np.ones((n, nsym))
    for j in range(nsym):
        for _ in range(rng.poisson(years / 10)):
            t = int(rng.integers(1, n))
            new, old = [(2, 1), (3, 1), (3, 2), (1, 2), (1, 10)][rng.integers(0, 5)]
            raw[:t, j] *= new / old
            split_rows.append((symbols[j], days[t].strftime("%Y-%m-%d"), new, old))
    with open(os.path.join(out, "splits.csv"), "w") as f:
        f.write("symbol,ex_date,new_rate,old_rate\n")
        for r in sorted(set(split_rows)):
            f.write(f"{r[0]},{r[1]},{r[2]},{r[3]}\n")

    px = {"open": open_ * raw, "high": high * raw, "low": low * raw, "close": close * raw}
    years_of = days.year.to_numpy()
    for y in np.unique(years_of):
        rows = np.nonzero(years_of == y)[0]
        ti, sj = np.nonzero(present[rows])
        ti = rows[ti]
        frame = pd.DataFrame({
            "symbol": symbols[sj],
            "date": days[ti].strftime("%Y-%m-%d"),
            "open": np.round(px["open"][ti, sj], 2),
            "high": np.round(px["high"][ti, sj], 2) + 0.01,
            "low": np.maximum(np.round(px["low"][ti, sj], 2) - 0.01, 0.01),
            "close": np.round(px["close"][ti, sj], 2),
            "volume": volume[ti, sj],
        })
        frame["open"] = frame["open"].clip(lower=0.01)
        frame["close"] = frame["close"].clip(lower=0.01)
        frame["high"] = frame[["open", "high", "close"]].max(axis=1)
        frame["low"] = frame[["open", "low", "close"]].min(axis=1)
        frame.to_csv(os.path.join(out, f"bars-{y}.csv"), index=False, float_format="%.2f")


if __name__ == "__main__":
    main()
