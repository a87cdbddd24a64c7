# Shared by bench/pressure and bench/sizing (sourced after scripts/common.sh
# and bench/lib.sh): bench/run's scales, the generator, the load of a
# scale's data through the tables, and snapshots of status() by column name.

# bench_scale SCALE: USERS AVG_FOLLOWS POSTS REPOSTS WEEKS, as bench/run's
# scales (keep in step with its `case "$SCALE"`).
bench_scale() {
    case "$1" in
        small)  USERS=10000   AVG_FOLLOWS=58 POSTS=200000   REPOSTS=40000   WEEKS=2 ;;
        medium) USERS=100000  AVG_FOLLOWS=50 POSTS=2000000  REPOSTS=400000  WEEKS=4 ;;
        large)  USERS=1000000 AVG_FOLLOWS=50 POSTS=10000000 REPOSTS=2000000 WEEKS=4 ;;
        *) return 1 ;;
    esac
    SEED=20261125
}

# The extension into PG_CONFIG's installation, and the generator alone (not
# the unit tests and microbenchmarks that dp_build_core also builds).
bench_build() {
    dp_build_ext
    echo "== building the generator"
    cmake -S "$DP_ROOT" -B "$DP_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$DP_ROOT/build" --target dpgen -j2 >/dev/null
    GEN="$DP_ROOT/build/dpgen"
}

now_ms() { date +%s%3N; }
sql1() { psql -X -qAt -c "$1"; }
per_s() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.0f", n * 1000 / ms; else print "n/a" }'; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b > 0) printf f, a / b; else print "n/a" }'; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_load: the scale's data through the tables of the current database,
# the index maintained at commit (as bench/run loads it). Item times end at
# DPGEN_END (epoch seconds; default: now, so that a recency bound on the
# rings measured against the clock sees the data as fresh). Sets EDGES,
# N_POSTS, N_REPOSTS and the load times in ms.
bench_load() {
    export DPGEN_END=${DPGEN_END:-$(date +%s)}
    echo "== loading $USERS users, ~$AVG_FOLLOWS follows each, $POSTS posts, $REPOSTS reposts over $WEEKS weeks up to $(date -u -d "@$DPGEN_END" '+%F %T') UTC"
    "$GEN" actors "$USERS" | psql -X -q -c "COPY dataplane.actor (uid, did) FROM STDIN"
    sql1 "SELECT setval('dataplane.actor_uid_seq', $USERS)" >/dev/null
    local t0 t1 t2
    t0=$(now_ms)
    _copy_in replica follow "follower, followee" follows "$USERS" "$AVG_FOLLOWS" "$SEED"
    t1=$(now_ms)
    FOLLOW_LOAD_MS=$((t1 - t0))
    EDGES=$(sql1 "SELECT count(*) FROM dataplane.follow")
    echo "   $EDGES follows in $FOLLOW_LOAD_MS ms"
    t0=$(now_ms)
    _copy_in origin post "id, author, created_at" posts "$USERS" "$POSTS" "$WEEKS" "$SEED" -1
    t1=$(now_ms)
    _copy_in origin repost "id, reposter, post_id, created_at" reposts "$USERS" "$REPOSTS" "$POSTS" \
        "$WEEKS" "$SEED" $((POSTS + 1))
    t2=$(now_ms)
    POST_LOAD_MS=$((t1 - t0)) REPOST_LOAD_MS=$((t2 - t1))
    N_POSTS=$(sql1 "SELECT count(*) FROM dataplane.post")
    N_REPOSTS=$(sql1 "SELECT count(*) FROM dataplane.repost")
    sql1 "SELECT setval('dataplane.item_id_seq', (SELECT max(id) FROM dataplane.repost) + 1)" >/dev/null
    echo "   $N_POSTS posts in $POST_LOAD_MS ms, $N_REPOSTS reposts in $REPOST_LOAD_MS ms"
}
# One COPY transaction per table, under session_replication_role ROLE.
# Follows: replica, foreign-key checks skipped as for a trusted backfill
# (the index is maintained by the capture's row triggers, ENABLE REPLICA).
# Posts and reposts: origin (foreign keys checked, the capture's statement
# triggers): in replica mode the row trigger of a post looks up the post's
# reposts with one SQL query per row, which loads posts at about 1/16 of
# the speed (measured at `small`: 50,000 posts in 15 s against 1 s).
_copy_in() {  # role table columns generator-args...
    local role="$1" table="$2" cols="$3"
    shift 3
    "$GEN" "$@" | PGOPTIONS="-c session_replication_role=$role" \
        psql -X -q -c "COPY dataplane.$table ($cols) FROM STDIN"
}

# status_snapshot FILE: every column of status(), one "name<TAB>value" a
# line (by name, so that columns added later are picked up as they come).
status_snapshot() {
    psql -X -qAt -F $'\t' -c "SELECT key, coalesce(value, '') FROM json_each_text(
        (SELECT row_to_json(s) FROM dataplane.status() s))" > "$1"
}
# status_get FILE NAME: a column's value in a snapshot (empty if absent).
status_get() { awk -F'\t' -v k="$2" '$1 == k {print $2}' "$1"; }
# status_has FILE NAME: does status() have that column?
status_has() { awk -F'\t' -v k="$2" '$1 == k {f = 1} END {exit !f}' "$1"; }

# bench_wait_ready: waits (up to 1 h) while the index is warming (a build
# under way, for example after a transaction too large for the capture
# queue invalidated it). Sets WAITED_S.
bench_wait_ready() {
    local t0 st
    t0=$(now_ms)
    st=$(sql1 "SELECT state FROM dataplane.status()")
    while [ "$st" = warming ] && [ $(( $(now_ms) - t0 )) -lt 3600000 ]; do
        sleep 1
        st=$(sql1 "SELECT state FROM dataplane.status()")
    done
    WAITED_S=$(( ($(now_ms) - t0) / 1000 ))
}

# The rebuilt index, waited for, and its state.
bench_rebuild() {
    sql1 "SELECT dataplane.rebuild()" >/dev/null
    local st
    st=$(sql1 "SELECT state FROM dataplane.status()")
    [ "$st" = ready ] || echo "   (index state after rebuild: $st: $(sql1 "SELECT reason FROM dataplane.status()"))"
}

# bench_restart DIR "conf line"...: stops the cluster in DIR, appends the
# lines to its postgresql.conf (later lines win), starts it again.
bench_restart() {
    local dir="$1"
    shift
    dp_cluster_stop "$dir"
    local line
    for line in "$@"; do echo "$line" >> "$dir/data/postgresql.conf"; done
    as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 120 start >/dev/null
}

# A machine line for reports.
machine_line() {
    echo "$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), PostgreSQL $(sql1 'SHOW server_version' | cut -d' ' -f1), dataplane at $(git -C "$DP_ROOT" rev-parse --short HEAD)$(git -C "$DP_ROOT" diff --quiet HEAD -- src sql 2>/dev/null || echo ' (+ uncommitted changes)') on branch $(git -C "$DP_ROOT" rev-parse --abbrev-ref HEAD)"
}
