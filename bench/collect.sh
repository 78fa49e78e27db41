#!/bin/sh
# collect.sh - the collector's request budget and wall time against the Alpaca simulator
# (docs/performance.md#targets): a 5-year backfill and a daily update of 1,000 symbols, then
# a backfill held back by a tight rate limit, whose wall time is compared with the least the
# limit allows.
#
#   bench/collect.sh            prints a Markdown table
#   BENCH_SYMBOLS=1000 BENCH_YEARS=5 (defaults)
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
SYMBOLS=${BENCH_SYMBOLS:-1000}
YEARS=${BENCH_YEARS:-5}
make -s "$B/screener" "$B/alpaca-sim" >/dev/null
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-bench-collect.XXXXXX")
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; rm -rf "$T"' EXIT
export APCA_API_KEY_ID=SIMKEY APCA_API_SECRET_KEY=SIMSECRET SCREENER_LOG_FORMAT=json
# Portfolio tracking after each collection would ask the trading host, which is not the
# simulator here: off (tests/e2e/portfolio.sh covers it); no test may reach the real API.
export SCREENER_PORTFOLIO=0

sim() {
    [ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null && wait $SIM_PID 2>/dev/null || true
    rm -f "$T/sim.out"
    "$B/alpaca-sim" --port 0 --symbols "$SYMBOLS" --years "$YEARS" "$@" >"$T/sim.new" 2>/dev/null &
    SIM_PID=$!
    until grep -q "listening on 127.0.0.1:[0-9]" "$T/sim.new" 2>/dev/null; do sleep 0.1; done
    export APCA_API_DATA_URL="http://$(sed -n 's/^listening on //p' "$T/sim.new")"
    curl -s "$APCA_API_DATA_URL/iwb_holdings.csv" >"$T/holdings.csv"
}

# run NAME ARGS... : collect, keep the summary line's fields in $T/NAME.json
run() {
    name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$T/$name.time" "$B/screener" collect --no-progress \
        --universe "$T/holdings.csv" "$@" >/dev/null 2>"$T/$name.err"
    grep '"message":"collection finished"' "$T/$name.err" >"$T/$name.json"
}

field() { python3 -c "import json; print(json.load(open('$T/$1.json'))['$2'])"; }

row() { # LABEL NAME RATE_LIMIT WINDOW_S
    req=$(field "$2" bar_requests)
    floor=$(field "$2" request_floor)
    bars=$(field "$2" bars_received)
    secs=$(cut -d' ' -f1 "$T/$2.time")
    mem=$(($(cut -d' ' -f2 "$T/$2.time") / 1024))
    over=$(python3 -c "print(f'{($req - $floor) / max($floor, 1) * 100:.1f}%')")
    # The least wall time the limit allows: every window after the first holds $3 requests.
    lim=$(python3 -c "import math; n=$req+$(field "$2" action_requests); print(f'{max(0, math.ceil(n / $3) - 1) * $4:.0f} s')")
    echo "| $1 | $bars | $req | $floor | $over | $secs s | $lim | $mem MB |"
}

echo "| run | bars | bar requests | floor ceil(bars/10,000) | over the floor | wall time | rate-limit floor | peak memory |"
echo "|---|---|---|---|---|---|---|---|"
sim
run backfill --store "$T/s1" --end 2026-11-20 --history-days $((YEARS * 366))
row "backfill, $SYMBOLS symbols x $YEARS years, 200/60s" backfill 200 60
run prefix --store "$T/s2" --end 2026-11-19 --history-days $((YEARS * 366))
run daily --store "$T/s2" --end 2026-11-20
row "daily update, $SYMBOLS symbols, 200/60s" daily 200 60
# Pages of 2,000 bars and 50 requests a second: the limit, not the server, sets the pace.
sim --page-size 2000 --rate-limit 50/1s
run limited --store "$T/s3" --end 2026-11-20 --history-days $((YEARS * 366)) --rate-limit 50/1s
req=$(field limited bar_requests)
echo "| backfill, pages of 2,000, limit 50/1s | $(field limited bars_received) | $req | $(( ($(field limited bars_received) + 1999) / 2000 )) (at 2,000 a page) | - | $(cut -d' ' -f1 "$T/limited.time") s | $(python3 -c "import math; print(f'{(math.ceil(($req + 1) / 50) - 1):.0f} s')") | $(($(cut -d' ' -f2 "$T/limited.time") / 1024)) MB |"
over=$(curl -s "$APCA_API_DATA_URL/__sim/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print(s['over_limit'], s['max_in_window'])")
echo
echo "Simulator's count for the rate-limited run: refused for the limit, most in one window: $over"
