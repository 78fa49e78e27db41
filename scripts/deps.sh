#!/bin/sh
# deps.sh - make sure the Debian packages the build (and the tests) need are installed.
#   --build   packages to build the binary
#   --test    packages to build and run the tests (zip and unzip: the Lambda package;
#             yamllint and python3-yaml: the SAM template)
#   --node    node and npm, and the npm packages the tests use as cross-checks (tests/node:
#             an S3-compatible server, the official AWS SDK, the CloudFormation resource
#             specification, puppeteer-core), installed with `npm ci`
#   --browser Chromium, headless, for the report's browser tests (tests/e2e/report.sh); when
#             it cannot be installed, a warning (those tests then skip, saying so)
# As root, installs what is missing with apt-get; otherwise prints the exact command and fails.
set -eu

build_pkgs="gcc make pkg-config libssl-dev libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev
    libcairo2-dev libfreetype-dev fonts-dejavu-core"
test_pkgs="libcmocka-dev python3 curl zip unzip yamllint python3-yaml"

want=""
node=0
browser=0
for arg in "$@"; do
    case "$arg" in
    --build) want="$want $build_pkgs" ;;
    --browser) browser=1 ;;
    --test) want="$want $test_pkgs" ;;
    --node)
        node=1
        command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want="$want nodejs npm"
        ;;
    *) echo "deps.sh: unknown option '$arg'" >&2; exit 2 ;;
    esac
done

node_modules() {
    [ $node -eq 1 ] || return 0
    dir="$(dirname "$0")/../tests/node"
    # A stamp written after a complete install: a missing or emptied node_modules, or a newer
    # lock file, means install again.
    stamp="$dir/node_modules/.installed"
    if [ ! -f "$stamp" ] || [ ! -f "$dir/node_modules/s3rver/package.json" ] ||
        [ ! -f "$dir/node_modules/puppeteer-core/package.json" ] ||
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

# Chromium is large and only the browser tests need it: tried on its own, never fatal.
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

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    node_modules
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
chromium
