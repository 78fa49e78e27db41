#!/usr/bin/python3
"""The backtest of docs/definitions.md, written the slow and obvious way, to check `screener backtest`.

usage: naive.py STORE OUTDIR [--from D] [--to D] [--top N] [--every K] [--target P]
                [--signal-top M] [--stop P] [--max-hold H] [--cost-bps C] [--capital X]
                [--window W] [--min-bars B] [--min-price P] [--min-volume V]
                [--universe FILE:DATE ...]

Reads the store's part files directly (bars/**/part-*.csv, splits/*.csv) and writes
OUTDIR/equity.csv, OUTDIR/trades.csv and OUTDIR/summary.csv in the formats of
`screener backtest --equity/--trades --format csv`.  Every screen is recomputed from scratch
on every signal date; nothing is incremental.  --universe gives the snapshots for
--universe-asof (a plain list per snapshot, with its date).
"""
import argparse
import csv
import datetime as dt
import glob
import math
import os


def parse_date(s):
    return dt.date.fromisoformat(s)


def load(store):
    bars = {}  # (symbol, date) -> (open, high, low, close, volume)
    for path in sorted(glob.glob(os.path.join(store, "bars", "**", "part-*.csv"), recursive=True)):
        with open(path) as f:
            for row in csv.DictReader(f):
                key = (row["symbol"], parse_date(row["date"]))
                bars[key] = tuple(round(float(row[k]) * 1e6) for k in
                                  ("open", "high", "low", "close")) + (int(row["volume"]),)
    splits = {}  # symbol -> [(ex_date, factor)]
    seen = set()
    for path in sorted(glob.glob(os.path.join(store, "splits", "*.csv"))):
        with open(path) as f:
            for row in csv.DictReader(f):
                key = (row["symbol"], row["ex_date"])
                if key in seen:
                    continue
                seen.add(key)
                factor = round(float(row["new_rate"]) * 1e6) / round(float(row["old_rate"]) * 1e6)
                splits.setdefault(row["symbol"], []).append((parse_date(row["ex_date"]), factor))
    for v in splits.values():
        v.sort()
    return bars, splits


def basis(splits, symbol, day):
    """G: the product of the factors of the symbol's splits with ex_date <= day."""
    g = 1.0
    for ex, f in splits.get(symbol, []):
        if ex <= day:
            g *= f
    return g


def factor_between(splits, symbol, after, upto):
    """The product of the factors of the splits with after < ex_date <= upto."""
    g = 1.0
    for ex, f in splits.get(symbol, []):
        if after < ex <= upto:
            g *= f
    return g


def screen(bars, by_symbol, splits, day, a):
    """The eligible symbols on day, in rank order (docs/definitions.md#the-screen), recomputed from scratch."""
    start = day - dt.timedelta(days=a.window - 1)
    rows = []
    for symbol, dates in by_symbol.items():
        if (symbol, day) not in bars:
            continue
        win = [d for d in dates if start <= d <= day]
        if len(win) < a.min_bars:
            continue
        g_day = basis(splits, symbol, day)
        close_s = bars[(symbol, day)][3] * g_day
        peak_s = max(bars[(symbol, d)][1] * basis(splits, symbol, d) for d in win)
        if a.min_price and close_s / g_day < round(a.min_price * 1e6):
            continue
        if a.min_volume:
            vol = sum(bars[(symbol, d)][4] / basis(splits, symbol, d) for d in win)
            if vol * g_day / len(win) < a.min_volume:
                continue
        rows.append((100.0 * (close_s - peak_s) / peak_s, symbol))
    rows.sort()
    return [s for _, s in rows]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("store")
    p.add_argument("out")
    p.add_argument("--from", dest="from_", default=None)
    p.add_argument("--to", default=None)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--every", type=int, default=5)
    p.add_argument("--target", type=float, default=100.0)
    p.add_argument("--signal-top", type=int, default=5)
    p.add_argument("--stop", type=float, default=None)
    p.add_argument("--max-hold", type=int, default=None)
    p.add_argument("--cost-bps", type=float, default=5.0)
    p.add_argument("--capital", type=float, default=100000.0)
    p.add_argument("--window", type=int, default=180)
    p.add_argument("--min-bars", type=int, default=30)
    p.add_argument("--min-price", type=float, default=0.0)
    p.add_argument("--min-volume", type=int, default=0)
    p.add_argument("--universe", action="append", default=[])
    a = p.parse_args()

    bars, splits = load(a.store)
    by_symbol = {}
    for (s, d) in bars:
        by_symbol.setdefault(s, []).append(d)
    for v in by_symbol.values():
        v.sort()
    all_dates = sorted({d for (_, d) in bars})
    lo = parse_date(a.from_) if a.from_ else all_dates[0]
    hi = parse_date(a.to) if a.to else all_dates[-1]
    T = [d for d in all_dates if lo <= d <= hi]
    universes = []
    for u in a.universe:
        path, date = u.rsplit(":", 1)
        with open(path) as f:
            syms = {ln.split("#")[0].strip() for ln in f} - {""}
        universes.append((parse_date(date), syms))
    universes.sort(key=lambda x: x[0])

    c = a.cost_bps / 10000.0
    cash = a.capital
    held = []  # dicts, one per position
    pending_buys = []
    trades = []
    equity_rows = []
    bench = 1.0
    curve = []

    def bar(symbol, day):
        """open, high, low, close in dollars"""
        b = bars.get((symbol, day))
        return b and tuple(x / 1e6 for x in b[:4])

    def close_trade(pos, i, price, proceeds, reason):
        trades.append(dict(symbol=pos["symbol"], entry_date=pos["entry_date"],
                           entry_price=pos["entry_price"], exit_date=T[i], exit_price=price,
                           qty=pos["qty"], cost_basis=pos["x"], proceeds=proceeds,
                           return_pct=100.0 * (proceeds / pos["x"] - 1.0),
                           hold_days=i - pos["entry_i"], exit_reason=reason))

    for i, day in enumerate(T):
        if i > 0:
            prev = T[i - 1]
            # Splits since the previous date: quantity up, entry price and last close down.
            for pos in held:
                f = factor_between(splits, pos["symbol"], prev, day)
                pos["qty"] *= f
                pos["entry_price"] /= f
                pos["last_close"] /= f
            # The benchmark: equal weight over the symbols with bars on both dates.
            rets = []
            for s in sorted(by_symbol):
                b0, b1 = bar(s, prev), bar(s, day)
                if b0 and b1:
                    rets.append(b1[3] / (b0[3] / factor_between(splits, s, prev, day)) - 1.0)
            if rets:
                bench *= 1.0 + sum(rets) / len(rets)
            # The open: sells (those without a bar wait), then buys (without a bar: dropped).
            for pos in sorted(held, key=lambda q: q["symbol"]):
                b = bar(pos["symbol"], day)
                if pos["mark"] and b:
                    proceeds = pos["qty"] * b[0] * (1 - c)
                    cash += proceeds
                    close_trade(pos, i, b[0], proceeds, pos["mark"])
                    held.remove(pos)
            if pending_buys:
                slots = a.top - len(held)
                if slots > 0:
                    x = cash / slots
                    n = 0
                    for s in pending_buys:
                        if n == slots:
                            break
                        b = bar(s, day)
                        if not b:
                            continue
                        held.append(dict(symbol=s, entry_i=i, entry_date=day, entry_price=b[0],
                                         qty=x * (1 - c) / b[0], x=x, last_close=b[0],
                                         missing=0, mark=None))
                        cash -= x
                        n += 1
                pending_buys = []
        # The close: last closes, exits, delistings.
        for pos in held:
            b = bar(pos["symbol"], day)
            if b:
                pos["last_close"] = b[3]
                pos["missing"] = 0
            else:
                pos["missing"] += 1
        if held:
            r = {id(q): q["last_close"] / q["entry_price"] - 1.0 for q in held}
            best = sorted(r.values(), reverse=True)[:a.signal_top]
            target = sum(best) / len(best) >= a.target / 100.0
            for q in held:
                if not q["mark"] and target:
                    q["mark"] = "target"
                if not q["mark"] and a.stop is not None and r[id(q)] <= -a.stop / 100.0:
                    q["mark"] = "stop"
                if not q["mark"] and a.max_hold is not None and i - q["entry_i"] + 1 >= a.max_hold:
                    q["mark"] = "max-hold"
        for q in sorted(held, key=lambda q: q["symbol"]):
            if q["missing"] >= 10:
                proceeds = q["qty"] * q["last_close"] * (1 - c)
                cash += proceeds
                close_trade(q, i, q["last_close"], proceeds, q["mark"] or "delisted")
                held.remove(q)
        if i % a.every == 0 and i != len(T) - 1:
            marked = sum(1 for q in held if q["mark"])
            slots = a.top - (len(held) - marked)
            cands = screen(bars, by_symbol, splits, day, a)
            if a.universe:
                live = [syms for (d, syms) in universes if d <= day]
                allowed = live[-1] if live else set()
                cands = [s for s in cands if s in allowed]
            names = {q["symbol"] for q in held}
            pending_buys = [s for s in cands if s not in names][:max(slots, 0)]
        equity = cash + sum(q["qty"] * q["last_close"] for q in held)
        curve.append(equity)
        equity_rows.append((day, equity, cash, len(held), a.capital * bench))

    for q in sorted(held, key=lambda q: q["symbol"]):
        close_trade(q, len(T) - 1, q["last_close"], q["qty"] * q["last_close"], "open")

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "equity.csv"), "w") as f:
        f.write("date,equity,cash,positions,benchmark\n")
        for d, e, ca, n, b in equity_rows:
            f.write(f"{d},{e:.6f},{ca:.6f},{n},{b:.6f}\n")
    with open(os.path.join(a.out, "trades.csv"), "w") as f:
        f.write("symbol,entry_date,entry_price,exit_date,exit_price,qty,cost_basis,proceeds,"
                "return_pct,hold_days,exit_reason\n")
        for t in trades:
            f.write(f"{t['symbol']},{t['entry_date']},{t['entry_price']:.6f},{t['exit_date']},"
                    f"{t['exit_price']:.6f},{t['qty']:.8f},{t['cost_basis']:.6f},"
                    f"{t['proceeds']:.6f},{t['return_pct']:.6f},{t['hold_days']},"
                    f"{t['exit_reason']}\n")

    rets = [curve[k] / curve[k - 1] - 1.0 for k in range(1, len(curve))]
    nan = float("nan")
    if len(rets) >= 2:
        mean = sum(rets) / len(rets)
        sd = math.sqrt(sum((x - mean) ** 2 for x in rets) / (len(rets) - 1))
        vol = 100 * sd * math.sqrt(252)
        sharpe = mean / sd * math.sqrt(252) if sd > 0 else nan
    else:
        vol = sharpe = nan
    peak, mdd = curve[0], 0.0
    for e in curve:
        peak = max(peak, e)
        mdd = min(mdd, e / peak - 1)
    closed = [t for t in trades if t["exit_reason"] != "open"]
    days = (T[-1] - T[0]).days
    final = curve[-1]
    summary = dict(
        start=T[0], end=T[-1], trading_days=len(T), final_equity=final,
        total_return_pct=100 * (final / a.capital - 1),
        cagr_pct=100 * ((final / a.capital) ** (365.25 / days) - 1) if days > 0 else nan,
        vol_pct=vol, sharpe=sharpe, max_drawdown_pct=100 * mdd, trades=len(closed),
        win_rate_pct=100 * sum(t["return_pct"] > 0 for t in closed) / len(closed) if closed else nan,
        avg_hold_days=sum(t["hold_days"] for t in closed) / len(closed) if closed else nan,
        exposure_pct=100 * sum(1 for r in equity_rows if r[3] > 0) / len(T),
        benchmark_return_pct=100 * (bench - 1))
    with open(os.path.join(a.out, "summary.csv"), "w") as f:
        f.write(",".join(summary) + "\n")
        f.write(",".join("" if isinstance(v, float) and math.isnan(v) else
                         (f"{v:.6f}" if isinstance(v, float) else str(v))
                         for v in summary.values()) + "\n")


if __name__ == "__main__":
    main()
