#!/usr/bin/env bash
# The regress and isolation suites against a PostgreSQL 15 built with
# assertions (--enable-cassert): Assert()s in the server and in the
# PostgreSQL headers the extension includes, and memory-context checks.
#
#   bash scripts/cassert.sh          build the server if needed, then test
#   bash scripts/cassert.sh build    only build (and install) the server
#
# The server is built once from the upstream tarball of Debian's source
# package postgresql-15 (the newest version the archive still serves) and
# installed into /opt/pg15-cassert; a later run that finds it there builds
# nothing. The source and apt's scratch state live under /tmp/dp-cassert;
# apt's own sources and lists are not touched. The extension is built
# against that server in a copy of the checkout (the checkout's own objects
# are built against Debian's server), and the tests run as
# `PG_CONFIG=/opt/pg15-cassert/bin/pg_config bash scripts/test.sh server`.
# Ends with "N passed, N failed" (from scripts/test.sh).
# Environment: DP_CASSERT_PREFIX (/opt/pg15-cassert), DP_TEST_PORT.
set -euo pipefail

DP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${DP_CASSERT_PREFIX:-/opt/pg15-cassert}"
SCRATCH=/tmp/dp-cassert
STAMP="$PREFIX/.dataplane-cassert-built"

build_server() {
    if [ -f "$STAMP" ] && [ -x "$PREFIX/bin/pg_config" ]; then
        echo "== cassert: using $(cat "$STAMP") in $PREFIX"
        return 0
    fi
    local t0=$SECONDS
    local missing=()
    for p in gcc make perl bzip2; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "== cassert: installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi

    # Debian's source package, through a scratch apt configuration with
    # deb-src lines (the machine's own has none).
    rm -rf "$SCRATCH"
    mkdir -p "$SCRATCH/lists/partial" "$SCRATCH/src"
    local key=/usr/share/keyrings/debian-archive-keyring.gpg
    {
        echo "deb-src [signed-by=$key] http://deb.debian.org/debian bookworm main"
        echo "deb-src [signed-by=$key] http://deb.debian.org/debian bookworm-updates main"
        echo "deb-src [signed-by=$key] http://deb.debian.org/debian-security bookworm-security main"
    } > "$SCRATCH/sources.list"
    local apto=(-o "Dir::Etc::SourceList=$SCRATCH/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                -o "Dir::State::Lists=$SCRATCH/lists" -o "APT::Sandbox::User=root")
    echo "== cassert: fetching Debian's source package postgresql-15"
    apt-get "${apto[@]}" update -qq
    # Newest first; an archive may list a version whose files it no longer
    # serves (a superseded security update): take the first that downloads.
    local versions v got=""
    versions=$(apt-cache "${apto[@]}" showsrc postgresql-15 | awk '/^Version:/{print $2}' |
               sort -u | sort -rV)
    for v in $versions; do
        if (cd "$SCRATCH/src" && apt-get "${apto[@]}" source --download-only -qq \
                "postgresql-15=$v" >/dev/null 2>&1); then
            got=$v
            break
        fi
        rm -f "$SCRATCH"/src/*
    done
    if [ -z "$got" ]; then
        echo "cassert: could not download any version of Debian's postgresql-15 source" >&2
        return 1
    fi
    local tarball
    tarball=$(ls "$SCRATCH"/src/postgresql-15_*.orig.tar.*)
    tar -xf "$tarball" -C "$SCRATCH/src"
    local srcdir
    srcdir=$(find "$SCRATCH/src" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-*' | head -n 1)

    # Only what the suites need: the server, its tools, the headers and
    # PGXS, pg_regress and the isolation tester. No optional libraries.
    echo "== cassert: building PostgreSQL $got with --enable-cassert into $PREFIX"
    rm -rf "$PREFIX"
    (
        cd "$srcdir"
        ./configure --prefix="$PREFIX" --enable-cassert --enable-debug \
            --without-icu --without-readline --without-zlib --without-llvm \
            CFLAGS="-O2 -g" > "$SCRATCH/configure.log" 2>&1 ||
            { tail -n 40 "$SCRATCH/configure.log"; exit 1; }
        {
            make -j2 -s &&
            make -s install &&
            make -s -C src/test/isolation -j2 &&
            make -s -C src/test/isolation install
        } > "$SCRATCH/build.log" 2>&1 || { tail -n 60 "$SCRATCH/build.log"; exit 1; }
    )
    echo "PostgreSQL $got (Debian source package, --enable-cassert)" > "$STAMP"
    rm -rf "$SCRATCH"
    echo "== cassert: server built in $((SECONDS - t0)) s"
}

TREE=""
trap '[ -z "$TREE" ] || rm -rf "$TREE"' EXIT

run_tests() {
    local pg_config="$PREFIX/bin/pg_config"
    # The server and the headers the extension is built against have
    # assertions on.
    if ! grep -q '^#define USE_ASSERT_CHECKING 1' \
            "$("$pg_config" --includedir-server)/pg_config.h"; then
        echo "cassert: $PREFIX is not built with --enable-cassert" >&2
        return 1
    fi
    # A copy of the checkout without build products.
    TREE=$(mktemp -d /tmp/dataplane-cassert.XXXXXX)
    (cd "$DP_ROOT" && tar -cf - --exclude=./build --exclude='*.o' --exclude='*.so' \
        --exclude='*.bc' --exclude=./.git .) | tar -xf - -C "$TREE"
    PG_CONFIG="$pg_config" bash "$TREE/scripts/test.sh" server
}

case "${1:-test}" in
    build) build_server ;;
    test) build_server; run_tests ;;
    *) echo "usage: bash scripts/cassert.sh [build|test]" >&2; exit 2 ;;
esac
