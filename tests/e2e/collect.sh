#!/bin/sh
# collect.sh - the real collector against the Alpaca simulator (build/alpaca-sim): every fault
# the API can produce, asserting on the store (every bar exactly once, nothing invalid), the
# exit codes, the rate limit as the simulator counted it, and kill -9 at random moments.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
BIN=$B/screener
SIM=$B/alpaca-sim
[ -x "$BIN" ] && [ -x "$SIM" ] || { echo "not ok 1 - $BIN or $SIM is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-collect.XXXXXX")
SIM_PID=
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
contains() { if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1" "no '$3' in:" "$(head -c 800 "$2")"; fi; }
lacks() { if grep -qF -- "$3" "$2"; then nok "$1" "unexpected '$3' in $2"; else ok "$1"; fi; }

# A small market: 40 symbols, 2 years, served in pages of at most 3000 bars.
MARKET="--symbols 40 --years 2 --seed 7 --page-size 3000"
END=2026-11-20
export APCA_API_KEY_ID=SIMKEY APCA_API_SECRET_KEY=SIMSECRET SCREENER_LOG_FORMAT=json
# Portfolio tracking after each collection would ask the trading host, which is not the
# simulator here: off (tests/e2e/portfolio.sh covers it); no test may reach the real API.
export SCREENER_PORTFOLIO=0

# sim_start ARGS... : start the simulator, set SIM_URL
sim_start() {
    sim_stop
    rm -f "$T/sim.out"
    "$SIM" --port 0 $MARKET "$@" >"$T/sim.out.new" 2>"$T/sim.err" &
    SIM_PID=$!
    i=0
    while ! grep -q "listening on 127.0.0.1:[0-9]" "$T/sim.out.new" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "# simulator did not start: $(cat "$T/sim.err")"; return 1; }
        sleep 0.05
    done
    mv "$T/sim.out.new" "$T/sim.out"
    SIM_URL="http://$(sed -n 's/^listening on //p' "$T/sim.out")"
    export APCA_API_DATA_URL="$SIM_URL"
}
sim_stop() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null; SIM_PID=; }
sim_stat() { curl -s "$SIM_URL/__sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# collect STORE ARGS... : run the collector on the simulator's universe; status in $rc
collect() {
    store=$1
    shift
    "$BIN" collect --store "$store" --end $END --history-days 800 --no-progress \
        --universe "$T/universe.txt" "$@" >"$T/out" 2>"$T/err"
    rc=$?
}
status() { # DESCRIPTION WANT
    if [ "$rc" -eq "$2" ]; then ok "$1"; else nok "$1" "exit $rc, want $2" "$(tail -c 800 "$T/err")"; fi
}
dump() { tests/e2e/bars.py dump "$1" >"$1.dump" 2>"$1.dumperr"; }
same_store() { # DESCRIPTION STORE
    if dump "$2" && cmp -s "$2.dump" "$T/clean.dump"; then ok "$1"; else
        nok "$1" "$(cat "$2.dumperr")" "$(diff "$T/clean.dump" "$2.dump" | head -8)"
    fi
}

sim_start || exit 1
# ---- the universe: the simulator's iShares holdings, resolved against its asset list ----
SCREENER_UNIVERSE_URL="$SIM_URL/iwb_holdings.csv" APCA_API_BASE_URL="$SIM_URL" \
    "$BIN" universe fetch --store "$T/u" >"$T/out" 2>"$T/err"
rc=$?
status "universe fetch succeeds" 0
contains "... storing the market's 40 equities" "$T/out" "Stored 40 symbols"
"$BIN" universe show --store "$T/u" >"$T/universe.txt" 2>"$T/err"
rc=$?
status "universe show prints the stored list" 0
[ "$(grep -vc '^#' "$T/universe.txt")" = 40 ] && ok "... of 40 symbols" || nok "universe has $(grep -vc '^#' "$T/universe.txt") symbols"

# ---- a clean run: the reference store ----
collect "$T/clean"
status "a clean collection succeeds" 0
dump "$T/clean" && ok "the clean store is valid" || nok "the clean store is valid" "$(cat "$T/clean.dumperr")"
bars=$(wc -l <"$T/clean.dump")
[ "$bars" -gt 15000 ] && ok "the clean store has the market's bars ($bars)" || nok "clean store has $bars bars"
contains "the summary is a JSON log line" "$T/err" '"message":"collection finished"'
contains "EMF metrics are emitted" "$T/err" '"StocksPerSecond"'
contains "WorstDailyDrawdown is emitted" "$T/err" '"WorstDailyDrawdown"'
lacks "the secret is never printed" "$T/err" "SIMSECRET"
over=$(sim_stat "['over_limit']")
[ "$over" = 0 ] && ok "the rate limit was never exceeded" || nok "the simulator refused $over requests for the rate limit"
reqs=$(sim_stat "['endpoints']['/v2/stocks/bars']")
floor=$(( (bars + 2999) / 3000 ))
[ "$reqs" -le $((floor + 3)) ] && ok "bar requests ($reqs) within a few pages of the floor ($floor at 3000 a page)" || nok "bar requests $reqs vs floor $floor"

# ---- the results: the full screen, the history, the run record; the metric as before ----
"$BIN" screen --store "$T/clean" --all --format csv >"$T/screen.csv" 2>/dev/null
cmp -s "$T/screen.csv" "$T/clean/results/screen/latest.csv" && ok "results: latest.csv is the full screen of the newest day" || nok "results: latest.csv differs from the full screen" "$(diff "$T/screen.csv" "$T/clean/results/screen/latest.csv" | head -5)"
"$BIN" screen --store "$T/clean" --by change --top 1 --format csv >"$T/worst.csv" 2>/dev/null
if python3 - "$T/err" "$T/worst.csv" "$T/clean/results" "$END" >"$T/py.out" 2>&1 <<'PY'
import csv, json, sys
log, worst, r, end = sys.argv[1:]
summary = [json.loads(l) for l in open(log) if '"collection finished"' in l][-1]
w = list(csv.DictReader(open(worst)))[0]
assert summary["worst_daily_symbol"] == w["symbol"], (summary["worst_daily_symbol"], w["symbol"])
assert abs(summary["worst_daily_change_pct"] - float(w["change_pct"])) < 1e-4
assert summary["screen_date"] == w["date"] == end
run = json.load(open(r + "/last_run.json"))
assert run["complete"] is True and run["end"] == end and run["date"] == end, run
assert run["symbols"] == 40 and run["bars_new"] == summary["bars_new"] and run["error"] == "", run
top = [x for x in csv.DictReader(open(r + "/top_candidates.csv")) if x["date"] == end]
assert len(top) == 10, len(top)
print(w["symbol"], w["change_pct"])
PY
then ok "results: the worst one-day drop is the screen by change's first row ($(cat "$T/py.out")), the run is recorded"
else nok "results: worst drop, run record" "$(tail -5 "$T/py.out")"; fi
if python3 - "$T/err" >"$T/py.out" 2>&1 <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"daily run finished"' in l]
assert len(lines) == 1, len(lines)
s = lines[0]
steps = ["collect", "results", "report", "snapshot", "alert", "push", "alerts", "compact",
         "backtest", "html"]
for k in steps:
    assert s[k] in ("done", "failed", "skipped", "off"), (k, s.get(k))
    assert (k + "_ms" in s) == (s[k] in ("done", "failed")), k
ran = [s[k + "_ms"] for k in steps if k + "_ms" in s]
assert s["collect"] == s["results"] == s["backtest"] == s["html"] == "done", s
assert s["snapshot"] == "off", s
# The backtest runs on a thread of its own beside the steps between the collection and its
# place: those one after another, and it, each within the whole.
alongside = ["backtest"]
seq = [s[k + "_ms"] for k in steps if k + "_ms" in s and k not in alongside]
assert all(t >= 0 for t in ran) and sum(seq) <= s["duration_ms"] + len(seq), s
assert all(s[k + "_ms"] <= s["duration_ms"] + 1 for k in alongside), s
print(s["duration_ms"], "ms:", ", ".join("%s %d" % (k, s[k + "_ms"]) for k in steps if k + "_ms" in s))
PY
then ok "the run logs each step's state and time, and its own ($(cat "$T/py.out"))"
else nok "the daily run's steps line" "$(tail -5 "$T/py.out")"; fi
for f in "$END.html" latest.html; do
    if [ -s "$T/clean/results/report/$f" ] && grep -qF "$END" "$T/clean/results/report/$f"; then ok "results: the collection wrote report/$f, naming the day"
    else nok "results: report/$f naming $END" "$(ls "$T/clean/results/report" 2>&1)"; fi
done
cp "$T/clean/results/top_candidates.csv" "$T/top-before"

# ---- rerun: nothing new; the unsettled days fetched again, at most two cheap requests ----
curl -s -X POST "$SIM_URL/__sim/reset" >/dev/null
collect "$T/clean"
status "a rerun succeeds" 0
cmp -s "$T/top-before" "$T/clean/results/top_candidates.csv" && ok "results: a rerun leaves the history as it was" || nok "results: the rerun changed the history" "$(diff "$T/top-before" "$T/clean/results/top_candidates.csv" | head -5)"
contains "a rerun writes nothing" "$T/out" " 0 new bars"
r=$(sim_stat "['requests']")
[ "$r" -le 2 ] && ok "a rerun makes at most two requests, the last 3 days and the actions ($r)" || nok "a rerun made $r requests"

# ---- concurrency does not change the result ----
collect "$T/c1" --concurrency 1
status "concurrency 1 succeeds" 0
collect "$T/c8" --concurrency 8
status "concurrency 8 succeeds" 0
if diff -r "$T/c1/bars" "$T/c8/bars" >/dev/null && diff -r "$T/c1/bars" "$T/clean/bars" >/dev/null; then
    ok "the stores are identical, file for file, whatever the concurrency"
else nok "stores differ with the concurrency" "$(diff -r "$T/c1/bars" "$T/c8/bars" | head -5)"; fi

# ---- transient faults: retried, the store ends up complete ----
for f in 429@2x2 500@2x2 502@3 503@1x3 reset@2 truncate@2 malformed@2; do
    sim_start --fault "$f"
    collect "$T/f-$f" --retries 3
    status "fault $f: the collection succeeds" 0
    same_store "fault $f: every bar stored exactly once" "$T/f-$f"
done
sim_start --fault slow@2 --slow-ms 4000
collect "$T/f-slow" --timeout 1
status "a response slower than the timeout is retried" 0
same_store "slow response: every bar stored exactly once" "$T/f-slow"

# ---- retries run out: incomplete, no holes, a rerun completes ----
sim_start --fault 500@2x20
collect "$T/f-out" --retries 2 --concurrency 1
status "retries exhausted: exit 6 (incomplete)" 6
contains "... saying a rerun completes it" "$T/err" "a rerun completes"
python3 -c "
import json, sys
r = json.load(open('$T/f-out/results/last_run.json'))
sys.exit(0 if r['complete'] is False and 'a rerun completes' in r['error'] else 1)" &&
    ok "... and the run record says so" || nok "incomplete run record" "$(cat "$T/f-out/results/last_run.json")"
dump "$T/f-out" && ok "the incomplete store is valid" || nok "incomplete store invalid" "$(cat "$T/f-out.dumperr")"
sim_start
collect "$T/f-out"
status "the rerun succeeds" 0
same_store "the rerun completes the store" "$T/f-out"

# ---- critical: credentials, pages that never end ----
APCA_API_SECRET_KEY=WRONGSECRET collect "$T/f-auth"
status "wrong credentials: exit 7" 7
contains "... naming the variables" "$T/err" "APCA_API_KEY_ID"
lacks "... without printing the secret" "$T/err" "WRONGSECRET"
[ ! -d "$T/f-auth/bars" ] && ok "... and storing nothing" || nok "bars stored despite refused credentials"
python3 -c "
import json, sys
r = json.load(open('$T/f-auth/results/last_run.json'))
sys.exit(0 if r['complete'] is False and r['date'] is None and r['error'] else 1)" &&
    ok "... but recording the failed run" || nok "no record of the refused run" "$(cat "$T/f-auth/results/last_run.json" 2>&1)"
lacks "... without the secret" "$T/f-auth/results/last_run.json" "WRONGSECRET"
APCA_API_SECRET_KEY= collect "$T/f-nokey"
status "no credentials: exit 7" 7
sim_start --fault html403@1x100
collect "$T/f-html"
status "an nginx 403 page: exit 7" 7
sim_start --fault neverending@1x100000
collect "$T/f-never"
status "pages that never end: exit 3" 3
contains "... with a clear message" "$T/err" "never end"

# ---- data-quality faults: reported, skipped, nothing invalid stored ----
for f in wrongtype@1 badprice@1 highlow@1 duptime@1; do
    sim_start --fault "$f"
    collect "$T/q-$f"
    status "data fault $f: the collection succeeds" 0
    if dump "$T/q-$f"; then ok "data fault $f: nothing invalid stored"; else nok "data fault $f: invalid store" "$(cat "$T/q-$f.dumperr")"; fi
    extra=$(comm -13 "$T/clean.dump" "$T/q-$f.dump" | wc -l)
    missing=$(comm -23 "$T/clean.dump" "$T/q-$f.dump" | wc -l)
    [ "$extra" = 0 ] && [ "$missing" -le 2 ] && ok "data fault $f: only the bad bar is left out ($missing)" || nok "data fault $f: $extra extra, $missing missing"
    contains "data fault $f: counted in the summary" "$T/out" "Data problems"
done
MISSING=$(grep -v '^#' "$T/universe.txt" | sed -n 3p)
sim_start --missing "$MISSING"
collect "$T/q-missing"
status "a symbol without data: the collection succeeds" 0
contains "... and it is reported" "$T/err" "no data from the API"
dump "$T/q-missing"
others=$(grep -v "^$MISSING," "$T/clean.dump" | wc -l)
if ! grep -q "^$MISSING," "$T/q-missing.dump" && [ "$(wc -l <"$T/q-missing.dump")" = "$others" ]; then
    ok "... every other symbol is complete"
else nok "missing-symbol store is not the clean store minus $MISSING"; fi

# ---- a symbol the API does not know, answered with 400 "invalid symbol" ----
sim_start --strict-symbols
{ cat "$T/universe.txt"; echo ZZZQ; } >"$T/universe-x.txt"
"$BIN" collect --store "$T/q-unknown" --end $END --history-days 800 --no-progress \
    --universe "$T/universe-x.txt" >"$T/out" 2>"$T/err"
rc=$?
status "an unknown symbol answered with 400: the collection succeeds" 0
contains "... and the symbol is reported" "$T/err" "does not know this symbol"
same_store "... every known symbol is complete" "$T/q-unknown"

# ---- one truth per number: a run with several kinds of problem and a request given up ----
# The "Data problems" line, the summary log line, the EMF Errors metric and last_run.json must
# say the same (tests/unit/test_daily.c adds conflicts, split conflicts and /stats).
# Nine symbols, one a request (--max-url 300), one request after the other: the first has a bad
# bar, the second no data, the third fails (no retry), the fourth has a duplicate bar, and the
# last symbol is unknown to the API.
{ grep -v '^#' "$T/universe.txt" | head -8; echo ZZZQ; } >"$T/universe-9.txt"
MISSING9=$(sed -n 2p "$T/universe-9.txt")
sim_start --strict-symbols --missing "$MISSING9" --fault badprice@1 --fault 500@3 --fault duptime@4
ENVIRONMENT=e2e "$BIN" collect --store "$T/q-all" --end $END --history-days 800 --no-progress \
    --universe "$T/universe-9.txt" --retries 0 --concurrency 1 --max-url 300 >"$T/out" 2>"$T/err"
rc=$?
status "several problems and a request given up: incomplete (exit 6)" 6
if python3 - "$T/out" "$T/err" "$T/q-all/results/last_run.json" >"$T/agree" 2>&1 <<'PY'
import json, re, sys
out, err, run = open(sys.argv[1]).read(), open(sys.argv[2]).read(), json.load(open(sys.argv[3]))
line = re.search(r"Data problems \(reported above, not stored\): (.*)", out).group(1)
parts = dict((k, int(n)) for n, k in re.findall(r"(\d+) ([a-z ]+)", line))
summary = emf = None
for l in err.splitlines():
    if not l.startswith("{"):
        continue
    j = json.loads(l)
    if j.get("message") == "collection finished":
        summary = j
    if "_aws" in j and j["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "StockScreener/Performance":
        emf = j
problems = sum(parts.values())
errors = problems + summary["symbols_failed"] + 1
assert parts["bad bars"] >= 1 and parts["duplicates"] >= 1, parts
assert parts["symbols without data"] >= 1 and parts["unknown symbols"] >= 1, parts
assert summary["symbols_failed"] >= 1, summary
assert summary["data_problems"] == problems, (summary, parts)
assert summary["errors"] == errors, (summary, errors)
assert emf["Errors"] == errors, (emf, errors)
assert emf["Environment"] == "e2e" and "Environment" in emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0], emf
assert run["errors"] == errors, (run, errors)
print(errors)
PY
then ok "... the CLI line, the summary, the Errors metric and last_run.json agree ($(cat "$T/agree") errors)"
else nok "the reports of one run disagree" "$(cat "$T/agree")" "$(cat "$T/out")"; fi

# ---- the URL limit: a 414 halves the batch ----
sim_start --max-url 300
collect "$T/u414" --max-url 6000
status "a 414 splits the batch and the collection succeeds" 0
same_store "414: every bar stored exactly once" "$T/u414"

# ---- the rate limit, as the server counts it ----
sim_start --rate-limit 5/1s --page-size 500
collect "$T/rl" --rate-limit 5/1s --concurrency 4
status "a tight rate limit: the collection succeeds" 0
mx=$(sim_stat "['max_in_window']")
ov=$(sim_stat "['over_limit']")
[ "$ov" = 0 ] && [ "$mx" -le 5 ] && ok "never more than 5 requests in any second (max $mx)" || nok "rate limit exceeded: max $mx, refused $ov"
same_store "rate-limited: every bar stored exactly once" "$T/rl"

# ---- a server stricter than our limit: its headers and 429s are obeyed ----
sim_start --rate-limit 8/1s --page-size 500
collect "$T/rl2" --concurrency 4
status "a server limit below ours: the collection succeeds" 0
same_store "server-limited: every bar stored exactly once" "$T/rl2"
contains "... having waited as the server said" "$T/err" '"rate_limited":'

# ---- an explicit backfill over stored days stores nothing twice ----
collect "$T/clean" --start 2026-06-01
status "a backfill over stored days succeeds" 0
contains "... finding every bar already stored" "$T/out" " 0 new bars"
same_store "... and the store is unchanged" "$T/clean"

# ---- a split never looks like a crash ----
SPLIT_SYM=$(grep -v '^#' "$T/universe.txt" | sed -n 5p)
sim_start --split "$SPLIT_SYM:2026-10-15:2:1"
collect "$T/split"
status "a market with a 2-for-1 split is collected" 0
"$BIN" screen --store "$T/split" --date 2026-10-15 --by change --top 100000 --format csv >"$T/split.csv" 2>"$T/err"
chg=$(python3 -c "
import csv,sys
for r in csv.DictReader(open('$T/split.csv')):
    if r['symbol']=='$SPLIT_SYM': print(r['change_pct'])")
python3 -c "import sys; sys.exit(0 if $chg > -25 else 1)" 2>/dev/null && ok "the day of the split shows no -50% drop ($chg%)" || nok "split day change is $chg%"
sim_stop

# ---- kill -9 at random moments: a rerun gives the clean store ----
sim_start --page-size 1000 --rate-limit 40/1s
fails=0
for trial in $(seq 1 20); do
    rm -rf "$T/k"
    "$BIN" collect --store "$T/k" --end $END --history-days 800 --no-progress --universe "$T/universe.txt" --rate-limit 40/1s >/dev/null 2>&1 &
    pid=$!
    sleep "0.$(awk -v s="$trial" 'BEGIN { srand(s * 7919); printf "%03d", rand() * 900 }')"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    collect "$T/k"
    if [ "$rc" -ne 0 ] || ! dump "$T/k" || ! cmp -s "$T/k.dump" "$T/clean.dump"; then
        fails=$((fails + 1))
        echo "# kill trial $trial: rerun exit $rc, $(diff "$T/clean.dump" "$T/k.dump" | wc -l) lines differ"
    fi
done
[ $fails = 0 ] && ok "20 runs killed at random moments: each rerun gives the clean store" || nok "$fails of 20 kill trials differ"
exit 0
