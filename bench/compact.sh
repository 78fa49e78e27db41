#!/bin/sh
# compact.sh - what compaction does for reading the history from S3 (docs/performance.md#s3-
# round-trips): a store of SYMBOLS symbols x YEARS years (screener demo) on the fake S3 and on
# a directory; the full-history screen timed against the fake S3 answering every request after
# LATENCY ms, before and after `screener compact`, and against the directory, with the S3
# requests each made.  Checks that the output is byte-identical throughout.
#
#   bench/compact.sh                prints a Markdown table
#   BENCH_COMPACT_SYMBOLS=1000 BENCH_COMPACT_YEARS=10 BENCH_COMPACT_LATENCY_MS=25 (defaults)
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
SYMBOLS=${BENCH_COMPACT_SYMBOLS:-1000}
YEARS=${BENCH_COMPACT_YEARS:-10}
LATENCY=${BENCH_COMPACT_LATENCY_MS:-25}
make -s "$B/screener" "$B/fake-s3" >/dev/null
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-bench-compact.XXXXXX")
S3_PID=
trap '[ -n "$S3_PID" ] && kill $S3_PID 2>/dev/null; rm -rf "$T"' EXIT
export SCREENER_LOG_FORMAT=json SCREENER_PORTFOLIO=0

"$B/fake-s3" --port 0 --bucket bench >"$T/s3.out" 2>/dev/null &
S3_PID=$!
until grep -q "listening on 127.0.0.1:[0-9]" "$T/s3.out" 2>/dev/null; do sleep 0.1; done
S3="http://$(sed -n 's/^listening on //p' "$T/s3.out")"
export AWS_ENDPOINT_URL_S3="$S3" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIDFAKES3EXAMPLE
export AWS_SECRET_ACCESS_KEY='fakeS3/Secret+Key/EXAMPLE0123456789abcdef'
unset AWS_PROFILE AWS_SESSION_TOKEN 2>/dev/null || true
latency() { curl -sf -X POST "$S3/__fake/latency?ms=$1" >/dev/null; }
reset() { curl -sf -X POST "$S3/__fake/reset" >/dev/null; }
requests() { curl -sf "$S3/__fake/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['requests'])"; }

S=s3://bench/store
L=$T/local
# The bars are what matters here: on the fake S3 the demo's year-of-bars export can exceed its
# request size limit (exit 3 after every bar is stored); the outputs are compared below.
for st in "$L" "$S"; do
    "$B/screener" demo --symbols "$SYMBOLS" --years "$YEARS" --store "$st" >/dev/null 2>&1 || true
done

# full NAME STORE : the median wall time of 3 full-history screens, the output kept
full() {
    for i in 1 2 3; do
        reset
        /usr/bin/time -f '%e %M' -o "$T/$1.$i.time" "$B/screener" screen --store "$2" --from first \
            --to last --top 10 --format csv >"$T/$1.out" 2>/dev/null
        case $2 in s3://*) requests >"$T/$1.req" ;; *) echo - >"$T/$1.req" ;; esac
    done
    cat "$T/$1".?.time | sort -n | sed -n 2p | cut -d' ' -f1 >"$T/$1.time"
    cat "$T/$1".?.time | sort -n | sed -n 2p | awk '{printf "%d MB", $2 / 1024}' >"$T/$1.rss"
}

full local_before "$L"
latency "$LATENCY"
full s3_before "$S"
latency 0
/usr/bin/time -f '%e' -o "$T/compact_s3.time" "$B/screener" compact --store "$S" >"$T/compact_s3.out" 2>/dev/null
"$B/screener" compact --store "$L" >/dev/null 2>&1
full local_after "$L"
latency "$LATENCY"
full s3_after "$S"
/usr/bin/time -f '%e' -o "$T/verify_s3.time" "$B/screener" verify --store "$S" >/dev/null 2>&1 || true
for o in s3_before local_after s3_after; do
    cmp -s "$T/local_before.out" "$T/$o.out" || { echo "compact.sh: $o differs from local_before" >&2; exit 1; }
done

r() { cat "$T/$1.time"; }
q() { cat "$T/$1.req"; }
m() { cat "$T/$1.rss"; }
echo "| full-history screen, $SYMBOLS symbols x $YEARS y | local | S3 ${LATENCY} ms | S3 / local | S3 requests | peak RSS (S3) |"
echo "|---|---|---|---|---|---|"
echo "| day parts | $(r local_before) s | $(r s3_before) s | $(python3 -c "print(f'{$(r s3_before)/max($(r local_before),0.01):.1f}x')") | $(q s3_before) | $(m s3_before) |"
echo "| compacted months | $(r local_after) s | $(r s3_after) s | $(python3 -c "print(f'{$(r s3_after)/max($(r local_after),0.01):.1f}x')") | $(q s3_after) | $(m s3_after) |"
echo
echo "compaction on S3 (0 ms): $(cat "$T/compact_s3.time") s: $(cat "$T/compact_s3.out")"
echo "verify on S3 (${LATENCY} ms), compacted: $(cat "$T/verify_s3.time") s"
