#!/bin/sh
# report.sh - `screener report` end to end: the page written from a collected store, its size
# for 1,000 symbols, what it does with damaged or hostile inputs, and the page in a real
# browser (headless Chromium through puppeteer-core, tests/node/report-browser.mjs) opened
# from a file with the network off.  The browser checks are skipped, saying why, only when
# Chromium or the npm packages are missing (scripts/deps.sh --browser --node installs them).
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
BIN=$B/screener
[ -x "$BIN" ] || { echo "not ok 1 - $BIN is not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-report.XXXXXX")
trap 'rm -rf "$T"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - # skip $1"; }
check() { # DESCRIPTION WANT_STATUS COMMAND...
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
    if grep -qF -- "$3" "$2"; then nok "$1" "'$3' found in $2"; else ok "$1"; fi
}
export SCREENER_LOG_LEVEL=error SCREENER_PORTFOLIO=1

# ---- usage ----
check "report --help succeeds" 0 "$BIN" report --help
contains "report --help shows usage" "$T/out" "usage: screener report"
check "a bad --date is a usage error" 2 "$BIN" report --store "$T/empty" --date 2026-02-30
check "a bad --top is a usage error" 2 "$BIN" report --store "$T/empty" --top 0
check "a bad --target is a usage error" 2 "$BIN" report --store "$T/empty" --target lots
check "a store without results has nothing to report" 5 "$BIN" report --store "$T/empty"
contains "... and says so" "$T/err" "no screen in the results yet"

# ---- a collected store ----
S="$T/store"
# (SCREENER_PORTFOLIO=0: the demo's collection would ask the real trading host.)
check "the demo collects a sample market" 0 env SCREENER_PORTFOLIO=0 "$BIN" demo --store "$S" --symbols 80 --years 1
D=2026-11-20
R="$S/results"
# Each collection writes the day's report: the demo's, as the daily job does.
contains "the demo says where its report is" "$T/out" "Report: $S/results/report/$D.html"
for f in "$D.html" latest.html; do
    if [ -s "$R/report/$f" ] && grep -qF "$D" "$R/report/$f"; then ok "... and wrote report/$f, naming the day"
    else nok "the demo wrote report/$f naming $D" "$(ls "$R/report" 2>&1)"; fi
done
# The history of top candidates: the demo leaves the top 10 of every stored date (past picks
# from day one), as daily collections would have.
"$BIN" screen --store "$S" --from 2026-09-21 --to 2026-11-20 --top 10 --format csv | tail -n +2 >"$T/hist.csv"
grep -c "^2026-\(09-2[1-9]\|09-30\|1[01]-\)" "$R/top_candidates.csv" | grep -qx "$(wc -l <"$T/hist.csv")" &&
    ok "the demo's history has the top 10 of each of the last two months' dates" ||
    nok "the demo's history has the top 10 of each of the last two months' dates" "$(tail -3 "$R/top_candidates.csv")"
"$BIN" screen --store "$S" --date 2026-11-19 --all --format csv >"$T/prev.csv" &&
    cp "$T/prev.csv" "$R/screen/2026/2026-11-19.csv"
"$BIN" screen --store "$S" --top 30 --format csv | tail -n +2 | cut -d, -f3 >"$T/dd.txt"
"$BIN" screen --store "$S" --by change --top 30 --format csv | tail -n +2 | cut -d, -f3 >"$T/drops.txt"
"$BIN" screen --store "$S" --all --format csv | tail -n +2 | wc -l >"$T/ranked.txt"
# Three positions of the day, one with values the API left out.
set -- $(head -3 "$T/dd.txt" | LC_ALL=C sort)
mkdir -p "$S/portfolio/snapshots/2026"
cat >"$S/portfolio/snapshots/2026/$D.csv" <<CSV
date,symbol,qty,avg_entry_price,current_price,market_value,unrealized_pl,unrealized_return_pct,drawdown_rank
$D,$1,10,20,31,310,110,55.0000,1
$D,$2,5,40,30,150,-50,-25.0000,2
$D,$3,1,,,,,,3
CSV
# A backtest's equity curve with its benchmark.
mkdir -p "$R/backtest"
python3 - "$R/backtest/equity.csv" <<'PY'
import datetime, math, sys
with open(sys.argv[1], "w") as f:
    f.write("date,equity,cash,positions,benchmark\n")
    d = datetime.date(2024, 1, 2)
    for i in range(700):
        while d.weekday() >= 5:
            d += datetime.timedelta(days=1)
        eq = 100000 * (1 + 0.0004 * i + 0.05 * math.sin(i / 40))
        bm = 100000 * (1 + 0.0003 * i)
        f.write(f"{d},{eq:.2f},{eq * 0.1:.2f},{10 if i else 0},{bm:.2f}\n")
        d += datetime.timedelta(days=1)
PY
# The run record, finished at 16:30 New York on the day (before its bars were final) and
# carrying markup in its error text.
INJ='<img src=x onerror=alert(1)><script>alert(2)</script>&amp; "q"'
python3 - "$R/last_run.json" "$INJ" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["finished_ms"] = 1795210200000  # 2026-11-20T21:30:00Z
r["error"] = sys.argv[2]
json.dump(r, open(sys.argv[1], "w"))
PY

check "report writes the page of the latest date" 0 "$BIN" report --store "$S" --top 30
contains "... and says where" "$T/out" "wrote results/report/$D.html"
contains "... and that it is the latest" "$T/out" "and results/report/latest.html"
P="$R/report/$D.html"
[ -f "$P" ] && cmp -s "$P" "$R/report/latest.html" && ok "the dated page and latest.html are the same" ||
    nok "the dated page and latest.html are the same" "$(ls -l "$R/report")"
contains "the page is HTML5" "$P" "<!DOCTYPE html>"
contains "it allows no request at all" "$P" "default-src 'none'"
contains "it is marked provisional (fetched 16:30, before 20:15)" "$P" 'id="provisional"'
contains "... saying when it was fetched" "$P" "2026-11-20 16:30 New York"
lacks "a stored value's markup is escaped" "$P" "<img src=x"
contains "... and shown as text" "$P" "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;"
if grep -Eq '(src|href|action)="?(https?:|//)|url\(' "$P"; then
    nok "nothing in the page points outside it" "$(grep -Eo '(src|href|action)="?(https?:|//)[^ ]*|url\([^)]*' "$P" | head -3)"
else
    ok "nothing in the page points outside it"
fi
python3 - "$P" >"$T/parse.txt" 2>&1 <<'PY'
import sys
from html.parser import HTMLParser
VOID = {"meta", "br", "hr", "img", "input", "link"}
SVG_EMPTY = {"polyline", "line", "circle", "rect", "path"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags = [], [], set()
    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            if k.startswith("on"):
                self.errors.append(f"event handler attribute {k}")
            if k in ("href", "src", "xlink:href", "action") and not (v or "").startswith("#"):
                self.errors.append(f"<{tag} {k}={v!r}> points outside the page")
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()
    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
allowed = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p",
           "span", "nav", "a", "main", "section", "div", "table", "thead", "tbody", "tr", "th",
           "td", "button", "svg", "polyline", "line", "circle", "rect", "text", "title", "g",
           "path", "use",
           "footer", "script"}
if p.stack:
    p.errors.append(f"unclosed: {p.stack}")
if p.tags - allowed:
    p.errors.append(f"unexpected elements: {sorted(p.tags - allowed)}")
print("\n".join(p.errors) or "well-formed")
PY
contains "the page is well-formed: every element closed, only the elements the report makes" "$T/parse.txt" "well-formed"

check "--out - writes the page to standard output" 0 "$BIN" report --store "$S" --top 30 --out -
sed 's/generated [^<]*UTC//' "$T/out" >"$T/a"
sed 's/generated [^<]*UTC//' "$P" >"$T/b"
cmp -s "$T/a" "$T/b" && ok "... the same page as the stored one" || nok "... the same page as the stored one" "$(diff "$T/a" "$T/b" | head -5)"
lacks "... with nothing left out" "$T/err" "warning"
contains "the portfolio section from the day's snapshot" "$P" 'id="s-portfolio"'
contains "... below a target of +100%" "$P" 'id="target-not-reached"'
"$BIN" report --store "$S" --target 10 --out "$T/pf.html" 2>"$T/err"
contains "... reached with --target 10 (the best two average +15%)" "$T/pf.html" 'id="target-reached"'
SCREENER_PORTFOLIO=0 "$BIN" report --store "$S" --out "$T/pf.html" 2>"$T/err"
lacks "SCREENER_PORTFOLIO=0 leaves the portfolio out" "$T/pf.html" 'id="s-portfolio"'
check "--out FILE writes a file and leaves the store alone" 0 "$BIN" report --store "$S" --out "$T/page.html"
[ -s "$T/page.html" ] && [ "$(ls "$R/report" | wc -l)" -eq 2 ] && ok "... so" || nok "... so" "$(ls "$R/report")"
check "--out into a missing directory fails" 1 "$BIN" report --store "$S" --out "$T/no/such/dir/page.html"
contains "... naming the file" "$T/err" "cannot write '$T/no/such/dir/page.html': No such file or directory"
check "an older date's report" 0 "$BIN" report --store "$S" --date 2026-11-19
contains "... is written under its date" "$T/out" "wrote results/report/2026-11-19.html"
contains "... and latest.html stays the newer one" "$T/out" "a newer report stays the latest"
contains "latest.html is still $D" "$R/report/latest.html" "<meta name=\"screener-date\" content=\"$D\">"
lacks "an older date is not marked provisional by today's run" "$R/report/2026-11-19.html" 'id="provisional"'
check "a date without a screen has nothing to report" 5 "$BIN" report --store "$S" --date 2026-11-18
contains "... and says so" "$T/err" "no screen of 2026-11-18"

# A damaged optional file leaves its section out and says why; the page is still made.
cp "$R/backtest/equity.csv" "$T/equity.csv"
printf '2023-01-01,100,0,0,100\n' >>"$R/backtest/equity.csv"
check "a damaged equity file does not stop the report" 0 "$BIN" report --store "$S" --out "$T/damaged.html"
contains "... the page says what was left out and where" "$T/damaged.html" "results/backtest/equity.csv:702: field &#39;date&#39;: expected dates in ascending order"
lacks "... and has no backtest section" "$T/damaged.html" 'id="s-backtest"'
# The equity file as screener backtest writes it reads as the report expects.
if "$BIN" backtest --store "$S" --min-bars 20 --equity "$T/bt-equity.csv" >"$T/bt.out" 2>"$T/bt.err"; then
    cp "$T/bt-equity.csv" "$R/backtest/equity.csv"
    "$BIN" report --store "$S" --out "$T/bt.html" 2>"$T/err"
    if grep -q 'id="equity-chart"' "$T/bt.html" && ! grep -q "Left out" "$T/bt.html"; then
        ok "screener backtest's equity file shows in the report ($(($(wc -l <"$T/bt-equity.csv") - 1)) dates)"
    else
        nok "screener backtest's equity file shows in the report" "$(grep -o 'Left out[^<]*' "$T/bt.html")"
    fi
else
    nok "screener backtest writes an equity file" "$(head -c 400 "$T/bt.err")"
fi
cp "$T/equity.csv" "$R/backtest/equity.csv"

# ---- 1,000 symbols ----
S2="$T/store1000"
if SCREENER_PORTFOLIO=0 "$BIN" demo --store "$S2" --symbols 1000 --years 1 >/dev/null 2>"$T/err"; then
    "$BIN" report --store "$S2" --out "$T/r1000.html" 2>"$T/err"
    size=$(stat -c %s "$T/r1000.html")
    [ "$size" -lt 300000 ] && ok "the page of 1,000 symbols is small: $size bytes (under 300 KB)" ||
        nok "the page of 1,000 symbols is small" "$size bytes"
    "$BIN" report --store "$S2" --top 1000 --out "$T/r1000all.html" 2>"$T/err"
    size=$(stat -c %s "$T/r1000all.html")
    [ "$size" -lt 1000000 ] && ok "... even with all 1,000 in both tables: $size bytes (under 1 MB)" ||
        nok "... even with all 1,000 in both tables" "$size bytes"
else
    nok "the demo collects 1,000 symbols" "$(head -c 400 "$T/err")"
fi

# ---- one stock's chart ----
SYM=$(head -1 "$T/dd.txt")
check "chart --help succeeds" 0 "$BIN" chart --help
check "chart without a symbol is a usage error" 2 "$BIN" chart --store "$S"
check "chart of a bad ticker is a usage error" 2 "$BIN" chart --store "$S" '<b>'
check "chart of an unknown stock has nothing to draw" 5 "$BIN" chart --store "$S" ZZZZ9
contains "... and says so" "$T/err" "no bars of ZZZZ9 in the year up to $D"
check "chart with a missing font fails naming it" 5 "$BIN" chart --store "$S" "$SYM" --font "$T/none.ttf" --out "$T/x.png"
contains "... the font" "$T/err" "font '$T/none.ttf' could not be loaded"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$T/passwd"
check "chart with a --font that is not a font is bad input" 3 "$BIN" chart --store "$S" "$SYM" --font "$T/passwd" --out "$T/x.png"
contains "... saying so" "$T/err" "font '$T/passwd' could not be loaded: not a font file (a TrueType font is wanted)"
check "chart of the worst drawdown" 0 "$BIN" chart --store "$S" "$SYM" --out "$T/chart.png"
# The PNG decoded (zlib only) and looked at: its size, the close line's blue, the shaded
# drawdown's pink, dark text in the title band, and a close drawn on the last day.
python3 - "$T/chart.png" >"$T/png.txt" 2>&1 <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert (w, h, depth) == (1000, 560, 8) and ctype in (2, 6), (w, h, depth, ctype)
ch = 3 if ctype == 2 else 4
raw, stride, rows, prev = zlib.decompress(idat), w * ch, [], bytearray(w * ch)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - ch] if x >= ch else 0
        b, c = prev[x], prev[x - ch] if x >= ch else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
px = lambda x, y: tuple(rows[y][x * ch:x * ch + 3])
blue = sum(1 for y in range(h) for x in range(w) if px(x, y) == (0x15, 0x65, 0xc0))
pink = sum(1 for y in range(h) for x in range(w) if (lambda r, g, b: r > 230 and 200 < g < 230 and 200 < b < 230)(*px(x, y)))
text = sum(1 for y in range(0, 90) for x in range(0, 700) if sum(px(x, y)) < 200)
assert blue > 800, f"{blue} pixels of the close line"
assert pink > 5000, f"{pink} pixels of shaded drawdown"
assert text > 500, f"{text} dark pixels of text in the title band"
col = [y for y in range(100, 515) if px(980, y) == (0x15, 0x65, 0xc0)]
assert col, "no close drawn at the last day"
print(f"ok {len(data)} bytes, {blue} line, {pink} shaded, {text} text pixels")
PY
if grep -q '^ok ' "$T/png.txt"; then ok "the chart decodes: 1000x560, line, shading and text ($(cut -d' ' -f2- "$T/png.txt"))"; else nok "the chart decodes" "$(cat "$T/png.txt")"; fi

# ---- in a real browser ----
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    skip "the browser checks: Chromium is not installed and could not be (scripts/deps.sh --browser)"
elif ! command -v node >/dev/null 2>&1 || [ ! -d tests/node/node_modules/puppeteer-core ]; then
    skip "the browser checks: node or puppeteer-core is missing (scripts/deps.sh --node)"
else
    python3 - "$T/dd.txt" "$T/drops.txt" "$T/ranked.txt" "$INJ" >"$T/expect.json" <<'PY'
import json, sys
lines = lambda p: [l.strip() for l in open(p) if l.strip()]
print(json.dumps({"drawdowns": lines(sys.argv[1]), "drops": lines(sys.argv[2]),
                  "ranked": int(open(sys.argv[3]).read()), "portfolio": 3, "backtest": True,
                  "history": True, "provisional": True, "injected": sys.argv[4]}))
PY
    mkdir -p "$T/shots"
    NODE_NO_WARNINGS=1 node tests/node/report-browser.mjs "$CHROMIUM" "$P" "$T/expect.json" "$T/shots" >"$T/browser.txt" 2>&1
    # Renumber the browser's checks into this script's sequence.
    while IFS= read -r line; do
        case "$line" in
        "ok "*) ok "browser: ${line#* - }" ;;
        "not ok "*) n=$((n + 1)); echo "not ok $n - browser: ${line#* - }" ;;
        *) echo "$line" ;;
        esac
    done <"$T/browser.txt"
    grep -q '^ok \|^not ok ' "$T/browser.txt" || nok "the browser checks ran" "$(head -c 800 "$T/browser.txt")"
    if [ -n "${REPORT_SHOTS:-}" ]; then mkdir -p "$REPORT_SHOTS" && cp "$T/shots/"* "$P" "$REPORT_SHOTS/"; fi
fi
