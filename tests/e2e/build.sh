#!/bin/sh
# build.sh - the build's flags and dependency checks: the project's flags (C17, -Isrc, the
# warnings) stay whatever CFLAGS and LDFLAGS a user gives; warnings are errors in development
# (make test, WERROR=1), not in a plain make; scripts/deps.sh finds what is installed with
# pkg-config and command -v, whatever dpkg says.
# Prints "ok N - what" / "not ok N - what" per check.
set -u
cd "$(dirname "$0")/../.."
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
T=$(mktemp -d "${TMPDIR:-/tmp}/screener-build.XXXXXX")
trap 'rm -rf "$T"' EXIT
B=$T/b
unset CFLAGS LDFLAGS CPPFLAGS WERROR SANITIZE MAKEFLAGS MFLAGS MAKELEVEL

# has LINE WORD...: every WORD is one of LINE's words.
has() {
    line=$1
    shift
    for w in "$@"; do
        case " $line " in *" $w "*) ;; *) return 1 ;; esac
    done
}

cc_line() { # the compile command of src/base/buf.c for: make ARGS...
    make --no-print-directory -n -B BUILD="$B" "$@" V=1 "$B/src/base/buf.o" 2>&1 | grep ' -c src/base/buf.c'
}

line=$(cc_line CFLAGS=-O0)
if has "$line" -std=c17 -Isrc -D_GNU_SOURCE -Wall -O0 && ! has "$line" -O2; then
    ok "make CFLAGS=-O0 keeps -std=c17 -Isrc -D_GNU_SOURCE and the warnings, and uses -O0"
else
    nok "make CFLAGS=-O0 keeps -std=c17 -Isrc -D_GNU_SOURCE and the warnings, and uses -O0" "$line"
fi
if make --no-print-directory BUILD="$B" CFLAGS=-O0 "$B/src/base/buf.o" >"$T/out" 2>&1; then
    ok "... and compiles"
else
    nok "... and compiles" "$(cat "$T/out")"
fi
line=$(cc_line)
if has "$line" -O2 -g && ! has "$line" -Werror; then
    ok "a plain make: -O2 -g, warnings are not errors"
else
    nok "a plain make: -O2 -g, warnings are not errors" "$line"
fi
line=$(cc_line WERROR=1)
if has "$line" -Werror; then ok "make WERROR=1: warnings are errors"; else nok "make WERROR=1: warnings are errors" "$line"; fi
line=$(make --no-print-directory -n -B BUILD="$B" V=1 test-run 2>&1 | grep ' -c src/base/buf.c')
if has "$line" -Werror; then ok "make test: warnings are errors"; else nok "make test: warnings are errors" "$line"; fi
line=$(make --no-print-directory -n -B BUILD="$B" V=1 LDFLAGS=-Wl,--as-needed "$B/screener" 2>&1 | grep -- "-o $B/screener")
if has "$line" -Wl,--as-needed -lcurl -lm; then
    ok "make LDFLAGS=...: the user's linker flags and the project's libraries"
else
    nok "make LDFLAGS=...: the user's linker flags and the project's libraries" "$line"
fi

# deps.sh with a dpkg that knows of nothing and an apt-get that must not be needed.
mkdir -p "$T/bin"
printf '#!/bin/sh\nexit 1\n' >"$T/bin/dpkg-query"
printf '#!/bin/sh\necho "apt-get $*" >>"%s/apt.log"\nexit 1\n' "$T" >"$T/bin/apt-get"
chmod +x "$T/bin/dpkg-query" "$T/bin/apt-get"
if PATH="$T/bin:$PATH" sh scripts/deps.sh --build --test >"$T/deps.out" 2>&1 && [ ! -f "$T/apt.log" ]; then
    ok "scripts/deps.sh finds the installed libraries and tools without dpkg"
else
    nok "scripts/deps.sh finds the installed libraries and tools without dpkg" "$(cat "$T/deps.out")" \
        "$(cat "$T/apt.log" 2>/dev/null)"
fi
# ... and names what is missing by its Debian package: a pkg-config that finds nothing.
printf '#!/bin/sh\nexit 1\n' >"$T/bin/pkg-config"
chmod +x "$T/bin/pkg-config"
if PATH="$T/bin:$PATH" sh scripts/deps.sh --build >"$T/deps.out" 2>&1; then
    nok "a library pkg-config cannot find is missing" "$(cat "$T/deps.out")"
else
    case "$(cat "$T/deps.out" "$T/apt.log" 2>/dev/null)" in
    *libcurl4-openssl-dev*) ok "a library pkg-config cannot find is missing, named by its Debian package" ;;
    *) nok "a library pkg-config cannot find is missing, named by its Debian package" "$(cat "$T/deps.out")" ;;
    esac
fi
