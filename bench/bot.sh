#!/usr/bin/env bash
# Load benchmark of the bot's webhook server: `screener serve` answering "/screen" over a
# screen of 1,000 ranked symbols, driven by wrk (bench/bot.lua) on the same machine.
#
# usage: bench/bot.sh     generate the store once (cached), then three wrk runs: paced at
#                         BENCH_BOT_RATE requests/s (p50/p90/p99 against the target p99 < 5 ms,
#                         the server's CPU per answer) and unpaced (the most requests/s) against
#                         a server logging errors only, then a slower one against a server
#                         logging every update (the bot's own time per reply); prints and writes
#                         bench/out/bot-summary.txt
#
# Environment: BENCH_BOT_SYMBOLS (1000) symbols in the store; BENCH_BOT_RATE (1000) and
# BENCH_BOT_SECONDS (30) the paced run; BENCH_BOT_MAX_SECONDS (15) the unpaced run;
# SCREENER (build/screener) the binary.  See bench/README.md.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${SCREENER:-build/screener}
SYMBOLS=${BENCH_BOT_SYMBOLS:-1000}
RATE=${BENCH_BOT_RATE:-1000}
SECONDS_PACED=${BENCH_BOT_SECONDS:-30}
SECONDS_MAX=${BENCH_BOT_MAX_SECONDS:-15}
THREADS=2
CONNS_PACED=10 # at 1,000/s each connection has 10 ms for an answer before it falls behind
CONNS_MAX=16
LOG_RATE=200 # the logged run: slow enough that wrk and the server do not compete for the cores
LOG_REQUESTS=2000
TARGET_P99_MS=5
OUT=bench/out
STORE=$OUT/bot-store-${SYMBOLS}x1
SECRET=bench-webhook-secret_1

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

SERVER_PID=
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap stop_server EXIT

need_tools() {
    [ -x "$BIN" ] || die "$BIN not found: run 'make' first"
    command -v wrk >/dev/null && return
    command -v apt-get >/dev/null || die "wrk not found: install it with your package manager"
    [ "$(id -u)" -eq 0 ] || die "wrk not found: install it with 'sudo apt-get install -y wrk'"
    note "installing wrk"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends wrk >/dev/null
}

make_store() {
    if [ -f "$STORE/results/screen/latest.csv" ]; then
        note "using the cached store $STORE"
        return
    fi
    note "generating $STORE ($SYMBOLS symbols x 1 year) with '$BIN demo'"
    rm -rf "$STORE.tmp"
    "$BIN" demo --symbols "$SYMBOLS" --years 1 --store "$STORE.tmp" >/dev/null
    mv "$STORE.tmp" "$STORE"
}

# start_server LOG_OPTIONS...: start `screener serve` on a free port, set SERVER_PID and URL.
# Its output and log (stderr) go to $OUT/bot-serve.out and $OUT/bot-serve.err.
start_server() {
    stop_server
    # Made empty here, not by the redirections below: the loop may read before the shell's
    # child opens them.
    : >"$OUT/bot-serve.out"
    : >"$OUT/bot-serve.err"
    env -u TELEGRAM_BOT_TOKEN TELEGRAM_WEBHOOK_SECRET="$SECRET" SCREENER_SSM=0 \
        "$BIN" serve --port 0 --store "$STORE" "$@" >"$OUT/bot-serve.out" 2>"$OUT/bot-serve.err" &
    SERVER_PID=$!
    local port="" i
    for ((i = 0; i < 100; i++)); do
        port=$(sed -n '1s|^screener serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' \
            "$OUT/bot-serve.out")
        [ -n "$port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/bot-serve.err" >&2; die "serve exited"; }
        sleep 0.1
    done
    [ -n "$port" ] || die "serve printed no port in 10 s"
    URL="http://127.0.0.1:$port/webhook"
}

# load NAME SECONDS CONNECTIONS RATE: wrk against $URL, output in $OUT/bot-NAME.txt, wrk's own
# CPU seconds in WRK_CPU_S; fails when any answer was not a 200 with the inline sendMessage, or
# a socket failed.
load() {
    local name=$1 secs=$2 conns=$3 rate=$4 TIMEFORMAT='%3U %3S'
    { time wrk -t "$THREADS" -c "$conns" -d "${secs}s" --latency -s bench/bot.lua "$URL" -- \
        "$SECRET" "$rate" "$THREADS" >"$OUT/bot-$name.txt" 2>&1; } 2>"$OUT/bot-$name.cpu"
    WRK_CPU_S=$(awk '{print $1 + $2}' "$OUT/bot-$name.cpu")
    rm -f "$OUT/bot-$name.cpu"
    grep -q '^bot.lua: requests=' "$OUT/bot-$name.txt" || die "no result line in $OUT/bot-$name.txt"
    local bad sock
    bad=$(field "$name" bad)
    sock=$(field "$name" socket_errors)
    if [ "$bad" -ne 0 ] || [ "$sock" -ne 0 ]; then
        die "$name run: $bad wrong answers, $sock socket errors" \
            "($(sed -n 's/^bot.lua: first bad answer: //p' "$OUT/bot-$name.txt"))"
    fi
    note "$name run: $(field "$name" rps) requests/s, p99 $(ms "$(field "$name" p99_us)") ms"
}

# field NAME KEY: KEY's value on the result line of bot.lua in run NAME's output
field() { grep '^bot.lua: requests=' "$OUT/bot-$1.txt" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
cpu_ticks() { sed 's/^.*) //' "/proc/$SERVER_PID/stat" | awk '{print $12 + $13}'; }

# machine_ticks: "BUSY ALL IRQ", the CPU ticks of every core since boot (/proc/stat): busy,
# busy plus idle and iowait, and the interrupt handlers' share of busy (loopback TCP's receive
# work runs there, outside any process)
machine_ticks() {
    awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6, $7 + $8}' /proc/stat
}

# row LABEL NAME: one line of the results table
row() {
    printf '%-34s %8d %7.0f %7s %7s %7s %7s\n' "$1" "$(field "$2" requests)" "$(field "$2" rps)" \
        "$(ms "$(field "$2" p50_us)")" "$(ms "$(field "$2" p90_us)")" \
        "$(ms "$(field "$2" p99_us)")" "$(ms "$(field "$2" max_us)")"
}

run_bench() {
    mkdir -p "$OUT"
    make_store
    local load_start hz
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    hz=$(getconf CLK_TCK)

    start_server --log-level error
    note "server at $URL; warming up for 3 s"
    load warmup 3 "$CONNS_PACED" "$RATE"
    local s0 s1 mb0 ma0 mi0 mb1 ma1 mi1
    s0=$(cpu_ticks)
    read -r mb0 ma0 mi0 < <(machine_ticks)
    load paced "$SECONDS_PACED" "$CONNS_PACED" "$RATE"
    s1=$(cpu_ticks)
    read -r mb1 ma1 mi1 < <(machine_ticks)
    # The whole server process (HTTP, its threads, the bot) per answer; and how busy the server,
    # wrk and everything else kept the cores, in % of one core (the ticks of all cores over
    # the run are nproc cores' worth).
    local cpu_us server_pct wrk_pct irq_pct other_pct
    cpu_us=$(awk -v d=$((s1 - s0)) -v hz="$hz" -v n="$(field paced good)" \
        'BEGIN {printf "%.0f", d * 1e6 / hz / n}')
    server_pct=$(((s1 - s0) * 100 * $(nproc) / (ma1 - ma0)))
    wrk_pct=$(awk -v c="$WRK_CPU_S" -v t=$((ma1 - ma0)) -v hz="$hz" -v n="$(nproc)" \
        'BEGIN {printf "%.0f", c * hz * n * 100 / t}')
    irq_pct=$(((mi1 - mi0) * 100 * $(nproc) / (ma1 - ma0)))
    other_pct=$(((mb1 - mb0) * 100 * $(nproc) / (ma1 - ma0) - server_pct - wrk_pct - irq_pct))
    ((other_pct >= 0)) || other_pct=0
    load max "$SECONDS_MAX" "$CONNS_MAX" 0

    # The bot's time per reply as it logs it: webhook_handle from the secret check to the
    # answer (under the server's lock, without HTTP), at a rate that leaves the cores idle
    # most of the time.
    start_server --log-level info --log-format json
    load logged $((LOG_REQUESTS / LOG_RATE)) "$CONNS_PACED" "$LOG_RATE"
    grep '"message":"webhook: update handled"' "$OUT/bot-serve.err" |
        sed -n 's/.*"duration_us":\([0-9]*\).*/\1/p' | sort -n >"$OUT/bot-duration_us.txt"
    local n p50 p99
    n=$(wc -l <"$OUT/bot-duration_us.txt")
    [ "$n" -gt 0 ] || die "no 'webhook: update handled' lines in the server's log"
    p50=$(sed -n "$(((n + 1) / 2))p" "$OUT/bot-duration_us.txt")
    p99=$(sed -n "$(((n * 99 + 99) / 100))p" "$OUT/bot-duration_us.txt")
    stop_server

    local met="NOT met" symbols
    awk -v p="$(field paced p99_us)" -v t=$TARGET_P99_MS -v r="$(field paced rps)" -v want="$RATE" \
        'BEGIN {exit !(p < t * 1000 && r >= want * 0.97)}' && met=met
    symbols=$(($(wc -l <"$STORE/results/screen/latest.csv") - 1))
    {
        echo "Bot webhook: POST /webhook \"/screen\", answered inline, by 'screener serve'"
        echo "store:   $STORE, a latest screen of $symbols symbols"
        echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo |
            head -n 1), $(uname -sr); wrk runs on the same cores"
        echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'), load average at start $load_start"
        echo "tools:   $("$BIN" --version 2>/dev/null | head -n 1 || echo screener)," \
            "$(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
        echo
        printf '%-34s %8s %7s %7s %7s %7s %7s\n' run requests "req/s" "p50 ms" "p90 ms" \
            "p99 ms" "max ms"
        row "paced $RATE/s, $CONNS_PACED conns, $SECONDS_PACED s" paced
        row "unpaced, $CONNS_MAX conns, $SECONDS_MAX s" max
        echo
        echo "Every answer was a 200 with the inline sendMessage. Latency: wrk's, from sending a"
        echo "request to the whole answer, on keep-alive connections, $THREADS wrk threads."
        echo "paced run: server CPU per answer $cpu_us µs (utime + stime of the process)."
        echo "Cores kept busy in the paced run (of $(($(nproc) * 100))%): the server ${server_pct}%," \
            "wrk ${wrk_pct}%, interrupts ${irq_pct}%, anything else ${other_pct}%."
        echo "bot time per reply (duration_us of $n logged updates at $LOG_RATE/s):" \
            "median $p50 µs, p99 $p99 µs"
        echo
        printf 'bot /screen, %d symbols: %.0f req/s p50 %s ms p99 %s ms (target p99 < %s ms at' \
            "$symbols" "$(field paced rps)" "$(ms "$(field paced p50_us)")" \
            "$(ms "$(field paced p99_us)")" "$TARGET_P99_MS"
        printf ' %s/s: %s); saturation %.0f req/s p50 %s ms p99 %s ms; CPU per reply %s µs\n' \
            "$RATE" "$met" "$(field max rps)" "$(ms "$(field max p50_us)")" \
            "$(ms "$(field max p99_us)")" "$cpu_us"
    } | tee "$OUT/bot-summary.txt"
}

case "${1:-}" in
"") need_tools && run_bench ;;
-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' ;;
*) die "unknown argument '$1'" ;;
esac
