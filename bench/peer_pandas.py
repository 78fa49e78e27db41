#!/usr/bin/python3
"""Full-history drawdown screen in pandas, on the screener's CSV store.

usage: peer_pandas.py STORE OUT.csv [--window DAYS] [--min-bars N] [--top N]

Computes what `screener screen --from first --to last --top 10 --format csv` computes
(docs/definitions.md#the-screen), reading the store's part files directly:
    STORE/bars/**/part-*.csv    symbol,date,open,high,low,close,volume,vwap,trades
    STORE/splits/*.csv          symbol,ex_date,new_rate,old_rate

Split adjustment uses a per-bar basis: G(t) is the product of the factors (new_rate /
old_rate) of the symbol's splits with ex_date <= t, and price * G is comparable across
splits.  The price of a bar b as of a later date D is price_b * G(b) / G(D), which is the
raw price divided by the factors of the splits with b < ex_date <= D.
"""
import argparse
import glob
import os
import sys

import numpy as np
import pandas as pd

SCALE = 1_000_000  # prices are compared in millionths, as the store defines them

BAR_DTYPES = {"symbol": str, "high": np.float64, "close": np.float64, "volume": np.int64}
BAR_COLUMNS = ["symbol", "date", "high", "close", "volume"]


def to_millionths(s):
    return np.rint(s.to_numpy(dtype=np.float64) * SCALE)


def read_bars(store):
    paths = sorted(glob.glob(os.path.join(store, "bars", "**", "part-*.csv"), recursive=True))
    if not paths:
        sys.exit(f"peer_pandas: no part files under {store}/bars")
    frames = [pd.read_csv(p, usecols=BAR_COLUMNS, dtype=BAR_DTYPES) for p in paths]
    bars = pd.concat(frames, ignore_index=True)
    bars["date"] = pd.to_datetime(bars["date"], format="%Y-%m-%d")
    bars["symbol"] = bars["symbol"].astype("category")  # categories sorted: byte order
    return bars


def read_splits(store):
    paths = sorted(glob.glob(os.path.join(store, "splits", "*.csv")))
    cols = ["symbol", "ex_date", "g"]
    if not paths:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(cols, [str, "datetime64[ns]", np.float64])})
    sp = pd.concat([pd.read_csv(p, dtype={"symbol": str, "ex_date": str,
                                          "new_rate": np.float64, "old_rate": np.float64})
                    for p in paths], ignore_index=True)
    sp["ex_date"] = pd.to_datetime(sp["ex_date"], format="%Y-%m-%d")
    sp = sp.drop_duplicates(["symbol", "ex_date"]).sort_values(["symbol", "ex_date"])
    sp["factor"] = to_millionths(sp["new_rate"]) / to_millionths(sp["old_rate"])
    sp["g"] = sp.groupby("symbol")["factor"].cumprod()
    return sp[cols]


def screen(bars, splits, window, min_bars, top):
    # Basis factor of each bar: the cumulative factor of the latest split on or before it.
    bars = bars.sort_values("date", kind="stable")
    splits = splits.astype({"symbol": bars["symbol"].dtype}).sort_values("ex_date")
    bars = pd.merge_asof(bars, splits, left_on="date", right_on="ex_date", by="symbol",
                         direction="backward")
    bars["g"] = bars["g"].fillna(1.0)

    # Sorted by date, so a stable sort by symbol gives symbol, date.
    bars = bars.sort_values("symbol", kind="stable", ignore_index=True)
    # A symbol-day stored in two parts is the same bar twice: keep one.
    dup = (bars["symbol"].cat.codes.diff() == 0).to_numpy() & \
          (bars["date"].diff() == pd.Timedelta(0)).to_numpy()
    if dup.any():
        bars = bars[~dup].reset_index(drop=True)

    g = bars["g"].to_numpy()
    bars["high_s"] = to_millionths(bars["high"]) * g
    bars["close_s"] = to_millionths(bars["close"]) * g

    by_symbol = bars.groupby("symbol", sort=False, observed=True)
    bars["seq"] = by_symbol.cumcount()
    bars["prev_close_s"] = by_symbol["close_s"].shift(1)
    # Offset windows are closed on the right: (D - W days, D] = [D - (W-1), D].  The result
    # comes group by group in the frame's own order (it is sorted by symbol).
    rolling = by_symbol.rolling(f"{window}D", on="date")["high_s"]
    bars["peak_s"] = rolling.max().to_numpy()
    bars["nbars"] = rolling.count().to_numpy()

    elig = bars.loc[bars["nbars"] >= min_bars, ["symbol", "date", "close_s", "peak_s"]]
    elig["drawdown_pct"] = 100.0 * (elig["close_s"] - elig["peak_s"]) / elig["peak_s"]
    # Stable sorts keep the symbol order among equal drawdowns: the ties rule.
    best = (elig.sort_values("drawdown_pct", kind="stable")
                .groupby("date", sort=False).head(top)
                .sort_values("date", kind="stable"))
    best["rank"] = best.groupby("date", sort=False).cumcount() + 1
    best = best.join(bars[["g", "seq", "prev_close_s", "volume"]])

    # The peak bar: the latest bar of the window whose high is the peak.
    best["row"] = np.arange(len(best))
    highs = bars.loc[bars["high_s"].isin(best["peak_s"]), ["symbol", "date", "high_s", "seq"]]
    cand = best[["row", "symbol", "date", "peak_s"]].merge(
        highs.rename(columns={"date": "peak_date", "high_s": "peak_s", "seq": "peak_seq"}),
        on=["symbol", "peak_s"])
    lo = cand["date"] - pd.Timedelta(days=window - 1)
    cand = cand[(cand["peak_date"] >= lo) & (cand["peak_date"] <= cand["date"])]
    peak = cand.sort_values(["row", "peak_date"]).groupby("row").tail(1).set_index("row")
    peak = peak.reindex(best["row"])

    g = best["g"]
    return pd.DataFrame({
        "date": best["date"].dt.strftime("%Y-%m-%d"),
        "rank": best["rank"],
        "symbol": best["symbol"].astype(str),
        "close": best["close_s"] / g / SCALE,
        "peak": best["peak_s"] / g / SCALE,
        "peak_date": peak["peak_date"].dt.strftime("%Y-%m-%d").to_numpy(),
        "drawdown_pct": best["drawdown_pct"],
        "days_since_peak": best["seq"].to_numpy() - peak["peak_seq"].to_numpy(),
        "change_pct": 100.0 * (best["close_s"] / best["prev_close_s"] - 1.0),
        "volume": best["volume"],
    })


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("out")
    ap.add_argument("--window", type=int, default=180)
    ap.add_argument("--min-bars", type=int, default=30)
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()
    bars = read_bars(a.store)
    result = screen(bars, read_splits(a.store), a.window, a.min_bars, a.top)
    result.to_csv(a.out, index=False, float_format="%.4f", na_rep="")
    print(f"peer_pandas: rows_read={len(bars)} rows_written={len(result)}", file=sys.stderr)


if __name__ == "__main__":
    main()
