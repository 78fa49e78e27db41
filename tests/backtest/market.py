#!/usr/bin/python3
"""A seeded random market for checking the backtest against the naive one.

usage: market.py SEED DIR    writes DIR/bars.csv, DIR/splits.csv (for `screener import
                             --splits`), DIR/universe-*.txt snapshots and DIR/args (a random
                             parameter set, as command-line words)

Symbols list late, stop early (delisted), skip days and runs of days, crash and rally (so that
targets, stops and delistings happen), split forward and backward (sometimes while held, on a
date without a bar, or twice between two dates), and two symbols can share every price (a tie).
"""
import datetime as dt
import os
import random
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    seed, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    d = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(400))
    days = []
    while len(days) < rng.randrange(60, 260):
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    nsym = rng.randrange(3, 14)
    symbols = [f"S{i:02d}" for i in range(nsym)]
    bars, splits = [], []
    series = {}
    for s in symbols:
        first = 0 if rng.random() < 0.6 else rng.randrange(len(days) // 2)
        last = len(days) - 1 if rng.random() < 0.75 else rng.randrange(first, len(days))
        price = rng.uniform(5, 200)
        factor = 1.0  # raw price = adjusted / factor-so-far: splits divide later raw prices
        gap_until = -1
        rows = {}
        for i in range(first, last + 1):
            if rng.random() < 0.02:
                gap_until = i + rng.randrange(1, 14)
            if i <= gap_until or rng.random() < 0.04:
                continue
            move = rng.gauss(0.0, 0.03)
            if rng.random() < 0.02:
                move += rng.choice([-0.35, 0.4, 0.8])
            price = max(0.5, price * (1 + move))
            rows[i] = price
        series[s] = rows
        for i, price in sorted(rows.items()):
            raw = price
            for (ex_i, f) in [(x[1], x[2]) for x in splits if x[0] == s]:
                if ex_i <= i:
                    raw /= f
            if rng.random() < 0.01 and i > first:
                f = rng.choice([2.0, 3.0, 0.5, 1.5, 0.25])
                ex_i = i if rng.random() < 0.8 else i - 1  # sometimes a date without this bar
                splits.append((s, ex_i, f))
                raw /= f if ex_i <= i else 1
            o = round(raw * rng.uniform(0.97, 1.03), rng.choice([2, 4]))
            c = round(raw, rng.choice([2, 3, 6]))
            h = round(max(o, c) * rng.uniform(1.0, 1.04), 2) + 0.01
            lo = max(0.01, round(min(o, c) * rng.uniform(0.96, 1.0), 2) - 0.01)
            lo = min(lo, o, c)
            bars.append((s, days[i], max(o, 0.01), h, lo, max(c, 0.01), rng.randrange(1000, 10**6)))
    if nsym >= 2 and rng.random() < 0.5:  # a twin: the same prices under another symbol
        src = [b for b in bars if b[0] == symbols[0]]
        bars = [b for b in bars if b[0] != "TWIN"] + [("TWIN",) + b[1:] for b in src]
        splits += [("TWIN", ex, f) for (s, ex, f) in splits if s == symbols[0]]
        symbols.append("TWIN")
    with open(os.path.join(out, "bars.csv"), "w") as f:
        f.write("symbol,date,open,high,low,close,volume\n")
        for b in bars:
            f.write(f"{b[0]},{b[1]},{b[2]},{b[3]},{b[4]},{b[5]},{b[6]}\n")
    with open(os.path.join(out, "splits.csv"), "w") as f:
        f.write("symbol,ex_date,new_rate,old_rate\n")
        seen = set()
        for s, ex_i, fac in splits:
            ex = days[max(ex_i, 0)]
            if rng.random() < 0.1:
                ex = ex - dt.timedelta(days=1)  # a weekend or holiday ex-date
            if (s, ex) in seen:
                continue
            seen.add((s, ex))
            new, old = (fac, 1) if fac >= 1 else (1, round(1 / fac))
            if fac == 1.5:
                new, old = 3, 2
            f.write(f"{s},{ex},{new},{old}\n")
    # Universe snapshots: random subsets, dated within the history.
    snaps = sorted(rng.sample(range(len(days)), k=min(3, len(days))))
    for k, i in enumerate(snaps):
        # A snapshot lists at least one member: the store refuses an empty universe.
        members = [s for s in symbols if rng.random() < 0.7] or [rng.choice(symbols)]
        with open(os.path.join(out, f"universe-{days[i]}.txt"), "w") as f:
            f.write(f"# snapshot {k}\n" + "".join(m + "\n" for m in members))
    args = ["--top", rng.randrange(1, 7), "--every", rng.randrange(1, 9),
            "--target", rng.choice([5, 10, 20, 35, 60]), "--signal-top", rng.randrange(1, 5),
            "--cost-bps", rng.choice([0, 5, 12.5, 30]), "--capital", rng.choice([1000, 100000])]
    window = rng.choice([5, 10, 30, 60, 120])
    args += ["--window", window, "--min-bars", rng.randrange(1, min(window, 20) + 1)]
    if rng.random() < 0.4:
        args += ["--stop", rng.choice([5, 15, 30])]
    if rng.random() < 0.4:
        args += ["--max-hold", rng.randrange(1, 30)]
    if rng.random() < 0.2:
        args += ["--min-price", rng.choice([10, 50])]
    if rng.random() < 0.2:
        args += ["--min-volume", 400000]
    if rng.random() < 0.3:
        args += ["--from", days[rng.randrange(len(days) // 2)]]
    if rng.random() < 0.3:
        args += ["--to", days[rng.randrange(len(days) // 2, len(days))]]
    with open(os.path.join(out, "args"), "w") as f:
        f.write(" ".join(str(x) for x in args) + "\n")


if __name__ == "__main__":
    main()
