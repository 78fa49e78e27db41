#!/usr/bin/python3
"""Write a small market full of edge cases as CSV, for checking the peers against screener.

usage: edge_store.py DIR     writes DIR/bars.csv and DIR/splits.csv (import them with
                             `screener import --splits DIR/splits.csv DIR/bars.csv`)

The cases: symbols that list late, delist early or skip days; equal highs on different days
(the latest is the peak) and across a split; two symbols with identical prices (a tie in the
ranking, broken by symbol); prices with up to six decimals; splits forward, reverse and
fractional, several for one symbol, on weekends, before a symbol's first bar, within and
outside the window, and for a symbol without bars.
"""
import datetime as dt
import os
import random
import sys


def trading_days(start, n):
    d, out = start, []
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(7)
    days = trading_days(dt.date(2023, 1, 2), 520)
    symbols = [f"E{i:02d}" for i in range(36)] + ["TWA", "TWB", "WHOLE", "LATE", "GAPPY"]

    splits = [
        ("E01", days[200], 2, 1), ("E01", days[260], 3, 2), ("E01", days[400], 1, 10),
        ("E02", days[100] + dt.timedelta(days=(5 - days[100].weekday()) % 7), 4, 1),  # Saturday
        ("E03", dt.date(2022, 6, 1), 5, 1),   # before the first bar
        ("E04", days[300], 1, 3),
        ("E05", days[150], 7, 3), ("E05", days[151], 2, 1),
        ("WHOLE", days[250], 2, 1),
        ("NOBARS", days[10], 2, 1),
        ("TWA", days[180], 3, 1), ("TWB", days[180], 3, 1),
    ]
    factor = {}
    for sym, ex, new, old in splits:
        factor.setdefault(sym, []).append((ex, new / old))

    rows = []
    twin = None
    for sym in symbols:
        if sym == "TWB":
            rows += [(sym,) + r[1:] for r in twin]
            continue
        price = rng.uniform(5, 400)
        decimals = 6 if sym == "E07" else (0 if sym == "WHOLE" else 2)
        first = 140 if sym == "LATE" else rng.choice([0, 0, 0, 20, 60])
        last = len(days) - (rng.choice([0, 0, 0, 30]) if sym != "LATE" else 0)
        mine = []
        for i in range(first, last):
            d = days[i]
            if sym == "GAPPY" and rng.random() < 0.4:
                continue
            if rng.random() < 0.03:
                continue
            shock = rng.gauss(0, 0.025) - (0.3 if rng.random() < 0.004 else 0)
            price = max(1.0, price * (1 + shock))
            raw = price
            for ex, f in factor.get(sym, []):
                if d >= ex:
                    raw /= f
            def q(x):
                return round(max(x, 10 ** -decimals if decimals else 1), decimals)
            o = q(raw * (1 + rng.gauss(0, 0.005)))
            c = q(raw)
            h = q(max(o, c) * (1 + abs(rng.gauss(0, 0.01))))
            lo = q(min(o, c) * (1 - abs(rng.gauss(0, 0.01))))
            lo = min(lo, o, c)
            h = max(h, o, c)
            if lo <= 0:
                continue
            fmt = f"{{:.{decimals}f}}"
            mine.append((sym, d.isoformat(), fmt.format(o), fmt.format(h), fmt.format(lo),
                         fmt.format(c), rng.randint(1000, 5_000_000),
                         fmt.format((h + lo + c) / 3), rng.randint(10, 9000)))
        if sym == "TWA":
            twin = mine
        rows += mine

    with open(os.path.join(out, "bars.csv"), "w") as f:
        f.write("symbol,date,open,high,low,close,volume,vwap,trades\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
    with open(os.path.join(out, "splits.csv"), "w") as f:
        f.write("symbol,ex_date,new_rate,old_rate\n")
        for sym, ex, new, old in splits:
            f.write(f"{sym},{ex.isoformat()},{new},{old}\n")


if __name__ == "__main__":
    main()
