# Shared by the demo, the test runner and the benchmarks: dependencies, the
# build, and a throwaway PostgreSQL 15 cluster run by the postgres OS user.
# Source it; it sets -euo pipefail.
set -euo pipefail

DP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PG_CONFIG may name another PostgreSQL 15 installation (a private copy, or
# one built with assertions); by default Debian's.
export PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PGBIN="$(dirname "$PG_CONFIG")"
# PGXS (pg_regress, the isolation tester, the TAP modules): where pg_config
# says (lib/postgresql/pgxs in a source build), else Debian's layout (before
# dp_deps has installed PostgreSQL).
dp_pgxs_dir() {
    if [ -x "$PG_CONFIG" ]; then
        (cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../.." && pwd)
    else
        echo "$PGBIN/../lib/pgxs"
    fi
}
PGXS_DIR="$(dp_pgxs_dir)"
export PATH="$PGBIN:$PATH"

DP_PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-contrib libroaring-dev libsimdjson-dev
             g++ make cmake libgtest-dev libbenchmark-dev libipc-run-perl gnuplot-nox
             ca-certificates
             libwebsockets-dev python3-websockets libzstd-dev zstd python3-psycopg python3-psycopg2
             python3-zstandard openssl libpq-dev)

# Installs what is missing (Debian bookworm, as root).
dp_deps() {
    local missing=()
    for p in "${DP_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "== installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    PGXS_DIR="$(dp_pgxs_dir)"
    # The distribution's own cluster is not used; keep it from holding 5432.
    if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
        pg_lsclusters -h | awk '$4=="online"{print $1, $2}' | while read -r v c; do
            pg_ctlcluster "$v" "$c" stop || true
        done
    fi
}

# Builds and installs the extension (DP_EXTRA_CXXFLAGS, e.g. -Werror in CI,
# reaches the compiler through the Makefile).
dp_build_ext() {
    echo "== building the extension${DP_EXTRA_CXXFLAGS:+ (with $DP_EXTRA_CXXFLAGS)}"
    make -C "$DP_ROOT" -s -j"$(nproc)" >/dev/null
    make -C "$DP_ROOT" -s install >/dev/null
}

# Builds the core library, its unit tests and the microbenchmarks (CMake).
dp_build_core() {
    echo "== building the core library, unit tests and microbenchmarks"
    cmake -S "$DP_ROOT" -B "$DP_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$DP_ROOT/build" -j"$(nproc)" >/dev/null
}

# Both.
dp_build() {
    dp_build_ext
    dp_build_core
}

# Runs a command as the postgres OS user (PostgreSQL refuses root).
as_pg() { runuser -u postgres -- "$@"; }

# dp_cluster_start DIR PORT [postgresql.conf lines...]
# Starts a cluster in DIR (created, owned by postgres) on PORT, with its
# socket in DIR, dataplane preloaded. dp_cluster_stop stops it.
dp_cluster_start() {
    local dir="$1" port="$2"
    shift 2
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    as_pg initdb -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
    {
        echo "port = $port"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "shared_preload_libraries = 'dataplane'"
        echo "fsync = off"
        echo "max_connections = 60"
        echo "max_worker_processes = 16"
        echo "max_prepared_transactions = 4"
        for line in "$@"; do echo "$line"; done
    } >> "$dir/data/postgresql.conf"
    as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    DP_CLUSTERS+=("$dir")
    export PGHOST="$dir" PGPORT="$port" PGUSER=postgres
}

dp_cluster_stop() {
    local dir="$1"
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg pg_ctl -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || \
            as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
}

DP_CLUSTERS=()
DP_AT_EXIT=()  # commands run at exit once the clusters are down
dp_cleanup() {
    for d in "${DP_CLUSTERS[@]}"; do
        dp_cluster_stop "$d"
    done
    for c in "${DP_AT_EXIT[@]}"; do
        eval "$c" || true
    done
    DP_AT_EXIT=()
}
trap dp_cleanup EXIT

# psql against the current cluster, quiet and stopping at the first error.
dp_psql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
