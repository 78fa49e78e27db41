#!/bin/sh
# package.sh - the Lambda deployment package (make lambda: build/lambda/screener.zip) runs
# where no library but glibc exists: the zip is unpacked into a minimal
# root holding only glibc's own files and /bin/sh, and its bootstrap is started there with
# chroot, with an empty LD_LIBRARY_PATH, against the fake Runtime API (build/fake-lambda) on
# 127.0.0.1 and the Alpaca simulator: a 1,000-symbol daily update, a scheduled event, a
# handler error, the bot's webhook with the right and a wrong secret, an init error.
# Measures and prints (# lines) the zip size, the cold start, the bot's warm invocation time
# and the collector's peak RSS.  Needs root for chroot; skips, saying why, without it.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
ZIP=$B/lambda/screener.zip
BIN=$B/screener
SIM=$B/alpaca-sim
FAKE=$B/fake-lambda
if [ ! -f "$ZIP" ]; then
    echo "# skipped: $ZIP is not built (make lambda; not built by the sanitizer run)"
    exit 0
fi
for x in "$BIN" "$SIM" "$FAKE"; do
    [ -x "$x" ] || { echo "not ok 1 - $x is not built"; exit 1; }
done
for tool in unzip chroot unshare mount ldd python3 curl; do
    command -v $tool >/dev/null 2>&1 || { echo "not ok 1 - $tool is not installed"; exit 1; }
done
CHROOT=$(command -v chroot)
UNSHARE=$(command -v unshare)
MOUNT=$(command -v mount)
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-package.XXXXXX")
SIM_PID=
FAKE_PID=
cleanup() {
    for p in $FAKE_PID $SIM_PID; do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { # DESCRIPTION PYTHON-CONDITION [DETAIL]: the condition holds
    if python3 -c "import json, sys; sys.exit(0 if ($2) else 1)" 2>/dev/null; then ok "$1"; else nok "$1" "${3:-}"; fi
}

# glibc's own libraries, which the runtime provides and the package must not carry.
GLIBC_RE='^(ld-linux[-a-z0-9_]*\.so|libc\.so|libm\.so|libmvec\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libutil\.so|libanl\.so|libnsl\.so|libBrokenLocale\.so|libthread_db\.so|libc_malloc_debug\.so|libnss_[a-z0-9]*\.so)'

# ---- the zip ----
mkdir -p "$T/unzipped"
if unzip -q "$ZIP" -d "$T/unzipped" 2>"$T/err"; then ok "the zip unpacks"; else nok "unzip failed" "$(cat "$T/err")"; fi
modes=$(unzip -Z "$ZIP" | awk '$NF == "bootstrap" || $NF == "screener" { print $1 }' | sort -u)
[ "$modes" = "-rwxr-xr-x" ] && ok "bootstrap and screener are executable inside the zip (0755)" || nok "modes in the zip: $modes"
layout=$(cd "$T/unzipped" && find . ! -name . ! -name DejaVuSans.LICENSE | LC_ALL=C sort | tr '\n' ' ')
[ "$layout" = "./bootstrap ./fonts ./fonts/DejaVuSans.ttf ./screener " ] &&
    ok "the zip holds bootstrap and screener at its root and the charts' font, nothing else" || nok "unexpected layout" "$(unzip -l "$ZIP" | head)"
if file_out=$(readelf -S "$T/unzipped/screener" 2>&1) && ! echo "$file_out" | grep -q '\.symtab'; then
    ok "the packaged binary is stripped"
else
    nok "the packaged binary has a symbol table"
fi
zip_bytes=$(stat -c %s "$ZIP")
unpacked_kb=$(du -sk "$T/unzipped" | cut -f1)
echo "# zip size: $zip_bytes bytes ($((zip_bytes / 1024)) KiB; unpacked $unpacked_kb KiB, Lambda's limit 250 MB)"

# ---- a minimal root: glibc's files, /bin/sh, the package in /var/task, nothing else ----
R=$T/root
mkdir -p "$R/var/task" "$R/bin" "$R/tmp"
cp -a "$T/unzipped/." "$R/var/task/"
# What the packaged binary (and the shell) load from outside the package, as ldd resolves it
# here: copied to the same paths.  It must all be glibc.
LD_LIBRARY_PATH='' ldd "$R/var/task/screener" /bin/sh >"$T/ldd" 2>&1
outside=$(grep -o '/[^ ]*' "$T/ldd" | grep -v "^$R/var/task/" | grep -v ':$' | sort -u)
not_glibc=""
for f in $outside; do
    base=$(basename "$f")
    echo "$base" | grep -Eq "$GLIBC_RE" || not_glibc="$not_glibc $base"
    mkdir -p "$R$(dirname "$f")"
    cp -L "$f" "$R$f"
done
[ -z "$not_glibc" ] && ok "outside the package the binary needs only glibc: $(for f in $outside; do basename "$f"; done | sort -u | tr '\n' ' ')" ||
    nok "outside the package the binary needs:$not_glibc"
cp -L /bin/sh "$R/bin/sh"
mkdir -p "$R/proc"
# in_root CMD...: run CMD in the root, in a mount namespace of its own with /proc mounted, as
# Lambda has it; the mount goes away with the namespace.
in_root() {
    "$UNSHARE" --mount --propagation private /bin/sh -c \
        '"$1" -t proc proc "$2/proc" && shift 2 && exec "$@"' sh "$MOUNT" "$R" "$CHROOT" "$R" "$@"
}
if ! in_root /bin/sh -c : 2>"$T/err"; then
    echo "# skipped: chroot with a /proc mount is not permitted here ($(cat "$T/err")); the package was not run"
    exit 0
fi
others=$(cd "$R" && find . -name 'lib*.so*' | xargs -n1 basename | grep -Ev "$GLIBC_RE")
[ -z "$others" ] && [ ! -e "$R/etc" ] &&
    ok "the root has no shared library but glibc's, and no /etc (no ld.so.cache)" ||
    nok "other libraries in the root: $others"

# In the root, the loader maps glibc's libraries from /lib and nothing else.
ld=$(grep -o '/lib64/ld-linux[^ ]*' "$T/ldd" | head -1)
env -i LD_LIBRARY_PATH= "$CHROOT" "$R" "$ld" --list /var/task/screener >"$T/list" 2>&1
python3 - "$T/list" "$GLIBC_RE" >"$T/err" 2>&1 <<'PY'
import re, sys
listing, glibc = open(sys.argv[1]).read(), re.compile(sys.argv[2])
seen = {}
for line in listing.splitlines():
    m = re.match(r'\s*(\S+) => (\S+)', line)
    if m:
        seen[m.group(1)] = m.group(2)
bad = [f'{k} => {v}' for k, v in seen.items() if not glibc.match(k) or not v.startswith('/lib/')]
if bad or not seen or 'not found' in listing:
    print('bad:', bad, listing)
    sys.exit(1)
PY
[ $? -eq 0 ] && ok "in the root, ld.so --list maps only glibc's libraries, from /lib: $(grep -o '^\s*[a-z][^ ]*\.so[.0-9]*' "$T/list" | tr -d '\t ' | tr '\n' ' ')" ||
    nok "ld.so --list in the root" "$(cat "$T/err")"

# A control: the ordinary build (linked against the shared libraries) cannot start in this
# root, so the root really hides the system's libraries.
cp "$BIN" "$R/var/task/plain"
env -i LD_LIBRARY_PATH= "$CHROOT" "$R" /var/task/plain --version >"$T/out" 2>&1
rc=$?
rm -f "$R/var/task/plain"
[ $rc -ne 0 ] && grep -q "error while loading shared libraries" "$T/out" &&
    ok "control: build/screener, linked dynamically, fails there ($(grep -o 'lib[a-z0-9_.-]*\.so[.0-9]*' "$T/out" | head -1) not found)" ||
    nok "control: build/screener ran in the root (rc $rc): the root does not isolate" "$(cat "$T/out")"

# start OUTFILE CMD...: start a server printing "listening on 127.0.0.1:PORT"; sets PID, PORT
start() {
    out=$1
    shift
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
stat() { # EXPR: a Python expression over s (the fake's stats) and r (the bodies, parsed)
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
push() { curl -s -X POST --data-binary @"$1" "$FAKE_URL/__fake/events" >/dev/null; }
now_us() { echo $(($(date +%s%N) / 1000)); }
# boot VAR=VALUE... [-- ARG...]: the packaged bootstrap in the root with only these variables
# (and an empty LD_LIBRARY_PATH); its peak RSS in KiB goes to $T/rss.
boot() {
    vars=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        vars="$vars $1"
        shift
    done
    [ $# -gt 0 ] && shift
    # shellcheck disable=SC2086
    python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)' "$T/rss" env -i LD_LIBRARY_PATH= PATH=/bin AWS_LAMBDA_RUNTIME_API="$API" \
        LAMBDA_TASK_ROOT=/var/task $vars "$UNSHARE" --mount --propagation private /bin/sh -c \
        '"$1" -t proc proc "$2/proc" && shift 2 && exec "$@"' sh "$MOUNT" "$R" \
        "$CHROOT" "$R" /var/task/bootstrap "$@"
}

# ---- the collector: a daily update of 1,000 symbols ----
start "$T/sim.out" "$SIM" --port 0 --symbols 1000 --years 1 --seed 7 --last-day "$(date -u +%F)" || exit 1
SIM_PID=$PID
SIM_URL=http://127.0.0.1:$PORT
export APCA_API_KEY_ID=SIMKEY APCA_API_SECRET_KEY=SIMSECRET APCA_API_DATA_URL=$SIM_URL
# Portfolio tracking after each collection would ask the trading host, which is not the
# simulator here: off (tests/e2e/portfolio.sh covers it); no test may reach the real API.
export SCREENER_PORTFOLIO=0
SCREENER_UNIVERSE_URL="$SIM_URL/iwb_holdings.csv" APCA_API_BASE_URL="$SIM_URL" \
    "$BIN" universe fetch --store "$R/store" >/dev/null 2>"$T/err" || nok "universe fetch" "$(cat "$T/err")"
# The day the collector will fetch (the last final trading day), from a one-symbol run; then
# 60 days of history up to the trading day before it, as earlier daily runs would have left.
first=$(grep -v '^#' "$R/store/universe/symbols.txt" | head -1)
"$BIN" collect --store "$T/probe" --history-days 10 --log-format json --log-level info "$first" 2>"$T/err" >/dev/null
END=$(sed -n 's/.*"message":"collection finished".*"end":"\([0-9-]*\)".*/\1/p' "$T/err")
"$BIN" collect --store "$R/store" --end "$(date -u -d "$END - 1 day" +%F)" --history-days 60 --no-progress \
    >/dev/null 2>"$T/err" || nok "backfill failed" "$(tail -c 600 "$T/err")"
[ -n "$END" ] && ok "a store of 1,000 symbols with 60 days of history up to the day before $END" || nok "no end date" "$(cat "$T/err")"
curl -s -X POST "$SIM_URL/__sim/reset" >/dev/null

fake_start
echo '{"action":"collect"}' >"$T/collect.json"
push "$T/collect.json"
boot _HANDLER=collector SCREENER_STORE=/store SCREENER_SSM=0 SCREENER_PORTFOLIO=0 \
    APCA_API_KEY_ID=SIMKEY APCA_API_SECRET_KEY=SIMSECRET APCA_API_DATA_URL="$SIM_URL" -- --max-invocations 1 >"$T/rt.out" 2>"$T/rt.err"
rc=$?
collect_rss=$(cat "$T/rss")
[ $rc -eq 0 ] && ok "the packaged collector serves an invocation in the root (exit 0)" || nok "collector exit $rc" "$(tail -c 800 "$T/rt.err")"
check "... a daily update: 1,000 symbols, 1,000 new bars, ending on $END" \
    "$(stat "s['invocations'][0]['outcome'] == 'response' and r[0].get('ok') is True and r[0].get('symbols') == 1000 and r[0].get('bars_new') == 1000 and r[0].get('end') == '$END'")" "$(stat "s['invocations'][0]['body']")"
sim_bars=$(curl -s "$SIM_URL/__sim/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print(s.get('bar_requests', s.get('requests')))")
echo "# collector peak RSS: $((collect_rss / 1024)) MiB ($collect_rss KiB; 1,000-symbol daily update and its screen, one invocation, $sim_bars requests to the API)"
[ "$collect_rss" -lt $((128 * 1024)) ] && ok "... in less than 128 MB ($((collect_rss / 1024)) MiB)" || nok "collector peak RSS $collect_rss KiB"

# ---- the same bootstrap, warm: a scheduled event, a handler error, then still serving ----
fake_start
push events/scheduled.json
echo '{"action":"screen"}' >"$T/bad.json"
push "$T/bad.json"
push "$T/collect.json"
boot _HANDLER=collector SCREENER_STORE=/store SCREENER_SSM=0 SCREENER_PORTFOLIO=0 \
    APCA_API_KEY_ID=SIMKEY APCA_API_SECRET_KEY=SIMSECRET APCA_API_DATA_URL="$SIM_URL" -- --max-invocations 3 >"$T/rt.out" 2>"$T/rt.err"
rc=$?
[ $rc -eq 0 ] && ok "one process serves three collector invocations (exit 0)" || nok "collector exit $rc" "$(tail -c 800 "$T/rt.err")"
check "a scheduled event (events/scheduled.json): a response, everything already stored" \
    "$(stat "s['invocations'][0]['outcome'] == 'response' and r[0].get('ok') is True and r[0].get('bars_new') == 0 and r[0].get('bars_received') == 3000 and r[0].get('bars_revised') == 0")" "$(stat "s['invocations'][0]['body']")"
check "an unknown action: posted to the error endpoint as Function.InvalidEvent" \
    "$(stat "s['invocations'][1]['outcome'] == 'error' and s['invocations'][1]['error_type'] == 'Function.InvalidEvent' and r[1].get('errorType') == 'Function.InvalidEvent'")" "$(stat "s['invocations'][1]")"
check "... and the process goes on: the next event gets a response" \
    "$(stat "s['invocations'][2]['outcome'] == 'response' and r[2].get('ok') is True and s['next_requests'] == 3")"
check "EMF metrics (StocksPerSecond) on stdout" "'StocksPerSecond' in open('$T/rt.out').read()"

# ---- the bot: Telegram's webhook, right and wrong secret; warm invocation time ----
python3 - "$T" <<'PY'
import json, sys
rest = json.load(open('events/telegram-rest.json'))
rest['headers']['X-Telegram-Bot-Api-Secret-Token'] = 'guess'
json.dump(rest, open(sys.argv[1] + '/tg-wrong.json', 'w'))
PY
fake_start
WARM=20
push events/telegram-rest.json
push "$T/tg-wrong.json"
push events/telegram-http.json
i=0
while [ $i -lt $WARM ]; do
    push events/telegram-rest.json
    i=$((i + 1))
done
boot _HANDLER=bot SCREENER_STORE=/store SCREENER_SSM=0 TELEGRAM_WEBHOOK_SECRET=local-dev-webhook-secret-0001 \
    -- --max-invocations $((WARM + 3)) >"$T/rt.out" 2>"$T/rt.err"
rc=$?
[ $rc -eq 0 ] && ok "the packaged bot serves $((WARM + 3)) webhook invocations (exit 0)" || nok "bot exit $rc" "$(tail -c 800 "$T/rt.err")"
check "the right secret (REST API event): 200, /screen answered inline with sendMessage" \
    "$(stat "r[0]['statusCode'] == 200 and json.loads(r[0]['body'])['method'] == 'sendMessage' and 'Worst 180-day drawdowns' in json.loads(r[0]['body'])['text']")" "$(stat "r[0]")"
check "a wrong secret: 401 in the proxy response, no reply" "$(stat "r[1]['statusCode'] == 401 and 'sendMessage' not in r[1]['body']")" "$(stat "r[1]")"
check "an HTTP API event (payload 2.0): 200, /drops answered" \
    "$(stat "r[2]['statusCode'] == 200 and 'Worst one-day drops' in json.loads(r[2]['body'])['text']")" "$(stat "r[2]")"
if grep -q 'local-dev-webhook-secret-0001' "$T/rt.err" "$T/rt.out"; then nok "the secret appears in the logs"; else ok "the secret never appears in the logs"; fi

# ---- /chart in the package: drawn with the packaged font (the root has no other) and
# uploaded with sendPhoto to a fake Telegram ----
TG_TOKEN=123456789:AAchart-Token_for_the_package
start "$T/tg.out" "$B/fake-telegram" --token "$TG_TOKEN" --record "$T/tg-calls.jsonl" || exit 1
TG_PID=$PID
TG_PORT=$PORT
python3 - "$T" "$first" <<'PY'
import json, sys
ev = json.load(open('events/telegram-rest.json'))
body = json.loads(ev['body'])
body['message']['text'] = '/chart ' + sys.argv[2]
ev['body'] = json.dumps(body)
json.dump(ev, open(sys.argv[1] + '/tg-chart.json', 'w'))
PY
fake_start
push "$T/tg-chart.json"
boot _HANDLER=bot SCREENER_STORE=/store SCREENER_SSM=0 TELEGRAM_WEBHOOK_SECRET=local-dev-webhook-secret-0001 \
    TELEGRAM_BOT_TOKEN="$TG_TOKEN" TELEGRAM_API_URL="http://127.0.0.1:$TG_PORT" -- --max-invocations 1 \
    >"$T/rt-chart.out" 2>"$T/rt-chart.err"
kill "$TG_PID" 2>/dev/null
wait "$TG_PID" 2>/dev/null
if python3 - "$T/tg-calls.jsonl" "$first" >"$T/chart.txt" 2>&1 <<'PY'
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
photos = [c for c in calls if c["method"] == "sendPhoto"]
assert len(photos) == 1, calls
c, p = photos[0], photos[0]["params"]
assert c["status"] == 200, c
assert p["photo"]["content_type"] == "image/png" and p["photo"]["size"] > 10000, p["photo"]
assert p["photo"]["file_name"] == sys.argv[2] + ".png", p["photo"]
assert p["caption"].startswith("<b>" + sys.argv[2] + "</b> "), p["caption"]
print(f"{p['photo']['size']} bytes")
PY
then
    ok "/chart in the package: a PNG of $(cat "$T/chart.txt") uploaded with sendPhoto (fonts from the package)"
else
    nok "/chart in the package" "$(cat "$T/chart.txt")" "$(tail -c 600 "$T/rt-chart.err")"
fi
warm=$(python3 - "$T/rt.err" <<'PY'
import json, sys
ms = [json.loads(l)['duration_ms'] for l in open(sys.argv[1])
      if l.startswith('{') and json.loads(l).get('message') == 'invocation done']
warm = sorted(ms[3:])  # the first three are the cold one and the other kinds of event
print(f'{warm[len(warm) // 2]:.3f} {warm[-1]:.3f} {ms[0]:.3f} {len(warm)}' if warm else '')
PY
)
if [ -n "$warm" ]; then
    set -- $warm
    echo "# bot warm invocation (/screen through a REST API event, answered inline): median $1 ms, max $2 ms over $4 (first invocation: $3 ms)"
    ok "the bot's warm invocation time is measured"
else
    nok "no 'invocation done' lines" "$(tail -c 600 "$T/rt.err")"
fi

# ---- an init error: an unknown handler ----
fake_start
boot _HANDLER=screener.handler SCREENER_STORE=/store >"$T/rt.out" 2>"$T/rt.err"
rc=$?
[ $rc -eq 7 ] && ok "an unknown _HANDLER: the packaged runtime exits 7" || nok "unknown handler exit $rc, want 7" "$(tail -c 600 "$T/rt.err")"
check "... after posting /init/error (Runtime.HandlerNotFound), before any /next" \
    "$(stat "s['init_errors'] == 1 and s['next_requests'] == 0 and s['init_error_posts'][0]['error_type'] == 'Runtime.HandlerNotFound'")" "$(stat "s")"

# ---- cold start: process start to the first /next (the package as unpacked, started straight
# from its directory with an empty LD_LIBRARY_PATH: no chroot, unshare or mount to time).  For
# scale, the same for the packaged binary exec'd directly (a package whose bootstrap is the
# binary itself saves the shell). ----
times=""
direct=""
for trial in 1 2 3 4 5 6 7 8 9; do
    fake_start
    push "$T/bad.json"
    t0=$(now_us)
    env -i LD_LIBRARY_PATH= AWS_LAMBDA_RUNTIME_API="$API" _HANDLER=collector SCREENER_STORE="$R/store" \
        "$R/var/task/bootstrap" --max-invocations 1 >/dev/null 2>&1
    times="$times $((($(stat "s['first_next_unix_us']") - t0) / 100))"
    fake_start
    push "$T/bad.json"
    t0=$(now_us)
    env -i LD_LIBRARY_PATH= AWS_LAMBDA_RUNTIME_API="$API" _HANDLER=collector SCREENER_STORE="$R/store" \
        "$R/var/task/screener" lambda --max-invocations 1 >/dev/null 2>&1
    direct="$direct $((($(stat "s['first_next_unix_us']") - t0) / 100))"
done
median() { echo "$1" | tr ' ' '\n' | grep . | sort -n | sed -n 5p; }
tenths() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }
cold=$(median "$times")
cold_direct=$(median "$direct")
echo "# cold start of the packaged bootstrap: $(tenths "$cold") ms (median of 9, process start to the first /next: /bin/sh, then screener and glibc:$(for t in $times; do printf ' %s' "$(tenths "$t")"; done); the packaged binary exec'd directly: $(tenths "$cold_direct") ms)"
[ -n "$cold" ] && [ -n "$cold_direct" ] && ok "the cold start is measured" || nok "no cold start measured"

# ---- bootstrap's CA bundle: libcurl, built on Debian, looks for Debian's path; Amazon Linux has another ----
mkdir -p "$R/stub" "$R/etc/pki/tls/certs"
cp "$R/var/task/bootstrap" "$R/stub/bootstrap"
printf '#!/bin/sh\necho "SSL_CERT_FILE=${SSL_CERT_FILE:-} args=$*"\n' >"$R/stub/screener"
chmod 755 "$R/stub/screener"
: >"$R/etc/pki/tls/certs/ca-bundle.crt"
out=$(env -i /bin/sh -c 'exec "$@"' sh "$CHROOT" "$R" /stub/bootstrap)
[ "$out" = "SSL_CERT_FILE=/etc/pki/tls/certs/ca-bundle.crt args=lambda" ] &&
    ok "bootstrap points SSL_CERT_FILE at Amazon Linux's CA bundle when Debian's is absent" || nok "bootstrap said: $out"
out=$(env -i SSL_CERT_FILE=/mine.pem "$CHROOT" "$R" /stub/bootstrap --max-invocations 2)
[ "$out" = "SSL_CERT_FILE=/mine.pem args=lambda --max-invocations 2" ] &&
    ok "... keeps a SSL_CERT_FILE already set, and passes its arguments on" || nok "bootstrap said: $out"
exit 0
