#!/usr/bin/env bash
# Full-history screen benchmark: screener against pandas and DuckDB on the same CSV store.
#
# usage: bench/run.sh          generate the store once (cached), time the three tools,
#                              compare their outputs, print and write bench/out/summary.txt
#        bench/run.sh check    only check the peers against screener on a small store full
#                              of edge cases (bench/edge_store.py), with several option sets
#        bench/run.sh single   the same workload from one CSV file: every bar of the store in
#                              one file, imported into a new store for screener
#                              (screener import); the peers read that one file
#
# Environment: BENCH_SYMBOLS (1000), BENCH_YEARS (25) size the store; BENCH_RUNS (3) timed
# runs of screener and DuckDB; BENCH_PANDAS_RUNS (3, cut to 1 when a run exceeds 60 s);
# SCREENER (build/screener) the binary; BENCH_OUT (bench/out) where everything goes.  See
# bench/README.md.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${SCREENER:-build/screener}
SYMBOLS=${BENCH_SYMBOLS:-1000}
YEARS=${BENCH_YEARS:-25}
RUNS=${BENCH_RUNS:-3}
PANDAS_RUNS=${BENCH_PANDAS_RUNS:-3}
PANDAS_SLOW=60
PY=/usr/bin/python3 # Debian's python3-pandas; the python3 on PATH may lack pandas
OUT=${BENCH_OUT:-bench/out}
STORE=$OUT/store-${SYMBOLS}x${YEARS}
PEER_STORE=$STORE # what the peers read: the same store, or the one CSV file
MODE=store        # or single: names the summary (summary.txt, summary-single.txt)
TIME=/usr/bin/time

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

need_tools() {
    [ -x "$BIN" ] || die "$BIN not found: run 'make' first"
    [ -x "$TIME" ] || die "$TIME not found: install it with 'apt-get install time'"
    "$PY" -c 'import pandas' 2>/dev/null ||
        die "$PY cannot import pandas: install it with 'apt-get install python3-pandas'"
    command -v node >/dev/null || die "node not found: install Node.js 18 or later"
    if [ ! -f bench/node_modules/@duckdb/node-api/package.json ]; then
        command -v npm >/dev/null || die "npm not found: it installs @duckdb/node-api"
        note "installing @duckdb/node-api into bench/node_modules"
        npm install --prefix bench --no-audit --no-fund --loglevel=error >&2
    fi
}

# Compare EXPECTED ACTUAL: prints MATCH/MISMATCH, returns compare.py's status.
compare() { "$PY" bench/compare.py "$1" "$2"; }

# ---- check: the peers against screener on edge cases --------------------------------------

run_check() {
    local dir=$OUT/edge store src bad=0
    store=$dir/store
    src=$dir/src
    rm -rf "$dir"
    "$PY" bench/edge_store.py "$src"
    "$BIN" import --store "$store" --splits "$src/splits.csv" "$src/bars.csv" >/dev/null
    # The same bars in a second part of a day: readers must count them once.
    local day part
    day=$(find "$store/bars" -mindepth 2 -maxdepth 2 -type d | sort | sed -n 50p)
    part=$(find "$day" -name 'part-*.csv' | head -n 1)
    # Named by its content hash, as the store names parts (readers check it).
    head -n 6 "$part" >"$day/dup.tmp"
    mv "$day/dup.tmp" "$day/part-$(sha256sum "$day/dup.tmp" | cut -c1-16).csv"
    local opts
    for opts in "" "--window 30 --min-bars 5 --top 3" "--window 1 --min-bars 1 --top 50" \
        "--window 400 --min-bars 200 --top 7"; do
        # shellcheck disable=SC2086 # opts is a list of words
        "$BIN" screen --from first --to last --format csv --store "$store" $opts >"$dir/screener.csv"
        # shellcheck disable=SC2086
        "$PY" bench/peer_pandas.py "$store" "$dir/pandas.csv" $opts 2>/dev/null
        # shellcheck disable=SC2086
        node bench/peer_duckdb.mjs "$store" "$dir/duckdb.csv" $opts 2>/dev/null
        echo "options '${opts:-defaults}' ($(($(wc -l <"$dir/screener.csv") - 1)) rows):"
        printf '  pandas: '; compare "$dir/screener.csv" "$dir/pandas.csv" || bad=1
        printf '  duckdb: '; compare "$dir/screener.csv" "$dir/duckdb.csv" || bad=1
    done
    return $bad
}

# ---- the benchmark --------------------------------------------------------------------------

make_store() {
    if [ -d "$STORE/bars" ]; then
        note "using the cached store $STORE"
        return
    fi
    note "generating $STORE ($SYMBOLS symbols x $YEARS years) with '$BIN demo'"
    rm -rf "$STORE.tmp"
    "$BIN" demo --symbols "$SYMBOLS" --years "$YEARS" --store "$STORE.tmp" >/dev/null
    mv "$STORE.tmp" "$STORE"
}

# timed NAME CMD...: run CMD under /usr/bin/time, stdout and stderr to $OUT/NAME.{out,err};
# appends "wall_seconds peak_kb user_seconds system_seconds" to $OUT/NAME.times.
timed() {
    local name=$1
    shift
    if ! "$TIME" -f '%e %M %U %S' -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; then
        cat "$OUT/$name.err" >&2
        die "$name failed: $*"
    fi
    tail -n 1 "$OUT/$name.time" >>"$OUT/$name.times"
    note "$name run: $(tail -n 1 "$OUT/$name.time" |
        awk '{printf "%.2f s, %.2f s of CPU, %.0f MB", $1, $3 + $4, $2 / 1024}')"
}

median_col() { # median of column $1 of file $2 ("cpu": user + system)
    awk -v c="$1" '{print c == "cpu" ? $3 + $4 : $c}' "$2" | sort -g |
        awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

run_bench() {
    mkdir -p "$OUT"
    make_store
    local load_start
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    rm -f "$OUT"/{screener,pandas,duckdb}.times "$OUT/result-$MODE.tmp"

    # Warm runs first, not counted: the page cache then holds what each tool reads, as it does
    # on every later run.  Then the tools take turns, one run of each per round, so that load
    # from elsewhere on the machine falls on all of them alike instead of on one tool's runs.
    "$BIN" screen --from first --to last --top 10 --format csv --store "$STORE" >/dev/null
    find "$PEER_STORE" -name '*.csv' -exec cat {} + >/dev/null
    local i pandas_note="" pandas_runs=0 rounds=$RUNS
    [ "$PANDAS_RUNS" -le "$rounds" ] || rounds=$PANDAS_RUNS
    for ((i = 1; i <= rounds; i++)); do
        if [ "$i" -le "$RUNS" ]; then
            timed screener "$BIN" screen --from first --to last --top 10 --format csv \
                --store "$STORE" --log-level info --log-format json
        fi
        if [ "$i" -le "$PANDAS_RUNS" ] && [ -z "$pandas_note" ]; then
            timed pandas "$PY" bench/peer_pandas.py "$PEER_STORE" "$OUT/pandas.csv"
            pandas_runs=$i
            if [ "$i" -lt "$PANDAS_RUNS" ] &&
                awk -v t="$(tail -n 1 "$OUT/pandas.times" | cut -d' ' -f1)" -v s=$PANDAS_SLOW \
                    'BEGIN {exit !(t > s)}'; then
                pandas_note="$pandas_runs run only: it took more than $PANDAS_SLOW s"
            fi
        fi
        if [ "$i" -le "$RUNS" ]; then
            timed duckdb node bench/peer_duckdb.mjs "$PEER_STORE" "$OUT/duckdb.csv"
        fi
    done
    cp "$OUT/screener.out" "$OUT/screener.csv"
    local bars
    bars=$(grep '"message":"screen finished"' "$OUT/screener.err" |
        sed -n 's/.*"bars_read":\([0-9]*\).*/\1/p')
    [ -n "$bars" ] || die "no 'screen finished' line with bars_read in $OUT/screener.err"

    local pandas_match duckdb_match
    pandas_match=$(compare "$OUT/screener.csv" "$OUT/pandas.csv" || true)
    duckdb_match=$(compare "$OUT/screener.csv" "$OUT/duckdb.csv" || true)

    local sw sc load_end summary=$OUT/summary.txt
    [ "$MODE" = store ] || summary=$OUT/summary-$MODE.txt
    sw=$(median_col 1 "$OUT/screener.times")
    sc=$(median_col cpu "$OUT/screener.times")
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    {
        echo "Full-history screen: screener screen --from first --to last --top 10 --format csv"
        [ "$PEER_STORE" = "$STORE" ] ||
            echo "peers:   $PEER_STORE/bars/all/part-all.csv, one file of $(du -sh "$PEER_STORE/bars" | cut -f1)"
        echo "store:   $STORE, $bars bars ($SYMBOLS symbols x $YEARS years)," \
            "$(find "$STORE/bars" -name 'part-*.csv' | wc -l) part files," \
            "$(du -sh "$STORE" | cut -f1)"
        echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
            "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
        echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'), load average at start $load_start," \
            "at end $load_end"
        echo "tools:   $("$BIN" --version 2>/dev/null | head -n 1 || echo screener)," \
            "pandas $("$PY" -c 'import pandas; print(pandas.__version__)')" \
            "(Python $("$PY" -c 'import platform; print(platform.python_version())')," \
            "1 thread), DuckDB $(cd bench && node -e "import('@duckdb/node-api').then((m) => console.log(m.version()))")" \
            "(@duckdb/node-api $(node -p "require('./bench/node_modules/@duckdb/node-api/package.json').version")," \
            "node $(node --version), $(nproc) threads)"
        echo
        printf '%-9s %5s %10s %8s %12s %14s %16s %15s\n' tool runs "wall s" "CPU s" "peak RSS MB" \
            "bars/s" "x screener time" "x screener CPU"
        local tool runs w c m
        for tool in screener pandas duckdb; do
            runs=$(wc -l <"$OUT/$tool.times")
            w=$(median_col 1 "$OUT/$tool.times")
            c=$(median_col cpu "$OUT/$tool.times")
            m=$(median_col 2 "$OUT/$tool.times")
            awk -v t=$tool -v r="$runs" -v w="$w" -v c="$c" -v m="$m" -v b="$bars" -v s="$sw" -v sc="$sc" \
                'BEGIN {printf "%-9s %5d %10.2f %8.2f %12.0f %14.0f %16.1f %15.1f\n", t, r, w, c, m / 1024,
                        b / w, w / s, c / (sc > 0 ? sc : 0.01)}'
            printf '%s %s %s %s ' "$tool" "$w" "$c" "$m" >>"$OUT/result-$MODE.tmp"
        done
        echo
        echo "wall, CPU (user + system) and peak RSS: medians over the runs (/usr/bin/time, whole process)"
        [ -z "$pandas_note" ] || echo "pandas: $pandas_note"
        awk -v p="$(median_col 1 "$OUT/pandas.times")" -v d="$(median_col 1 "$OUT/duckdb.times")" -v s="$sw" \
            'BEGIN {printf "Targets (docs/performance.md): pandas/screener %.1fx (target >= 20x: %s), duckdb/screener %.1fx (target >= 3x: %s)\n",
                    p / s, (p / s >= 20) ? "met" : "NOT met", d / s, (d / s >= 3) ? "met" : "NOT met"}'
        echo "pandas output vs screener: $pandas_match"
        echo "duckdb output vs screener: $duckdb_match"
    } | tee "$summary"
    # One line for bench/all.sh: mode, size, bars, then tool wall cpu peak_kb for each tool, and
    # whether the peers' outputs match.
    {
        printf '%s %sx%s %s ' "$MODE" "$SYMBOLS" "$YEARS" "$bars"
        cat "$OUT/result-$MODE.tmp"
        printf '%s %s\n' "${pandas_match%% *}" "${duckdb_match%% *}"
    } >"$OUT/result-$MODE.txt"
    rm -f "$OUT/result-$MODE.tmp"
    case "$pandas_match$duckdb_match" in *MISMATCH*) return 1 ;; esac
}

# ---- one file ------------------------------------------------------------------------------

# The store's bars as one CSV (a header, then every part's rows, by date), its split log
# beside it, and that file imported into a store of its own.
make_single() {
    make_store
    local single=$OUT/single-${SYMBOLS}x${YEARS} imported=$OUT/store-single-${SYMBOLS}x${YEARS}
    if [ ! -f "$single/bars/all/part-all.csv" ]; then
        note "writing every bar of $STORE into one file, $single/bars/all/part-all.csv"
        rm -rf "$single" "$imported"
        mkdir -p "$single/bars/all" "$single/splits"
        find "$STORE/bars" -name 'part-*.csv' | sort | {
            read -r first
            cat "$first"
            while read -r part; do tail -n +2 "$part"; done
        } >"$single/bars/all/part-all.csv"
        find "$STORE/splits" -name '*.csv' -exec cp {} "$single/splits/" \; 2>/dev/null || true
    fi
    if [ ! -d "$imported/bars" ]; then
        note "importing it into $imported"
        local splits=()
        for f in "$single"/splits/*.csv; do [ -f "$f" ] && splits+=(--splits "$f"); done
        "$BIN" import --store "$imported.tmp" "${splits[@]}" "$single/bars/all/part-all.csv" >/dev/null
        mv "$imported.tmp" "$imported"
    fi
    PEER_STORE=$single
    STORE=$imported
    MODE=single
}

need_tools
case "${1:-}" in
"") run_bench ;;
single) make_single && run_bench ;;
check) run_check ;;
-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' ;;
*) die "unknown argument '$1' (expected nothing, 'single' or 'check')" ;;
esac
