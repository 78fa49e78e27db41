#!/bin/sh
# layers.sh - the layer rule (scripts/check-layers.sh) on the real tree and on small made-up
# trees, one violation each: a layer including a higher one, a peer (collect and account are
# one tier), test code, an outside library outside its owner, an unknown directory.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

T=$(mktemp -d "${TMPDIR:-/tmp}/screener-layers.XXXXXX")
trap 'rm -rf "$T"' EXIT

if out=$(sh scripts/check-layers.sh 2>&1); then
    ok "the tree keeps the layer rule"
else
    nok "the tree keeps the layer rule" "$out"
fi

# A tree with one file per layer, each including the one below.
fresh() {
    rm -rf "$T/tree"
    mkdir -p "$T/tree/scripts" "$T/tree/tests/fakes" "$T/tree/tests/backtest"
    cp scripts/check-layers.sh "$T/tree/scripts/"
    for l in base codec store screen collect account backtest sim bot daily app; do
        mkdir -p "$T/tree/src/$l"
        echo '#include "base/x.h"' >"$T/tree/src/$l/x.c"
    done
    echo '#include "screen/x.h"' >>"$T/tree/src/collect/x.c"
    echo '#include "screen/x.h"' >>"$T/tree/src/account/x.c"
    echo '#include "account/x.h"' >>"$T/tree/src/bot/x.c"
    echo '#include "collect/x.h"' >>"$T/tree/src/daily/x.c"
    echo '#include <stdio.h>' >>"$T/tree/src/daily/x.c"
    echo '#include "daily/x.h"' >>"$T/tree/src/app/x.c"
    echo '#include "backtest/x.h"' >>"$T/tree/src/app/x.c"
    echo '#include "sim/x.h"' >>"$T/tree/src/app/x.c"
}

# expect_fail WHAT FILE LINE PATTERN: add LINE to FILE of a fresh tree; the check must fail
# and say PATTERN.
expect_fail() {
    fresh
    echo "$3" >>"$T/tree/src/$2"
    if out=$(sh "$T/tree/scripts/check-layers.sh" 2>&1); then
        nok "$1 is refused" "the check passed: $out"
    else
        case "$out" in
        *"$4"*) ok "$1 is refused: $(echo "$out" | head -n 1)" ;;
        *) nok "$1 is refused with a message naming it" "$out" ;;
        esac
    fi
}

fresh
if out=$(sh "$T/tree/scripts/check-layers.sh" 2>&1); then
    ok "a tree whose includes point down passes (tiers with peers, layers not there yet, a layer named like a folder of tests/)"
else
    nok "a tree whose includes point down passes" "$out"
fi
expect_fail "an include of a higher layer" screen/x.c '#include "collect/x.h"' \
    "src/screen/x.c:2: layer 'screen' includes 'collect/x.h' from the higher layer 'collect'"
expect_fail "an include of a peer (collect and account)" collect/x.c '#include "account/x.h"' \
    "layer 'collect' includes 'account/x.h' from its peer 'account'"
expect_fail "an include of a peer (sim and collect)" sim/x.c '#include "collect/x.h"' \
    "from its peer 'collect'"
expect_fail "test code in the product" app/x.c '#include "fakes/s3_fake.h"' \
    "src/app/x.c:5: includes 'fakes/s3_fake.h', test code"
expect_fail "test code by path" bot/x.c '#include "../../tests/support/testutil.h"' \
    "test code"
expect_fail "an include without its layer" store/x.c '#include "x.h"' "without its layer"
expect_fail "an outside library outside its owner" store/x.c '#include <curl/curl.h>' \
    "only src/net/http.c may include"
fresh
mkdir -p "$T/tree/src/misc"
if out=$(sh "$T/tree/scripts/check-layers.sh" 2>&1); then
    nok "a directory of src/ that is no layer is refused" "the check passed: $out"
else
    case "$out" in
    *"src/misc/: not a layer"*) ok "a directory of src/ that is no layer is refused" ;;
    *) nok "a directory of src/ that is no layer is refused" "$out" ;;
    esac
fi
