#!/bin/sh
# serve.sh - `screener serve` holds no lock across a network call (tests/e2e/serve_e2e.py):
# with its store on the fake S3 and one chat's read of the screen held there, another chat's
# /help is answered, and a third chat's read reaches S3, while the first still waits.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
for x in "$B/screener" "$B/fake-s3"; do
    [ -x "$x" ] || { echo "not ok 1 - $x is not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "not ok 1 - python3 is needed"; exit 1; }
BUILD=$B exec python3 tests/e2e/serve_e2e.py
