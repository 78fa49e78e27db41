#!/bin/sh
# telegram.sh - the fake Telegram Bot API as a process (build/fake-telegram), driven with curl
# the way a bot would: its options, the updates file, the record file read while it runs, a
# fault and a long poll over the control endpoints, a clean stop with a poll waiting, and the
# token nowhere in its output or its record.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
FAKE=$B/fake-telegram
[ -x "$FAKE" ] || { echo "not ok 1 - $FAKE is not built"; exit 1; }
command -v curl >/dev/null && command -v python3 >/dev/null ||
    { echo "not ok 1 - curl and python3 are needed"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-telegram.XXXXXX")
FAKE_PID= POLL_PID=
cleanup() {
    for p in $POLL_PID $FAKE_PID; do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { # DESCRIPTION PYTHON-CONDITION [DETAIL]: the condition holds
    if python3 -c "import sys; sys.exit(0 if ($2) else 1)" 2>/dev/null; then ok "$1"; else nok "$1" "${3:-}"; fi
}
# json FILE EXPR: a Python expression over j, the JSON in FILE
json() { python3 -c "import json; j = json.load(open('$1')); print($2)" 2>/dev/null; }

TOKEN=7711223344:AAE-e2e_token_not_to_be_seen

# ---- options ----
"$FAKE" --help >"$T/help" 2>&1
[ $? -eq 0 ] && grep -q -- "--record FILE" "$T/help" && ok "--help describes the options" || nok "--help" "$(cat "$T/help")"
"$FAKE" --port 0 >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && grep -q -- "--token is required" "$T/err" && ok "no --token: usage error" || nok "no --token" "$(cat "$T/err")"
echo '{"update_id":1}' >"$T/not-array.json"
"$FAKE" --token "$TOKEN" --updates "$T/not-array.json" >"$T/out" 2>"$T/err"
[ $? -ne 0 ] && grep -q "array" "$T/err" && ok "an --updates file that is not an array is refused" || nok "--updates not an array" "$(cat "$T/err")"
"$FAKE" --token "$TOKEN" --updates "$T/missing.json" >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && grep -q "missing.json" "$T/err" && ok "a missing --updates file is named" || nok "--updates missing" "$(cat "$T/err")"

# ---- serving ----
cat >"$T/updates.json" <<'EOF'
[{"message":{"message_id":1,"chat":{"id":5,"type":"private"},"date":1767225600,"text":"/drops 10",
  "entities":[{"offset":0,"length":6,"type":"bot_command"}]}},
 {"update_id":40,"callback_query":{"id":"4382","data":"p2","chat_instance":"1"}}]
EOF
"$FAKE" --port 0 --token "$TOKEN" --record "$T/calls.jsonl" --updates "$T/updates.json" \
    --log-level debug >"$T/fake.out" 2>"$T/fake.err" &
FAKE_PID=$!
i=0
while ! grep -q "listening on 127.0.0.1:[0-9]" "$T/fake.out" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && { nok "fake-telegram did not start" "$(cat "$T/fake.err")"; exit 1; }
    sleep 0.05
done
ok "fake-telegram prints the port it listens on"
URL=http://$(sed -n 's/^listening on //p' "$T/fake.out")
API=$URL/bot$TOKEN

code=$(curl -s -o "$T/me.json" -w '%{http_code}' "$API/getMe")
check "getMe answers the bot" "$code == 200 and '$(json "$T/me.json" "j['result']['id']")' == '7711223344'"
code=$(curl -s -o "$T/r.json" -w '%{http_code}' "$URL/bot7711223344:wrong/getMe")
check "a wrong token is 401 Unauthorized" "$code == 401 and '$(json "$T/r.json" "j['description']")' == 'Unauthorized'"
curl -s -o "$T/r.json" "$API/sendMessage" --data-urlencode chat_id=5 \
    --data-urlencode 'text=<b>Top drops</b> &amp; more' -d parse_mode=HTML
check "sendMessage in HTML returns the message without tags" "'$(json "$T/r.json" "j['result']['text']")' == 'Top drops & more'"
code=$(curl -s -o "$T/r.json" -w '%{http_code}' "$API/sendMessage" -d chat_id=5 --data-urlencode 'text=<b>x' -d parse_mode=HTML)
check "an unclosed tag is 400 can't parse entities" "$code == 400 and 'parse entities' in '''$(json "$T/r.json" "j['description']")'''"
curl -s -o "$T/r.json" "$API/getUpdates"
check "getUpdates serves the --updates file, ids filled in" "'$(json "$T/r.json" "[u['update_id'] for u in j['result']]")' == '[1, 40]'"

# A fault, then a long poll woken by an update posted to the control endpoint.
curl -s -o "$T/r.json" "$URL/_fault" -d '{"method":"sendMessage","chat_id":5,"status":403,"count":1}'
code=$(curl -s -D "$T/h" -o "$T/r.json" -w '%{http_code}' "$API/sendMessage" -d chat_id=5 -d text=x)
check "a fault answers 403, blocked by the user" "$code == 403 and '$(json "$T/r.json" "j['description']")' == 'Forbidden: bot was blocked by the user'"
curl -s -o "$T/poll.json" "$API/getUpdates?offset=41&timeout=20" &
POLL_PID=$!
sleep 0.3
curl -s -o "$T/r.json" "$URL/_updates" -H 'Content-Type: application/json' -d '[{"message":{"text":"late"}}]'
t0=$(date +%s)
wait $POLL_PID
POLL_PID=
check "a waiting getUpdates gets an update posted to /_updates" "'$(json "$T/poll.json" "j['result'][0]['message']['text']")' == 'late' and $(date +%s) - $t0 < 5"

# The record, read while the server runs.
check "every call so far is one JSON line of the record" \
    "$(python3 -c "
import json
lines = open('$T/calls.jsonl').read().splitlines()
r = [json.loads(l) for l in lines]
print(len(r) == 7 and [x['seq'] for x in r] == list(range(1, 8)) and r[1]['status'] == 401 and r[5]['status'] == 403)" 2>/dev/null)"
curl -s -o "$T/calls.json" "$URL/_calls"
check "/_calls holds the same records" "$(json "$T/calls.json" "len(j['result']) == 7 and j['result'][2]['params']['parse_mode'] == 'HTML'")"

# SIGTERM with a poll waiting: the server ends at once, cleanly.
curl -s -o "$T/poll2.json" "$API/getUpdates?offset=42&timeout=50" &
POLL_PID=$!
sleep 0.3
t0=$(date +%s)
kill -TERM $FAKE_PID
wait $FAKE_PID
status=$?
FAKE_PID=
wait $POLL_PID 2>/dev/null
POLL_PID=
check "SIGTERM stops it at once with a poll waiting, status 0" "$status == 0 and $(date +%s) - $t0 < 5"
if grep -qF "$TOKEN" "$T/fake.out" "$T/fake.err" "$T/calls.jsonl" "$T/calls.json"; then
    nok "the token appears in the fake's output or record"
else
    ok "the token appears nowhere in the fake's output, logs or record"
fi
grep -q '"fake Telegram call"' "$T/fake.err" && ok "--log-level debug logs each call" || nok "no call logged" "$(head -c 400 "$T/fake.err")"
