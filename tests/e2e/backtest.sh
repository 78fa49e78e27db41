#!/bin/sh
# backtest.sh - end-to-end tests of `screener backtest`: help, bad arguments, formats, files,
# grids, the point-in-time universe (`universe fetch` snapshots), and a property test against
# the naive implementation (tests/backtest/naive.py) on seeded random markets.
# BACKTEST_SEEDS (default 20) markets; TEST_SEED fixes the first seed (printed).
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${BUILD:-build}/screener
PY=/usr/bin/python3
[ -x "$BIN" ] || { echo "not ok 1 - $BIN is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-bt.XXXXXX")
HTTP_PID=
trap '[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null; rm -rf "$T"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { # DESCRIPTION WANT_STATUS COMMAND...
    desc=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$desc"; else nok "$desc" "exit $got, want $want" "$(head -c 600 "$T/err")"; fi
}
contains() { # DESCRIPTION FILE TEXT
    if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1" "no '$3' in:" "$(head -c 800 "$2")"; fi
}
same() { # DESCRIPTION FILE WANT_FILE
    if cmp -s "$2" "$3"; then ok "$1"; else nok "$1" "$(diff "$3" "$2" | head -20)"; fi
}
lacks() { # DESCRIPTION FILE TEXT
    if grep -qF -- "$3" "$2"; then nok "$1" "'$3' in:" "$(head -c 800 "$2")"; else ok "$1"; fi
}

S="$T/store"

# ---- help and bad arguments ----
check "backtest --help succeeds" 0 "$BIN" backtest --help
contains "... shows usage" "$T/out" "usage: screener backtest"
contains "... names --grid" "$T/out" "--grid NAME=V1,V2"
check "screener --help lists backtest" 0 "$BIN" --help
contains "... with a summary" "$T/out" "backtest"
check "universe --help names the snapshots" 0 "$BIN" universe --help
contains "... and --as-of" "$T/out" "--as-of DATE"
bad() { # DESCRIPTION EXPECTED_TEXT ARGS...
    desc=$1 text=$2
    shift 2
    check "$desc is a usage error" 2 "$BIN" backtest --store "$S" "$@"
    contains "... saying '$text'" "$T/err" "$text"
}
bad "--top 0" "--top: expected a whole number" --top 0
bad "--top lots" "--top: expected a whole number" --top lots
bad "--every 0" "--every" --every 0
bad "--stop -5" "--stop: expected a loss" --stop -5
bad "--cost-bps 1e9" "--cost-bps: expected basis points" --cost-bps 1e9
bad "--capital 0" "--capital: expected a positive amount" --capital 0
bad "--target x" "--target: expected a percentage" --target x
bad "--min-price 1e9" "--min-price: expected a price, a decimal number such as 5 or 2.50 from 0 to 9223372036854 (no exponent), got '1e9'" --min-price 1e9
bad "--min-bars over the window" "--min-bars 50 is more than the window of 20 days: give --min-bars 20 or less, or a longer --window" --window 20 --min-bars 50
bad "--min-bars over a window of one day" "--min-bars 30 is more than the window of 1 day: give --min-bars 1 or less, or a longer --window" --window 1
bad "--grid without =" "expected NAME=V1,V2" --grid top
bad "--grid of an unknown parameter" "'colour': not a parameter" --grid colour=1,2
bad "--grid with a bad value" "--grid top: expected a whole number" --grid top=5,x
bad "--grid with an empty value" "--grid every: expected a whole number" --grid every=5,
bad "the same --grid twice" "given twice" --grid top=1 --grid top=2
bad "--grid and the flag" "--top and --grid top" --top 5 --grid top=5,10
bad "--grid with --equity" "not with --grid" --grid top=5,10 --equity "$T/e.csv"
bad "--sort of an unknown metric" "'bogus': not a metric" --sort bogus
bad "--sort with a bad direction" "expected METRIC, METRIC:asc" --sort sharpe:up
bad "--format xml" "--format: expected table, csv or json" --format xml
bad "an unknown option" "unknown or incomplete option" --frobnicate
bad "an extra argument" "unexpected argument 'extra'" extra
check "an empty store has nothing to test" 5 "$BIN" backtest --store "$S"
bad "--from not a date, before the store is read" "--from: expected a date YYYY-MM-DD" --from 2024-02-30
bad "--to not a date, before the store is read" "--to: expected a date YYYY-MM-DD" --to soon

# ---- a small market: two symbols, one crash, a split ----
"$PY" - "$T/src" <<'PY'
import datetime as dt, os, sys
out = sys.argv[1]
os.makedirs(out)
d, days = dt.date(2024, 1, 1), []
while len(days) < 80:
    if d.weekday() < 5:
        days.append(d)
    d += dt.timedelta(days=1)
rows = []
for i, day in enumerate(days):
    a = 100 - 40 * (i >= 10) + 2 * max(0, i - 20)  # AAA crashes, then climbs back
    b = 50 + 0.1 * i
    c = 80
    for s, p in (("AAA", a), ("BBB", b), ("CCC", c if i < 40 else c / 2)):
        rows.append(f"{s},{day},{p},{p * 1.01:.4f},{p * 0.99:.4f},{p},1000")
with open(f"{out}/bars.csv", "w") as f:
    f.write("symbol,date,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
with open(f"{out}/splits.csv", "w") as f:
    f.write(f"symbol,ex_date,new_rate,old_rate\nCCC,{days[40]},2,1\n")
PY
"$BIN" import --store "$S" --splits "$T/src/splits.csv" "$T/src/bars.csv" >/dev/null 2>&1
check "a backtest runs" 0 "$BIN" backtest --store "$S" --top 1 --every 5 --min-bars 5 --target 20 \
    --equity "$T/eq.csv" --trades "$T/tr.csv"
contains "the table names the metrics" "$T/out" "total_return_pct"
contains "... and warns of survivorship bias" "$T/out" "survivorship bias"
check "--capital 1e15" 0 "$BIN" backtest --store "$S" --min-bars 5 --capital 1e15
contains "... is written out in the title" "$T/out" "; capital 1000000000000000"
check "a run with every parameter set" 0 "$BIN" backtest --store "$S" --top 2 --every 3 --target 20 \
    --signal-top 2 --stop 10 --max-hold 30 --cost-bps 20 --capital 5000 --window 90 --min-bars 5 \
    --min-price 5.50 --min-volume 10
contains "... the table's title names them all" "$T/out" \
    "top 2 every 3 dates, target 20% of the best 2; stop 10, max-hold 30, cost-bps 20, capital 5000, window 90, min-bars 5, min-price 5.5, min-volume 10"
contains "the equity file has its header" "$T/eq.csv" "date,equity,cash,positions,benchmark"
[ "$(wc -l <"$T/eq.csv")" -eq 81 ] && ok "... and one row per date" || nok "equity rows: $(wc -l <"$T/eq.csv")"
contains "the trades file has its header" "$T/tr.csv" \
    "symbol,entry_date,entry_price,exit_date,exit_price,qty,cost_basis,proceeds,return_pct,hold_days,exit_reason"
contains "... AAA bought after its crash, sold at the target" "$T/tr.csv" ",target"
check "--format csv" 0 "$BIN" backtest --store "$S" --top 1 --min-bars 5 --format csv
[ "$(wc -l <"$T/out")" -eq 2 ] && ok "... is a header and a row" || nok "csv rows: $(wc -l <"$T/out")"
contains "... the warning goes to stderr" "$T/err" "warning: candidates come from every stored symbol"
check "--format json" 0 "$BIN" backtest --store "$S" --top 1 --min-bars 5 --format json
if "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["trading_days"] == 80 and j["warnings"], j' "$T/out"; then
    ok "... parses, with the summary and the warning"
else nok "json output" "$(cat "$T/out")"; fi
check "--from and --to" 0 "$BIN" backtest --store "$S" --from 2024-02-01 --to 2024-03-01 --format csv
contains "... bound the dates" "$T/out" "2024-02-01,2024-03-01,"
check "a range of one date" 0 "$BIN" backtest --store "$S" --from 2024-02-01 --to 2024-02-01
contains "... says why nothing was bought" "$T/out" "note: nothing was bought: no signal date (the range holds 1 date"
check "no stock eligible" 0 "$BIN" backtest --store "$S" --window 60 --min-bars 60 --format json
if "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["exposure_pct"] == 0 and any(w.startswith("nothing was bought: no stock was eligible on any of the 16 signal dates (a stock needs a bar on the date and --min-bars 60 bars in the --window of 60 days)") for w in j["warnings"]), j' "$T/out"; then
    ok "... says what a stock needs"; else nok "nothing eligible" "$(head -c 600 "$T/out")"; fi
check "a run that buys" 0 "$BIN" backtest --store "$S" --min-bars 5 --format csv
lacks "... has no such note" "$T/err" "nothing was bought"
check "--to before --from is a usage error" 2 "$BIN" backtest --store "$S" --from 2024-03-01 --to 2024-02-01
check "a range without bars has nothing to test" 5 "$BIN" backtest --store "$S" --from 2030-01-01 --to 2030-02-01
contains "... saying where the stored dates are" "$T/err" "no bars stored from 2030-01-01 to 2030-02-01: the store holds 2024-01-01 to 2024-04-19"
check "--from after the last stored date alone has nothing to test" 5 "$BIN" backtest --store "$S" --from 2030-01-01
contains "... saying so" "$T/err" "no bars stored from 2030-01-01 on: the store holds 2024-01-01 to 2024-04-19"
check "--to before the first stored date alone has nothing to test" 5 "$BIN" backtest --store "$S" --to 2020-01-01
contains "... saying so" "$T/err" "no bars stored up to 2020-01-01: the store holds 2024-01-01 to 2024-04-19"
check "--from last tests the last stored date" 0 "$BIN" backtest --store "$S" --min-bars 5 --from last --equity "$T/eq-last.csv"
[ "$(tail -n +2 "$T/eq-last.csv" | cut -d, -f1 | tr '\n' ' ')" = "2024-04-19 " ] && ok "... alone" || nok "... alone" "$(cat "$T/eq-last.csv")"
check "--to first tests the first stored date" 0 "$BIN" backtest --store "$S" --min-bars 5 --to first --equity "$T/eq-first.csv"
[ "$(tail -n +2 "$T/eq-first.csv" | cut -d, -f1 | tr '\n' ' ')" = "2024-01-01 " ] && ok "... alone" || nok "... alone" "$(cat "$T/eq-first.csv")"
check "--from last --to first has nothing to test" 5 "$BIN" backtest --store "$S" --from last --to first
contains "... naming the dates the keywords stand for" "$T/err" "--to first (2024-01-01) is before --from last (2024-04-19): the store holds 2024-01-01 to 2024-04-19"
bad "a bad --to" "--to: expected a date YYYY-MM-DD, 'first' or 'last', got 'soon'" --to soon
check "an unwritable --trades fails clearly" 1 "$BIN" backtest --store "$S" --trades "$T/no/such/dir/t.csv"
contains "... naming the file" "$T/err" "cannot write '$T/no/such/dir/t.csv'"
check "--trades - and --equity - write to standard output" 0 "$BIN" backtest --store "$S" --top 1 \
    --every 5 --min-bars 5 --target 20 --equity - --trades - --format csv
"$PY" - "$T/out" "$T/eq.csv" "$T/tr.csv" <<'PY' && ok "... the equity, the trades, then the summary" || nok "stdout files" "$(head -c 600 "$T/out")"
import sys
out = open(sys.argv[1]).read()
eq, tr = open(sys.argv[2]).read(), open(sys.argv[3]).read()
assert out.startswith(eq + tr + "start,end,"), out[:300]
PY
[ -e ./- ] && nok "... and no file named '-'" || ok "... and no file named '-'"
: >"$T/real-tr.csv"
ln -s real-tr.csv "$T/link-tr.csv"
check "--trades through a symbolic link" 0 "$BIN" backtest --store "$S" --top 1 --every 5 \
    --min-bars 5 --target 20 --trades "$T/link-tr.csv"
[ -L "$T/link-tr.csv" ] && ok "... leaves the link a link" || nok "the link was replaced by a file"
same "... and writes the file it points to" "$T/real-tr.csv" "$T/tr.csv"

# ---- grids ----
check "a grid runs" 0 "$BIN" backtest --store "$S" --min-bars 5 --grid top=1,2 --grid target=10,20,1000 \
    --format csv
[ "$(wc -l <"$T/out")" -eq 7 ] && ok "... one row per combination" || nok "grid rows: $(wc -l <"$T/out")"
head -n 1 "$T/out" | grep -q '^top,target,start,' && ok "... with the parameters first" || nok "grid header" "$(head -n 1 "$T/out")"
cp "$T/out" "$T/grid.csv"
"$BIN" backtest --store "$S" --min-bars 5 --top 2 --target 20 --format csv >"$T/one.csv" 2>/dev/null
if [ "$(sed -n 6p "$T/grid.csv")" = "2,20,$(tail -n 1 "$T/one.csv")" ]; then ok "... a combination equals its own run"
else nok "grid row differs from its own run" "$(sed -n 6p "$T/grid.csv")" "$(tail -n 1 "$T/one.csv")"; fi
check "--sort total_return_pct" 0 "$BIN" backtest --store "$S" --min-bars 5 --grid top=1,2 \
    --grid target=10,20,1000 --sort total_return_pct --format csv
if "$PY" -c '
import csv, sys
r = [float(x["total_return_pct"]) for x in csv.DictReader(open(sys.argv[1]))]
assert r == sorted(r, reverse=True), r' "$T/out"; then ok "... orders the rows, best first"; else nok "sort order" "$(cat "$T/out")"; fi
check "--sort METRIC:asc" 0 "$BIN" backtest --store "$S" --min-bars 5 --grid top=1,2 --sort final_equity:asc --format json
if "$PY" -c '
import json, sys
r = [x["final_equity"] for x in json.load(open(sys.argv[1]))["runs"]]
assert r == sorted(r) and len(r) == 2, r' "$T/out"; then ok "... ascending, as JSON runs"; else nok "asc sort" "$(cat "$T/out")"; fi
check "a grid over windows" 0 "$BIN" backtest --store "$S" --min-bars 5 --grid window=20,60 --grid every=1,5 --log-level info --log-format json
contains "... screens once per window" "$T/err" '"screens":2'

check "grid values in any form" 0 "$BIN" backtest --store "$S" --min-bars 5 --grid target=1e2,+50 \
    --grid min-price=05.5 --format json
if "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))["runs"]
assert [x["target"] for x in r] == [100, 50] and r[0]["min-price"] == 5.5, r' "$T/out"; then
    ok "... are numbers in JSON"; else nok "grid JSON values" "$(head -c 300 "$T/out")"; fi
check "a grid with the stop and the maximum hold off" 0 "$BIN" backtest --store "$S" --min-bars 5 \
    --grid stop=off,5 --grid max-hold=off,3 --format json
if "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))["runs"]
assert [(x["stop"], x["max-hold"]) for x in r] == [(None, None), (None, 3), (5, None), (5, 3)], r' "$T/out"; then
    ok "... off is null in JSON"; else nok "grid off values" "$(head -c 300 "$T/out")"; fi
"$BIN" backtest --store "$S" --min-bars 5 --grid stop=off,5 --format csv >"$T/off.csv" 2>/dev/null
"$BIN" backtest --store "$S" --min-bars 5 --format csv >"$T/none.csv" 2>/dev/null
if [ "$(sed -n 2p "$T/off.csv")" = "off,$(tail -n 1 "$T/none.csv")" ]; then ok "... and its run is the run without a stop"
else nok "stop=off differs from no stop" "$(sed -n 2p "$T/off.csv")" "$(tail -n 1 "$T/none.csv")"; fi
check "--stop off" 0 "$BIN" backtest --store "$S" --min-bars 5 --stop off --max-hold off --format csv
same "... is the run without a stop" "$T/out" "$T/none.csv"

# ---- the demo's last word ----
check "the demo runs" 0 "$BIN" demo --symbols 20 --years 1 --store "$T/demo"
contains "... and ends with a one-line backtest" "$T/out" "Backtest "
contains "... against the benchmark" "$T/out" "the equal-weight universe"

# ---- past picks from day one, and the backtest in the results ----
# The history covers every stored date: it is the full-history screen's top 10 of each date.
R="$T/demo/results"
"$BIN" screen --store "$T/demo" --from first --to last --top 10 --format csv >"$T/full.csv" 2>/dev/null
same "after the demo the history is the full-history screen, every date" "$R/top_candidates.csv" "$T/full.csv"
[ "$(cut -d, -f1 "$R/top_candidates.csv" | sort -u | wc -l)" -gt 200 ] && ok "... of many dates, not one" \
    || nok "history dates: $(cut -d, -f1 "$R/top_candidates.csv" | sort -u | wc -l)"
# The refreshed backtest is `screener backtest` with the defaults over the stored history.
"$BIN" backtest --store "$T/demo" --equity "$T/d-eq.csv" --trades "$T/d-tr.csv" --format csv >"$T/d-sum.csv" 2>/dev/null
same "results/backtest/equity.csv is the default backtest's equity" "$R/backtest/equity.csv" "$T/d-eq.csv"
same "results/backtest/trades.csv is its trades" "$R/backtest/trades.csv" "$T/d-tr.csv"
same "results/backtest/summary.csv is its summary" "$R/backtest/summary.csv" "$T/d-sum.csv"
if "$PY" - "$R/backtest/summary.json" "$T/d-sum.csv" "$R/backtest/equity.csv" <<'PY'
import csv, json, sys
j = json.load(open(sys.argv[1]))
s = next(csv.DictReader(open(sys.argv[2])))
eq = {r["date"]: r for r in csv.DictReader(open(sys.argv[3]))}
assert j["start"] == s["start"] and j["end"] == s["end"] and j["trading_days"] == len(eq), j
assert abs(j["total_return_pct"] - float(s["total_return_pct"])) < 1e-6, (j, s)
assert j["top"] == 10 and j["every"] == 5 and j["survivorship_bias"] is True and j["warnings"]
c = j["curve"]
assert len(c) == 32 and c[0]["date"] == j["start"] and c[-1]["date"] == j["end"], c
for p in c:
    assert abs(p["equity"] - float(eq[p["date"]]["equity"])) < 1e-5, p
    assert abs(p["benchmark"] - float(eq[p["date"]]["benchmark"])) < 1e-5, p
PY
then ok "... summary.json agrees, with 32 points of the equity file"; else nok "summary.json" "$(head -c 400 "$R/backtest/summary.json")"; fi
cp "$R/backtest/summary.json" "$T/sum-before"
check "the demo again" 0 "$BIN" demo --symbols 20 --years 1 --store "$T/demo" --log-level info --log-format json
lacks "... screens no past date again" "$T/err" "top-candidate history filled"
contains "... and refreshes the backtest" "$T/err" '"message":"backtest refreshed"'
same "... to the same history" "$R/top_candidates.csv" "$T/full.csv"
# A damaged history (a row cut short) does not stop the collections that follow: it is put
# aside whole and filled again from the bars.
head -c 5000 "$T/full.csv" >"$R/top_candidates.csv"
check "the demo again, the history damaged" 0 "$BIN" demo --symbols 20 --years 1 --store "$T/demo" --log-level info --log-format json
contains "... says it put the damaged one aside" "$T/err" "DAMAGED RESULTS REPLACED"
same "... and the history is whole again" "$R/top_candidates.csv" "$T/full.csv"
kept=$(find "$R/damaged" -name 'top_candidates-*.csv' 2>/dev/null | head -n 1)
head -c 5000 "$T/full.csv" >"$T/cut.csv"
[ -n "$kept" ] && cmp -s "$kept" "$T/cut.csv" && ok "... the damaged one kept as it was" ||
    nok "... the damaged one kept as it was" "$(ls -R "$R" | head -20)"

# After an import: every date at once, then only the new ones.
"$PY" - "$T/imp" <<'PY'
import datetime as dt, math, os, sys
out = sys.argv[1]
os.makedirs(out)
d, days = dt.date(2023, 1, 2), []
while len(days) < 130:
    if d.weekday() < 5:
        days.append(d)
    d += dt.timedelta(days=1)
for name, part in (("old", days[:120]), ("new", days[120:])):
    rows = []
    for i, day in enumerate(part, 0 if name == "old" else 120):
        for k in range(12):
            p = round(50 + 5 * k + 10 * math.sin(0.05 * i * (k + 1)), 2)
            rows.append(f"S{k:02d},{day},{p},{p + 1},{p - 1},{p},1000")
    with open(f"{out}/{name}.csv", "w") as f:
        f.write("symbol,date,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
PY
check "an import of 120 days" 0 "$BIN" import --store "$T/imp/store" "$T/imp/old.csv" --log-level info --log-format json
# 91 dates have 30 in their window: the newest one's rows come with its screen (the results a
# collection writes), the 90 before it from the fill.
contains "... fills the history: every date with 30 in its window" "$T/err" '"dates_added":90,"dates_missing":90'
"$BIN" screen --store "$T/imp/store" --from first --to last --top 10 --format csv >"$T/full.csv" 2>/dev/null
same "... as the full-history screen" "$T/imp/store/results/top_candidates.csv" "$T/full.csv"
[ -s "$T/imp/store/results/backtest/summary.json" ] && ok "... and writes the backtest" || nok "no backtest after an import"
check "an import of 10 more days" 0 "$BIN" import --store "$T/imp/store" "$T/imp/new.csv" --log-level info --log-format json
contains "... adds only the new dates" "$T/err" '"dates_added":9,"dates_missing":9,"dates_stored":130,"passes":1'
"$BIN" screen --store "$T/imp/store" --from first --to last --top 10 --format csv >"$T/full.csv" 2>/dev/null
same "... and the history is still the full-history screen" "$T/imp/store/results/top_candidates.csv" "$T/full.csv"

# ---- the point-in-time universe ----
check "--universe-asof without snapshots fails clearly" 5 "$BIN" backtest --store "$S" --universe-asof
contains "... naming the command that keeps them" "$T/err" "screener universe fetch"
mkdir -p "$T/www"
printf 'BBB\n' >"$T/www/early.txt"
printf 'AAA\nBBB\n' >"$T/www/later.txt"
"$PY" -u -m http.server 0 --bind 127.0.0.1 --directory "$T/www" >"$T/http.out" 2>&1 &
HTTP_PID=$!
i=0
while ! grep -q "port [0-9]" "$T/http.out" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
PORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/http.out" | head -n 1)
check "universe fetch keeps a dated snapshot" 0 "$BIN" universe fetch --store "$S" --no-resolve \
    --url "http://127.0.0.1:$PORT/early.txt" --as-of 2024-01-01
contains "... and says so" "$T/out" "universe/snapshots/2024-01-01.txt"
[ -f "$S/universe/snapshots/2024-01-01.txt" ] && ok "... in the store" || nok "no snapshot file in the store"
check "a later fetch keeps another" 0 "$BIN" universe fetch --store "$S" --no-resolve \
    --url "http://127.0.0.1:$PORT/later.txt" --as-of 2024-03-01
check "universe fetch --as-of with a bad date" 2 "$BIN" universe fetch --store "$S" --as-of 2024-02-30
check "universe fetch --as-of a day to come is refused" 2 "$BIN" universe fetch --store "$S" --no-resolve \
    --url "http://127.0.0.1:$PORT/later.txt" --as-of 2099-01-01
contains "... saying why" "$T/err" "--as-of 2099-01-01 is after today in New York"
[ ! -e "$S/universe/snapshots/2099-01-01.txt" ] && ok "... and no snapshot of 2099 is kept" || nok "a snapshot of 2099 was kept"
check "--universe-asof runs" 0 "$BIN" backtest --store "$S" --top 1 --every 5 --min-bars 5 --target 20 \
    --universe-asof --trades "$T/tr-asof.csv"
lacks "... without the survivorship warning" "$T/out" "survivorship"
if "$PY" -c '
import csv, sys
for t in csv.DictReader(open(sys.argv[1])):
    assert t["symbol"] == "BBB" or t["entry_date"] > "2024-03-01", t' "$T/tr-asof.csv"; then
    ok "... buys only members of the snapshot in force"
else nok "asof trades" "$(cat "$T/tr-asof.csv")"; fi
grep -q '^AAA' "$T/tr.csv" && ok "... (AAA was bought without it)" || nok "AAA never bought without --universe-asof"
check "--universe-asof before the first snapshot" 0 "$BIN" backtest --store "$S" --universe-asof --to 2024-01-31 \
    --from 2023-12-01
kill "$HTTP_PID" 2>/dev/null
wait "$HTTP_PID" 2>/dev/null
HTTP_PID=

# ---- property: screener against the naive implementation on random markets ----
seeds=${BACKTEST_SEEDS:-20}
seed0=${TEST_SEED:-$(date +%s)}
echo "# property test: seeds $seed0 .. $((seed0 + seeds - 1)) (TEST_SEED=$seed0 replays)"
fails=0
k=0
while [ $k -lt "$seeds" ]; do
    seed=$((seed0 + k))
    k=$((k + 1))
    M="$T/m$seed"
    "$PY" tests/backtest/market.py "$seed" "$M" || { fails=$((fails + 1)); continue; }
    "$BIN" import --store "$M/s" --splits "$M/splits.csv" "$M/bars.csv" >/dev/null 2>&1
    mkdir -p "$M/s/universe/snapshots"
    uargs=
    asof=
    if [ $((seed % 3)) -eq 0 ]; then # every third market with the point-in-time universe
        asof=--universe-asof
        for f in "$M"/universe-*.txt; do
            day=$(basename "$f" .txt | sed 's/^universe-//')
            cp "$f" "$M/s/universe/snapshots/$day.txt"
            uargs="$uargs --universe $f:$day"
        done
    fi
    args=$(cat "$M/args")
    # shellcheck disable=SC2086 # args are words
    if ! "$BIN" backtest --store "$M/s" $args $asof --equity "$M/eq.csv" --trades "$M/tr.csv" \
        --format csv >"$M/sum.csv" 2>"$M/err"; then
        nok "seed $seed: screener backtest failed" "$args $asof" "$(head -c 400 "$M/err")"
        fails=$((fails + 1))
        continue
    fi
    # shellcheck disable=SC2086
    "$PY" tests/backtest/naive.py "$M/s" "$M/naive" $args $uargs >"$M/nerr" 2>&1 ||
        { nok "seed $seed: naive failed" "$(tail -n 3 "$M/nerr")"; fails=$((fails + 1)); continue; }
    diffs=
    for f in trades:tr equity:eq summary:sum; do
        if ! "$PY" tests/backtest/compare.py "$M/naive/${f%%:*}.csv" "$M/${f##*:}.csv" >"$M/cmp" 2>&1; then
            diffs="$diffs$(cat "$M/cmp") "
        fi
    done
    if [ -n "$diffs" ]; then
        nok "seed $seed: screener and the naive backtest disagree" "$args $asof" "$diffs"
        fails=$((fails + 1))
    fi
done
[ $fails -eq 0 ] && ok "$seeds random markets: trades, equity and summary equal the naive backtest's"
exit 0
