#!/usr/bin/env bash
# Full-history backtest benchmark: `screener backtest` against the full-history screen it is
# built on (docs/performance.md: at most about 1.5x), a 12-combination grid, and a vectorised pandas
# implementation of the same rules (bench/backtest_pandas.py), whose trades and equity must
# agree with screener's.
#
# usage: bench/backtest.sh     generates the store once (cached: bench/backtest_market.py,
#                              imported), prints and writes bench/out/backtest.txt
#
# Environment: BENCH_SYMBOLS (1000), BENCH_YEARS (25), BENCH_RUNS (3), SCREENER
# (build/screener), as bench/run.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${SCREENER:-build/screener}
SYMBOLS=${BENCH_SYMBOLS:-1000}
YEARS=${BENCH_YEARS:-25}
RUNS=${BENCH_RUNS:-3}
PY=/usr/bin/python3
OUT=bench/out
STORE=$OUT/bt-store-${SYMBOLS}x${YEARS}
TIME=/usr/bin/time

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[ -x "$BIN" ] || die "$BIN not found: run 'make' first"
[ -x "$TIME" ] || die "$TIME not found: install it with 'apt-get install time'"
"$PY" -c 'import pandas' 2>/dev/null ||
    die "$PY cannot import pandas: install it with 'apt-get install python3-pandas'"
mkdir -p "$OUT"
if [ ! -d "$STORE/bars" ]; then
    note "generating $STORE ($SYMBOLS symbols x $YEARS years) with bench/backtest_market.py"
    rm -rf "$STORE.tmp" "$OUT/bt-csv"
    "$PY" bench/backtest_market.py "$OUT/bt-csv" "$SYMBOLS" "$YEARS"
    "$BIN" import --store "$STORE.tmp" --splits "$OUT/bt-csv/splits.csv" "$OUT"/bt-csv/bars-*.csv >/dev/null
    mv "$STORE.tmp" "$STORE"
    rm -rf "$OUT/bt-csv"
fi

timed() { # NAME CMD...: appends "wall_seconds peak_kb" to $OUT/NAME.times
    local name=$1
    shift
    if ! "$TIME" -f '%e %M' -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; then
        cat "$OUT/$name.err" >&2
        die "$name failed: $*"
    fi
    tail -n 1 "$OUT/$name.time" >>"$OUT/$name.times"
    note "$name run: $(tail -n 1 "$OUT/$name.time" | awk '{printf "%.2f s, %.0f MB", $1, $2 / 1024}')"
}
median_col() {
    awk -v c="$1" '{print $c}' "$2" | sort -g |
        awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
rm -f "$OUT"/{bt-screen,bt-backtest,bt-grid,bt-pandas}.times
# Interleaved, so that the load of the machine weighs on both alike.
for ((i = 1; i <= RUNS; i++)); do
    timed bt-screen "$BIN" screen --from first --to last --top 10 --format csv --store "$STORE"
    timed bt-backtest "$BIN" backtest --store "$STORE" --format csv \
        --equity "$OUT/bt-equity.csv" --trades "$OUT/bt-trades.csv"
    timed bt-grid "$BIN" backtest --store "$STORE" --format csv --grid top=5,10,20 \
        --grid every=5,21 --grid target=50,100 --log-level info --log-format json
done
timed bt-pandas "$PY" bench/backtest_pandas.py "$STORE" "$OUT/bt-pandas"

agree="agree"
"$PY" tests/backtest/compare.py "$OUT/bt-pandas/trades.csv" "$OUT/bt-trades.csv" >"$OUT/bt-cmp.txt" 2>&1 &&
    "$PY" tests/backtest/compare.py "$OUT/bt-pandas/equity.csv" "$OUT/bt-equity.csv" >>"$OUT/bt-cmp.txt" 2>&1 ||
    agree="DISAGREE ($(head -n 3 "$OUT/bt-cmp.txt" | tr '\n' ' '))"

ss=$(median_col 1 "$OUT/bt-screen.times")
{
    echo "Full-history backtest: screener backtest (defaults: top 10, every 5, target 100 of the best 5)"
    echo "store:   $STORE ($SYMBOLS symbols x $YEARS years), $(find "$STORE/bars" -name 'part-*.csv' | wc -l) part files"
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'), load average at start $load_start"
    echo
    printf '%-34s %5s %10s %12s %14s\n' run runs "wall s" "peak RSS MB" "x screen time"
    for t in bt-screen:"screen --from first --to last" bt-backtest:"backtest (one run, files)" \
        bt-grid:"backtest --grid (12 combinations)" bt-pandas:"pandas (vectorised, one run)"; do
        name=${t%%:*}
        w=$(median_col 1 "$OUT/$name.times")
        m=$(median_col 2 "$OUT/$name.times")
        awk -v t="${t#*:}" -v r="$(wc -l <"$OUT/$name.times")" -v w="$w" -v m="$m" -v s="$ss" \
            'BEGIN {printf "%-34s %5d %10.2f %12.0f %14.2f\n", t, r, w, m / 1024, w / s}'
    done
    echo
    awk -v b="$(median_col 1 "$OUT/bt-backtest.times")" -v s="$ss" \
        'BEGIN {printf "target: backtest/screen %.2fx (target <= ~1.5x: %s)\n", b / s, (b / s <= 1.5) ? "met" : "NOT met"}'
    echo "grid: $(grep -o '"screens":[0-9]*' "$OUT/bt-grid.err" | head -n 1 | cut -d: -f2) screen for 12 combinations"
    echo "pandas trades and equity vs screener's: $agree ($(($(wc -l <"$OUT/bt-trades.csv") - 1)) trades, $(($(wc -l <"$OUT/bt-equity.csv") - 1)) dates)"
} | tee "$OUT/backtest.txt"
case "$agree" in DISAGREE*) exit 1 ;; esac
