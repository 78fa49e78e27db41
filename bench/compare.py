#!/usr/bin/python3
"""Compare a peer's screen CSV with screener's.

usage: compare.py EXPECTED.csv ACTUAL.csv [TOLERANCE]

Same header, same rows in the same order; date, rank, symbol, peak_date, days_since_peak and
volume equal; close, peak, drawdown_pct and change_pct within TOLERANCE (default 1e-3; both
empty counts as equal).  Prints MATCH, or MISMATCH and the first difference; exit code 0 on
a match, 1 otherwise.
"""
import csv
import itertools
import sys

NUMERIC = {"close", "peak", "drawdown_pct", "change_pct"}


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    tol = float(sys.argv[3]) if len(sys.argv) == 4 else 1e-3
    with open(sys.argv[1], newline="") as fe, open(sys.argv[2], newline="") as fa:
        exp, act = csv.reader(fe), csv.reader(fa)
        he, ha = next(exp, None), next(act, None)
        if he != ha:
            print(f"MISMATCH header: expected {he}, got {ha}")
            return 1
        worst, line = 0.0, 1
        for line, (re, ra) in enumerate(itertools.zip_longest(exp, act), start=2):
            if re is None or ra is None:
                which = "extra" if re is None else "missing"
                row = ra if re is None else re
                print(f"MISMATCH line {line}: {which} row {','.join(row)}")
                return 1
            for col, e, a in zip(he, re, ra):
                if col in NUMERIC and e and a:
                    diff = abs(float(e) - float(a))
                    worst = max(worst, diff)
                    ok = diff <= tol
                else:
                    ok = e == a
                if not ok:
                    print(f"MISMATCH line {line} column {col}: expected {e!r}, got {a!r}\n"
                          f"  expected row: {','.join(re)}\n  actual row:   {','.join(ra)}")
                    return 1
    print(f"MATCH ({line - 1} rows, largest numeric difference {worst:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
