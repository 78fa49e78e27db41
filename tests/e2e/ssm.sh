#!/bin/sh
# ssm.sh - the fake SSM Parameter Store (build/fake-ssm) checked against the official AWS SDK
# (tests/node/ssm-check.mjs: the wire format, and signatures made by the SDK), then the real
# binary reading its Alpaca keys from it: `screener collect` with no APCA_* variables, against
# the Alpaca simulator, and its failures (denied, missing, bad signature, SSM off).  Every
# output is searched for the secret values at the end.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
BIN=$B/screener
FAKE=$B/fake-ssm
SIM=$B/alpaca-sim
[ -x "$BIN" ] && [ -x "$FAKE" ] && [ -x "$SIM" ] || { echo "not ok 1 - $BIN, $FAKE or $SIM is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-ssm.XXXXXX")
FAKE_PID= SIM_PID=
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - # skip $1"; }
contains() { if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1" "no '$3' in:" "$(head -c 800 "$2")"; fi; }

# The secrets: Alpaca's keys (in SSM) and the AWS key the fake accepts.
KEY=PK-E2E-KEY-7781
SECRET=SK-E2E-SECRET-5512-qz
AWS_KEY=AKIDE2ESSMFAKE
AWS_SECRET=e2e/aws/secret+key/0093
SSM_KEY=/screener/alpaca/api_key
SSM_SECRET=/screener/alpaca/secret_key
n_out=0

# start NAME BINARY ARGS... : start a server, wait for its port; sets NAME_URL and NAME_PID
start() {
    name=$1 bin=$2
    shift 2
    n_out=$((n_out + 1))
    out="$T/$name.$n_out.out"
    "$bin" --port 0 "$@" >"$out" 2>"$T/$name.$n_out.err" &
    pid=$!
    i=0
    while ! grep -q "listening on 127.0.0.1:[0-9]" "$out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "# $name did not start: $(cat "$T/$name.$n_out.err")"; return 1; }
        sleep 0.05
    done
    eval "${name}_PID=$pid ${name}_URL=http://\$(sed -n 's/^listening on //p' \"\$out\")"
}
stop() { # NAME
    eval "pid=\$${1}_PID"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    eval "${1}_PID="
}
fake_start() {
    stop FAKE
    start FAKE "$FAKE" --key-id "$AWS_KEY" --secret "$AWS_SECRET" "$@"
}
fake_stat() { curl -s "$FAKE_URL/__sim/stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- the fake on its own ----
"$FAKE" --help >"$T/help.out" 2>&1 && ok "fake-ssm --help succeeds" || nok "fake-ssm --help fails"
contains "... and shows the usage" "$T/help.out" "usage: fake-ssm"
"$FAKE" --param novalue >/dev/null 2>"$T/bad.err"
[ $? -eq 2 ] && ok "a malformed --param is a usage error" || nok "a malformed --param is not a usage error"

fake_start --param "$SSM_KEY=$KEY:SecureString" --param "$SSM_SECRET=$SECRET:SecureString" \
    --param /screener/config/environment=e2e --param /screener/list=a,b,c:StringList \
    --deny /screener/denied --param /screener/denied=x || exit 1
code=$(curl -s -o "$T/unsigned.out" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: AmazonSSM.GetParameter' \
    --data "{\"Name\":\"$SSM_KEY\",\"WithDecryption\":true}" "$FAKE_URL/")
[ "$code" = 403 ] && ok "an unsigned request is refused with 403" || nok "unsigned request: HTTP $code"
contains "... MissingAuthenticationTokenException" "$T/unsigned.out" "MissingAuthenticationTokenException"

# ---- the official SDK against the fake ----
if ! command -v node >/dev/null 2>&1; then
    skip "node is not installed: the AWS SDK cross-check does not run"
elif [ ! -d tests/node/node_modules/@aws-sdk/client-ssm ]; then
    skip "@aws-sdk/client-ssm is not installed (scripts/deps.sh --node)"
else
    (cd tests/node && NODE_NO_WARNINGS=1 node ssm-check.mjs "$FAKE_URL" "$AWS_KEY" "$AWS_SECRET" \
        --deny /screener/denied "$SSM_KEY=$KEY:SecureString" "$SSM_SECRET=$SECRET:SecureString" \
        /screener/config/environment=e2e /screener/list=a,b,c:StringList /screener/denied=x) \
        >"$T/node.out" 2>"$T/node.err"
    rc=$?
    while IFS= read -r line; do
        case "$line" in
        "pass: "*) ok "SDK: ${line#pass: }" ;;
        "fail: "*) nok "SDK: ${line#fail: }" ;;
        esac
    done <"$T/node.out"
    [ $rc -eq 0 ] && [ -s "$T/node.out" ] && ok "the SDK checks all ran" || nok "the SDK checks exited $rc" "$(head -c 600 "$T/node.err")"
    [ "$(fake_stat 'd["auth_failures"]')" = 4 ] && ok "the fake counted the unsigned request and the SDK's 3 bad signatures" || nok "auth failures: $(fake_stat 'd["auth_failures"]')"

    fake_start --throttle 2 --param "$SSM_KEY=$KEY:SecureString" || exit 1
    (cd tests/node && NODE_NO_WARNINGS=1 node ssm-check.mjs "$FAKE_URL" "$AWS_KEY" "$AWS_SECRET" \
        --throttled 2 "$SSM_KEY=$KEY:SecureString") >"$T/node-throttle.out" 2>"$T/node-throttle.err"
    rc=$?
    [ $rc -eq 0 ] && ok "the SDK retries the fake's ThrottlingException and succeeds" || nok "SDK throttling check" "$(cat "$T/node-throttle.out" "$T/node-throttle.err" | head -c 600)"
    [ "$(fake_stat 'd["throttled"]')" = 2 ] && ok "... after 2 throttled calls" || nok "throttled: $(fake_stat 'd["throttled"]')"
fi

# ---- screener collect reads the Alpaca keys from SSM ----
# Portfolio tracking after each collection would ask the trading host, which is not the
# simulator here: off (tests/e2e/portfolio.sh covers it); no test may reach the real API.
export SCREENER_PORTFOLIO=0
start SIM "$SIM" --symbols 5 --years 1 --seed 3 --key-id "$KEY" --secret "$SECRET" || exit 1
curl -s "$SIM_URL/iwb_holdings.csv" >"$T/holdings.csv"

# collect NAME [VAR=VALUE...] : the collector with a clean AWS/Alpaca environment pointed at
# the fake; extra variables after the name.  Output in $T/NAME.out and .err, status in $rc.
collect() {
    name=$1
    shift
    env -u APCA_API_KEY_ID -u APCA_API_SECRET_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
        -u AWS_LAMBDA_FUNCTION_NAME -u SCREENER_SSM -u AWS_DEFAULT_REGION \
        APCA_API_DATA_URL="$SIM_URL" AWS_ENDPOINT_URL_SSM="$FAKE_URL" \
        AWS_ACCESS_KEY_ID="$AWS_KEY" AWS_SECRET_ACCESS_KEY="$AWS_SECRET" AWS_REGION=us-east-1 \
        AWS_SHARED_CREDENTIALS_FILE="$T/none" AWS_CONFIG_FILE="$T/none" \
        SCREENER_LOG_LEVEL=debug SCREENER_LOG_FORMAT=json "$@" \
        "$BIN" collect --store "$T/store-$name" --universe "$T/holdings.csv" --end 2026-11-20 \
        --history-days 30 --no-progress >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
}
status() { # DESCRIPTION NAME WANT
    if [ "$rc" -eq "$3" ]; then ok "$1"; else nok "$1" "exit $rc, want $3" "$(tail -c 800 "$T/$2.err")"; fi
}

fake_start --param "$SSM_KEY=$KEY:SecureString" --param "$SSM_SECRET=$SECRET:SecureString" || exit 1
collect ssm
status "collect with the Alpaca keys only in SSM succeeds" ssm 0
contains "... and collects" "$T/ssm.out" "Collected up to 2026-11-20: 5 symbols"
[ "$(fake_stat 'd["targets"]["AmazonSSM.GetParameters"]')" = 1 ] && ok "... asking SSM once" || nok "GetParameters calls: $(fake_stat 'd["targets"]["AmazonSSM.GetParameters"]')"
[ "$(fake_stat '",".join(d["calls"][0]["names"])')" = "$SSM_KEY,$SSM_SECRET,/screener/telegram/bot_token" ] && ok "... for both keys and the bot token (the daily push) in one batch, not the webhook secret" || nok "names asked: $(fake_stat 'd["calls"]')"
[ "$(fake_stat 'd["auth_failures"]')" = 0 ] && ok "... with a signature the fake accepts" || nok "the fake refused the signature"

curl -s -X POST "$FAKE_URL/__sim/reset" >/dev/null
collect env-secret APCA_API_SECRET_KEY="$SECRET"
status "a key in the environment wins; the other comes from SSM" env-secret 0
[ "$(fake_stat '",".join(d["calls"][0]["names"])')" = "$SSM_KEY,/screener/telegram/bot_token" ] && ok "... and only the missing ones are asked for" || nok "names asked: $(fake_stat 'd["calls"]')"

curl -s -X POST "$FAKE_URL/__sim/reset" >/dev/null
collect all-env APCA_API_KEY_ID="$KEY" APCA_API_SECRET_KEY="$SECRET" \
    TELEGRAM_BOT_TOKEN=123456:ABC-env-token TELEGRAM_WEBHOOK_SECRET=env-webhook-secret-000000001
status "with every secret in the environment" all-env 0
[ "$(fake_stat 'd["requests"]')" = 0 ] && ok "... SSM is not asked" || nok "SSM asked $(fake_stat 'd["requests"]') times"

collect off SCREENER_SSM=0
status "SSM switched off and no keys: exit 7" off 7
contains "... naming the variable and the parameter" "$T/off.err" "APCA_API_KEY_ID is not set (SSM parameter $SSM_KEY was not read"

collect badsig AWS_SECRET_ACCESS_KEY=wrong-aws-secret-key
status "a wrong AWS secret key: exit 7" badsig 7
contains "... the signature refused" "$T/badsig.err" "InvalidSignatureException"

fake_start --param "$SSM_KEY=$KEY:SecureString" --param "$SSM_SECRET=$SECRET:SecureString" --deny "$SSM_SECRET" || exit 1
collect denied
status "access to a parameter denied: exit 7" denied 7
contains "... naming the parameter" "$T/denied.err" "$SSM_SECRET"
contains "... and the error" "$T/denied.err" "AccessDeniedException"

fake_start --param "$SSM_KEY=$KEY:SecureString" || exit 1
collect missing
status "a key in neither place: exit 7" missing 7
contains "... naming the variable and the parameter" "$T/missing.err" "APCA_API_SECRET_KEY is not set and SSM parameter $SSM_SECRET does not exist"

fake_start --throttle 2 --fail500 1 --param "$SSM_KEY=$KEY:SecureString" --param "$SSM_SECRET=$SECRET:SecureString" || exit 1
collect retried
status "throttled twice and a 500: the collector still gets its keys" retried 0
[ "$(fake_stat 'd["targets"]["AmazonSSM.GetParameters"]')" = 4 ] && ok "... in 4 calls" || nok "calls: $(fake_stat 'd["targets"]')"

# ---- another environment's prefix, and roles that may read only their own names ----
P=/screener/prod
fake_start --param "$P/alpaca/api_key=$KEY:SecureString" --param "$P/alpaca/secret_key=$SECRET:SecureString" \
    --param "$P/telegram/bot_token=123456:ABC-prod-token:SecureString" \
    --param "$P/telegram/webhook_secret=prod-webhook-secret-0123456789abcdef:SecureString" \
    --param "$SSM_KEY=wrong-dev-key:SecureString" --deny "$P/telegram/webhook_secret" || exit 1
collect prefix SCREENER_SSM_PREFIX=$P
status "SCREENER_SSM_PREFIX=$P: the collector reads prod's keys, and never asks for the webhook secret its role may not read" prefix 0
[ "$(fake_stat '",".join(d["calls"][0]["names"])')" = "$P/alpaca/api_key,$P/alpaca/secret_key,$P/telegram/bot_token" ] && ok "... asking for exactly $P/alpaca/api_key, secret_key and telegram/bot_token" || nok "names asked: $(fake_stat 'd["calls"]')"
# The collector's Lambda handler (what the schedule runs), with the same role.
SCREENER_SSM=0 APCA_API_KEY_ID="$KEY" APCA_API_SECRET_KEY="$SECRET" SCREENER_UNIVERSE_URL="$SIM_URL/iwb_holdings.csv" \
    APCA_API_BASE_URL="$SIM_URL" "$BIN" universe fetch --store "$T/store-prefix" >"$T/universe.out" 2>"$T/universe.err" ||
    nok "universe fetch into the store" "$(cat "$T/universe.err")"
curl -s -X POST "$FAKE_URL/__sim/reset" >/dev/null
env -u APCA_API_KEY_ID -u APCA_API_SECRET_KEY -u TELEGRAM_BOT_TOKEN -u TELEGRAM_WEBHOOK_SECRET \
    -u AWS_SESSION_TOKEN -u AWS_PROFILE -u AWS_LAMBDA_FUNCTION_NAME -u AWS_DEFAULT_REGION \
    SCREENER_SSM=1 SCREENER_SSM_PREFIX=$P APCA_API_DATA_URL="$SIM_URL" AWS_ENDPOINT_URL_SSM="$FAKE_URL" \
    AWS_ACCESS_KEY_ID="$AWS_KEY" AWS_SECRET_ACCESS_KEY="$AWS_SECRET" AWS_REGION=us-east-1 \
    AWS_SHARED_CREDENTIALS_FILE="$T/none" AWS_CONFIG_FILE="$T/none" TELEGRAM_API_URL=http://127.0.0.1:9 \
    "$BIN" invoke --event events/collect.json --store "$T/store-prefix" >"$T/invoke-prefix.out" 2>"$T/invoke-prefix.err"
rc=$?
status "the collector's Lambda handler with that role: exit 0" invoke-prefix 0
[ "$(fake_stat '",".join(d["calls"][0]["names"])')" = "$P/alpaca/api_key,$P/alpaca/secret_key,$P/telegram/bot_token" ] && ok "... asking for the same three names, never the webhook secret" || nok "names asked: $(fake_stat 'd["calls"]')"
[ "$(fake_stat 'd["denied"]')" = 0 ] && ok "... and nothing SSM had to refuse" || nok "refused: $(fake_stat 'd')"
collect badprefix SCREENER_SSM_PREFIX=/screener/
status "a malformed SCREENER_SSM_PREFIX: exit 2" badprefix 2
contains "... naming the variable" "$T/badprefix.err" "SCREENER_SSM_PREFIX '/screener/' is not an SSM parameter path"

# The bot with a role that may read the Telegram parameters only (BotLiveAccount=false).
fake_start --param "$P/telegram/bot_token=123456:ABC-prod-token:SecureString" \
    --param "$P/telegram/webhook_secret=local-dev-webhook-secret-0001:SecureString" \
    --deny "$P/alpaca/api_key" --deny "$P/alpaca/secret_key" || exit 1
"$BIN" screen --store "$T/store-ssm" >/dev/null 2>&1
# bot NAME [VAR=VALUE...] : `screener invoke --handler bot` on the sample webhook event, SSM on.
bot() {
    name=$1
    shift
    env -u APCA_API_KEY_ID -u APCA_API_SECRET_KEY -u TELEGRAM_BOT_TOKEN -u TELEGRAM_WEBHOOK_SECRET \
        -u AWS_SESSION_TOKEN -u AWS_PROFILE -u AWS_LAMBDA_FUNCTION_NAME -u AWS_DEFAULT_REGION \
        SCREENER_SSM=1 SCREENER_PORTFOLIO=1 SCREENER_SSM_PREFIX=$P AWS_ENDPOINT_URL_SSM="$FAKE_URL" \
        AWS_ACCESS_KEY_ID="$AWS_KEY" AWS_SECRET_ACCESS_KEY="$AWS_SECRET" AWS_REGION=us-east-1 \
        AWS_SHARED_CREDENTIALS_FILE="$T/none" AWS_CONFIG_FILE="$T/none" TELEGRAM_API_URL=http://127.0.0.1:9 "$@" \
        "$BIN" invoke --event events/telegram-http.json --handler bot --store "$T/store-ssm" \
        >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
}
bot bot-live
[ $rc -ne 0 ] && grep -q "AccessDeniedException" "$T/bot-live.out" "$T/bot-live.err" &&
    ok "the bot asking for the Alpaca keys its role may not read fails (SSM refuses the whole call)" ||
    nok "bot with live keys: exit $rc" "$(tail -c 600 "$T/bot-live.out" "$T/bot-live.err")"
curl -s -X POST "$FAKE_URL/__sim/reset" >/dev/null
bot bot-stored SCREENER_LIVE_ACCOUNT=0
status "SCREENER_LIVE_ACCOUNT=0: the bot answers without the Alpaca keys" bot-stored 0
contains "... the webhook answered (/drops)" "$T/bot-stored.out" "Worst one-day drops"
[ "$(fake_stat '",".join(sorted(d["calls"][0]["names"]))')" = "$P/telegram/bot_token,$P/telegram/webhook_secret" ] && ok "... having asked SSM for the two Telegram parameters only" || nok "names asked: $(fake_stat 'd["calls"]')"

# ---- no secret anywhere in what was printed or logged ----
stop FAKE
stop SIM
leaks=""
for s in "$KEY" "$SECRET" "$AWS_SECRET"; do
    files=$(grep -lF -- "$s" "$T"/*.out "$T"/*.err 2>/dev/null)
    [ -n "$files" ] && leaks="$leaks $s in:$(echo $files)"
done
[ -z "$leaks" ] && ok "no secret value appears in any output or log" || nok "secrets leaked:$leaks"
grep -q '"level"' "$T/ssm.err" && ok "... which includes the collector's debug log" || nok "the collector wrote no log"
