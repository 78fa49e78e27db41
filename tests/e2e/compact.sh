#!/bin/sh
# compact.sh - `screener compact` end to end, on a directory and on the fake S3: the
# full-history screen is byte-identical before and after, verify is clean, reads fetch far
# fewer objects, a damaged compacted part is named, and a compactor racing an import of late
# bars into the months it compacts loses nothing (many trials, real processes).
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
BIN=$B/screener
FAKE=$B/fake-s3
[ -x "$BIN" ] && [ -x "$FAKE" ] || { echo "not ok 1 - $BIN or $FAKE is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-compact.XXXXXX")
FAKE_PID=
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() {
    desc=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$desc"; else nok "$desc" "exit $got, want $want" "$(head -c 600 "$T/err")"; fi
}
contains() { if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1" "no '$3' in:" "$(head -c 800 "$2")"; fi; }
same() { if cmp -s "$2" "$3"; then ok "$1"; else nok "$1" "$(diff "$3" "$2" | head -10)"; fi; }
equals() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi; }
export SCREENER_LOG_FORMAT=json SCREENER_PORTFOLIO=0
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION

# Two years of 40 symbols, in two files (so that days hold two parts), and late bars: a new
# symbol's March 2023 and a day of April 2023 it was missing from.
python3 - "$T" <<'PY'
import datetime, random, sys
t = sys.argv[1]
random.seed(7)
days = []
d = datetime.date(2023, 1, 2)
while d <= datetime.date(2024, 12, 31):
    if d.weekday() < 5:
        days.append(d)
    d += datetime.timedelta(days=1)
head = "symbol,date,open,high,low,close,volume\n"
def rows(sym, ds, p):
    out = []
    for d in ds:
        p = max(1.0, p * (1 + random.uniform(-0.04, 0.04)))
        o, c = round(p, 2), round(p * (1 + random.uniform(-0.02, 0.02)), 2)
        out.append(f"{sym},{d},{o},{round(max(o, c) * 1.01, 2)},{round(min(o, c) * 0.99, 2)},{c},{random.randint(1000, 90000)}\n")
    return out
for name, syms in (("a", range(0, 20)), ("b", range(20, 40))):
    with open(f"{t}/{name}.csv", "w") as f:
        f.write(head)
        for s in syms:
            f.writelines(rows(f"S{s:02d}", days, 20 + s))
late = [d for d in days if d.year == 2023 and d.month == 3] + [datetime.date(2023, 4, 12)]
with open(f"{t}/late.csv", "w") as f:
    f.write(head)
    f.writelines(rows("LATE", late, 50))
PY
LATE_BARS=$(($(wc -l <"$T/late.csv") - 1))

full() { "$BIN" screen --store "$1" --from first --to last --top 10 --format csv; }
count() { "$BIN" verify --store "$1" | sed -n 's/.*(\([0-9]*\) bars).*/\1/p'; }

# ---- a directory ----
L=$T/local
"$BIN" import --store "$L" "$T/a.csv" >/dev/null 2>&1 && "$BIN" import --store "$L" "$T/b.csv" >/dev/null 2>&1
cp -a "$L" "$T/base"
full "$L" >"$T/before.csv" 2>/dev/null
BARS=$(count "$L")
check "compact --help" 0 "$BIN" compact --help
contains "... says what it does" "$T/out" "Merge each closed month"
(cd "$L" && find bars -type f | sort) >"$T/keys0"
check "compact --dry-run" 0 "$BIN" compact --store "$L" --dry-run
contains "... tells what it would do" "$T/err" "would be bars/2023/2023-01/days-"
(cd "$L" && find bars -type f | sort) >"$T/keys1"
same "... and changes nothing" "$T/keys1" "$T/keys0"
check "compact --months 3" 0 "$BIN" compact --store "$L" --months 3
contains "... three months, the rest left for the next run" "$T/out" "compacted 3 months of $L:"
contains "... 21 left" "$T/out" "21 for the next run"
check "compact" 0 "$BIN" compact --store "$L"
contains "... a line per month on stderr" "$T/err" "compact: 2024-12: "
contains "... the summary" "$T/out" "compacted 21 months of $L:"
equals "every day partition is gone" "$(cd "$L" && find bars -type f -path '*-??-??/*' | wc -l)" 0
equals "one part per month" "$(cd "$L" && find bars -type f -path '*/days-*' | wc -l)" 24
full "$L" >"$T/after.csv" 2>/dev/null
same "the full-history screen is byte-identical after compaction" "$T/after.csv" "$T/before.csv"
check "verify after compaction" 0 "$BIN" verify --store "$L"
contains "... counts the compacted parts" "$T/out" "24 of the parts are compacted months"
equals "... and every bar" "$(count "$L")" "$BARS"
check "bars.py reads the compacted store" 0 python3 tests/e2e/bars.py count "$L"
equals "... every bar once" "$(cat "$T/out")" "$BARS"
check "compact again" 0 "$BIN" compact --store "$L"
contains "... has nothing to do" "$T/out" "compacted 0 months"
# late bars after compaction: read at once, merged by the next compaction
check "late bars into compacted months" 0 "$BIN" import --store "$L" "$T/late.csv"
check "verify with late parts" 0 "$BIN" verify --store "$L"
contains "... notes the months to merge" "$T/out" "2 compacted months also have other parts"
check "compact the late parts" 0 "$BIN" compact --store "$L"
contains "... two months" "$T/out" "compacted 2 months"
equals "... every bar" "$(count "$L")" "$((BARS + LATE_BARS))"
# a damaged compacted part
D=$T/damaged
cp -a "$T/local" "$D"
P=$(cd "$D" && find bars -path '*2023-06/days-*' -type f)
head -c 3000 "$D/$P" >"$T/trunc" && cp "$T/trunc" "$D/$P"
check "screen names a damaged compacted part" 3 "$BIN" screen --store "$D" --from first --to last
contains "... by its key" "$T/err" "$P is damaged"
check "verify reports it" 3 "$BIN" verify --store "$D"
contains "... by its key" "$T/out" "damaged: store '$D': part $P is damaged"
check "compact leaves its month alone" 0 "$BIN" compact --store "$D"

# ---- the fake S3 ----
"$FAKE" --port 0 --bucket e2e >"$T/s3.out" 2>"$T/s3.err" &
FAKE_PID=$!
i=0
until grep -q "listening on 127.0.0.1:[0-9]" "$T/s3.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.05
done
S3URL="http://$(sed -n 's/^listening on //p' "$T/s3.out")"
export AWS_ENDPOINT_URL_S3="$S3URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDFAKES3EXAMPLE
export AWS_SECRET_ACCESS_KEY='fakeS3/Secret+Key/EXAMPLE0123456789abcdef'
export AWS_SHARED_CREDENTIALS_FILE="$T/no-credentials" AWS_CONFIG_FILE="$T/no-config"
requests() { curl -sf "$S3URL/__fake/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['requests'])"; }
S=s3://e2e/store
"$BIN" import --store "$S" "$T/a.csv" >/dev/null 2>&1 && "$BIN" import --store "$S" "$T/b.csv" >/dev/null 2>&1
curl -sf -X POST "$S3URL/__fake/reset" >/dev/null
full "$S" >"$T/s3before.csv" 2>/dev/null
R0=$(requests)
same "the S3 store screens as the directory" "$T/s3before.csv" "$T/before.csv"
check "compact on S3" 0 "$BIN" compact --store "$S"
contains "... 24 months" "$T/out" "compacted 24 months of $S:"
curl -sf -X POST "$S3URL/__fake/reset" >/dev/null
full "$S" >"$T/s3after.csv" 2>/dev/null
R1=$(requests)
same "the full-history screen from S3 is byte-identical after compaction" "$T/s3after.csv" "$T/before.csv"
if [ "$R1" -lt 60 ] && [ "$R0" -gt $((R1 * 5)) ]; then ok "... in $R1 requests instead of $R0"; else nok "fewer requests after compaction" "before $R0, after $R1"; fi
check "verify on S3" 0 "$BIN" verify --store "$S"

# ---- a compactor and an import of late bars, racing ----
race() { # STORE TRIAL
    st=$1
    "$BIN" compact --store "$st" >"$T/c.out" 2>&1 &
    cp=$!
    "$BIN" import --store "$st" "$T/late.csv" >"$T/i.out" 2>&1 &
    ip=$!
    wait $cp; cs=$?
    wait $ip; is=$?
    "$BIN" compact --store "$st" >"$T/c2.out" 2>&1; c2=$?
    "$BIN" verify --store "$st" >"$T/v.out" 2>&1; vs=$?
    got=$(sed -n 's/.*(\([0-9]*\) bars).*/\1/p' "$T/v.out")
    if [ $cs -eq 0 ] && [ $is -eq 0 ] && [ $c2 -eq 0 ] && [ $vs -eq 0 ] && [ "$got" = "$((BARS + LATE_BARS))" ] &&
        ! grep -q "note:" "$T/v.out"; then
        return 0
    fi
    echo "#   trial $2: compact $cs, import $is, compact again $c2, verify $vs, $got bars (want $((BARS + LATE_BARS)))"
    head -c 600 "$T/c.out" "$T/i.out" "$T/v.out" | sed 's/^/#   /'
    return 1
}
bad=0
for trial in 1 2 3 4 5 6 7 8 9 10 11 12; do
    rm -rf "$T/race"
    cp -a "$T/base" "$T/race"
    race "$T/race" "$trial" || bad=$((bad + 1))
done
equals "12 races of a compactor and an importer on a directory lose nothing" "$bad" 0
bad=0
for trial in 1 2 3 4; do
    st=s3://e2e/race$trial
    "$BIN" import --store "$st" "$T/a.csv" >/dev/null 2>&1 && "$BIN" import --store "$st" "$T/b.csv" >/dev/null 2>&1
    race "$st" "$trial" || bad=$((bad + 1))
done
equals "4 races on the fake S3 lose nothing" "$bad" 0

# ---- a full-history screen while another process compacts the store ----
# The read meets parts retired under it (S3: a 404, listed again, as often as it takes) and a
# listing taken while months are compacted (a directory: each month in its days or in its
# compacted part, never in neither); it must give the screen of before, whole.
reader() { # STORE TRIAL
    full "$1" >"$T/r.csv" 2>"$T/r.err" &
    rp=$!
    "$BIN" compact --store "$1" >"$T/c.out" 2>&1; cs=$?
    wait $rp; rs=$?
    if [ $rs -eq 0 ] && [ $cs -eq 0 ] && cmp -s "$T/r.csv" "$T/before.csv"; then return 0; fi
    echo "#   trial $2: screen $rs, compact $cs, $(wc -l <"$T/r.csv") lines (want $(wc -l <"$T/before.csv"))"
    head -c 600 "$T/r.err" | sed 's/^/#   /'
    return 1
}
bad=0
for trial in 1 2 3 4 5 6 7 8; do
    rm -rf "$T/read"
    cp -a "$T/base" "$T/read"
    reader "$T/read" "$trial" || bad=$((bad + 1))
done
equals "8 full-history screens on a directory while it is compacted: each whole, exit 0" "$bad" 0
bad=0
for trial in 1 2 3; do
    st=s3://e2e/read$trial
    "$BIN" import --store "$st" "$T/a.csv" >/dev/null 2>&1 && "$BIN" import --store "$st" "$T/b.csv" >/dev/null 2>&1
    reader "$st" "$trial" || bad=$((bad + 1))
done
equals "3 full-history screens on the fake S3 while it is compacted: each whole, exit 0" "$bad" 0
echo "1..$n"
