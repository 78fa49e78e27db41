#!/bin/sh
# s3.sh - what S3's round trips cost (docs/performance.md#s3): the daily collection, the
# screen of the latest day and the full-history screen of SYMBOLS symbols with YEARS years of
# history, on the fake S3 answering every request after 0 ms and after LATENCY ms, and on a
# local directory, printed side by side with the S3 requests each made.
#
# The daily collection on S3 is timed three times at each latency, alternated (the medians are
# shown), as many times again with the simulator answering each request BENCH_S3_ALPACA_MS
# late, as Alpaca over the internet does (the simulator on this machine answers at once), and
# as many times again with the CPU share of the collector's Lambda:
# BENCH_S3_CPU_SHARE percent of one core (14: what 256 MB of memory buys, one vCPU coming with
# 1,769 MB), set as a cgroup CPU quota.  That needs root and a cgroup hierarchy with the cpu
# controller (v1 or v2); without them the row says so.
#
#   bench/s3.sh                prints a Markdown table
#   BENCH_S3_SYMBOLS=1000 BENCH_S3_YEARS=1 BENCH_S3_LATENCY_MS=25 BENCH_S3_CPU_SHARE=14
#   BENCH_S3_ALPACA_MS=250 (defaults; BENCH_S3_CPU_SHARE=0 or BENCH_S3_ALPACA_MS=0 leaves
#   that row out)
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
SYMBOLS=${BENCH_S3_SYMBOLS:-1000}
YEARS=${BENCH_S3_YEARS:-1}
LATENCY=${BENCH_S3_LATENCY_MS:-25}
SHARE=${BENCH_S3_CPU_SHARE:-14}
ALPACA=${BENCH_S3_ALPACA_MS:-250}
END=2026-11-20
PREV=2026-11-19
make -s "$B/screener" "$B/alpaca-sim" "$B/fake-s3" >/dev/null
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-bench-s3.XXXXXX")
SIM_PID= S3_PID=
# share_cgroup's, made in a subshell: removed by name ($$ is this shell's pid there too).
CGS="/sys/fs/cgroup/cpu/screener-bench.$$ /sys/fs/cgroup/screener-bench.$$"
trap '[ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; [ -n "$S3_PID" ] && kill $S3_PID 2>/dev/null; for c in $CGS; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done; rm -rf "$T"' EXIT
export APCA_API_KEY_ID=SIMKEY APCA_API_SECRET_KEY=SIMSECRET SCREENER_LOG_FORMAT=json
# Portfolio tracking would ask the trading host, which is not the simulator here.
export SCREENER_PORTFOLIO=0

wait_port() { # FILE -> host:port once the server printed it
    until grep -q "listening on 127.0.0.1:[0-9]" "$1" 2>/dev/null; do sleep 0.1; done
    sed -n 's/^listening on //p' "$1"
}

"$B/alpaca-sim" --port 0 --symbols "$SYMBOLS" --years "$YEARS" >"$T/sim.out" 2>/dev/null &
SIM_PID=$!
export APCA_API_DATA_URL="http://$(wait_port "$T/sim.out")"
curl -s "$APCA_API_DATA_URL/iwb_holdings.csv" >"$T/holdings.csv"

"$B/fake-s3" --port 0 --bucket bench >"$T/s3.out" 2>/dev/null &
S3_PID=$!
S3="http://$(wait_port "$T/s3.out")"
export AWS_ENDPOINT_URL_S3="$S3" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDFAKES3EXAMPLE
export AWS_SECRET_ACCESS_KEY='fakeS3/Secret+Key/EXAMPLE0123456789abcdef'
unset AWS_PROFILE AWS_SESSION_TOKEN 2>/dev/null || true

latency() { curl -sf -X POST "$S3/__fake/latency?ms=$1" >/dev/null; }
alpaca_latency() { curl -sf -X POST "$APCA_API_DATA_URL/__sim/latency?ms=$1" >/dev/null; }
reset() { curl -sf -X POST "$S3/__fake/reset" >/dev/null; }
requests() {
    curl -sf "$S3/__fake/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print(s['requests'], s['inflight_max'])"
}

# timed NAME CMD... : wall seconds into $T/NAME.time
timed() {
    name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$T/$name.time" "$@" >"$T/$name.out" 2>"$T/$name.err"
}

# one STORE LABEL LATENCY : fill STORE up to the day before, then time the three workloads
one() {
    store=$1 label=$2
    latency 0
    "$B/screener" collect --no-progress --universe "$T/holdings.csv" --store "$store" \
        --end "$PREV" --history-days $((YEARS * 366)) >/dev/null 2>"$T/$label.fill.err"
    latency "$3"
    for w in daily latest full; do
        reset
        case $w in
        daily) timed "$label.$w" "$B/screener" collect --no-progress --universe "$T/holdings.csv" \
            --store "$store" --end "$END" ;;
        latest) timed "$label.$w" "$B/screener" screen --store "$store" --format csv ;;
        full) timed "$label.$w" "$B/screener" screen --store "$store" --from first --to last \
            --top 10 --format csv ;;
        esac
        case $store in
        s3://*) requests >"$T/$label.$w.req" ;;
        *) echo "- -" >"$T/$label.$w.req" ;;
        esac
    done
}

one "s3://bench/l0" s3_0 0
one "s3://bench/l$LATENCY" "s3_$LATENCY" "$LATENCY"
one "$T/local" local 0

# A cgroup whose processes get SHARE percent of one core: prints the file a process writes its
# pid into to join it (a process has joined it to try), nothing when none can be made or
# joined (not root, no cpu controller).
share_cgroup() {
    v1=/sys/fs/cgroup/cpu v2=/sys/fs/cgroup
    if [ -d "$v1" ] && mkdir "$v1/screener-bench.$$" 2>/dev/null; then
        CG=$v1/screener-bench.$$
        echo 100000 >"$CG/cpu.cfs_period_us" && echo $((SHARE * 1000)) >"$CG/cpu.cfs_quota_us" &&
            sh -c 'echo $$ >"$1"' sh "$CG/tasks" 2>/dev/null && echo "$CG/tasks" && return 0
    elif grep -qw cpu "$v2/cgroup.subtree_control" 2>/dev/null &&
        mkdir "$v2/screener-bench.$$" 2>/dev/null; then
        CG=$v2/screener-bench.$$
        echo "$((SHARE * 1000)) 100000" >"$CG/cpu.max" &&
            sh -c 'echo $$ >"$1"' sh "$CG/cgroup.procs" 2>/dev/null && echo "$CG/cgroup.procs" &&
            return 0
    fi
    return 0
}

# daily_runs NAME [TASKS [ALPACA_MS]]: the daily collection 3 times at each latency,
# alternated, each on a store filled as above, in the cgroup of TASKS when given (not when
# empty), the simulator answering ALPACA_MS late (default 0); the medians into $T/NAME.time.
daily_runs() {
    name=$1 tasks=${2:-} late=${3:-0}
    for i in 1 2 3; do
        for lat in 0 "$LATENCY"; do
            store="s3://bench/$name$lat-$i"
            latency 0
            "$B/screener" collect --no-progress --universe "$T/holdings.csv" --store "$store" \
                --end "$PREV" --history-days $((YEARS * 366)) >/dev/null 2>"$T/$name.fill.err"
            latency "$lat"
            set -- "$B/screener" collect --no-progress --universe "$T/holdings.csv" --store "$store" \
                --end "$END"
            [ -z "$tasks" ] || set -- sh -c 'echo $$ >"$1" && shift && exec "$@"' sh "$tasks" "$@"
            alpaca_latency "$late"
            /usr/bin/time -f '%e' -a -o "$T/$name$lat.times" "$@" >/dev/null 2>"$T/$name.err"
            alpaca_latency 0
        done
    done
    median() { sort -n "$1" | sed -n 2p; }
    echo "$(median "$T/${name}0.times") $(median "$T/$name$LATENCY.times")" >"$T/$name.time"
}

daily_runs cores
[ "$ALPACA" = 0 ] || daily_runs alpaca "" "$ALPACA"
tasks=
[ "$SHARE" = 0 ] || tasks=$(share_cgroup)
[ -z "$tasks" ] || daily_runs share "$tasks"

for w in daily latest full; do
    cmp -s "$T/s3_0.$w.out" "$T/local.$w.out" && cmp -s "$T/s3_$LATENCY.$w.out" "$T/local.$w.out" ||
        { [ "$w" = daily ] || { echo "s3.sh: the $w output differs between the stores" >&2; exit 1; }; }
done

secs() { cut -d' ' -f1 "$T/$1.time"; }
echo "| workload ($SYMBOLS symbols, $YEARS y) | local | S3 0 ms | S3 $LATENCY ms | $LATENCY ms / 0 ms | requests (most in flight) |"
echo "|---|---|---|---|---|---|"
for w in daily latest full; do
    case $w in
    daily) what="daily collection" ;;
    latest) what="screen, latest day" ;;
    full) what="screen, full history" ;;
    esac
    a=$(secs "local.$w") z=$(secs "s3_0.$w") l=$(secs "s3_$LATENCY.$w")
    if [ "$w" = daily ]; then # the medians of daily_runs
        read -r z l <"$T/cores.time"
        what="daily collection (on S3: medians of 3, alternated)"
    fi
    set -- $(cat "$T/s3_$LATENCY.$w.req")
    ratio=$(python3 -c "print(f'{$l / max($z, 0.01):.1f}x')")
    echo "| $what | $a s | $z s | $l s | $ratio | $1 ($2) |"
done
if [ -f "$T/alpaca.time" ]; then
    set -- $(cat "$T/alpaca.time")
    ratio=$(python3 -c "print(f'{$2 / max($1, 0.01):.1f}x')")
    echo "| daily collection, Alpaca answering after $ALPACA ms, medians of 3 | - | $1 s | $2 s | $ratio | |"
fi
if [ -f "$T/share.time" ]; then
    set -- $(cat "$T/share.time")
    ratio=$(python3 -c "print(f'{$2 / max($1, 0.01):.2f}x')")
    echo "| daily collection, $SHARE % of a core (the collector's Lambda), medians of 3 | - | $1 s | $2 s | $ratio | |"
elif [ "$SHARE" != 0 ]; then
    echo "| daily collection, $SHARE % of a core (the collector's Lambda) | not measured: no cgroup CPU quota could be set (needs root and the cpu controller) | | | | |"
fi
