#!/usr/bin/env bash
# all.sh - what `make bench` runs: every benchmark, one after another, then their results side
# by side in one summary (bench/out/bench-summary.txt).
#
#   1. bench/run.sh          the full-history screen on the store's parts (BENCH_SYMBOLS x
#                            BENCH_YEARS, 1000 x 25), screener against pandas and DuckDB
#   2. bench/run.sh single   the same from one CSV file, BENCH_SINGLE_YEARS (10) years
#   3. bench/s3.sh           the daily collection and the screens on the fake S3 at 0 and
#                            BENCH_S3_LATENCY_MS (25) ms per request and on a directory, and
#                            the daily collection at the Lambda's CPU share
#   4. bench/backtest.sh     the backtest against the screen (BENCH_BACKTEST=0 leaves it out)
#   5. bench/compact.sh      the full-history screen from the fake S3 and a directory before and
#                            after `screener compact` (BENCH_COMPACT=0 leaves it out)
#
# Every variable of those scripts applies (see bench/README.md).  Exits non-zero when one of them
# fails (a peer's output differing from screener's is a failure).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-bench/out}
SINGLE_YEARS=${BENCH_SINGLE_YEARS:-10}
mkdir -p "$OUT"
rm -f "$OUT"/result-store.txt "$OUT"/result-single.txt "$OUT"/s3.txt "$OUT"/compact.txt
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

bench/run.sh
BENCH_YEARS=$SINGLE_YEARS bench/run.sh single
bench/s3.sh | tee "$OUT/s3.txt"
[ "${BENCH_BACKTEST:-1}" = 0 ] || bench/backtest.sh
[ "${BENCH_COMPACT:-1}" = 0 ] || bench/compact.sh | tee "$OUT/compact.txt"

# row FILE LABEL: one Markdown row of the full-history table from run.sh's result line
row() {
    # mode size bars  screener w c m  pandas w c m  duckdb w c m  pandas_match duckdb_match
    awk -v label="$2" '{
        sw = $5; sc = $6; pw = $9; pc = $10; dw = $13; dc = $14
        printf "| %s | %s | %.2f s (%.2f) | %.2f s (%.2f) | %.2f s (%.2f) | %.1fx (%.1fx) | %.1fx (%.1fx) | %s, %s |\n",
            label, $3, sw, sc, pw, pc, dw, dc, pw / sw, pc / sc, dw / sw, dc / sc, $16, $17
    }' "$1"
}

{
    echo "make bench, started $started (load average $load_start), finished" \
        "$(date -u '+%Y-%m-%d %H:%M UTC') (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo
    echo "Full-history screen, top 10 of every date (medians; wall, and CPU user + system in brackets)"
    echo
    echo "| workload | bars | screener | pandas | DuckDB | pandas / screener | DuckDB / screener | outputs (pandas, DuckDB) |"
    echo "|---|---|---|---|---|---|---|---|"
    size=$(cut -d' ' -f2 "$OUT/result-store.txt")
    row "$OUT/result-store.txt" "$size, the store's parts"
    size=$(cut -d' ' -f2 "$OUT/result-single.txt")
    row "$OUT/result-single.txt" "$size, one CSV file (imported for screener)"
    echo
    echo "Targets: pandas / screener >= 20x and DuckDB / screener >= 3x (wall)."
    echo
    echo "S3 round trips (bench/s3.sh)"
    echo
    cat "$OUT/s3.txt"
    if [ "${BENCH_BACKTEST:-1}" != 0 ] && [ -f "$OUT/backtest.txt" ]; then
        echo
        echo "Backtest (bench/backtest.sh)"
        echo
        cat "$OUT/backtest.txt"
    fi
    if [ "${BENCH_COMPACT:-1}" != 0 ] && [ -f "$OUT/compact.txt" ]; then
        echo
        echo "Compacted history (bench/compact.sh)"
        echo
        cat "$OUT/compact.txt"
    fi
} >"$OUT/bench-summary.txt"
echo
echo "==== summary ($OUT/bench-summary.txt) ===="
cat "$OUT/bench-summary.txt"
