#!/bin/sh
# s3.sh - the real binary on S3 stand-ins: the fake S3 in C (build/fake-s3: signatures
# verified, conditional writes, faults, a clock that can be moved) and the npm s3rver (another
# implementation of the wire format), with the official AWS SDK for JavaScript as a second
# client and curl for presigned URLs.  The s3rver and SDK checks are skipped when node or the
# npm packages (scripts/deps.sh --node) are missing.  No secret may appear in any output.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
BIN=$B/screener
FAKE=$B/fake-s3
[ -x "$BIN" ] && [ -x "$FAKE" ] || { echo "not ok 1 - $BIN or $FAKE is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-s3.XXXXXX")
FAKE_PID=
S3RVER_PID=
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    [ -n "$S3RVER_PID" ] && kill "$S3RVER_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - # skip $1"; }
# check DESCRIPTION WANT_STATUS COMMAND... : output in $T/out and $T/err, kept in $T/log/
check() {
    desc=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    cat "$T/out" "$T/err" >>"$T/log/all"
    if [ "$got" -eq "$want" ]; then ok "$desc"; else nok "$desc" "exit $got, want $want" "$(head -c 600 "$T/err")"; fi
}
contains() { if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1" "no '$3' in:" "$(head -c 800 "$2")"; fi; }
same() { if cmp -s "$2" "$3"; then ok "$1"; else nok "$1" "$(diff "$3" "$2" | head -10)"; fi; }
equals() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }
# start_server NAME COMMAND... : run a server that prints "listening on 127.0.0.1:PORT"; sets
# URL and the pid variable NAME_PID
start_server() {
    name=$1
    shift
    rm -f "$T/$name.out" # a restarted server's old port must not be read
    "$@" >"$T/$name.out" 2>"$T/$name.err" &
    eval "${name}_PID=$!"
    i=0
    while ! grep -q "listening on 127.0.0.1:[0-9]" "$T/$name.out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 200 ] && { echo "# $name did not start: $(cat "$T/$name.err")"; return 1; }
        sleep 0.05
    done
    URL="http://$(sed -n 's/^listening on //p' "$T/$name.out")"
}
stat_of() { curl -s "$FAKE_URL/__fake/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
mkdir -p "$T/log"
export SCREENER_LOG_FORMAT=json NODE_NO_WARNINGS=1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION
export AWS_SHARED_CREDENTIALS_FILE="$T/no-credentials" AWS_CONFIG_FILE="$T/no-config"

cat >"$T/bars.csv" <<'CSV'
symbol,date,open,high,low,close,volume
AAA,2024-01-02,10,12,9,11,100
AAA,2024-01-03,11,11.5,10,10,200
AAA,2024-01-04,10,10.5,8,8,300
BBB,2024-01-02,50,55,49,54,1000
BBB,2024-01-03,54,56,53,55,1000
BBB,2024-01-04,55,55,44,44,1000
CSV
cat >"$T/more.csv" <<'CSV'
symbol,date,open,high,low,close,volume
BBB,2024-01-03,54,56,53,55,1000
CCC,2024-01-02,5,6,4,5,10
CCC,2024-01-03,5,6,4,5.5,10
CCC,2024-01-04,5.5,6,4,4,10
CSV
# The reference: the same files in a local store.
"$BIN" import --store "$T/local" "$T/bars.csv" "$T/more.csv" >/dev/null 2>&1
"$BIN" screen --store "$T/local" --min-bars 1 --from first --all --format csv >"$T/local.csv" 2>&1

# ---- the fake S3 in C: signatures verified, conditional writes enforced ----
FAKE_KEY_ID=AKIDE2EFAKEEXAMPLE
FAKE_SECRET='e2eFake/Secret+Key/0123456789abcdefEXAMPLE'
export FAKE_SECRET
start_server FAKE "$FAKE" --bucket e2e-bucket --max-keys 2 --key-id "$FAKE_KEY_ID" \
    --secret-env FAKE_SECRET || exit 1
FAKE_URL=$URL
use_fake() {
    export AWS_ENDPOINT_URL_S3="$FAKE_URL" AWS_ACCESS_KEY_ID="$FAKE_KEY_ID" \
        AWS_SECRET_ACCESS_KEY="$FAKE_SECRET" AWS_REGION=us-east-1
}
use_fake
S=s3://e2e-bucket/cli
check "import into S3 (fake)" 0 "$BIN" import --store $S "$T/bars.csv"
contains "... reports what it did" "$T/out" "imported 6 new bars on 3 days from 1 file"
# the 3 day parts, and the results' latest.csv and top-candidate history, new here
equals "... each part written create-if-absent" "$(stat_of conditional_puts)" 5
equals "... every request signed right" "$(stat_of signature_mismatches)" 0
check "importing again" 0 "$BIN" import --store $S "$T/bars.csv"
contains "... finds everything stored (listed in pages of 2)" "$T/out" "0 new bars on 3 days from 1 file: 6 already stored"
# Two writers at once on overlapping bars (BBB 2024-01-03 in both).
"$BIN" import --store $S/race "$T/bars.csv" >"$T/w1" 2>&1 &
w1=$!
"$BIN" import --store $S/race "$T/more.csv" >"$T/w2" 2>&1
r2=$?
wait $w1
r1=$?
cat "$T/w1" "$T/w2" >>"$T/log/all"
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && ok "two concurrent imports both succeed" || nok "two concurrent imports both succeed" "$(cat "$T/w1" "$T/w2")"
check "screen the raced store" 0 "$BIN" screen --store $S/race --min-bars 1 --from first --all --format csv
same "... every bar once, as in a local store" "$T/out" "$T/local.csv"
# The results on S3: two demos at once write the same history with conditional writes.
"$BIN" demo --store $S/demo --symbols 20 --years 1 >"$T/d1" 2>&1 &
d1=$!
"$BIN" demo --store $S/demo --symbols 20 --years 1 >"$T/d2" 2>&1
r2=$?
wait $d1
r1=$?
cat "$T/d1" "$T/d2" >>"$T/log/all"
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && ok "two demos at once into S3 both succeed" || nok "two demos at once into S3 both succeed" "$(tail -n 5 "$T/d1" "$T/d2")"
"$BIN" demo --store "$T/demo-ref" --symbols 20 --years 1 >/dev/null 2>&1
for f in screen/latest.csv screen/2026/2026-11-20.csv top_candidates.csv closes.csv bars-1y.csv; do
    rm -f "$T/got"
    curl -sf -o "$T/got" "$("$BIN" presign "$S/demo/results/$f" 2>/dev/null)"
    same "results on S3: $f as in a local store" "$T/got" "$T/demo-ref/results/$f"
done
# The report on S3: its presigned link opens as a page (text/html), not as a download.
check "report on S3" 0 "$BIN" report --store $S/demo
contains "... prints a presigned link" "$T/out" "X-Amz-Signature="
rm -f "$T/got"
curl -sf -D "$T/hdr" -o "$T/got" "$(tail -n 1 "$T/out")"
if grep -qi '^content-type: text/html; charset=utf-8' "$T/hdr" && grep -q '^<!DOCTYPE html>' "$T/got"; then
    ok "... which serves the page as text/html"
else
    nok "... which serves the page as text/html" "$(cat "$T/hdr")" "$(head -c 200 "$T/got")"
fi
# The bot's /download on S3: links presigned for an hour that download the results as stored.
TELEGRAM_WEBHOOK_SECRET=s3-e2e-webhook-secret-0001 SCREENER_SSM=0 "$BIN" serve --port 0 --store $S/demo \
    >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
i=0
while ! grep -q "listening on http://127.0.0.1:[0-9]" "$T/serve.out" 2>/dev/null && [ $i -lt 200 ]; do
    i=$((i + 1))
    sleep 0.05
done
SERVE_PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$T/serve.out")
python3 - "$SERVE_PORT" "$T/demo-ref/results" >"$T/dl" 2>&1 <<'PY'
import html, json, re, sys, urllib.request
port, ref = sys.argv[1], sys.argv[2]
upd = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"},
                                   "date": 1, "text": "/download"}}
req = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", data=json.dumps(upd).encode(),
                             headers={"X-Telegram-Bot-Api-Secret-Token": "s3-e2e-webhook-secret-0001"})
text = json.load(urllib.request.urlopen(req, timeout=10))["text"]
links = [html.unescape(u) for u in re.findall(r'<a href="([^"]+)"', text)]
names = ["screen/latest.csv", "top_candidates.csv", "bars-1y.csv", "backtest/summary.csv",
         "backtest/equity.csv", "backtest/trades.csv"]
assert len(links) == len(names) and "valid for 1 hour" in text, text
for url, name in zip(links, names):
    assert "X-Amz-Expires=3600" in url and "X-Amz-Signature=" in url, url
    got = urllib.request.urlopen(url, timeout=10).read()
    assert got == open(f"{ref}/{name}", "rb").read(), name
# /report: a presigned link for an hour to latest.html, served as a page.
upd["update_id"], upd["message"]["text"] = 2, "/report"
req = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", data=json.dumps(upd).encode(),
                             headers={"X-Telegram-Bot-Api-Secret-Token": "s3-e2e-webhook-secret-0001"})
text = json.load(urllib.request.urlopen(req, timeout=10))["text"]
links = [html.unescape(u) for u in re.findall(r'<a href="([^"]+)"', text)]
assert len(links) == 1 and "valid for 1 hour" in text, text
assert "/results/report/latest.html?" in links[0] and "X-Amz-Expires=3600" in links[0], links[0]
resp = urllib.request.urlopen(links[0], timeout=10)
assert resp.headers["Content-Type"] == "text/html; charset=utf-8", resp.headers["Content-Type"]
assert resp.read().startswith(b"<!DOCTYPE html>")
print("ok")
PY
grep -qx ok "$T/dl" && ok "the bot's /download and /report on S3: presigned links to the results and the page" ||
    nok "the bot's /download on S3" "$(cat "$T/dl" "$T/serve.err" | tail -20)"
kill "$SERVE_PID" 2>/dev/null
wait "$SERVE_PID" 2>/dev/null
cat "$T/serve.err" >>"$T/log/all"
# Transient faults: two SlowDowns, then a reset; the import retries through them.
curl -s -X POST "$FAKE_URL/__fake/faults?spec=503@1x2,reset@3" >/dev/null
curl -s -X POST "$FAKE_URL/__fake/reset" >/dev/null
check "import through 503 SlowDown and a reset" 0 env SCREENER_LOG_LEVEL=debug "$BIN" import --store $S/faults "$T/bars.csv"
equals "... the faults were injected" "$(stat_of faults_injected)" 3
contains "... and the retries logged" "$T/err" "retrying"
curl -s -X POST "$FAKE_URL/__fake/faults?spec=" >/dev/null
# Refusals: a wrong secret, an unknown key id, a missing bucket, no credentials, a bad location.
check "a wrong secret is refused" 7 env SCREENER_LOG_LEVEL=debug AWS_SECRET_ACCESS_KEY=wrong/Secret/Key/EXAMPLE "$BIN" screen --store $S
contains "... with S3's reason" "$T/err" "HTTP 403 SignatureDoesNotMatch"
check "an unknown key id is refused" 7 env AWS_ACCESS_KEY_ID=AKIDNOBODY "$BIN" screen --store $S
contains "... with S3's reason" "$T/err" "HTTP 403 InvalidAccessKeyId"
check "a missing bucket" 7 "$BIN" screen --store s3://no-such-bucket/x
contains "... is named" "$T/err" "HTTP 404 NoSuchBucket"
check "no credentials at all" 7 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$BIN" screen --store $S
check "a malformed location" 2 "$BIN" screen --store s3://Bad_Bucket/x
# Presigned URLs: curl downloads without credentials; refused once the fake's clock has moved
# past the expiry.  Parts are named by their content, so a local store shows their keys.
"$BIN" import --store "$T/local1" "$T/bars.csv" >/dev/null 2>&1
PART=$(cd "$T/local1" && find bars -name 'part-*.csv' | sort | head -1)
check "presign a part" 0 "$BIN" presign --expires 600 "s3://e2e-bucket/cli/$PART"
PURL=$(cat "$T/out")
contains "... a URL with the credential scope, not the secret" "$T/out" "X-Amz-Credential=$FAKE_KEY_ID%2F"
check "curl downloads it without credentials" 0 curl -sf -o "$T/dl" "$PURL"
same "... the part as written" "$T/dl" "$T/local1/$PART"
curl -s -X POST "$FAKE_URL/__fake/advance?seconds=601" >/dev/null
check "after its expiry the URL is refused" 22 curl -sf -o /dev/null "$PURL"
curl -s -o "$T/expired" "$PURL"
contains "... as S3 refuses it" "$T/expired" "<Message>Request has expired</Message>"
check "a fresh URL works again" 0 sh -c "curl -sf \"\$($BIN presign s3://e2e-bucket/cli/$PART)\" >/dev/null"
check "presign without a key is a usage error" 2 "$BIN" presign s3://e2e-bucket
check "presign --expires 0 is a usage error" 2 "$BIN" presign --expires 0 s3://e2e-bucket/k
check "presign --expires 604801 is a usage error" 2 "$BIN" presign --expires 604801 s3://e2e-bucket/k
check "presign --expires 604800 (7 days) is fine" 0 "$BIN" presign --expires 604800 s3://e2e-bucket/k
contains "... and says so in the URL" "$T/out" "X-Amz-Expires=604800"
check "presign a bad bucket name is a usage error" 2 "$BIN" presign s3://Bad_Bucket/k
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
FAKE_PID=

# ---- s3rver and the official SDK ----
NODE_DIR=tests/node
S3RVER_SECRET='s3rver-e2e/Secret+Key/NOTCHECKED0123456789'
if ! command -v node >/dev/null 2>&1 || [ ! -d "$NODE_DIR/node_modules/s3rver" ] ||
    [ ! -d "$NODE_DIR/node_modules/@aws-sdk/client-s3" ]; then
    skip "s3rver and the AWS SDK checks: node or the npm packages are missing (scripts/deps.sh --node)"
else
    # s3rver accepts the key id S3RVER and verifies no signature, so the secret can be
    # anything: a distinctive one makes the search for it in the output below meaningful.
    start_server S3RVER env NODE_OPTIONS=--openssl-legacy-provider node "$NODE_DIR/s3rver.mjs" test-bucket || exit 1
    export AWS_ENDPOINT_URL_S3="$URL" AWS_ACCESS_KEY_ID=S3RVER \
        AWS_SECRET_ACCESS_KEY="$S3RVER_SECRET" AWS_REGION=us-east-1
    sdk() { node "$NODE_DIR/s3-sdk.mjs" "$@"; }
    R=s3://test-bucket/demo
    check "demo into S3 (s3rver)" 0 "$BIN" demo --store $R --symbols 20 --years 1
    contains "... prints the drawdown table" "$T/out" "Worst 180-day drawdowns on 2026-11-20"
    check "demo into a local store" 0 "$BIN" demo --store "$T/demo-local" --symbols 20 --years 1
    check "screen the S3 store" 0 "$BIN" screen --store $R --from first --all --format csv
    cp "$T/out" "$T/demo-s3.csv"
    check "screen the local store" 0 "$BIN" screen --store "$T/demo-local" --from first --all --format csv
    same "... the same result from both" "$T/demo-s3.csv" "$T/out"
    check "demo again" 0 "$BIN" demo --store $R --symbols 20 --years 1
    contains "... finds everything stored" "$T/out" "0 new bars"
    # More keys than one list page (1,000): one symbol on 1,100 weekdays.
    python3 -c "
import datetime
d = datetime.date(2020, 1, 1)
print('symbol,date,open,high,low,close,volume')
i = 0
while i < 1100:
    if d.weekday() < 5:
        print('PAG,%s,10,11,9,10,%d' % (d, 100 + i))
        i += 1
    d += datetime.timedelta(days=1)" >"$T/pages.csv"
    check "import 1,100 days (1,100 parts)" 0 "$BIN" import --store s3://test-bucket/pages "$T/pages.csv"
    contains "... all new" "$T/out" "imported 1100 new bars on 1100 days"
    check "screen every day: the listing spans two pages" 0 "$BIN" screen --store s3://test-bucket/pages --min-bars 1 --from first --to last --all --format csv
    equals "... 1,100 rows" "$(grep -c '^20[0-9-]*,1,PAG,' "$T/out")" 1100
    check "import them again" 0 "$BIN" import --store s3://test-bucket/pages "$T/pages.csv"
    contains "... nothing new" "$T/out" "imported 0 new bars on 1100 days from 1 file: 1100 already stored"
    # The SDK reads what the project wrote ...
    check "the SDK lists the project's parts" 0 sdk list test-bucket demo/bars/
    equals "... one per trading day" "$(grep -c '^demo/bars/20[0-9][0-9]/20[0-9-]*/part-[0-9a-f]*\.csv$' "$T/out")" "$(cd "$T/demo-local" && find bars -name 'part-*.csv' | wc -l | tr -d ' ')"
    KEY=$(sort "$T/out" | tail -1)
    check "the SDK reads a part the project wrote" 0 sdk get test-bucket "$KEY"
    same "... byte for byte" "$T/out" "$T/demo-local/${KEY#demo/}"
    # ... and the project reads what the SDK wrote.
    printf 'symbol,date,open,high,low,close,volume,vwap,trades\nSDKA,2030-01-02,10,11,9,10.5,100,,\nSDKB,2030-01-02,20,21,19,19,200,,\n' >"$T/sdk-part.csv"
    # Named as the project names parts: by the SHA-256 of the content (readers check it).
    SDK_PART="part-$(sha256sum "$T/sdk-part.csv" | cut -c1-16).csv"
    check "the SDK writes a part" 0 sdk put test-bucket "sdk/bars/2030/2030-01-02/$SDK_PART" "$T/sdk-part.csv"
    check "screener screens it" 0 "$BIN" screen --store s3://test-bucket/sdk --min-bars 1 --format csv
    contains "... the SDK's bars" "$T/out" "2030-01-02,1,SDKB,19.0000,21.0000,2030-01-02"
    # Presigned GET through curl, and its expiry (2 s: the signing second may be nearly over).
    check "presign a part on s3rver" 0 "$BIN" presign "s3://test-bucket/$KEY"
    check "curl downloads it" 0 curl -sf -o "$T/dl2" "$(cat "$T/out")"
    same "... the part" "$T/dl2" "$T/demo-local/${KEY#demo/}"
    check "presign for 2 seconds" 0 "$BIN" presign --expires 2 "s3://test-bucket/$KEY"
    SHORT=$(cat "$T/out")
    check "... works at once" 0 curl -sf -o /dev/null "$SHORT"
    sleep 3
    check "... and not 3 seconds later" 22 curl -sf -o /dev/null "$SHORT"
    curl -s -o "$T/expired2" "$SHORT"
    contains "... Request has expired" "$T/expired2" "Request has expired"
    # The SDK against the fake S3 in C: the official signer passes its verification, and its
    # conditional writes meet S3's answers.
    export FAKE_SECRET
    start_server FAKE "$FAKE" --bucket sdk-bucket --key-id "$FAKE_KEY_ID" --secret-env FAKE_SECRET || exit 1
    FAKE_URL=$URL
    use_fake
    printf 'first' >"$T/v1"
    printf 'second' >"$T/v2"
    check "SDK put to the fake (its signature verified)" 0 sdk put sdk-bucket c/k "$T/v1"
    ETAG=$(cat "$T/out")
    check "SDK If-None-Match on an existing key" 3 sdk put sdk-bucket c/k "$T/v2" if-none-match
    contains "... 412 PreconditionFailed" "$T/err" "error PreconditionFailed 412"
    check "SDK If-Match with the current ETag" 0 sdk put sdk-bucket c/k "$T/v2" "if-match=$ETAG"
    check "SDK If-Match with a stale ETag" 3 sdk put sdk-bucket c/k "$T/v1" "if-match=$ETAG"
    contains "... 412 PreconditionFailed" "$T/err" "error PreconditionFailed 412"
    check "SDK If-Match on a missing key" 3 sdk put sdk-bucket c/none "$T/v1" "if-match=$ETAG"
    contains "... 404 NoSuchKey" "$T/err" "error NoSuchKey 404"
    check "SDK with a wrong secret" 3 env AWS_SECRET_ACCESS_KEY=wrong/Secret/Key/EXAMPLE node "$NODE_DIR/s3-sdk.mjs" get sdk-bucket c/k
    contains "... SignatureDoesNotMatch" "$T/err" "error SignatureDoesNotMatch 403"
    equals "the fake saw exactly one bad signature" "$(stat_of signature_mismatches)" 1
    check "the project reads the SDK's object from the fake" 0 "$BIN" presign s3://sdk-bucket/c/k
    check "... through curl" 0 curl -sf -o "$T/dl3" "$(cat "$T/out")"
    same "... the SDK's last write" "$T/dl3" "$T/v2"
fi

# ---- no secret in anything the tests printed or logged ----
cat "$T"/*.out "$T"/*.err "$T"/w1 "$T"/w2 >>"$T/log/all" 2>/dev/null
if grep -qF -e "$FAKE_SECRET" -e "$S3RVER_SECRET" -e "wrong/Secret/Key" "$T/log/all"; then
    nok "no secret key in any output" "$(grep -F -e "$FAKE_SECRET" -e "$S3RVER_SECRET" -e "wrong/Secret/Key" "$T/log/all" | head -3)"
else
    ok "no secret key in any output ($(wc -l <"$T/log/all" | tr -d ' ') lines searched)"
fi

echo "# $n checks"
