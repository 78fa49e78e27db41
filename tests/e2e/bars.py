#!/usr/bin/env python3
"""bars.py - read a local bar store the way a spreadsheet user would, for the end-to-end tests.
(Day parts, and compacted months: bars/YYYY/YYYY-MM/days-MASK/part-HASH.csv.)

  bars.py dump STORE    every stored bar, one CSV line each, sorted by symbol and date;
                        fails (exit 1) when a symbol-day is stored twice with different values,
                        or a row is invalid (non-positive price, high < low, wrong partition)
  bars.py count STORE   the number of distinct stored bars
"""
import csv
import os
import sys


def load(store):
    rows = {}
    bad = []
    root = os.path.join(store, "bars")
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".csv"):
                continue
            path = os.path.join(dirpath, f)
            day = os.path.basename(dirpath)
            # a compacted month: bars/YYYY/YYYY-MM/days-MASK/part-HASH.csv
            month = os.path.basename(os.path.dirname(dirpath)) if day.startswith("days-") else None
            with open(path, newline="") as fh:
                for rec in csv.DictReader(fh):
                    key = (rec["symbol"], rec["date"])
                    vals = tuple(rec[k] for k in ("open", "high", "low", "close", "volume",
                                                  "vwap", "trades"))
                    o, h, l, c = (float(x) for x in vals[:4])
                    in_place = rec["date"][:7] == month if month else rec["date"] == day
                    if not in_place or min(o, h, l, c) <= 0 or h < l or h < max(o, c) \
                            or l > min(o, c):
                        bad.append(f"{path}: invalid row {rec}")
                    if key in rows and rows[key] != vals:
                        bad.append(f"{path}: {key} stored twice with different values")
                    rows[key] = vals
    return rows, bad


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "count"):
        print(__doc__, file=sys.stderr)
        return 2
    rows, bad = load(sys.argv[2])
    for b in bad[:10]:
        print(b, file=sys.stderr)
    if sys.argv[1] == "count":
        print(len(rows))
    else:
        for key in sorted(rows):
            print(",".join(key + rows[key]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
