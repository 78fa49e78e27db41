#!/bin/sh
# lambda-deps.sh [DIR] - build the static libraries that `make lambda` links into the Lambda
# binary and Debian does not ship in a usable form, into DIR (default build/lambda-deps):
#
#   DIR/lib/libcurl.a        HTTP and HTTPS only, OpenSSL and zlib; none of the optional
#                            libraries (IDN, PSL, HTTP/2, brotli, zstd, SSH, RTMP, LDAP,
#                            GSSAPI) that Debian's libcurl.a needs as shared objects
#   DIR/lib/libmicrohttpd.a  without HTTPS: Debian's is built against GnuTLS, which has no
#                            static library (screener serve speaks plain HTTP behind a proxy)
#   DIR/include/             their headers
#
# Every shared library the loader maps costs the cold start (symbol lookup, relocation, page
# faults): linked statically, the binary loads nothing but glibc.  The sources are Debian's own
# (`apt-get source`, with Debian's security patches), so the versions are the ones the rest of
# the build uses and nothing comes from outside Debian's archive.  They are unpacked and built
# under DIR/src, never in the repository.
#
# The build is skipped when DIR/built records this script's hash (make also reruns it only
# when the script changes).  Needs dpkg-dev (apt-get source) and a deb-src entry for Debian's
# archive; as root, adds what is missing (the entry goes to
# /etc/apt/sources.list.d/screener-deb-src.sources); otherwise says what to do.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/build/lambda-deps}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
self=$(sha256sum "$0" | cut -d' ' -f1)
if [ -f "$dir/built" ] && [ "$(cat "$dir/built")" = "$self" ] &&
    [ -f "$dir/lib/libcurl.a" ] && [ -f "$dir/lib/libmicrohttpd.a" ]; then
    touch "$dir/built" # newer than this script, so make does not ask again
    exit 0
fi

root=0
[ "$(id -u)" -eq 0 ] && root=1
need() { # WHAT HOW: stop, saying what is missing and how to add it
    echo "lambda-deps: $1 is missing; as root:" >&2
    echo "  $2" >&2
    exit 1
}

missing=""
for p in dpkg-dev make gcc libssl-dev zlib1g-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ $root -eq 1 ] || need "packages" "apt-get install -y$missing"
    echo "lambda-deps: installing:$missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# apt-get source needs the archive's source index: a deb-src entry, then apt-get update.
if ! apt-cache showsrc curl 2>/dev/null | grep -q '^Package: curl'; then
    list=/etc/apt/sources.list.d/screener-deb-src.sources
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    [ $root -eq 1 ] || need "a deb-src entry for Debian's archive (apt-get source)" \
        "printf 'Types: deb-src\\nURIs: http://deb.debian.org/debian\\nSuites: $codename\\nComponents: main\\n' >$list && apt-get update"
    echo "lambda-deps: adding $list (deb-src $codename and $codename-security)"
    cat >"$list" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update -qq
fi

jobs=$(nproc 2>/dev/null || echo 2)
src=$dir/src
rm -rf "$src" "${dir:?}/lib" "$dir/include" "$dir/built"
mkdir -p "$src"
cd "$src"
echo "lambda-deps: fetching the sources of curl and libmicrohttpd (apt-get source)"
apt-get source -qq curl libmicrohttpd >fetch.log 2>&1 || {
    cat fetch.log >&2
    echo "lambda-deps: apt-get source failed" >&2
    exit 1
}

# configure and make quietly; on failure show the end of the log.
run() { # LOG CMD...
    log=$1
    shift
    "$@" >"$log" 2>&1 || {
        tail -40 "$log" >&2
        echo "lambda-deps: failed: $* (log: $log)" >&2
        exit 1
    }
}

# curl: Debian's source applies two last patches that rename the library for its GnuTLS and
# NSS builds; the OpenSSL build (libcurl4) is made without them.
cd "$src"/curl-*/
for p in 99_nss.patch 90_gnutls.patch; do
    run "$src/curl-patch.log" patch -R -s -p1 -i "debian/patches/$p"
done
echo "lambda-deps: building libcurl $(basename "$PWD" | sed 's/^curl-//') (static, HTTP and HTTPS only)"
run "$src/curl-configure.log" ./configure --prefix="$dir" --disable-shared --enable-static \
    --disable-dependency-tracking --disable-maintainer-mode --disable-manual \
    --with-openssl --with-zlib \
    --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --with-ca-path=/etc/ssl/certs \
    --without-libpsl --without-libidn2 --without-nghttp2 --without-ngtcp2 --without-nghttp3 \
    --without-brotli --without-zstd --without-librtmp --without-libssh2 --without-libssh \
    --without-libgsasl --without-gssapi --without-hyper \
    --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
    --disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher \
    --disable-mqtt --disable-smb --disable-ftp --disable-file \
    --disable-ntlm --disable-ntlm-wb --disable-tls-srp --disable-unix-sockets \
    CFLAGS=-O2
run "$src/curl-make.log" make -j"$jobs" -C lib
run "$src/curl-install.log" sh -c 'make -C lib install && make -C include install'

cd "$src"/libmicrohttpd-*/
echo "lambda-deps: building libmicrohttpd $(basename "$PWD" | sed 's/^libmicrohttpd-//') (static, no HTTPS)"
run "$src/mhd-configure.log" ./configure --prefix="$dir" --disable-shared --enable-static \
    --disable-dependency-tracking --disable-https --without-gnutls --disable-curl \
    --disable-doc --disable-examples --disable-nls \
    CFLAGS=-O2
run "$src/mhd-make.log" make -j"$jobs" -C src/microhttpd
run "$src/mhd-install.log" sh -c 'make -C src/microhttpd install && make -C src/include install'

echo "$self" >"$dir/built"
echo "lambda-deps: $dir/lib: libcurl.a, libmicrohttpd.a"
