#!/usr/bin/python3
"""Compare two CSV files cell by cell: text exactly, numbers within 1e-6 relative (the
files print 6 decimals).  usage: compare.py EXPECTED ACTUAL; prints the first differences."""
import csv
import sys


def close(a, b):
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))


def main():
    with open(sys.argv[1]) as f:
        want = list(csv.reader(f))
    with open(sys.argv[2]) as f:
        got = list(csv.reader(f))
    bad = 0
    if len(want) != len(got):
        print(f"{sys.argv[2]}: {len(got)} rows, want {len(want)}")
        bad += 1
    for i, (w, g) in enumerate(zip(want, got)):
        if len(w) != len(g) or not all(close(a, b) for a, b in zip(w, g)):
            print(f"{sys.argv[2]}:{i + 1}: got  {','.join(g)}\n{' ' * len(sys.argv[2])}  want {','.join(w)}")
            bad += 1
            if bad >= 5:
                break
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
