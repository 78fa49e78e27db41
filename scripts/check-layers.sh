#!/bin/sh
# check-layers.sh - includes point down only.  The layers of src/, lowest first; a tier in
# braces holds peers, which may not include each other:
#
#   base < codec < net < aws < store < screen < {collect | account | backtest | report | sim}
#        < bot < daily < app
#
# A file in src/<layer>/ may include headers of its own layer and of lower tiers.  Nothing in
# src/ may include test code (tests/, e.g. "fakes/..." or "support/...").  Outside libraries
# belong to one file each.  Prints each violation; fails on any.
set -eu
cd "$(dirname "$0")/.."
# One tier a line, peers separated by spaces.  A layer with no directory yet is fine.
tiers="base
codec
net
aws
store
screen
collect account backtest report sim
bot
daily
app"
status=0

# tier LAYER: its tier's number (0 = base), or nothing for a name that is not a layer.
tier() {
    echo "$tiers" | awk -v l="$1" '{ for (i = 1; i <= NF; i++) if ($i == l) { print NR - 1; exit } }'
}

# Every directory of src/ must be a layer, so that none escapes the rule.
for dir in src/*/; do
    layer=$(basename "$dir")
    if [ -z "$(tier "$layer")" ]; then
        echo "src/$layer/: not a layer; add it to scripts/check-layers.sh (and the Makefile)"
        status=1
    fi
done

# Test code's folders (those not named like a layer): src/ may include none of them.
test_dirs=""
for d in $(find tests -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort); do
    [ -n "$(tier "$d")" ] || test_dirs="$test_dirs $d"
done

for f in $(find src -name '*.[ch]' | sort); do
    own=$(echo "$f" | cut -d/ -f2)
    own_tier=$(tier "$own")
    [ -n "$own_tier" ] || continue
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
        inc=$(echo "$line" | sed 's/[^"]*"\([^"]*\)".*/\1/')
        n=${line%%:*}
        case "$inc" in
        */*) dep=${inc%%/*} ;;
        *) dep="" ;;
        esac
        case "$inc" in
        tests/* | ../*) dep=tests ;;
        esac
        for t in $test_dirs; do
            [ "$dep" = "$t" ] && dep=tests
        done
        if [ "$dep" = tests ]; then
            echo "$f:$n: includes '$inc', test code (src/ is the product only)"
            exit 1
        fi
        if [ -z "$dep" ]; then
            echo "$f:$n: includes '$inc' without its layer (write \"layer/file.h\")"
            exit 1
        fi
        dep_tier=$(tier "$dep")
        if [ -z "$dep_tier" ]; then
            echo "$f:$n: includes '$inc' from '$dep', which is not a layer"
            exit 1
        fi
        if [ "$dep" != "$own" ] && [ "$dep_tier" -eq "$own_tier" ]; then
            echo "$f:$n: layer '$own' includes '$inc' from its peer '$dep' (peers are independent)"
            exit 1
        fi
        if [ "$dep_tier" -gt "$own_tier" ]; then
            echo "$f:$n: layer '$own' includes '$inc' from the higher layer '$dep'"
            exit 1
        fi
    done || status=1
done

# Outside libraries belong to one module each.
check_owner() {
    pattern=$1
    owner=$2
    for f in $(grep -rl "#include <$pattern" src || true); do
        if [ "$f" != "$owner" ]; then
            echo "$f: includes <$pattern...> which only $owner may include"
            status=1
        fi
    done
}
check_owner "openssl/" "src/codec/crypto.c"
check_owner "curl/" "src/net/http.c"
check_owner "jansson" "src/codec/json.c"
check_owner "microhttpd" "src/net/httpd.c"
check_owner "cairo" "src/report/chart.c"
check_owner "ft2build" "src/report/chart.c"
[ $status -eq 0 ] && echo "layers: ok"
exit $status
