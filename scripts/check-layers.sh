#!/bin/sh
# check-layers.sh - includes point down only: a file in src/<layer>/ may include headers of
# its own layer and of the layers listed before it.  Prints each violation; fails on any.
set -eu
cd "$(dirname "$0")/.."
layers="base codec net aws store screen report collect account backtest sim bot daily app"
status=0
rank() {
    i=0
    for l in $layers; do
        [ "$l" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
    echo 99
}
for f in $(find src -name '*.[ch]' | sort); do
    own=$(echo "$f" | cut -d/ -f2)
    own_rank=$(rank "$own")
    grep -n '^#include "' "$f" | while IFS= read -r line; do
        inc=$(echo "$line" | sed 's/.*#include "\([^"]*\)".*/\1/')
        dep=$(echo "$inc" | cut -d/ -f1)
        dep_rank=$(rank "$dep")
        if [ "$dep_rank" -gt "$own_rank" ]; then
            echo "$f:${line%%:*}: layer '$own' includes '$inc' from the higher layer '$dep'"
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
