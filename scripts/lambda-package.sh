#!/bin/sh
# lambda-package.sh BIN DIR - lay out the Lambda deployment package of screener in DIR
# (what `make lambda` zips and what `sam build` copies into $ARTIFACTS_DIR):
#
#   DIR/bootstrap   the script Lambda runs: it execs `screener lambda`
#   DIR/screener    BIN stripped
#   DIR/fonts/      DejaVu Sans, for the charts (the runtime has no fonts)
#
# BIN must need no shared library but glibc's own, which the runtime provides
# (provided.al2023: Amazon Linux 2023, glibc 2.34): make lambda links the others statically.
# A library loaded at start costs the cold start, and one bundled from a newer system may not
# work with the runtime's loader, so any other stops the build, naming it.
#
# The package is built on a newer system (Debian 12: glibc 2.36), so it is checked: the
# binary may need no glibc symbol version above GLIBC_MAX (default 2.34) and no GLIBC_PRIVATE
# symbol (glibc's internal interface, which differs between releases).  A symbol that does
# stops the build, naming it.
set -eu
if [ $# -ne 2 ]; then
    echo "usage: scripts/lambda-package.sh BIN DIR" >&2
    exit 2
fi
bin=$1
dir=$2
max=${GLIBC_MAX:-2.34}
here=$(cd "$(dirname "$0")/.." && pwd)
for tool in objdump readelf strip; do
    command -v $tool >/dev/null 2>&1 || {
        echo "lambda-package: '$tool' is not installed (Debian: binutils)" >&2
        exit 1
    }
done
[ -x "$bin" ] || { echo "lambda-package: '$bin' is not an executable" >&2; exit 1; }

# glibc's libraries: the runtime has them.  (libcrypt is libxcrypt on current systems, not
# glibc.)
glibc='^(ld-linux[-a-z0-9_]*\.so|libc\.so|libm\.so|libmvec\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libutil\.so|libanl\.so|libnsl\.so|libBrokenLocale\.so|libthread_db\.so|libc_malloc_debug\.so|libnss_[a-z0-9]*\.so)'
others=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | grep -Ev "$glibc" | tr '\n' ' ' | sed 's/ $//')
if [ -n "$others" ]; then
    echo "lambda-package: '$bin' needs shared libraries besides glibc's: $others" >&2
    echo "link them statically (LAMBDA_LIBS in the Makefile)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lambda-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rm -rf "$dir"
mkdir -p "$dir"
strip --strip-all -o "$dir/screener" "$bin"
chmod 0755 "$dir/screener"

# glibc_check FILE: print "FILE: needs GLIBC_x for SYMBOL" for each symbol FILE needs from a
# glibc newer than $max (or from GLIBC_PRIVATE), and each such version it requires.
glibc_check() {
    objdump -T "$1" | awk -v max="$max" -v file="$1" '
        function newer(v,    a, b, i, n) {
            n = split(v, a, ".")
            split(max, b, ".")
            for (i = 1; i <= (n > 3 ? n : 3); i++) {
                if ((a[i] + 0) != (b[i] + 0))
                    return (a[i] + 0) > (b[i] + 0)
            }
            return 0
        }
        /\*UND\*/ && match($0, /\(GLIBC_[^)]*\)/) {
            v = substr($0, RSTART + 7, RLENGTH - 8)
            if (v == "PRIVATE" || newer(v))
                printf "%s: needs GLIBC_%s for %s\n", file, v, $NF
        }'
    objdump -p "$1" | awk -v max="$max" -v file="$1" '
        function newer(v,    a, b, i, n) {
            n = split(v, a, ".")
            split(max, b, ".")
            for (i = 1; i <= (n > 3 ? n : 3); i++) {
                if ((a[i] + 0) != (b[i] + 0))
                    return (a[i] + 0) > (b[i] + 0)
            }
            return 0
        }
        /^  required from / { from = $3; sub(/:$/, "", from) }
        $NF ~ /^GLIBC_/ && from != "" {
            v = substr($NF, 7)
            if (v == "PRIVATE" || newer(v))
                printf "%s: requires version GLIBC_%s of %s\n", file, v, from
        }'
}

glibc_check "$dir/screener" >"$tmp/bad"
if [ -s "$tmp/bad" ]; then
    echo "lambda-package: the binary needs a glibc newer than $max (Lambda's provided.al2023):" >&2
    # One line per file and version: the first few symbols, and how many there are.
    sort -u "$tmp/bad" | awk '
        / needs / {
            key = $1 " needs " $3
            n[key]++
            if (n[key] <= 4) s[key] = s[key] (n[key] > 1 ? ", " : "") $5
            if (!(key in seen)) { seen[key] = 1; order[++k] = key }
            next
        }
        { req[++r] = $0; reqkey[r] = $1 " needs " $4 }
        END {
            for (i = 1; i <= r; i++) # a version that no symbol line named
                if (!(reqkey[i] in seen))
                    print "  " req[i]
            for (i = 1; i <= k; i++)
                printf "  %s for %s%s\n", order[i], s[order[i]],
                    (n[order[i]] > 4 ? sprintf(" and %d more", n[order[i]] - 4) : "")
        }' >&2
    echo "build on a system with glibc <= $max (see docs/deploying.md)" >&2
    rm -rf "$dir"
    exit 1
fi

cp "$here/bootstrap" "$dir/bootstrap"
chmod 0755 "$dir/bootstrap"
# The charts' font (the runtime has none): DejaVu Sans, free to redistribute (its licence
# goes along).
font=${CHART_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
if [ ! -f "$font" ]; then
    echo "lambda-package: no font at $font for the charts (Debian: fonts-dejavu-core)" >&2
    exit 1
fi
mkdir -p "$dir/fonts"
cp "$font" "$dir/fonts/DejaVuSans.ttf"
if [ -f /usr/share/doc/fonts-dejavu-core/copyright ]; then
    cp /usr/share/doc/fonts-dejavu-core/copyright "$dir/fonts/DejaVuSans.LICENSE"
fi
echo "lambda-package: $dir: bootstrap, screener (needs only glibc, symbol versions <= $max), fonts/DejaVuSans.ttf"
