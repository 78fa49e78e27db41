#!/bin/sh
# lambda.sh - the real `screener lambda` as a Lambda custom runtime: AWS_LAMBDA_RUNTIME_API
# points at the fake Runtime API (build/fake-lambda), the collector handler collects from the
# Alpaca simulator (build/alpaca-sim).  Asserts on what the fake recorded (responses, errors,
# their headers), the store, the logs and metrics; measures the cold start (process start to
# the first /next, as the fake saw it).  Also `screener invoke --event`.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
BIN=$B/screener
SIM=$B/alpaca-sim
FAKE=$B/fake-lambda
for x in "$BIN" "$SIM" "$FAKE"; do
    [ -x "$x" ] || { echo "not ok 1 - $x is not built"; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-lambda.XXXXXX")
SIM_PID=
FAKE_PID=
RT_PID=
cleanup() {
    for p in $RT_PID $FAKE_PID $SIM_PID; do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
contains() { if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1" "no '$3' in:" "$(head -c 800 "$2")"; fi; }
lacks() { if grep -qF -- "$3" "$2"; then nok "$1" "unexpected '$3' in $2"; else ok "$1"; fi; }
check() { # DESCRIPTION PYTHON-CONDITION [DETAIL]: the condition holds
    if python3 -c "import json, sys; sys.exit(0 if ($2) else 1)" 2>/dev/null; then ok "$1"; else nok "$1" "${3:-}"; fi
}

# start OUTFILE CMD...: start a server printing "listening on 127.0.0.1:PORT"; sets PID, PORT
start() {
    out=$1
    shift
    # The child truncates $out only once it runs: an old "listening" line must not be read.
    rm -f "$out" "$out.err"
    "$@" >"$out" 2>"$out.err" &
    PID=$!
    i=0
    while ! grep -q "listening on 127.0.0.1:[0-9]" "$out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 200 ] && { echo "# $1 did not start: $(cat "$out.err")"; return 1; }
        sleep 0.05
    done
    PORT=$(sed -n 's/^listening on 127.0.0.1://p' "$out")
}
fake_start() { # ARGS...: a fresh fake Runtime API; sets FAKE_URL, API
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
    start "$T/fake.out" "$FAKE" --port 0 "$@" || exit 1
    FAKE_PID=$PID
    API=127.0.0.1:$PORT
    FAKE_URL=http://$API
}
stats() { curl -s "$FAKE_URL/__fake/stats" >"$T/stats.json"; }
# stat EXPR: a Python expression over s (the fake's stats) and r (its invocations' bodies,
# parsed when JSON)
stat() {
    stats
    python3 -c "
import json
s = json.load(open('$T/stats.json'))
def body(i):
    try: return json.loads(s['invocations'][i]['body'])
    except Exception: return {}
r = [body(i) for i in range(len(s['invocations']))]
print($1)"
}
wait_answers() { # N: until the fake has N responses + errors (at most 30 s)
    i=0
    while [ "$(stat "s['responses'] + s['errors']")" -lt "$1" ]; do
        i=$((i + 1))
        [ $i -gt 600 ] && return 1
        sleep 0.05
    done
}
push() { curl -s -X POST --data-binary @"$1" "$FAKE_URL/__fake/events" >/dev/null; }
now_us() { echo $(($(date +%s%N) / 1000)); }

mkdir -p "$T/ev"
cat >"$T/ev/scheduled.json" <<'EOF'
{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",
 "source":"aws.events","account":"123456789012","time":"2026-11-20T22:00:00Z",
 "region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/collect"],
 "detail":{}}
EOF
echo '{"action":"collect"}' >"$T/ev/manual.json"
echo '{}' >"$T/ev/empty.json"
echo '{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]}' >"$T/ev/s3.json"
echo '{"action":"screen"}' >"$T/ev/bad.json"
echo '{"version":"2.0","routeKey":"POST /telegram","body":"{}"}' >"$T/ev/apigw.json"

# ---- the market, ending today so that the collector's own "today" finds it; a universe ----
start "$T/sim.out" "$SIM" --port 0 --symbols 30 --years 2 --seed 7 --last-day "$(date -u +%F)" || exit 1
SIM_PID=$PID
SIM_URL=http://127.0.0.1:$PORT
export APCA_API_KEY_ID=SIMKEY APCA_API_SECRET_KEY=SIMSECRET APCA_API_DATA_URL=$SIM_URL
# Portfolio tracking after each collection would ask the trading host, which is not the
# simulator here: off (tests/e2e/portfolio.sh covers it); no test may reach the real API.
export SCREENER_PORTFOLIO=0
SCREENER_UNIVERSE_URL="$SIM_URL/iwb_holdings.csv" APCA_API_BASE_URL="$SIM_URL" \
    "$BIN" universe fetch --store "$T/store" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && ok "a universe of the simulator's symbols is stored" || nok "universe fetch failed" "$(cat "$T/err")"
cp -r "$T/store" "$T/fresh" # a store with the universe and no bars, for later

# ---- the runtime: a scheduled event ----
fake_start
t0=$(now_us)
AWS_LAMBDA_RUNTIME_API=$API _HANDLER=collector SCREENER_STORE=$T/store \
    "$BIN" lambda >"$T/rt.out" 2>"$T/rt.err" &
RT_PID=$!
push "$T/ev/scheduled.json"
if wait_answers 1; then ok "a scheduled event is answered"; else nok "no answer to a scheduled event" "$(tail -c 800 "$T/rt.err")"; fi
ID1=$(stat "s['invocations'][0]['request_id']")
check "... with a response, not an error" "'$(stat "s['invocations'][0]['outcome']")' == 'response'" "$(stat "s['invocations'][0]['body']")"
check "... posted as application/json" "'$(stat "s['invocations'][0]['content_type']")' == 'application/json'"
check "... holding the collection's summary (ok, 30 symbols, new bars)" \
    "$(stat "r[0].get('ok') is True and r[0].get('symbols') == 30 and r[0].get('bars_new', 0) > 1000")" "$(stat "s['invocations'][0]['body']")"
check "... and its end date, requests, errors and duration" \
    "$(stat "all(k in r[0] for k in ('end', 'requests', 'errors', 'duration_ms')) and len(r[0]['end']) == 10")"
NEW=$(stat "r[0].get('bars_new')")
STORED=$(tests/e2e/bars.py count "$T/store" 2>"$T/err")
[ "$STORED" = "$NEW" ] && ok "the store holds exactly the bars the summary counts ($STORED)" || nok "store has $STORED bars, summary says $NEW" "$(cat "$T/err")"
contains "logs carry the invocation's request id" "$T/rt.err" "\"request_id\":\"$ID1\""
contains "the collection summary is logged as JSON" "$T/rt.err" '"message":"collection finished"'
check "the handler writes the results, as collect does (latest screen, history of every date, run record)" \
    "$(python3 -c "
import csv, json
r = '$T/store/results'
run = json.load(open(r + '/last_run.json'))
latest = list(csv.DictReader(open(r + '/screen/latest.csv')))
top = list(csv.DictReader(open(r + '/top_candidates.csv')))
print(run['complete'] is True and run['bars_new'] == $NEW and len(latest) > 0 and
      latest[0]['date'] == run['date'] and len({t['date'] for t in top}) > 1 and
      sum(t['date'] == run['date'] for t in top) == min(10, len(latest)))" 2>&1)"
contains "EMF metrics go to stdout" "$T/rt.out" '"StocksPerSecond"'
if python3 -c "
import json, sys
for f in ('$T/rt.out', '$T/rt.err'):
    for line in open(f):
        json.loads(line)" 2>"$T/err"; then ok "every stdout and stderr line is JSON"; else nok "a non-JSON line" "$(cat "$T/err")"; fi

# ---- the same warm process: a second scheduled event, a bad one, a manual one ----
curl -s -X POST "$SIM_URL/__sim/reset" >/dev/null
push "$T/ev/scheduled.json"
wait_answers 2
check "a second scheduled event on the warm process is answered" "'$(stat "s['invocations'][1]['outcome']")' == 'response'"
check "... finding everything stored (0 new bars, the last 3 days of 30 symbols fetched again, none revised)" \
    "$(stat "r[1].get('bars_new') == 0 and r[1].get('bars_received') == 90 and r[1].get('bars_revised') == 0")" "$(stat "s['invocations'][1]['body']")"
sim_reqs=$(curl -s "$SIM_URL/__sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['requests'])")
[ "$sim_reqs" -le 2 ] && ok "... with at most two requests to the API, the unsettled days and the actions ($sim_reqs)" || nok "the warm rerun made $sim_reqs requests"
kill -0 $RT_PID 2>/dev/null && ok "... by the same process, still waiting for the next event" || nok "the runtime process is gone"
check "... which asked for the next event once per invocation" "$(stat "s['next_requests']") == 3"
push "$T/ev/bad.json"
wait_answers 3
check "an unknown action gets an error" "'$(stat "s['invocations'][2]['outcome']")' == 'error'"
check "... typed Function.InvalidEvent in the header" "'$(stat "s['invocations'][2]['error_type']")' == 'Function.InvalidEvent'"
check "... and in the body, whose message names what was expected" \
    "$(stat "r[2].get('errorType') == 'Function.InvalidEvent' and '{\"action\":\"collect\"}' in r[2].get('errorMessage', '') and r[2].get('stackTrace') == []")" "$(stat "s['invocations'][2]['body']")"
push "$T/ev/apigw.json"
push "$T/ev/manual.json"
wait_answers 5
check "an API Gateway event is refused, naming it" "'API Gateway' in '$(stat "r[3].get('errorMessage', '')" | tr -d "'")'"
check "a manual {\"action\":\"collect\"} is a collection" "$(stat "r[4].get('ok') is True and r[4].get('symbols') == 30")"
push "$T/ev/empty.json"
push "$T/ev/s3.json"
wait_answers 7
check "an empty event {} is a run by hand: a collection" "$(stat "s['invocations'][5]['outcome'] == 'response' and r[5].get('ok') is True and r[5].get('symbols') == 30")" "$(stat "s['invocations'][5]['body']")"
check "an S3 notification is refused, naming it" "$(stat "s['invocations'][6]['error_type'] == 'Function.InvalidEvent' and 'Records' in r[6].get('errorMessage', '')")" "$(stat "s['invocations'][6]['body']")"
kill -0 $RT_PID 2>/dev/null && ok "the process survived every event" || nok "the runtime process is gone"
kill $RT_PID 2>/dev/null
wait $RT_PID 2>/dev/null
RT_PID=
stats
for f in "$T/rt.out" "$T/rt.err" "$T/stats.json"; do lacks "the secret is never printed ($(basename "$f"))" "$f" SIMSECRET; done

# ---- a deadline too close to collect: no chain is started, the error says so ----
fake_start --timeout-ms 5000 --when-empty 500
push "$T/ev/scheduled.json"
AWS_LAMBDA_RUNTIME_API=$API _HANDLER=collector SCREENER_STORE=$T/fresh "$BIN" lambda >"$T/rt.out" 2>"$T/rt.err"
rc=$?
[ $rc -eq 1 ] && ok "a 500 from /next ends the runtime (exit 1)" || nok "runtime exit $rc after a 500, want 1" "$(tail -c 600 "$T/rt.err")"
check "an invocation with 5 s left gets Function.Timeout" "'$(stat "s['invocations'][0]['error_type']")' == 'Function.Timeout'" "$(stat "s['invocations'][0]['body']")"
check "... saying the deadline came and a rerun completes it" "$(stat "'deadline' in r[0].get('errorMessage', '') and 'rerun' in r[0].get('errorMessage', '')")"
contains "... and the summary counts the symbols not attempted" "$T/rt.err" '"symbols_not_attempted":30'
[ ! -d "$T/fresh/bars" ] && ok "... with nothing stored" || nok "bars stored despite the deadline"

# ---- the bot: Telegram's webhook through API Gateway, both payload formats ----
"$BIN" screen --store "$T/store" >/dev/null 2>&1 # results exist after the collections above
python3 - "$T/ev" <<'PY'
import json, sys
d = sys.argv[1]
rest = json.load(open('events/telegram-rest.json'))
wrong = json.loads(json.dumps(rest)); wrong['headers']['X-Telegram-Bot-Api-Secret-Token'] = 'guess'
none = json.loads(json.dumps(rest)); del none['headers']['X-Telegram-Bot-Api-Secret-Token']
get = json.loads(json.dumps(rest)); get['httpMethod'] = 'GET'
junk = json.loads(json.dumps(rest)); junk['body'] = '{not json'
for name, ev in [('wrong', wrong), ('none', none), ('get', get), ('junk', junk)]:
    json.dump(ev, open(d + '/tg-' + name + '.json', 'w'))
PY
fake_start
for e in events/telegram-rest.json events/telegram-http.json "$T/ev/tg-wrong.json" \
    "$T/ev/tg-none.json" "$T/ev/tg-get.json" "$T/ev/tg-junk.json" "$T/ev/manual.json"; do
    push "$e"
done
TELEGRAM_WEBHOOK_SECRET=local-dev-webhook-secret-0001 AWS_LAMBDA_RUNTIME_API=$API _HANDLER=bot SCREENER_STORE=$T/store \
    "$BIN" lambda --max-invocations 7 >"$T/rt.out" 2>"$T/rt.err"
rc=$?
[ $rc -eq 0 ] && ok "_HANDLER=bot serves 7 invocations (exit 0)" || nok "bot runtime exit $rc" "$(tail -c 600 "$T/rt.err")"
check "REST API event (payload 1.0) with the secret: 200, /screen answered inline" \
    "$(stat "r[0]['statusCode'] == 200 and json.loads(r[0]['body'])['method'] == 'sendMessage' and 'Worst 180-day drawdowns' in json.loads(r[0]['body'])['text'] and json.loads(r[0]['body'])['chat_id'] == 111222333")" "$(stat "r[0]")"
check "HTTP API event (payload 2.0, lower-case header, base64 body): /drops answered" \
    "$(stat "r[1]['statusCode'] == 200 and 'Worst one-day drops' in json.loads(r[1]['body'])['text']")" "$(stat "r[1]")"
check "wrong secret: 401 and no reply" "$(stat "r[2]['statusCode'] == 401 and 'sendMessage' not in r[2]['body']")" "$(stat "r[2]")"
check "missing secret: 401" "$(stat "r[3]['statusCode'] == 401")"
check "GET: 405" "$(stat "r[4]['statusCode'] == 405")"
check "a body that is not an update: 200, nothing sent (Telegram must not redeliver)" "$(stat "r[5]['statusCode'] == 200 and r[5]['body'] == ''")"
check "an event that is not from API Gateway: a 400 proxy response, not a function error" "$(stat "r[6]['statusCode'] == 400 and s['errors'] == 0")"
lacks "the secret never appears in the logs" "$T/rt.err" "local-dev-webhook-secret-0001"
fake_start
push events/telegram-rest.json
env -u TELEGRAM_WEBHOOK_SECRET AWS_LAMBDA_RUNTIME_API=$API _HANDLER=bot SCREENER_STORE=$T/store SCREENER_SSM=0 \
    "$BIN" lambda --max-invocations 1 >"$T/rt.out" 2>"$T/rt.err"
check "no webhook secret configured: the invocation fails naming TELEGRAM_WEBHOOK_SECRET" \
    "$(stat "s['errors'] == 1 and 'TELEGRAM_WEBHOOK_SECRET' in s['invocations'][0]['body']")" "$(stat "s['invocations']")"

# ---- /trigger in AWS: the bot invokes the collector function asynchronously ----
python3 - "$T/ev" <<'PY'
import json, sys
ev = json.load(open('events/telegram-rest.json'))
body = json.loads(ev['body'])
body['update_id'] += 100
body['message']['text'] = '/trigger'
ev['body'] = json.dumps(body)
json.dump(ev, open(sys.argv[1] + '/tg-trigger.json', 'w'))
PY
fake_start --aws-key-id AKIDLAMBDAE2E --aws-secret lambda-e2e-secret-key
push "$T/ev/tg-trigger.json"
TELEGRAM_WEBHOOK_SECRET=local-dev-webhook-secret-0001 TELEGRAM_ALLOWED_CHATS=111222333 \
    COLLECTOR_FUNCTION_NAME=screener-collector AWS_ENDPOINT_URL_LAMBDA=$FAKE_URL \
    AWS_ACCESS_KEY_ID=AKIDLAMBDAE2E AWS_SECRET_ACCESS_KEY=lambda-e2e-secret-key AWS_REGION=us-east-1 \
    AWS_LAMBDA_FUNCTION_NAME=screener-bot AWS_LAMBDA_RUNTIME_API=$API _HANDLER=bot \
    SCREENER_STORE=$T/store SCREENER_SSM=0 "$BIN" lambda --max-invocations 1 >"$T/rt.out" 2>"$T/rt.err"
check "/trigger from an allowed chat: answered 'Collection started'" \
    "$(stat "r[0]['statusCode'] == 200 and 'Collection started' in json.loads(r[0]['body'])['text']")" "$(stat "r[0]")" "$(tail -c 600 "$T/rt.err")"
check "... after a signed asynchronous Invoke of the collector function (202)" \
    "$(stat "s['invokes'] == 1 and s['invoke_requests'][0]['function'] == 'screener-collector' and s['invoke_requests'][0]['type'] == 'Event' and s['invoke_requests'][0]['status'] == 202")" "$(stat "s['invoke_requests']")"
lacks "... the AWS secret key is not in the logs" "$T/rt.err" "lambda-e2e-secret-key"
AWS_LAMBDA_RUNTIME_API=$API _HANDLER=collector SCREENER_STORE=$T/store "$BIN" lambda --max-invocations 1 >"$T/rt.out" 2>"$T/rt.err"
check "... and the collector's runtime gets {\"action\":\"collect\"} and runs it" \
    "$(stat "s['invocations'][1]['event'] == '{\"action\":\"collect\"}' and r[1].get('ok') is True")" "$(stat "s['invocations'][1]")"
# /trigger waits 10 minutes between collections (bot/trigger in the store; test_bot covers
# the cooldown): forget the one above.
rm -f "$T/store/bot/trigger"
fake_start --aws-key-id AKIDLAMBDAE2E --aws-secret lambda-e2e-secret-key
push "$T/ev/tg-trigger.json"
TELEGRAM_WEBHOOK_SECRET=local-dev-webhook-secret-0001 TELEGRAM_ALLOWED_CHATS=111222333 \
    COLLECTOR_FUNCTION_NAME=screener-collector AWS_ENDPOINT_URL_LAMBDA=$FAKE_URL \
    AWS_ACCESS_KEY_ID=AKIDLAMBDAE2E AWS_SECRET_ACCESS_KEY=wrong-secret AWS_REGION=us-east-1 \
    AWS_LAMBDA_FUNCTION_NAME=screener-bot AWS_LAMBDA_RUNTIME_API=$API _HANDLER=bot \
    SCREENER_STORE=$T/store SCREENER_SSM=0 "$BIN" lambda --max-invocations 1 >"$T/rt.out" 2>"$T/rt.err"
check "a refused Invoke: the user hears that /trigger failed, the webhook still answers 200" \
    "$(stat "r[0]['statusCode'] == 200 and json.loads(r[0]['body'])['text'].startswith('Sorry, /trigger failed') and s['invokes_refused'] == 1")" "$(stat "r[0]")"

# ---- init errors ----
fake_start
AWS_LAMBDA_RUNTIME_API=$API _HANDLER=screener.handler SCREENER_STORE=$T/store "$BIN" lambda >"$T/rt.out" 2>"$T/rt.err"
rc=$?
[ $rc -eq 7 ] && ok "an unknown _HANDLER: exit 7" || nok "unknown handler exit $rc, want 7"
check "... after posting an init error, before any /next" "$(stat "s['init_errors'] == 1 and s['next_requests'] == 0")"
check "... typed Runtime.HandlerNotFound, naming the handlers there are" \
    "$(stat "s['init_error_posts'][0]['error_type'] == 'Runtime.HandlerNotFound' and 'collector or bot' in s['init_error_posts'][0]['body']")"
fake_start
AWS_LAMBDA_RUNTIME_API=$API _HANDLER=collector SCREENER_STORE= S3_BUCKET_NAME= "$BIN" lambda >"$T/rt.out" 2>"$T/rt.err"
rc=$?
check "no store configured: an init error saying so (exit 7)" "$rc == 7 and 'S3_BUCKET_NAME' in '''$(stat "s['init_error_posts'][0]['body'] if s['init_errors'] else ''")'''"
env -u AWS_LAMBDA_RUNTIME_API _HANDLER=collector SCREENER_STORE=$T/store "$BIN" lambda >"$T/rt.out" 2>"$T/rt.err"
rc=$?
[ $rc -eq 7 ] && ok "outside Lambda (no AWS_LAMBDA_RUNTIME_API): exit 7" || nok "no runtime API: exit $rc, want 7"
contains "... pointing at 'screener invoke'" "$T/rt.err" "screener invoke"

# ---- the cold start: process start to the first /next, as the fake saw it ----
# For scale: `screener --version` measured the same way (start, load its shared libraries,
# print, exit) is the floor that the runtime's own initialisation adds to.
times=""
floor=""
for trial in 1 2 3 4 5; do
    fake_start
    push "$T/ev/bad.json"
    t0=$(now_us)
    AWS_LAMBDA_RUNTIME_API=$API _HANDLER=collector SCREENER_STORE=$T/store "$BIN" lambda \
        --max-invocations 1 >/dev/null 2>&1
    first=$(stat "s['first_next_unix_us']")
    times="$times $(((first - t0) / 100))"
    t0=$(now_us)
    "$BIN" --version >/dev/null
    t1=$(now_us)
    floor="$floor $(((t1 - t0) / 100))"
done
median() { echo "$1" | tr ' ' '\n' | grep . | sort -n | sed -n 3p; }
tenths() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }
cold=$(median "$times")
base=$(median "$floor")
echo "# cold start: $(tenths "$cold") ms (median of 5, process start to the first /next:$(for t in $times; do printf ' %s' "$(tenths "$t")"; done); 'screener --version' start to exit: $(tenths "$base") ms)"
[ -n "$cold" ] && ok "the cold start is measured" || nok "no cold start measured"

# ---- bootstrap: the script at the repository root, and the binary under that name ----
fake_start --when-empty 500
push "$T/ev/manual.json"
AWS_LAMBDA_RUNTIME_API=$API _HANDLER=collector SCREENER_STORE=$T/store ./bootstrap >"$T/rt.out" 2>"$T/rt.err"
check "./bootstrap runs the loop: the event is answered" "'$(stat "s['invocations'][0]['outcome'] if s['served'] else ''")' == 'response'" "$(tail -c 600 "$T/rt.err")"
mkdir -p "$T/pkg"
cp "$BIN" "$T/pkg/bootstrap"
fake_start --when-empty 500
push "$T/ev/manual.json"
AWS_LAMBDA_RUNTIME_API=$API _HANDLER=collector SCREENER_STORE=$T/store "$T/pkg/bootstrap" >"$T/rt.out" 2>"$T/rt.err"
check "the binary named bootstrap is the runtime itself" "'$(stat "s['invocations'][0]['outcome'] if s['served'] else ''")' == 'response'" "$(tail -c 600 "$T/rt.err")"

# ---- screener invoke: the same handler, locally ----
"$BIN" invoke --event "$T/ev/scheduled.json" --store "$T/store" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && ok "invoke on a scheduled event file: exit 0" || nok "invoke exit $rc" "$(tail -c 600 "$T/err")"
check "... printing the summary JSON" "$(python3 -c "
import json; r = json.load(open('$T/out')); print(r['ok'] is True and r['symbols'] == 30 and r['bars_new'] == 0)")" "$(cat "$T/out")"
[ -s "$T/store/results/backtest/summary.json" ] && [ -s "$T/store/results/backtest/equity.csv" ] \
    && ok "... and the backtest in the results is refreshed" || nok "no backtest refreshed by the collector"
# 12 s: the job keeps 10 s for itself, which leaves less than the refresh's minimum.
"$BIN" invoke --timeout 12 --event "$T/ev/manual.json" --store "$T/store" >"$T/out" 2>"$T/err"
if grep -F 'step skipped: the deadline is too near' "$T/err" | grep -qF '"step":"backtest"' \
    || grep -qF "backtest refresh skipped: too little time left" "$T/err"; then
    ok "a collector near its deadline skips the backtest, saying so"
else nok "a collector near its deadline skips the backtest, saying so" "$(tail -c 800 "$T/err")"; fi
"$BIN" invoke --event - --store "$T/store" <"$T/ev/manual.json" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q '"ok":true' "$T/out" && ok "invoke reads the event from standard input" || nok "invoke --event - exit $rc" "$(cat "$T/out" "$T/err")"
"$BIN" invoke --event "$T/ev/bad.json" --store "$T/store" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && ok "invoke on an unknown event: exit 2" || nok "invoke bad event exit $rc, want 2"
contains "... printing Lambda's error body" "$T/out" '"errorType":"Function.InvalidEvent"'
contains "... and the message on stderr" "$T/err" 'expected {"action":"collect"}'
TELEGRAM_WEBHOOK_SECRET=local-dev-webhook-secret-0001 "$BIN" invoke --event events/telegram-http.json --handler bot --store "$T/store" >"$T/out" 2>"$T/err"
rc=$?
check "invoke --handler bot on events/telegram-http.json: a proxy response answering /drops" \
    "$rc == 0 and 'Worst one-day drops' in json.loads(json.load(open('$T/out'))['body'])['text']" "$(cat "$T/out" "$T/err")"
"$BIN" invoke --event "$T/ev/manual.json" --handler nope --store "$T/store" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && ok "invoke --handler nope: exit 2" || nok "invoke --handler nope exit $rc, want 2"
"$BIN" invoke --event "$T/nonexistent.json" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -ne 0 ] && grep -q nonexistent "$T/err" && ok "invoke on a missing file names it" || nok "missing event file: exit $rc" "$(cat "$T/err")"
"$BIN" invoke --timeout 5 --event "$T/ev/manual.json" --store "$T/fresh" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 6 ] && ok "invoke --timeout 5: too close to start anything, exit 6 (incomplete)" || nok "invoke --timeout 5 exit $rc, want 6" "$(tail -c 600 "$T/err")"
"$BIN" invoke --event "$T/ev/manual.json" --store "$T/fresh" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && ok "... and the rerun completes it" || nok "rerun after the deadline exit $rc"
A=$(tests/e2e/bars.py dump "$T/fresh" | md5sum)
Z=$(tests/e2e/bars.py dump "$T/store" | md5sum)
[ "$A" = "$Z" ] && ok "... to the same store the Lambda runs made" || nok "stores differ"
exit 0
