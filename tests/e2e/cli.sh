#!/bin/sh
# cli.sh - end-to-end tests of the real binary: import, screen, demo, errors and exit codes.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
BIN=${BUILD:-build}/screener
[ -x "$BIN" ] || { echo "not ok 1 - $BIN is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
# check DESCRIPTION WANT_STATUS COMMAND... : runs the command, output in $T/out and $T/err
check() {
    desc=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$desc"; else nok "$desc" "exit $got, want $want" "$(head -c 600 "$T/err")"; fi
}
contains() { # DESCRIPTION FILE TEXT
    if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1" "no '$3' in:" "$(head -c 800 "$2")"; fi
}
lacks() { # DESCRIPTION FILE TEXT
    if grep -qF -- "$3" "$2"; then nok "$1" "'$3' in:" "$(head -c 800 "$2")"; else ok "$1"; fi
}
same() { # DESCRIPTION FILE WANT_FILE
    if cmp -s "$2" "$3"; then ok "$1"; else nok "$1" "$(diff "$3" "$2" | head -20)"; fi
}

S="$T/store"

# ---- help and usage ----
check "--help succeeds" 0 "$BIN" --help
contains "--help lists the commands" "$T/out" "screen"
for c in demo import screen; do
    check "$c --help succeeds" 0 "$BIN" "$c" --help
    contains "$c --help shows usage" "$T/out" "usage: screener $c"
done
# Every command's --help: printed as text (no printf escapes left in it), and its option list
# is one block from "Options:" to "-h, --help", each line an option or its continuation.
for c in demo collect universe import screen backtest verify fsck compact report chart portfolio \
    account monitor serve poll bot presign invoke lambda; do
    "$BIN" "$c" --help >"$T/help" 2>&1
    if grep -q '%%' "$T/help"; then
        nok "$c --help has no printf escape left" "$(grep '%%' "$T/help")"
    elif awk '/^Options:/ { f = 1; next } f && /-h, --help/ { f = 0 } f && !/^ / { bad = 1 } END { exit !(bad || f) }' "$T/help"; then
        nok "$c --help: options in one block" "$(sed -n '/^Options:/,/--help/p' "$T/help")"
    else
        ok "$c --help is text, its options one block"
    fi
done
check "unknown command is a usage error" 2 "$BIN" frobnicate
check "bad --top is a usage error" 2 "$BIN" screen --store "$S" --top lots
contains "bad --top names the flag" "$T/err" "--top: expected a whole number"
check "bad --date is a usage error" 2 "$BIN" screen --store "$S" --date 2024-13-01
check "--min-bars over the window is a usage error" 2 "$BIN" screen --store "$S" --window 1
contains "... saying what to give instead" "$T/err" "--min-bars 30 is more than the window of 1 day: give --min-bars 1 or less, or a longer --window"
check "... in days, plural" 2 "$BIN" screen --store "$S" --window 20 --min-bars 21
contains "... saying so" "$T/err" "--min-bars 21 is more than the window of 20 days: give --min-bars 20 or less, or a longer --window"
check "import without files is a usage error" 2 "$BIN" import --store "$S"
# An empty --store (an unset variable) is not the default store (./data, or S3_BUCKET_NAME's).
printf 'symbol,date,open,high,low,close,volume\nEMP,2024-01-02,1,1,1,1,1\n' >"$T/empty-store.csv"
check "an empty --store is a usage error" 2 sh -c 'cd "$1" && S3_BUCKET_NAME= exec "$2" import --store "" empty-store.csv' sh "$T" "$(cd "$(dirname "$BIN")" && pwd)/screener"
contains "... naming the option" "$T/err" "--store: expected a directory"
[ ! -e "$T/data" ] && ok "... and nothing is written to ./data" || nok "... and nothing is written to ./data" "$(find "$T/data" | head -5)"

# ---- an empty store ----
mkdir -p "$S"
check "screening an empty store says there is nothing" 5 "$BIN" screen --store "$S"
contains "empty store message" "$T/err" "has no bars yet"
check "verifying a store that holds nothing is not a pass" 5 "$BIN" verify --store "$T/no-store-here"
contains "... it says nothing was checked, and why" "$T/err" "does not exist (no such directory): nothing to verify"
mkdir -p "$T/empty-dir"
check "verifying an empty directory is not a pass either" 5 "$BIN" verify --store "$T/empty-dir"
contains "... it says the store holds nothing" "$T/err" "holds no bar or split part: nothing to verify"
# A reader never makes the store it was given: a mistyped --store leaves nothing behind.
check "screening a store that is not there says there is nothing" 5 "$BIN" screen --store "$T/typo/store"
contains "... and that it does not exist" "$T/err" "store '$T/typo/store' does not exist (no such directory"
for c in "screen --store $T/typo/store" "verify --store $T/no-store-here" "universe show --store $T/typo/store" \
    "backtest --store $T/typo/store" "report --store $T/typo/store --out $T/typo-report.html"; do
    # shellcheck disable=SC2086 # c is a command line
    "$BIN" $c >/dev/null 2>&1 || true
done
check "compacting a store that is not there fails" 1 "$BIN" compact --store "$T/typo/store"
contains "... saying it does not exist" "$T/err" "does not exist (no such directory)"
[ ! -e "$T/typo" ] && [ ! -e "$T/no-store-here" ] && ok "... and readers make no directory" ||
    nok "... and readers make no directory" "$(find "$T/typo" "$T/no-store-here" 2>/dev/null | head -5)"

# ---- import ----
cat >"$T/bars.csv" <<'CSV'
Date,Symbol,Open,High,Low,Close,Volume,Note
2024-01-02,AAA,10,12,9,11,100,x
2024-01-03,AAA,11,11.5,10,10,200,x
2024-01-04,AAA,10,10.5,8,8,300,x
2024-01-02,BBB,50,55,49,54,1000,y
2024-01-03,BBB,54,56,53,55,1000,y
2024-01-04,BBB,55,55,44,44,1000,y
CSV
check "import a CSV in any column order" 0 "$BIN" import --store "$S" "$T/bars.csv"
check "import makes a store that is not there yet, parents and all" 0 "$BIN" import --store "$T/new/a/store" "$T/bars.csv"
[ -d "$T/new/a/store/bars" ] && ok "... its directory made by the first write" || nok "... its directory made by the first write" "$(find "$T/new" | head -5)"
contains "import reports what it did" "$T/out" "imported 6 new bars on 3 days from 1 file: 0 already stored, 0 bad rows skipped, 0 conflicts"
check "importing the same file again succeeds" 0 "$BIN" import --store "$S" "$T/bars.csv"
contains "... and changes nothing" "$T/out" "imported 0 new bars on 3 days from 1 file: 6 already stored"
# "-" is standard input: a file redirected, a pipe; once a command.
check "import - reads standard input (a file)" 0 sh -c 'exec "$1" import --store "$2" - <"$3"' sh "$BIN" "$T/stdin-file" "$T/bars.csv"
contains "... and imports it" "$T/out" "imported 6 new bars on 3 days from 1 file"
check "import - reads standard input (a pipe)" 0 sh -c 'cat "$3" | "$1" import --store "$2" --rejects "$4" -' sh "$BIN" "$T/stdin-pipe" "$T/bars.csv" "$T/stdin-rejects.csv"
contains "... and imports it" "$T/out" "imported 6 new bars on 3 days from 1 file"
printf 'symbol,date,open,high,low,close,volume\nAAA,2024-01-05,x,1,1,1,1\n' >"$T/stdin-bad.csv"
check "a bad row from standard input" 0 sh -c 'exec "$1" import --store "$2" --rejects "$4" - <"$3"' sh "$BIN" "$T/stdin-pipe" "$T/stdin-bad.csv" "$T/stdin-rejects.csv"
contains "... is named <stdin>:line" "$T/err" "<stdin>:2: field 'open'"
contains "... in the rejects file too" "$T/stdin-rejects.csv" "<stdin>,2,AAA,2024-01-05,"
printf 'symbol,ex_date,new_rate,old_rate\nAAA,2024-01-03,2,1\n' >"$T/stdin-splits.csv"
check "--splits - reads split facts from standard input" 0 sh -c 'exec "$1" import --store "$2" --splits - <"$3"' sh "$BIN" "$T/stdin-file" "$T/stdin-splits.csv"
contains "... and records them" "$T/out" "1 new split facts"
check "'-' twice is a usage error" 2 sh -c 'exec "$1" import --store "$2" - "$3" - </dev/null' sh "$BIN" "$T/stdin-twice" "$T/bars.csv"
contains "... saying standard input is read once" "$T/err" "'-' (standard input) is given 2 times; it can be read once"
check "... a --splits - too" 2 sh -c 'exec "$1" import --store "$2" --splits - - </dev/null' sh "$BIN" "$T/stdin-twice" "$T/bars.csv"
[ ! -e "$T/stdin-twice" ] && ok "... and nothing is written" || nok "... and nothing is written" "$(find "$T/stdin-twice" | head -5)"
cp "$T/bars.csv" "$T/stdin-keep.csv"
check "--rejects naming the file on standard input is a usage error" 2 sh -c 'exec "$1" import --store "$2" --rejects "$3" - <"$3"' sh "$BIN" "$T/stdin-twice" "$T/stdin-keep.csv"
same "... and leaves it as it was" "$T/stdin-keep.csv" "$T/bars.csv"
# Progress: a line on a terminal's stderr only, not with --no-progress or JSON log lines.
check "import --no-progress is accepted" 0 "$BIN" import --store "$T/prog" --no-progress "$T/bars.csv"
check "import with stderr not a terminal" 0 "$BIN" import --store "$T/prog2" "$T/bars.csv"
if grep -q "$(printf '\r')" "$T/err" || grep -q "^import:" "$T/err"; then
    nok "... prints no progress line" "$(od -c "$T/err" | head -5)"
else ok "... prints no progress line"; fi
if command -v script >/dev/null && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
    # under a pseudo-terminal: stdout and stderr are both the terminal
    pty() { script -qec "$1" /dev/null </dev/null >"$T/pty.out" 2>&1; }
    pty "$BIN import --store $T/pty1 --log-level error $T/bars.csv"
    contains "on a terminal, import shows its progress" "$T/pty.out" "import: $T/bars.csv: 0.0 of 0.0 MB read (0%), 0 rows"
    contains "... and the stage of the results" "$T/pty.out" "import: results: the backtest"
    contains "... and clears the line at the end" "$T/pty.out" "$(printf '\r\033[K')"
    contains "... around the summary" "$T/pty.out" "imported 6 new bars on 3 days"
    pty "$BIN import --store $T/pty2 --log-level error --no-progress $T/bars.csv"
    if grep -q "import: results" "$T/pty.out"; then nok "--no-progress: none on a terminal" "$(od -c "$T/pty.out" | head -5)"; else ok "--no-progress: none on a terminal"; fi
    pty "$BIN import --store $T/pty3 --log-format json $T/bars.csv"
    if grep -q "import: results" "$T/pty.out"; then nok "JSON log lines: none on a terminal" "$(od -c "$T/pty.out" | head -5)"; else ok "JSON log lines: none on a terminal"; fi
    contains "... the summary still printed" "$T/pty.out" "imported 6 new bars on 3 days"
else
    ok "progress on a terminal: skipped, no script(1)"
fi
find "$S/bars" -name '*.csv' | sort >"$T/parts1"
[ "$(wc -l <"$T/parts1")" -eq 3 ] && ok "one part per day" || nok "one part per day" "$(cat "$T/parts1")"

# ---- screen ----
cat >"$T/want.csv" <<'CSV'
date,rank,symbol,close,peak,peak_date,drawdown_pct,days_since_peak,change_pct,volume
2024-01-04,1,AAA,8.0000,12.0000,2024-01-02,-33.3333,2,-20.0000,300
2024-01-04,2,BBB,44.0000,56.0000,2024-01-03,-21.4286,1,-20.0000,1000
CSV
check "screen the latest date as CSV" 0 "$BIN" screen --store "$S" --min-bars 2 --format csv
same "screen CSV matches the hand-computed result" "$T/out" "$T/want.csv"
check "screen by change" 0 "$BIN" screen --store "$S" --min-bars 2 --by change --format csv
head -2 "$T/out" | tail -1 | grep -q '^2024-01-04,1,AAA,' && ok "a tie in change is broken by symbol" || nok "a tie in change is broken by symbol" "$(cat "$T/out")"
check "default min-bars of 30 leaves nobody eligible here" 0 "$BIN" screen --store "$S" --format csv
[ "$(wc -l <"$T/out")" -eq 1 ] && ok "... only the header" || nok "... only the header" "$(cat "$T/out")"
contains "... and a note says why there is no row" "$T/err" "no stock is eligible on 2024-01-04: each needs a bar on the date and 30 bars in the 180-day window (--min-bars)"
check "nobody eligible, as a table" 0 "$BIN" screen --store "$S"
contains "... the note, not an empty screen" "$T/err" "no stock is eligible on 2024-01-04"
check "screen as JSON" 0 "$BIN" screen --store "$S" --min-bars 1 --format json
if command -v python3 >/dev/null && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==2 and d[0]["symbol"]=="AAA" and d[0]["change_pct"]==-20.0' "$T/out"; then
    ok "JSON parses and holds the rows"
else
    nok "JSON parses and holds the rows" "$(cat "$T/out")"
fi
check "screen a range" 0 "$BIN" screen --store "$S" --min-bars 1 --from first --to last --format csv
[ "$(grep -c '^2024-01-0[234],' "$T/out")" -eq 6 ] && ok "a range ranks every date" || nok "a range ranks every date" "$(cat "$T/out")"
grep -q '^2024-01-02,.*,,100$' "$T/out" && ok "no previous bar: change_pct is empty" || nok "no previous bar: change_pct is empty" "$(cat "$T/out")"
check "--from after the last stored date has nothing to screen" 5 "$BIN" screen --store "$S" --from 2030-01-01
contains "... saying where the stored dates are" "$T/err" "no bars stored from 2030-01-01 on: the store holds 2024-01-02 to 2024-01-04"
lacks "... not a --to nobody typed" "$T/err" "--to last"
check "... with --to last too" 5 "$BIN" screen --store "$S" --from 2030-01-01 --to last
contains "... saying so" "$T/err" "no bars stored from 2030-01-01 on: the store holds 2024-01-02 to 2024-01-04"
check "a range before the store has nothing to screen" 5 "$BIN" screen --store "$S" --from first --to 2020-01-01
contains "... saying so" "$T/err" "no bars stored up to 2020-01-01: the store holds 2024-01-02 to 2024-01-04"
check "a range beyond the store has nothing to screen" 5 "$BIN" screen --store "$S" --from 2030-01-01 --to 2030-02-01
contains "... saying so" "$T/err" "no bars stored from 2030-01-01 to 2030-02-01: the store holds 2024-01-02 to 2024-01-04"
check "--to before --from, both dates, is a usage error" 2 "$BIN" screen --store "$S" --from 2024-01-04 --to 2024-01-03
contains "... naming both" "$T/err" "--to 2024-01-03 is before --from 2024-01-04"
check "a bad --from is a usage error" 2 "$BIN" screen --store "$S" --from yesterday
contains "... saying what it takes" "$T/err" "--from: expected a date YYYY-MM-DD, 'first' or 'last', got 'yesterday'"
check "--from last screens the last stored date" 0 "$BIN" screen --store "$S" --min-bars 1 --from last --format csv
[ "$(cut -d, -f1 "$T/out" | sort -u | tr '\n' ' ')" = "2024-01-04 date " ] && ok "... alone" || nok "... alone" "$(cat "$T/out")"
check "--to first screens up to the first stored date" 0 "$BIN" screen --store "$S" --min-bars 1 --from 2023-01-01 --to first --format csv
[ "$(cut -d, -f1 "$T/out" | sort -u | tr '\n' ' ')" = "2024-01-02 date " ] && ok "... alone" || nok "... alone" "$(cat "$T/out")"
check "--from last --to first is an empty range" 5 "$BIN" screen --store "$S" --from last --to first
contains "... naming the dates the keywords stand for" "$T/err" "--to first (2024-01-02) is before --from last (2024-01-04): the store holds 2024-01-02 to 2024-01-04"
check "--from a stored date to the last" 0 "$BIN" screen --store "$S" --min-bars 1 --from 2024-01-03 --format csv
[ "$(cut -d, -f1 "$T/out" | sort -u | tr '\n' ' ')" = "2024-01-03 2024-01-04 date " ] && ok "... ranks those dates" || nok "... ranks those dates" "$(cat "$T/out")"
check "a date with no bars" 5 "$BIN" screen --store "$S" --date 2024-01-06
contains "... is named" "$T/err" "no bars stored for 2024-01-06"
check "table output" 0 "$BIN" screen --store "$S" --min-bars 1
contains "table has a title" "$T/out" "Worst 180-day drawdowns on 2024-01-04"

# ---- bad rows ----
cat >"$T/bad.csv" <<'CSV'
symbol,date,open,high,low,close,volume
CCC,2024-01-04,10,11,9,10.5,100
CCC,2024-01-05,10,11,9,abc,100
CCC,2024-01-08,10,9,11,10,100
CCC,2024-01-09,10,11,9,10,100
CSV
check "bad rows are skipped" 0 "$BIN" import --store "$S" "$T/bad.csv"
contains "skipped row named by file, line and field" "$T/err" "bad.csv:3: field 'close': expected a decimal price, got 'abc'"
contains "high below low is named" "$T/err" "bad.csv:4: CCC: field 'high': 9 is below low 11"
contains "the summary counts them" "$T/out" "imported 2 new bars on 2 days from 1 file: 0 already stored, 2 bad rows skipped"
cat >"$T/bad2.csv" <<'CSV'
symbol,date,open,high,low,close,volume
DDD,2024-01-04,10,11,9,10.5,100
DDD,2024-01-05,-1,11,9,10,100
CSV
check "--strict makes a bad row fatal" 3 "$BIN" import --strict --store "$S" "$T/bad2.csv"
contains "... naming it" "$T/err" "bad2.csv:3: DDD: field 'open': price must be positive, got -1"
check "... and nothing of the file is stored" 0 "$BIN" screen --store "$S" --min-bars 1 --date 2024-01-04 --all --format csv
grep -q ',DDD,' "$T/out" && nok "no DDD stored" || ok "no DDD stored"

# ---- conflicts ----
cat >"$T/conflict.csv" <<'CSV'
symbol,date,open,high,low,close,volume
AAA,2024-01-04,10,10.5,8,8.25,300
EEE,2024-01-04,1,2,1,1.5,5
CSV
check "a conflicting bar is refused" 4 "$BIN" import --store "$S" "$T/conflict.csv"
contains "... with the field named" "$T/err" "AAA 2024-01-04 is already stored with a different 'close'"
check "the stored fact stands" 0 "$BIN" screen --store "$S" --min-bars 1 --date 2024-01-04 --all --format csv
contains "... AAA still closes at 8" "$T/out" ",AAA,8.0000,"
contains "... and the rest of the file was imported" "$T/out" ",EEE,"

# ---- splits ----
cat >"$T/split-bars.csv" <<'CSV'
symbol,date,open,high,low,close,volume
SPL,2024-01-02,200,210,195,200,1000
SPL,2024-01-03,100,101,97,99,2000
CSV
printf 'symbol,ex_date,new_rate,old_rate\nSPL,2024-01-03,2,1\n' >"$T/splits.csv"
check "import bars with a split" 0 "$BIN" import --store "$S" --splits "$T/splits.csv" "$T/split-bars.csv"
contains "split facts are counted" "$T/out" "1 new split facts"
check "screen after the split" 0 "$BIN" screen --store "$S" --min-bars 1 --date 2024-01-03 --all --format csv
contains "a 2-for-1 split is no crash" "$T/out" ",SPL,99.0000,105.0000,2024-01-02,-5.7143,1,-1.0000,2000"

# A split learned after its bars: the results of the dates it changes are computed again, not
# only the newest date's (the history of top candidates from the ex_date on showed a crash).
python3 - "$T/late-split-bars.csv" "$T/late-gap.csv" "$T/late-fill.csv" <<'PY'
import datetime, sys
d, rows, n = datetime.date(2024, 1, 1), [], 0
while n < 40:
    if d.weekday() < 5:
        p = 200.0 - n if n < 35 else (200.0 - n) / 2  # 2-for-1 from the 36th day
        rows.append("LSP,%s,%.2f,%.2f,%.2f,%.2f,1000" % (d, p, p + 1, p - 1, p))
        rows.append("LSQ,%s,50,51,49,%.2f,1000" % (d, 50 - n * 0.1))
        n += 1
    d += datetime.timedelta(days=1)
head = "symbol,date,open,high,low,close,volume\n"
open(sys.argv[1], "w").write(head + "\n".join(rows) + "\n")
# The same without LSQ's bar of 2024-01-29, and that bar alone, a new peak.
gap = [r for r in rows if not r.startswith("LSQ,2024-01-29,")]
open(sys.argv[2], "w").write(head + "\n".join(gap) + "\n")
open(sys.argv[3], "w").write(head + "LSQ,2024-01-29,90,91,89,90,1000\n")
PY
printf 'symbol,ex_date,new_rate,old_rate\nLSP,2024-02-19,2,1\n' >"$T/late-splits.csv"
check "import bars whose split is not known yet" 0 "$BIN" import --store "$T/late" "$T/late-split-bars.csv"
awk -F, '$3 == "LSP" && $7 < -40' "$T/late/results/top_candidates.csv" >"$T/late-crash"
[ "$(wc -l <"$T/late-crash")" -eq 5 ] && ok "... the history shows a crash on the split's 5 dates" ||
    nok "... the history shows a crash on the split's 5 dates" "$(cat "$T/late-crash")"
check "import the split alone" 0 "$BIN" import --store "$T/late" --splits "$T/late-splits.csv"
awk -F, '$3 == "LSP" && $7 < -40' "$T/late/results/top_candidates.csv" >"$T/late-crash"
[ ! -s "$T/late-crash" ] && ok "... and the history of every date it changed has no crash" ||
    nok "... and the history of every date it changed has no crash" "$(cat "$T/late-crash")"
awk -F, '$3 == "LSP" && $1 == "2024-02-23"' "$T/late/results/top_candidates.csv" >"$T/late-row"
contains "... its rows computed with the split (2024-02-23)" "$T/late-row" "2024-02-23,1,LSP,80.5000,"
check "... nor the dated screen of the newest date" 0 "$BIN" screen --store "$T/late" --date 2024-02-23 --format csv
contains "... (LSP at 80.50, not a crash)" "$T/out" ",LSP,80.5000,"
# The same for a bar imported into the past: the dates after it see it in their windows.
check "import bars with a day missing" 0 "$BIN" import --store "$T/gap" "$T/late-gap.csv"
check "import the missing day later" 0 "$BIN" import --store "$T/gap" "$T/late-fill.csv"
awk -F, '$3 == "LSQ" && $1 == "2024-02-12"' "$T/gap/results/top_candidates.csv" >"$T/gap-row"
contains "... the history's earlier dates see its peak" "$T/gap-row" ",91.0000,2024-01-29,"

# ---- one symbol and date twice in a file: which row is right cannot be known ----
cat >"$T/repeat.csv" <<'CSV'
symbol,date,open,high,low,close,volume
RPA,2024-01-04,10,11,9,10,100
RPB,2024-01-04,10,11,9,10,100
RPA,2024-01-04,10,11,9,10.5,100
RPB,2024-01-04,10,11,9,10,100
CSV
check "rows repeating a bar with other values are bad rows" 0 "$BIN" import --store "$S" --rejects "$T/rj-repeat.csv" "$T/repeat.csv"
contains "... each named with the other's line" "$T/err" "repeat.csv:4: RPA: 2024-01-04 is repeated at line 2 with different values: none of them imported"
contains "... the first too" "$T/rj-repeat.csv" "repeat.csv,2,RPA,2024-01-04,RPA: 2024-01-04 is repeated at line 4"
contains "... counted as bad, not as conflicts with the store" "$T/out" "imported 1 new bars on 1 days from 1 file: 1 already stored, 2 bad rows skipped, 0 conflicts"
check "... and neither is stored" 0 "$BIN" screen --store "$S" --min-bars 1 --date 2024-01-04 --all --format csv
grep -q ',RPA,' "$T/out" && nok "... no RPA" "$(cat "$T/out")" || ok "... no RPA"
contains "... while the equal repeat is stored once" "$T/out" ",RPB,"
check "--strict: a repeated bar fails the file" 3 "$BIN" import --strict --store "$T/strict-repeat" "$T/repeat.csv"

# ---- a stray quote costs its own row, not the rest of the file ----
{
    echo '"symbol","date","open","high","low","close","volume"'
    echo '"QQA","2024-01-02","10","11","9","10","100"'
    echo '"QQA","2024-01-03,"10","11","9","10","100"'
    for d in 04 05 08 09 10; do echo "\"QQA\",\"2024-01-$d\",\"10\",\"11\",\"9\",\"10\",\"100\""; done
    echo 'QQA,"2024-01-11,10,11,9,10,100'
    echo 'QQA,2024-01-12,10,11,9,10,100'
} >"$T/quoted.csv"
check "a file quoting every field, with a quote missing" 0 "$BIN" import --store "$T/q" "$T/quoted.csv"
contains "... the broken row is named" "$T/err" "quoted.csv: line 3: unexpected character after closing quote"
contains "... so is the unterminated one" "$T/err" "quoted.csv: line 9: unterminated quoted field"
contains "... and every other row is imported" "$T/out" "imported 7 new bars on 7 days from 1 file: 0 already stored, 2 bad rows skipped"

# ---- a date after today: a typo that would become every reader's latest date ----
cat >"$T/future.csv" <<'CSV'
symbol,date,open,high,low,close,volume
FUT,2024-01-04,10,11,9,10,100
FUT,2099-01-05,10,11,9,10,100
CSV
check "a bar dated after today is a bad row, not a stored bar" 0 "$BIN" import --store "$S" --rejects "$T/rejects.csv" "$T/future.csv"
contains "... named with file, line and date" "$T/err" "future.csv:3: FUT: field 'date': 2099-01-05 is in the future"
contains "... counted as bad" "$T/out" "imported 1 new bars on 1 days from 1 file: 0 already stored, 1 bad rows skipped"
contains "... with its symbol and date in the rejects file" "$T/rejects.csv" "future.csv,3,FUT,2099-01-05,"
check "the latest stored date is still the real one" 0 "$BIN" screen --store "$S" --min-bars 1 --format csv
contains "... 2024-01-09" "$T/out" "2024-01-09,1,"
check "--strict: a date after today fails the file" 3 "$BIN" import --strict --store "$S" "$T/future.csv"
[ -z "$(find "$S/bars" -path '*2099*' | head -1)" ] && ok "no part of 2099 in the store" || nok "no part of 2099 in the store" "$(find "$S/bars" -path '*2099*')"

# ---- a file that fails whole does not stop the others ----
cat >"$T/good1.csv" <<'CSV'
symbol,date,open,high,low,close,volume
GDA,2024-01-04,10,11,9,10,100
CSV
cat >"$T/good2.csv" <<'CSV'
symbol,date,open,high,low,close,volume
GDB,2024-01-04,10,11,9,10,100
CSV
cat >"$T/strictbad.csv" <<'CSV'
symbol,date,open,high,low,close,volume
GDC,2024-01-04,10,11,9,10,100
GDC,2024-01-05,10,11,9,x,100
CSV
check "--strict: a bad file fails, exit 3" 3 "$BIN" import --strict --store "$S" "$T/strictbad.csv" "$T/good1.csv" "$T/no-such.csv" "$T/good2.csv"
contains "... the bad file is named" "$T/err" "strictbad.csv:3: field 'close'"
contains "... the missing file is named" "$T/err" "cannot open '$T/no-such.csv'"
contains "... the summary says which files were left out" "$T/out" "imported 2 new bars on 2 days from 4 files: 0 already stored, 1 bad rows skipped, 0 conflicts; 2 files not imported"
check "... the files after them were imported" 0 "$BIN" screen --store "$S" --min-bars 1 --date 2024-01-04 --all --format csv
contains "... GDA" "$T/out" ",GDA,"
contains "... GDB" "$T/out" ",GDB,"
grep -q ',GDC,' "$T/out" && nok "... and nothing of the strict file" "$(cat "$T/out")" || ok "... and nothing of the strict file"
check "a missing file alone: exit as before" 5 "$BIN" import --store "$S" "$T/no-such.csv"

# ---- --rejects naming a file to import: created empty first, it would destroy the input ----
cp "$T/good1.csv" "$T/keep.csv"
check "--rejects naming a file to import is a usage error" 2 "$BIN" import --store "$S" --rejects "$T/keep.csv" "$T/keep.csv"
contains "... naming the file" "$T/err" "--rejects: '$T/keep.csv' is also a file to import"
same "... and the file is left as it was" "$T/keep.csv" "$T/good1.csv"
check "... a --splits file too" 2 "$BIN" import --store "$S" --rejects "$T/keep.csv" --splits "$T/./keep.csv"
same "... left as it was" "$T/keep.csv" "$T/good1.csv"

# ---- crash safety: kill -9 during an import, rerun, same store as an uninterrupted run ----
awk 'BEGIN { print "symbol,date,open,high,low,close,volume";
  for (d = 0; d < 240; d++) { t = 1704153600 + d * 86400;
    for (s = 0; s < 40; s++) { p = 50 + s + (d % 17);
      printf "S%02d,%s,%d,%d,%d,%d,%d\n", s, strftime("%Y-%m-%d", t, 1), p, p + 2, p - 2, p + 1, 1000 + d } } }' >"$T/big.csv" 2>/dev/null
if [ -s "$T/big.csv" ]; then
    "$BIN" import --store "$T/ref" "$T/big.csv" >/dev/null 2>&1
    "$BIN" screen --store "$T/ref" --min-bars 1 --from first --all --format csv >"$T/ref.csv" 2>&1
    trials=0 killed=0
    while [ $trials -lt 8 ]; do
        trials=$((trials + 1))
        rm -rf "$T/crash"
        "$BIN" import --store "$T/crash" "$T/big.csv" >/dev/null 2>&1 &
        pid=$!
        sleep "0.0$((trials * 3))"
        kill -9 $pid 2>/dev/null && killed=$((killed + 1))
        wait $pid 2>/dev/null
        "$BIN" import --store "$T/crash" "$T/big.csv" >/dev/null 2>&1
        "$BIN" screen --store "$T/crash" --min-bars 1 --from first --all --format csv >"$T/crash.csv" 2>&1
        if ! cmp -s "$T/crash.csv" "$T/ref.csv"; then
            nok "kill -9 during import, trial $trials: rerun completes the store" "$(diff "$T/ref.csv" "$T/crash.csv" | head -5)"
            break
        fi
    done
    [ $trials -eq 8 ] && ok "kill -9 during import ($killed of 8 runs killed mid-way): reruns give the uninterrupted store"
else
    ok "kill -9 test skipped: awk without strftime"
fi

# ---- an import stopped after its bars were stored, before its results: a rerun finishes ----
# (what kill -9 between the last part and the results leaves, made without timing: the results
# taken away after a whole import)
if [ -s "$T/big.csv" ]; then
    R="$T/ref"
    # A store filled by import alone gets the newest date's results, as a collection leaves them.
    last=$(tail -1 "$T/big.csv" | cut -d, -f2)
    check "a store filled by import alone has a report" 0 "$BIN" report --store "$R" --out "$T/imp-report.html"
    contains "... of the newest imported date" "$T/imp-report.html" "$last"
    "$BIN" screen --store "$R" --date "$last" --all --format csv >"$T/imp-screen.csv" 2>/dev/null
    same "... its latest.csv is 'screener screen --all --format csv' of that date" "$R/results/screen/latest.csv" "$T/imp-screen.csv"
    same "... and so is its dated screen" "$R/results/screen/${last%%-*}/$last.csv" "$T/imp-screen.csv"
    [ -s "$R/results/closes.csv" ] && [ -s "$R/results/bars-1y.csv" ] && ok "... closes.csv and bars-1y.csv written" ||
        nok "... closes.csv and bars-1y.csv written" "$(ls "$R/results")"
    cp "$R/results/screen/latest.csv" "$T/latest-ref.csv"
    cp "$R/results/closes.csv" "$T/closes-ref.csv"
    cp "$R/results/bars-1y.csv" "$T/bars1y-ref.csv"
    cp "$R/results/top_candidates.csv" "$T/top-ref.csv"
    cp "$R/results/backtest/equity.csv" "$T/equity-ref.csv"
    rm -rf "$R/results"
    check "an import whose bars are all stored" 0 "$BIN" import --store "$R" "$T/big.csv"
    contains "... stores nothing new" "$T/out" "imported 0 new bars"
    same "... but fills the top-candidate history the results lack" "$R/results/top_candidates.csv" "$T/top-ref.csv"
    same "... and writes the backtest" "$R/results/backtest/equity.csv" "$T/equity-ref.csv"
    same "... and the newest date's screen" "$R/results/screen/latest.csv" "$T/latest-ref.csv"
    same "... its closes" "$R/results/closes.csv" "$T/closes-ref.csv"
    same "... and its bar archive" "$R/results/bars-1y.csv" "$T/bars1y-ref.csv"
    rm "$R/results/screen/latest.csv"
    check "latest.csv missing alone" 0 "$BIN" import --store "$R" "$T/big.csv"
    same "... is written again" "$R/results/screen/latest.csv" "$T/latest-ref.csv"
    rm "$R/results/backtest/summary.json"
    check "the backtest missing alone" 0 "$BIN" import --store "$R" "$T/big.csv"
    [ -s "$R/results/backtest/summary.json" ] && ok "... is written again" || nok "... is written again" "$(ls "$R/results/backtest")"
    cp -r "$R/results" "$T/results-before"
    find "$R/results" -type f -exec touch -d 2001-01-01 {} +
    check "with the results complete, an import of nothing new" 0 "$BIN" import --store "$R" "$T/big.csv"
    diff -r "$R/results" "$T/results-before" >/dev/null && ok "... leaves them as they were" || nok "... leaves them as they were" "$(diff -r "$R/results" "$T/results-before" | head -5)"
    [ -z "$(find "$R/results" -type f -newermt 2002-01-01)" ] && ok "... and writes none of them" ||
        nok "... and writes none of them" "$(find "$R/results" -type f -newermt 2002-01-01 | head -5)"
else
    ok "results after a stopped import: skipped, awk without strftime"
fi

# ---- demo ----
check "demo runs offline" 0 "$BIN" demo --store "$T/demo" --symbols 40 --years 1
contains "demo prints the drawdown table" "$T/out" "Worst 180-day drawdowns on 2026-11-20"
contains "demo prints the drop table" "$T/out" "Worst one-day drops on 2026-11-20"
contains "demo says where the results are" "$T/out" "Results: $T/demo/results/screen/latest.csv"

# ---- the results the collection left ----
R="$T/demo/results"
for f in screen/latest.csv screen/2026/2026-11-20.csv top_candidates.csv closes.csv bars-1y.csv last_run.json; do
    [ -s "$R/$f" ] && ok "results: $f written" || nok "results: $f written" "$(ls -R "$R" 2>&1 | head -20)"
done
if python3 - "$R" >"$T/py.out" 2>&1 <<'PY'
import csv, json, sys
r = sys.argv[1]
cols = "date,rank,symbol,close,peak,peak_date,drawdown_pct,days_since_peak,change_pct,volume".split(",")
latest = list(csv.DictReader(open(r + "/screen/latest.csv", newline="")))
assert latest and list(latest[0].keys()) == cols, "latest.csv columns"
assert all(x["date"] == "2026-11-20" for x in latest), "latest.csv holds one date"
assert [int(x["rank"]) for x in latest] == list(range(1, len(latest) + 1)), "ranks 1..n"
top = list(csv.DictReader(open(r + "/top_candidates.csv", newline="")))
assert list(top[0].keys()) == cols, "top_candidates.csv columns"
closes = {x["symbol"]: x for x in csv.DictReader(open(r + "/closes.csv", newline=""))}
for x in latest:
    c = closes[x["symbol"]]["closes"].split(";")
    assert 1 <= len(c) <= 60 and c[-1] == x["close"], ("closes", x["symbol"], c[-1], x["close"])
bars = list(csv.DictReader(open(r + "/bars-1y.csv", newline="")))
assert list(bars[0].keys())[:7] == "symbol,date,open,high,low,close,volume".split(",")
keys = [(b["date"], b["symbol"]) for b in bars]
assert keys == sorted(keys) and len(set(keys)) == len(keys), "bars-1y.csv sorted, unique"
assert "2025-05-25" <= keys[0][0] and keys[-1][0] == "2026-11-20", (keys[0], keys[-1])
run = json.load(open(r + "/last_run.json"))
assert run["complete"] is True and run["date"] == "2026-11-20" and run["error"] == "", run
print(len(latest), len(top), len(closes), len(bars))
PY
then ok "results: every file reads with python's csv and json, and they agree ($(cat "$T/py.out"))"
else nok "results: every file reads with python's csv and json, and they agree" "$(tail -5 "$T/py.out")"; fi
check "screen the demo's last day in full" 0 "$BIN" screen --store "$T/demo" --date 2026-11-20 --all --format csv
same "results: latest.csv is 'screener screen --all --format csv' of that day" "$R/screen/latest.csv" "$T/out"
same "results: the dated screen too" "$R/screen/2026/2026-11-20.csv" "$T/out"
top_rows() { grep -c "^$1," "$R/top_candidates.csv"; }
[ "$(top_rows 2026-11-20)" = 10 ] && ok "results: 10 top candidates for 2026-11-20" || nok "results: $(top_rows 2026-11-20) top candidates for 2026-11-20"
head -11 "$T/out" | tail -10 >"$T/top10"
grep "^2026-11-20," "$R/top_candidates.csv" >"$T/top-got"
same "... the screen's first 10 rows" "$T/top-got" "$T/top10"
# The demo's unit split and stock dividend: in the split log, so no day looks like a crash.
[ "$(tail -q -n +2 "$T"/demo/splits/part-*.csv | grep -c ",1.05,1$")" -ge 1 ] &&
    ok "the demo's stock dividend is a 1.05-for-1 split fact" ||
    nok "the demo's stock dividend is a 1.05-for-1 split fact" "$(cat "$T"/demo/splits/part-*.csv)"
cp "$R/top_candidates.csv" "$T/top-before"
check "demo again" 0 "$BIN" demo --store "$T/demo" --symbols 40 --years 1
contains "the second demo finds everything stored" "$T/out" "0 new bars"
same "results: a rerun does not duplicate the history" "$R/top_candidates.csv" "$T/top-before"

# Another sample market into the same store: the settle window's bars come back with other
# values and are recorded as revisions, which the summary must count, not leave out.
check "demo with another seed into the same store" 0 "$BIN" demo --store "$T/demo" --symbols 40 --years 1 --seed 7
grep -Eq '^Revisions: [1-9][0-9]* stored bars changed by the vendor' "$T/out" &&
    ok "... says the stored bars that changed" || nok "... says the stored bars that changed" "$(head -5 "$T/out")"

echo "# $n checks"
