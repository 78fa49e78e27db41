#!/bin/sh
# deps.sh - make sure what the build (and the tests) need is there.
#   --build   to build the binary: a C compiler, make, pkg-config and the libraries
#   --test    to build and run the tests (zip and unzip: the Lambda package; yamllint and
#             python3-yaml: the SAM template)
#   --check   for `make check`: clang-format and cppcheck
#   --bench   for the benchmarks (and their smoke run in `make test`): /usr/bin/time,
#             Debian's python3 with pandas, node and npm, and DuckDB's npm package in bench/
#   --node    node and npm, and the npm packages the tests use as cross-checks (tests/node:
#             an S3-compatible server, the official AWS SDK, the CloudFormation resource
#             specification, puppeteer-core), installed with `npm ci`
#   --browser Chromium, headless, for the report's browser tests (tests/e2e/report.sh); when
#             it cannot be installed, a warning (those tests then skip, saying so)
# Libraries are looked up with pkg-config, programs with command -v, Python modules by
# importing them: whatever installed them.  What is missing is named by its Debian package;
# as root, installs it with apt-get, otherwise prints the exact command and fails.
set -eu

# Each requirement: DEBIAN-PACKAGE:HOW:WHAT, HOW one of pc (a pkg-config module), cmd (a
# program on PATH), exe (a file that must be executable), file (a file that must exist), py (a
# module of /usr/bin/python3).
build_reqs="gcc:cmd:cc make:cmd:make pkg-config:cmd:pkg-config libssl-dev:pc:libcrypto
libcurl4-openssl-dev:pc:libcurl libjansson-dev:pc:jansson libmicrohttpd-dev:pc:libmicrohttpd
libcairo2-dev:pc:cairo libfreetype-dev:pc:freetype2
fonts-dejavu-core:file:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
test_reqs="libcmocka-dev:pc:cmocka python3:cmd:python3 curl:cmd:curl zip:cmd:zip unzip:cmd:unzip
yamllint:cmd:yamllint python3-yaml:py:yaml"
check_reqs="clang-format:cmd:clang-format cppcheck:cmd:cppcheck"
bench_reqs="time:exe:/usr/bin/time python3-pandas:py:pandas"

want=""
node=0
bench=0
browser=0
for arg in "$@"; do
    case "$arg" in
    --build) want="$want $build_reqs" ;;
    --browser) browser=1 ;;
    --test) want="$want $test_reqs" ;;
    --check) want="$want $check_reqs" ;;
    --bench)
        want="$want $bench_reqs"
        bench=1
        command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want="$want nodejs:cmd:node npm:cmd:npm"
        ;;
    --node)
        node=1
        command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want="$want nodejs:cmd:node npm:cmd:npm"
        ;;
    *) echo "deps.sh: unknown option '$arg'" >&2; exit 2 ;;
    esac
done

have() { # HOW WHAT
    case "$1" in
    pc) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$2" ;;
    cmd) command -v "$2" >/dev/null 2>&1 ;;
    exe) [ -x "$2" ] ;;
    file) [ -f "$2" ] ;;
    py) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $2" >/dev/null 2>&1 ;;
    *) return 1 ;;
    esac
}

chromium() {
    [ $browser -eq 1 ] || return 0
    command -v chromium >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing: chromium (the report's browser tests)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
            >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                    chromium >/dev/null 2>&1; } ||
            echo "deps.sh: warning: chromium could not be installed; the browser tests will be skipped" >&2
    else
        echo "deps.sh: warning: chromium is not installed (sudo apt-get install -y chromium);" \
            "the browser tests will be skipped" >&2
    fi
}

# DuckDB for the benchmarks, the version pinned in bench/package.json.
bench_modules() {
    [ $bench -eq 1 ] || return 0
    dir="$(dirname "$0")/../bench"
    if [ ! -f "$dir/node_modules/@duckdb/node-api/package.json" ]; then
        echo "installing the npm packages of bench"
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null) || {
            echo "deps.sh: 'npm install' failed in bench" >&2
            exit 1
        }
    fi
}

node_modules() {
    [ $node -eq 1 ] || return 0
    dir="$(dirname "$0")/../tests/node"
    # A stamp written after a complete install: a missing or emptied node_modules, or a newer
    # lock file, means install again.
    stamp="$dir/node_modules/.installed"
    if [ ! -f "$stamp" ] || [ ! -f "$dir/node_modules/s3rver/package.json" ] ||
        [ "$dir/package-lock.json" -nt "$stamp" ]; then
        echo "installing the npm packages of tests/node"
        if (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
            touch "$stamp"
        else
            echo "deps.sh: warning: 'npm ci' failed in tests/node; the checks against s3rver and" >&2
            echo "the official AWS SDK will be skipped" >&2
        fi
    fi
}

missing=""
for r in $want; do
    pkg=${r%%:*}
    rest=${r#*:}
    if ! have "${rest%%:*}" "${rest#*:}"; then
        case " $missing " in
        *" $pkg "*) ;;
        *) missing="$missing $pkg" ;;
        esac
    fi
done
if [ -z "$missing" ]; then
    node_modules
    bench_modules
    chromium
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "screener needs these packages (Debian names):$missing" >&2
    echo "install their equivalents with your package manager, then run make again" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "screener needs packages that are not installed. Run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
node_modules
bench_modules
chromium
