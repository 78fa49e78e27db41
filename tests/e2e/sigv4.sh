#!/bin/sh
# sigv4.sh - the SigV4 signer against the official one: build/sigv4-sign and
# @smithy/signature-v4 (tests/node) sign a few hundred seeded random requests, S3 and other
# services, header signing and presigning, and must agree (tests/node/sigv4-diff.mjs).
# Prints "ok N - what" / "not ok N - what" per check; without node or the npm packages
# (scripts/deps.sh --node installs them) the comparison is skipped with "ok N - # skip".
# SIGV4_DIFF_COUNT sets the number of requests (default 400), TEST_SEED the seed.
set -u
cd "$(dirname "$0")/../.."
DRIVER=${BUILD:-build}/sigv4-sign
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

[ -x "$DRIVER" ] || { nok "$DRIVER is built" "run make $DRIVER"; exit 1; }

# The driver on its own: AWS's presigned GET example from the S3 guide.
out=$(printf '%s\n' '{"id":1,"method":"GET","host":"examplebucket.s3.amazonaws.com","path":"/test.txt","region":"us-east-1","service":"s3","rules":"s3","time":1369353600,"presign":true,"expires":86400,"credentials":{"access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}' | "$DRIVER")
case "$out" in
*'"signature":"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"'*)
    ok "sigv4-sign reproduces AWS's presigned GET example" ;;
*) nok "sigv4-sign reproduces AWS's presigned GET example" "$out" ;;
esac
out=$(printf '%s\n' '{"id":2,"method":"GET","path":"/","time":0}' | "$DRIVER")
case "$out" in
*'"ok":false,"error":"INVALID"'*) ok "sigv4-sign reports a request it cannot sign" ;;
*) nok "sigv4-sign reports a request it cannot sign" "$out" ;;
esac

if ! command -v node >/dev/null 2>&1; then
    ok "# skip differential test against @smithy/signature-v4: node is not installed (scripts/deps.sh --node)"
    exit 0
fi
if ! (cd tests/node && node -e "require.resolve('@smithy/signature-v4'); require.resolve('@aws-crypto/sha256-js')") >/dev/null 2>&1; then
    ok "# skip differential test against @smithy/signature-v4: tests/node/node_modules lacks it (scripts/deps.sh --node)"
    exit 0
fi

T=$(mktemp "${TMPDIR:-/tmp}/screener-sigv4.XXXXXX")
trap 'rm -f "$T"' EXIT
node tests/node/sigv4-diff.mjs --driver "$DRIVER" --count "${SIGV4_DIFF_COUNT:-400}" >"$T" 2>&1
status=$?
grep '^# seed' "$T"
lines=0
while IFS= read -r line; do
    case "$line" in
    "ok - "*) ok "${line#ok - }"; lines=$((lines + 1)) ;;
    "not ok - "*) nok "${line#not ok - }"; lines=$((lines + 1)) ;;
    "# seed"*) ;;
    *) echo "$line" ;;
    esac
done <"$T"
if [ "$status" -ne 0 ] && [ "$lines" -eq 0 ]; then
    nok "differential test against @smithy/signature-v4 ran" "exit $status"
fi
[ "$status" -eq 0 ]
