#!/bin/sh
# ops.sh - the operations scripts (scripts/put-ssm-params.sh, set-webhook.sh, tail-logs.sh,
# bucket-setup.sh): --help, a clear failure without the AWS CLI, and what each asks of AWS,
# recorded by a fake `aws` on PATH.  set-webhook.sh runs the real `screener bot setup`
# against the fake Telegram Bot API (build/fake-telegram).
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-ops.XXXXXX")
TG_PID=
trap '[ -n "$TG_PID" ] && kill $TG_PID 2>/dev/null; rm -rf "$T"' EXIT
# The interpreter itself, not a version manager's shim: the fake aws runs it dozens of times.
PYBIN=$(python3 -c 'import sys; print(sys.executable)')
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { # DESCRIPTION PYTHON-CONDITION [DETAIL]: the condition holds (calls: the fake's log)
    if "$PYBIN" -c "
import json, sys
calls = [json.loads(l) for l in open('$T/aws.log')] if __import__('os').path.exists('$T/aws.log') else []
sys.exit(0 if ($2) else 1)" 2>"$T/pyerr"; then ok "$1"; else nok "$1" "${3:-}" "$(cat "$T/pyerr")"; fi
}
SCRIPTS="put-ssm-params set-webhook tail-logs bucket-setup"

# ---- --help, and no AWS CLI ----
for s in $SCRIPTS; do
    if scripts/$s.sh --help >"$T/out" 2>&1 && grep -q "^usage: scripts/$s.sh" "$T/out"; then
        ok "$s.sh --help prints its usage"
    else
        nok "$s.sh --help" "$(cat "$T/out")"
    fi
done
# A PATH with everything the current one has except aws (a directory of links, since the
# AWS CLI may live in /usr/bin with everything else).
mkdir -p "$T/noaws"
for d in $(echo "$PATH" | tr ':' '\n' | sed '1!G;h;$!d'); do # last first: earlier ones win
    [ -d "$d" ] || continue
    find "$d" -maxdepth 1 \( -type f -o -type l \) ! -name aws -print0 2>/dev/null |
        xargs -0 -r ln -sf -t "$T/noaws" 2>/dev/null
done
export APCA_API_KEY_ID=PKTESTKEYID0001 APCA_API_SECRET_KEY=ops-test-alpaca-secret-0001
export TELEGRAM_BOT_TOKEN=123456789:ops-test-token_0001 TELEGRAM_WEBHOOK_SECRET=ops-test-webhook-secret-0001
for s in $SCRIPTS; do
    arg=
    [ $s = bucket-setup ] && arg=screener-test-bucket
    PATH=$T/noaws scripts/$s.sh $arg >"$T/out" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q "the AWS CLI ('aws') is not installed or not on PATH" "$T/out"; then
        ok "$s.sh without aws on PATH: exit 1, saying the AWS CLI is missing"
    else
        nok "$s.sh without aws: exit $rc" "$(cat "$T/out")"
    fi
done

# ---- a fake aws: records each call (and the content of file:// arguments), answers from
# FAKE_AWS_OUTPUTS / FAKE_AWS_PARAMS ----
mkdir -p "$T/bin"
printf '#!%s\n' "$PYBIN" >"$T/bin/aws"
cat >>"$T/bin/aws" <<'PY'
import json, os, sys
args = sys.argv[1:]
files = {a: open(a[7:]).read() for a in args if a.startswith("file://")}
with open(os.environ["FAKE_AWS_LOG"], "a") as f:
    f.write(json.dumps({"args": args, "files": files}) + "\n")
if args == ["--version"]:
    print(os.environ.get("FAKE_AWS_VERSION", "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64"))
    sys.exit(0)
a = args[2:] if args[:1] == ["--region"] else args
def opt(name):
    return a[a.index(name) + 1] if name in a else None
if a[:2] == ["cloudformation", "describe-stacks"]:
    outputs = json.loads(os.environ.get("FAKE_AWS_OUTPUTS", "{}"))
    if opt("--stack-name") not in outputs:
        print(f"An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id {opt('--stack-name')} does not exist", file=sys.stderr)
        sys.exit(254)
    q = opt("--query")
    if "ParameterKey=='" in q:
        key = q.split("ParameterKey=='")[1].split("'")[0]
        params = json.loads(os.environ.get("FAKE_AWS_STACK_PARAMS", "{}"))
        print(params.get(opt("--stack-name"), {}).get(key, ""))
    else:
        key = q.split("OutputKey=='")[1].split("'")[0]
        print(outputs[opt("--stack-name")].get(key, "None"))
elif a[:2] == ["ssm", "get-parameter"]:
    print(json.loads(os.environ.get("FAKE_AWS_PARAMS", "{}"))[opt("--name")])
elif a[:2] == ["ssm", "put-parameter"]:
    print('{"Version": 1, "Tier": "Standard"}')
elif a[:2] == ["logs", "tail"]:
    print("2026-11-20T21:30:01 {\"level\":\"info\",\"message\":\"collection finished\"}")
elif a[:2] == ["logs", "filter-log-events"]:
    print("1795000000000\t{\"level\":\"info\",\"message\":\"collection finished\"}")
elif a[:1] == ["s3api"]:
    print("{}")
else:
    print("fake aws: unexpected " + " ".join(args), file=sys.stderr)
    sys.exit(2)
PY
chmod 755 "$T/bin/aws"
export FAKE_AWS_LOG="$T/aws.log"
FAKE=$T/bin:$PATH

# ---- put-ssm-params.sh ----
rm -f "$T/aws.log"
PATH=$FAKE scripts/put-ssm-params.sh --region eu-west-1 --environment prod </dev/null >"$T/out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "put-ssm-params.sh with the values in the environment: exit 0" || nok "put-ssm-params.sh exit $rc" "$(cat "$T/out")"
check "... the five parameters of docs/configuration.md, in the region asked, overwritten" \
    "sorted(c['args'][c['args'].index('--name') + 1] for c in calls) == ['/screener/alpaca/api_key', '/screener/alpaca/secret_key', '/screener/config/environment', '/screener/telegram/bot_token', '/screener/telegram/webhook_secret'] and all(c['args'][:4] == ['--region', 'eu-west-1', 'ssm', 'put-parameter'] and '--overwrite' in c['args'] for c in calls)" "$(cat "$T/aws.log" 2>/dev/null)"
check "... the four secrets as SecureString, the environment as String" \
    "all(c['args'][c['args'].index('--type') + 1] == ('String' if c['args'][c['args'].index('--name') + 1] == '/screener/config/environment' else 'SecureString') for c in calls)"
check "... each value exactly, with no newline, from a file" \
    "[list(c['files'].values()) for c in calls] == [['PKTESTKEYID0001'], ['ops-test-alpaca-secret-0001'], ['123456789:ops-test-token_0001'], ['ops-test-webhook-secret-0001'], ['prod']]"
check "... and never on aws's command line" \
    "not any(v in ' '.join(c['args']) for c in calls for v in ('ops-test-alpaca-secret', 'ops-test-token', 'ops-test-webhook-secret', 'PKTESTKEYID'))"
if grep -q "ops-test-" "$T/out"; then nok "put-ssm-params.sh printed a secret"; else ok "... nor printed"; fi
rm -f "$T/aws.log"
env -u TELEGRAM_WEBHOOK_SECRET PATH="$FAKE" scripts/put-ssm-params.sh </dev/null >"$T/out" 2>&1
check "without TELEGRAM_WEBHOOK_SECRET a random 64-hex-digit secret is stored (Telegram's alphabet)" \
    "[__import__('re').fullmatch('[0-9a-f]{64}', list(c['files'].values())[0]) is not None for c in calls if '/screener/telegram/webhook_secret' in c['args']] == [True]"
rm -f "$T/aws.log"
env -u APCA_API_SECRET_KEY PATH="$FAKE" scripts/put-ssm-params.sh </dev/null >"$T/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "APCA_API_SECRET_KEY is not set" "$T/out" && [ ! -s "$T/aws.log" ] &&
    ok "a missing value without a terminal: exit 1 naming it, before storing anything" || nok "missing value: exit $rc" "$(cat "$T/out")"
rm -f "$T/aws.log"
PATH=$FAKE scripts/put-ssm-params.sh --prefix /screener/prod --environment prod </dev/null >"$T/out" 2>&1
check "--prefix /screener/prod: the five parameters under the stack's own prefix" \
    "sorted(c['args'][c['args'].index('--name') + 1] for c in calls) == ['/screener/prod/alpaca/api_key', '/screener/prod/alpaca/secret_key', '/screener/prod/config/environment', '/screener/prod/telegram/bot_token', '/screener/prod/telegram/webhook_secret']" "$(cat "$T/out")"
rm -f "$T/aws.log"
PATH=$FAKE scripts/put-ssm-params.sh --prefix /screener/ </dev/null >"$T/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "prefix must look like" "$T/out" && [ ! -s "$T/aws.log" ] &&
    ok "a malformed --prefix is refused before storing anything" || nok "bad prefix: exit $rc" "$(cat "$T/out")"
TELEGRAM_BOT_TOKEN=not-a-token PATH=$FAKE scripts/put-ssm-params.sh </dev/null >"$T/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "does not look like a bot token" "$T/out" && ! grep -q "not-a-token" "$T/out" &&
    ok "a malformed bot token is refused without echoing it" || nok "bad token: exit $rc" "$(cat "$T/out")"

# ---- set-webhook.sh: the real `screener bot setup` against the fake Telegram ----
URL=https://abc123.execute-api.us-east-1.amazonaws.com/dev/webhook
export FAKE_AWS_OUTPUTS="{\"screener-dev\": {\"WebhookUrl\": \"$URL\", \"CollectorFunctionName\": \"screener-dev-collector\", \"BotFunctionName\": \"screener-dev-bot\"}}"
export FAKE_AWS_PARAMS='{"/screener/telegram/bot_token": "123456789:ssm-token_0002", "/screener/telegram/webhook_secret": "ssm-webhook-secret-000000002"}'
if [ -x "$B/fake-telegram" ] && [ -x "$B/screener" ]; then
    "$B/fake-telegram" --token 123456789:ssm-token_0002 --port 0 >"$T/tg.out" 2>"$T/tg.err" &
    TG_PID=$!
    i=0
    while ! grep -q "listening on 127.0.0.1:[0-9]" "$T/tg.out" 2>/dev/null && [ $i -lt 200 ]; do
        i=$((i + 1))
        sleep 0.05
    done
    TG_URL=http://$(sed -n 's/^listening on //p' "$T/tg.out")
    rm -f "$T/aws.log"
    # The environment's token and secret (set above) must not be used: the bot reads SSM's.
    PATH=$FAKE TELEGRAM_API_URL=$TG_URL SCREENER_STORE=$T/store scripts/set-webhook.sh \
        --screener "$B/screener" >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 0 ] && ok "set-webhook.sh: exit 0" || nok "set-webhook.sh exit $rc" "$(cat "$T/out")"
    check "... reads the stack's WebhookUrl output, then the token and secret from SSM (decrypted)" \
        "[c['args'][:2] for c in calls] == [['cloudformation', 'describe-stacks']] * 2 + [['ssm', 'get-parameter']] * 2 and 'screener-dev' in calls[0]['args'] and all('--with-decryption' in c['args'] for c in calls[2:])" "$(cat "$T/aws.log")"
    check "... under /screener when the stack has no SsmPrefix parameter" \
        "[c['args'][c['args'].index('--name') + 1] for c in calls[2:]] == ['/screener/telegram/bot_token', '/screener/telegram/webhook_secret']"
    curl -s "$TG_URL/_calls" >"$T/tg.json"
    if python3 -c "
import json, sys
hook = [c for c in json.load(open('$T/tg.json'))['result'] if c['method'] == 'setWebhook']
p = hook[0]['params'] if hook else {}
sys.exit(0 if hook and hook[0]['status'] == 200 and p.get('url') == '$URL' and p.get('secret_token') == 'ssm-webhook-secret-000000002' else 1)"; then
        ok "... and Telegram gets setWebhook with the stack's URL and SSM's secret"
    else
        nok "setWebhook not as expected" "$(head -c 1500 "$T/tg.json")"
    fi
    if grep -q "ssm-webhook-secret\|ssm-token" "$T/out"; then nok "set-webhook.sh printed a secret"; else ok "... printing no secret"; fi
    rm -f "$T/aws.log"
    FAKE_AWS_STACK_PARAMS='{"screener-dev": {"SsmPrefix": "/screener/prod"}}' \
        FAKE_AWS_PARAMS='{"/screener/prod/telegram/bot_token": "123456789:ssm-token_0002", "/screener/prod/telegram/webhook_secret": "ssm-webhook-secret-0003"}' \
        PATH=$FAKE TELEGRAM_API_URL=$TG_URL SCREENER_STORE=$T/store scripts/set-webhook.sh \
        --screener "$B/screener" >"$T/out" 2>&1
    rc=$?
    check "set-webhook.sh reads the secrets under the stack's SsmPrefix parameter (exit $rc)" \
        "[c['args'][c['args'].index('--name') + 1] for c in calls[2:]] == ['/screener/prod/telegram/bot_token', '/screener/prod/telegram/webhook_secret']" "$(cat "$T/out")"
    kill $TG_PID 2>/dev/null
    TG_PID=
else
    echo "# skipped: set-webhook.sh against the fake Telegram ($B/fake-telegram or $B/screener not built)"
fi
PATH=$FAKE scripts/set-webhook.sh --stack nope --screener /bin/true >"$T/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "cannot read the stack 'nope'" "$T/out" && ok "set-webhook.sh on a stack that does not exist: exit 1 saying so" ||
    nok "set-webhook.sh --stack nope: exit $rc" "$(cat "$T/out")"

# ---- tail-logs.sh ----
rm -f "$T/aws.log"
PATH=$FAKE scripts/tail-logs.sh --since 2d >"$T/out" 2>&1
rc=$?
check "tail-logs.sh (AWS CLI v2): aws logs tail of the collector's log group, named by the stack" \
    "$rc == 0 and calls[-1]['args'] == ['logs', 'tail', '/aws/lambda/screener-dev-collector', '--since', '2d', '--format', 'short']" "$(cat "$T/aws.log" "$T/out")"
grep -q "collection finished" "$T/out" && ok "... printing the log lines" || nok "no log lines" "$(cat "$T/out")"
rm -f "$T/aws.log"
PATH=$FAKE scripts/tail-logs.sh bot --follow >"$T/out" 2>&1
check "tail-logs.sh bot --follow: the bot's log group, followed" \
    "calls[-1]['args'][:3] == ['logs', 'tail', '/aws/lambda/screener-dev-bot'] and '--follow' in calls[-1]['args']" "$(cat "$T/aws.log")"
rm -f "$T/aws.log"
FAKE_AWS_VERSION="aws-cli/1.45.11 Python/3.11.7 Linux/6.1 botocore/1.43.11" PATH=$FAKE scripts/tail-logs.sh --since 10m >"$T/out" 2>&1
check "tail-logs.sh with AWS CLI v1: filter-log-events from 10 minutes ago" \
    "calls[-1]['args'][:4] == ['logs', 'filter-log-events', '--log-group-name', '/aws/lambda/screener-dev-collector'] and abs(int(calls[-1]['args'][calls[-1]['args'].index('--start-time') + 1]) / 1000 - (__import__('time').time() - 600)) < 60" "$(cat "$T/aws.log")"
grep -q "collection finished" "$T/out" && ok "... printing the messages" || nok "no messages (v1)" "$(cat "$T/out")"
PATH=$FAKE scripts/tail-logs.sh --since yesterday >"$T/out" 2>&1
[ $? -eq 2 ] && grep -q "takes a number and s, m, h or d" "$T/out" && ok "tail-logs.sh --since yesterday: a usage error" || nok "bad --since" "$(cat "$T/out")"

# ---- bucket-setup.sh and lifecycle.json ----
rm -f "$T/aws.log"
PATH=$FAKE scripts/bucket-setup.sh screener-test-bucket --region eu-west-1 --create >"$T/out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "bucket-setup.sh --create: exit 0" || nok "bucket-setup.sh exit $rc" "$(cat "$T/out")"
check "... creates the bucket in its region, then versioning, lifecycle, public access block, ownership, encryption, TLS-only policy" \
    "[c['args'][3] for c in calls] == ['create-bucket', 'put-public-access-block', 'put-bucket-ownership-controls', 'put-bucket-encryption', 'put-bucket-versioning', 'put-bucket-lifecycle-configuration', 'put-bucket-policy'] and all(c['args'][:2] == ['--region', 'eu-west-1'] and 'screener-test-bucket' in c['args'] for c in calls) and 'LocationConstraint=eu-west-1' in calls[0]['args']" "$(cat "$T/aws.log")"
check "... versioning Enabled, every public access setting blocked, HTTPS only" \
    "'Status=Enabled' in calls[4]['args'] and all(k + '=true' in calls[1]['args'][-1] for k in ('BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets')) and 'aws:SecureTransport' in list(calls[6]['files'].values())[0]"
check "... the lifecycle configuration is scripts/lifecycle.json" \
    "json.loads(list(calls[5]['files'].values())[0]) == json.load(open('scripts/lifecycle.json'))"
PY=
for p in python3 /usr/bin/python3; do "$p" -c 'import yaml' 2>/dev/null && PY=$p && break; done
if [ -n "$PY" ] && "$PY" - <<'PY'; then
import json, sys, yaml
class L(yaml.SafeLoader): pass
L.add_multi_constructor("!", lambda l, s, n: None)
t = yaml.load(open("template.yaml"), Loader=L)
rules = t["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
mine = json.load(open("scripts/lifecycle.json"))["Rules"]
def norm(r):
    r = {k: v for k, v in r.items() if k not in ("Id", "ID", "Filter", "Status")}
    return json.dumps(r, sort_keys=True)
sys.exit(0 if sorted(map(norm, rules)) == sorted(map(norm, mine))
         and all(r["Status"] == "Enabled" for r in mine) else 1)
PY
    ok "lifecycle.json has the template's lifecycle rules"
else
    nok "lifecycle.json and template.yaml's lifecycle rules differ (or no PyYAML)"
fi
PATH=$FAKE scripts/bucket-setup.sh Bad.Bucket >"$T/out" 2>&1
[ $? -eq 2 ] && grep -q "not a bucket name" "$T/out" && ok "bucket-setup.sh Bad.Bucket: a usage error naming the rule" || nok "bad bucket" "$(cat "$T/out")"
exit 0
