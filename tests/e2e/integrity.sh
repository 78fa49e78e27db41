#!/bin/sh
# integrity.sh - the store's integrity with the real binary: damaged parts (truncated, edited,
# misnamed) refused or skipped and listed by `verify`; writers racing with different values
# for the same bars (real concurrent processes, many trials, on a directory, on the fake S3
# and on s3rver) leave a store that reads, with one winner every reader agrees on and the
# disagreement reported; temporary files of writers killed with -9 removed by the next
# writer; `import --rejects`; summaries that count only what was stored.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
BIN=$B/screener
FAKE=$B/fake-s3
SIM=$B/alpaca-sim
[ -x "$BIN" ] && [ -x "$FAKE" ] && [ -x "$SIM" ] || { echo "not ok 1 - $BIN, $FAKE or $SIM is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-integrity.XXXXXX")
FAKE_PID=
S3RVER_PID=
SIM_PID=
HOLD_PID=
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    [ -n "$S3RVER_PID" ] && kill "$S3RVER_PID" 2>/dev/null
    [ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - # skip $1"; }
check() {
    desc=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$desc"; else nok "$desc" "exit $got, want $want" "$(head -c 600 "$T/err")"; fi
}
contains() { if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1" "no '$3' in:" "$(head -c 800 "$2")"; fi; }
lacks() { if grep -qF -- "$3" "$2"; then nok "$1" "'$3' in:" "$(head -c 800 "$2")"; else ok "$1"; fi; }
same() { if cmp -s "$2" "$3"; then ok "$1"; else nok "$1" "$(diff "$3" "$2" | head -10)"; fi; }
equals() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }
start_server() {
    name=$1
    shift
    rm -f "$T/$name.out"
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
export SCREENER_LOG_FORMAT=json

# bars FILE DAYS SYMBOLS CLOSE_BUMP: a CSV of DAYS weekdays from 2024-01-01 for SYMBOLS
# symbols; CLOSE_BUMP changes every close of symbol S00 (another writer's values).
bars() {
    python3 - "$@" <<'PY'
import datetime, sys
path, days, syms, bump = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
d = datetime.date(2024, 1, 1)
with open(path, "w") as f:
    f.write("symbol,date,open,high,low,close,volume\n")
    k = 0
    while k < days:
        if d.weekday() < 5:
            for s in range(syms):
                p = 50 + s + k % 17
                close = f"{p + 1}.{bump}" if s == 0 else f"{p + 1}"
                f.write(f"S{s:02d},{d},{p},{p + 2},{p - 2},{close},{1000 + k}\n")
            k += 1
        d += datetime.timedelta(days=1)
PY
}

# ---- damaged parts ----
S=$T/store
bars "$T/small.csv" 60 5 0
"$BIN" import --store "$S" "$T/small.csv" >/dev/null 2>&1
check "verify: an intact store" 0 "$BIN" verify --store "$S"
contains "... counts what it checked" "$T/out" "verified $S: 60 bar parts on 60 days (300 bars), 0 split parts: 0 damaged, 0 disagreements"
check "fsck is verify" 0 "$BIN" fsck --store "$S" --quiet
check "verify --help" 0 "$BIN" verify --help
contains "... documents the exit codes" "$T/out" "3 damaged parts found, 4 no damaged part but"
"$BIN" screen --store "$S" --from first --all --min-bars 1 --format csv >"$T/before.csv" 2>/dev/null
P=$(find "$S/bars" -name 'part-*.csv' | sort | sed -n 30p)
KEY=${P#"$S/"}
cp "$P" "$T/part.orig"
head -n 3 "$T/part.orig" >"$P" # truncated at a row boundary: still parses
check "screen over a truncated part fails" 3 "$BIN" screen --store "$S" --from first --all --min-bars 1 --format csv
contains "... naming the part" "$T/err" "part $KEY is damaged: its content"
check "screen --skip-damaged reads past it" 0 "$BIN" screen --store "$S" --from first --all --min-bars 1 --format csv --skip-damaged
contains "... with a loud warning naming it" "$T/err" "WARNING: 1 damaged part was left out"
contains "... (the key)" "$T/err" "  $KEY"
equals "... and none of its bars" "$(grep -c "^$(basename "$(dirname "$P")")," "$T/out")" 0
check "verify finds it" 3 "$BIN" verify --store "$S"
contains "... and names it" "$T/out" "damaged: store '$S': part $KEY is damaged"
contains "... one damaged" "$T/out" "1 damaged, 0 disagreements"
# edited in place: the last digit of the first row's volume, same length
awk 'NR == 2 { c = substr($0, length($0)); $0 = substr($0, 1, length($0) - 1) (c == "1" ? "2" : "1") } { print }' "$T/part.orig" >"$P"
cmp -s "$P" "$T/part.orig" && nok "the part was edited"
check "screen over an edited part fails" 3 "$BIN" screen --store "$S" --date "$(basename "$(dirname "$P")")" --min-bars 1
cp "$T/part.orig" "$P"
check "restored, the store reads again" 0 "$BIN" screen --store "$S" --from first --all --min-bars 1 --format csv
same "... as before" "$T/out" "$T/before.csv"
head -n 2 "$T/part.orig" >"$P"
bars "$T/one.csv" 60 6 0
check "... (import exits 3)" 3 "$BIN" import --store "$S" "$T/one.csv"
contains "... naming the part" "$T/err" "$KEY is damaged"
cp "$T/part.orig" "$P"

# ---- a revision that changes a final bar outside its settle window ----
# revpart DAYDIR DIR CLOSE: a revision part of S01's bar of that day with another close, in
# DAYDIR/DIR, named by its content as the writer names parts; prints its key's file.
revpart() {
    python3 - "$@" <<'PY'
import hashlib, os, sys
daydir, sub, close = sys.argv[1:]
day = os.path.basename(daydir)
src = [f for f in os.listdir(daydir) if f.startswith("part-")][0]
rows = open(os.path.join(daydir, src)).read().splitlines()
row = [r for r in rows if r.startswith("S01,")][0].split(",")
row[5] = close
data = (rows[0] + "\n" + ",".join(row) + "\n").encode()
os.makedirs(os.path.join(daydir, sub), exist_ok=True)
path = os.path.join(daydir, sub, "part-" + hashlib.sha256(data).hexdigest()[:16] + ".csv")
open(path, "wb").write(data)
print(path)
PY
}
S2=$T/finalrev
bars "$T/fr.csv" 10 3 0
"$BIN" import --store "$S2" "$T/fr.csv" >/dev/null 2>&1
"$BIN" screen --store "$S2" --from first --all --min-bars 1 --format csv >"$T/fr-before.csv" 2>/dev/null
D3=$S2/bars/2024/2024-01-03
RP=$(revpart "$D3" rev-000001 99.5)
RKEY=${RP#"$S2/"}
check "verify: a revision of a final bar, fetched outside its settle window" 4 "$BIN" verify --store "$S2"
contains "... names the parts, symbol, date and field" "$T/out" "final revised: S01 2024-01-03 close: $RKEY changes the final bar of bars/2024/2024-01-03/part-"
contains "... and counts it" "$T/out" "0 damaged, 0 disagreements, 1 revision of final bars"
check "screen reads the store" 0 "$BIN" screen --store "$S2" --from first --all --min-bars 1 --format csv
same "... with the final bar, not the revision" "$T/out" "$T/fr-before.csv"
contains "... and warns naming the revision" "$T/err" "$RKEY"
contains "... and says so at the end" "$T/err" "1 revision of final bars outside their settle window was not used"
rm -f "$RP"
RP=$(revpart "$D3" rev-000001-window-2024-01-03 99.5)
check "a revision written in a settle window holding its date is no violation" 0 "$BIN" verify --store "$S2"
"$BIN" screen --store "$S2" --date 2024-01-03 --min-bars 1 --format csv >"$T/out" 2>/dev/null
contains "... and readers use it" "$T/out" "99.5"
rm -f "$RP"
RP=$(revpart "$D3" rev-000001-window-2024-01-04 99.5)
check "a window that began after the date is one" 4 "$BIN" verify --store "$S2"
rm -f "$RP"

# ---- import --rejects and counts ----
python3 - "$T/rows.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("symbol,date,open,high,low,close,volume\n")
    for i in range(79):
        f.write(f"G{i:02d},2024-03-01,10,11,9,10,100\n")
    for i in range(195):
        f.write(f"B{i:03d},2024-03-01,10,11,9,-{i + 1},100\n")
PY
check "import with --rejects" 0 "$BIN" import --store "$T/rj" --rejects "$T/rejects.csv" "$T/rows.csv"
contains "... summary" "$T/out" "imported 79 new bars on 1 days from 1 file: 0 already stored, 195 bad rows skipped"
equals "... every rejected row in the file" "$(($(wc -l <"$T/rejects.csv") - 1))" 195
equals "... with its line, symbol, date and reason" "$(sed -n 196p "$T/rejects.csv")" "$T/rows.csv,275,B194,2024-03-01,\"B194: field 'close': price must be positive, got -195\""
equals "... header" "$(head -n 1 "$T/rejects.csv")" "file,line,symbol,date,reason"
sed 's/^G05,2024-03-01,10,11,9,10,/G05,2024-03-01,10,11,9,10.5,/' "$T/rows.csv" >"$T/rows2.csv"
check "conflicts are rejects too" 4 "$BIN" import --store "$T/rj" --rejects "$T/rejects2.csv" "$T/rows2.csv"
contains "... the conflicting row, line and reason" "$T/rejects2.csv" "$T/rows2.csv,7,G05,2024-03-01,conflicts with the stored bar: field 'close' differs"
# A store that refuses a write: the summary counts only what was stored.
bars "$T/twoyears.csv" 300 4 0
mkdir -p "$T/ro/bars"
: >"$T/ro/bars/2025" # a file where the year's directory would go
check "a store that refuses part of an import" 1 "$BIN" import --store "$T/ro" "$T/twoyears.csv"
stored=$(find "$T/ro/bars" -name 'part-*.csv' -exec cat {} + | grep -c '^S')
contains "... says how many bars were really stored" "$T/out" "imported $stored new bars on"
lacks "... not the whole file" "$T/out" "imported 1200 new bars"

# ---- temporary files of killed writers ----
bars "$T/big.csv" 250 40 0
killed=0
for trial in 1 2 3 4 5 6 7 8; do
    "$BIN" import --store "$T/k" "$T/big.csv" >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((trial * 4))"
    kill -9 $pid 2>/dev/null && killed=$((killed + 1))
    wait $pid 2>/dev/null
done
left=$(find "$T/k" -name '.tmp.*' | wc -l | tr -d ' ')
echo "# kill -9: $killed of 8 imports killed, $left temporary files left"
# A writer killed before its file was linked, for certain (the kills above may all have
# landed between files).
DAYDIR=$(find "$T/k/bars" -mindepth 2 -maxdepth 2 -type d | sort | tail -n 1)
echo "symbol,date" >"$DAYDIR/.tmp.part-dead.csv.99999.1"
# They are stale once older than a minute: age them rather than wait.
find "$T/k" -name '.tmp.*' -exec touch -d '2 minutes ago' {} +
# A live writer's file, as old, held by its writer's lock, must survive.
LIVE=$(find "$T/k/bars" -mindepth 2 -maxdepth 2 -type d | sort | head -n 1)/.tmp.part-live.csv.1.1
echo partial >"$LIVE"
touch -d '2 minutes ago' "$LIVE"
flock "$LIVE" sleep 600 &
HOLD_PID=$!
i=0
while flock -n "$LIVE" true 2>/dev/null && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
check "the next writer completes the store" 0 "$BIN" import --store "$T/k" "$T/big.csv"
equals "... and removes every stale temporary file" "$(find "$T/k" -name '.tmp.*' ! -name '.tmp.part-live.csv.1.1' | wc -l | tr -d ' ')" 0
[ -f "$LIVE" ] && ok "... but not a live writer's" || nok "... but not a live writer's" "$LIVE is gone"
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=
check "the store is whole" 0 "$BIN" verify --store "$T/k"

# ---- racing writers ----
# race LABEL STORE TRIALS DAYS SYMBOLS: per trial, two imports at once of the same bars with
# different closes for S00; asserts, every time, that the store reads, that readers agree on
# one winner (the part first in name order), and that the disagreement was reported.
race() {
    label=$1 store=$2 trials=$3 days=$4 syms=$5
    bars "$T/ra.csv" "$days" "$syms" 25
    bars "$T/rb.csv" "$days" "$syms" 75
    bad="" full=0 reported=0
    t=0
    while [ $t -lt "$trials" ]; do
        t=$((t + 1))
        st="$store/t$t"
        "$BIN" import --store "$st" "$T/ra.csv" >"$T/wa" 2>&1 &
        pa=$!
        "$BIN" import --store "$st" "$T/rb.csv" >"$T/wb" 2>&1 &
        pb=$!
        wait $pa
        ra=$?
        wait $pb
        rb=$?
        case "$ra$rb" in 00 | 04 | 40 | 44) ;; *) bad="trial $t: writers exited $ra and $rb: $(tail -c 300 "$T/wa" "$T/wb")"; break ;; esac
        if ! "$BIN" screen --store "$st" --from first --all --min-bars 1 --format csv >"$T/s1" 2>"$T/e1"; then
            bad="trial $t: the store does not read: $(tail -c 300 "$T/e1")"
            break
        fi
        "$BIN" screen --store "$st" --from first --all --min-bars 1 --format csv >"$T/s2" 2>/dev/null
        cmp -s "$T/s1" "$T/s2" || { bad="trial $t: two readers differ"; break; }
        "$BIN" verify --store "$st" >"$T/v" 2>"$T/ve"
        rv=$?
        ndis=$(grep -c '^disagree: ' "$T/v")
        if [ $rv -ne 0 ] && [ $rv -ne 4 ]; then bad="trial $t: verify exited $rv: $(head -c 300 "$T/v" "$T/ve")"; break; fi
        if [ "$ndis" -gt 0 ] && [ $rv -ne 4 ]; then bad="trial $t: verify saw $ndis disagreements and exited $rv"; break; fi
        # Every disagreement is won by the part first in name order.
        if ! awk '/^disagree: / { if (!($6 < $8)) { print; exit 1 } }' "$T/v" >"$T/order"; then
            bad="trial $t: a part that sorts later won: $(cat "$T/order")"
            break
        fi
        [ "$ndis" -gt 0 ] && full=$((full + 1))
        # Each writer's values stand, or it said it lost (exit 4), or the other writer said
        # it kept its own against a differing part.
        for w in a b; do
            eval "rc=\$r$w"
            other=$([ $w = a ] && echo b || echo a)
            "$BIN" import --store "$st" "$T/r$w.csv" >/dev/null 2>&1
            again=$?
            if [ "$again" -ne 0 ] && [ "$rc" -ne 4 ] && ! grep -q "warning: another writer stored" "$T/w$other"; then
                bad="trial $t: writer $w exited $rc, its bars were beaten, and nobody said so"
                break 2
            fi
        done
        if [ "$ndis" -gt 0 ]; then
            if [ "$ra" -eq 4 ] || [ "$rb" -eq 4 ] || grep -q "warning: another writer stored" "$T/wa" "$T/wb"; then
                reported=$((reported + 1))
            else
                bad="trial $t: $ndis disagreements and no writer reported one"
                break
            fi
        fi
    done
    if [ -z "$bad" ]; then
        ok "$label: $trials trials of two writers racing: the store reads, one winner by part name, disagreements reported ($full trials with both writers' parts on a day)"
    else
        nok "$label: racing writers" "$bad"
    fi
}
race "local" "$T/race" 20 120 20

FAKE_KEY_ID=AKIDINTEGRITYFAKE
FAKE_SECRET='integrityFake/Secret+Key/0123456789abcdef'
export FAKE_SECRET
if start_server FAKE "$FAKE" --bucket integ --key-id "$FAKE_KEY_ID" --secret-env FAKE_SECRET; then
    export AWS_ENDPOINT_URL_S3="$URL" AWS_ACCESS_KEY_ID="$FAKE_KEY_ID" \
        AWS_SECRET_ACCESS_KEY="$FAKE_SECRET" AWS_REGION=us-east-1
    unset AWS_SESSION_TOKEN AWS_PROFILE
    export AWS_SHARED_CREDENTIALS_FILE="$T/none" AWS_CONFIG_FILE="$T/none"
    race "fake S3" "s3://integ/race" 8 40 10
    "$BIN" import --store s3://integ/whole "$T/small.csv" >/dev/null 2>&1
    check "verify an S3 store" 0 "$BIN" verify --store s3://integ/whole
    contains "... checks every part" "$T/out" "60 bar parts on 60 days (300 bars)"
    kill "$FAKE_PID" 2>/dev/null
    wait "$FAKE_PID" 2>/dev/null
    FAKE_PID=
else
    nok "the fake S3 starts"
fi

NODE_DIR=tests/node
if ! command -v node >/dev/null 2>&1 || [ ! -d "$NODE_DIR/node_modules/s3rver" ]; then
    skip "racing writers on s3rver: node or the npm packages are missing (scripts/deps.sh --node)"
else
    if start_server S3RVER env NODE_OPTIONS=--openssl-legacy-provider NODE_NO_WARNINGS=1 node "$NODE_DIR/s3rver.mjs" race-bucket; then
        export AWS_ENDPOINT_URL_S3="$URL" AWS_ACCESS_KEY_ID=S3RVER \
            AWS_SECRET_ACCESS_KEY='s3rver-integrity/NOTCHECKED' AWS_REGION=us-east-1
        race "s3rver" "s3://race-bucket/race" 6 30 10
    else
        nok "s3rver starts"
    fi
fi
# ---- Alpaca: the asset list refused, a 429 with only X-RateLimit-* headers ----
if start_server SIM "$SIM" --port 0 --symbols 12 --years 1 --seed 3 --page-size 200 \
    --rate-limit 100/1s --fault 429@1x3 --no-retry-after; then
    SIM_URL=$URL
    # A key the trading host refuses (a live key against the paper host answers so).
    SCREENER_UNIVERSE_URL="$SIM_URL/iwb_holdings.csv" APCA_API_BASE_URL="$SIM_URL" \
        APCA_API_KEY_ID=LIVEKEY APCA_API_SECRET_KEY=live-secret-not-for-paper SCREENER_SSM=0 \
        "$BIN" universe fetch --store "$T/u" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -eq 0 ] && ok "universe fetch with a key the trading host refuses still succeeds" || nok "universe fetch with a refused key" "exit $rc" "$(head -c 600 "$T/err")"
    contains "... warning that the built-in table maps the share classes" "$T/err" "asset list could not be read"
    contains "... and storing the universe" "$T/out" "Stored 12 symbols"
    lacks "... never printing the secret" "$T/err" "live-secret-not-for-paper"
    "$BIN" universe show --store "$T/u" 2>/dev/null | grep -v '^#' >"$T/universe.txt"
    APCA_API_DATA_URL="$SIM_URL" APCA_API_KEY_ID=SIMKEY APCA_API_SECRET_KEY=SIMSECRET \
        SCREENER_PORTFOLIO=0 SCREENER_SSM=0 "$BIN" collect --store "$T/c" --end 2026-11-20 \
        --history-days 300 --no-progress --concurrency 4 --universe "$T/universe.txt" \
        >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc -eq 0 ] && ok "a collection against 429s without Retry-After succeeds" || nok "collect against bare 429s" "exit $rc" "$(tail -c 600 "$T/err")"
    over=$(curl -s "$SIM_URL/__sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['status'].get('429', 0))")
    [ "$over" -eq 3 ] && ok "... after 3 answers 429 with X-RateLimit-Reset as the only hint" || nok "the simulator answered $over 429s, want 3"
    check "... and the store is whole" 0 "$BIN" verify --store "$T/c"
else
    nok "the Alpaca simulator starts"
fi
exit 0
