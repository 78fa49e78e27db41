#!/bin/sh
# push.sh - the daily push finished by the next invocation (tests/e2e/push_e2e.py): the Lambda
# collector (`screener lambda` on the fake Runtime and Invoke APIs, build/fake-lambda) queues
# itself {"action":"push"} when the push stops short, the queued invocation finishes it, the
# chain is bounded, and `screener collect` resumes an unfinished push of the same date; every
# chat gets the day's message once (the fake Bot API, build/fake-telegram).
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
for x in "$B/screener" "$B/fake-telegram" "$B/fake-lambda" "$B/alpaca-sim"; do
    [ -x "$x" ] || { echo "not ok 1 - $x is not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "not ok 1 - python3 is needed"; exit 1; }
BUILD=$B exec python3 tests/e2e/push_e2e.py
