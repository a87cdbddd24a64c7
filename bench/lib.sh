# Benchmark helpers: pgbench runs with latency logs, percentiles, and the
# markdown report. Sourced by bench/run after scripts/common.sh.

BENCH_CLIENTS=${BENCH_CLIENTS:-2}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_REPEATS=${BENCH_REPEATS:-5}

# bench_huge_pages MB: reserves 2 MB huge pages for a shared memory segment
# of about MB megabytes, as a DBA would for a server with gigabytes of
# shared memory (PostgreSQL's huge_pages; run the cluster with
# "huge_pages = try"). Random reads over gigabytes of index otherwise miss
# the TLB on nearly every ring they touch, and on a VM with nested paging a
# TLB miss costs as much as several cache misses. Needs root and a kernel
# that allows it; the old reservation is restored at exit. Sets HUGE_PAGES
# to a line for the report.
bench_huge_pages() {
    local old want
    HUGE_PAGES="off (could not reserve huge pages)"
    HUGE_PAGES_BEFORE=$(huge_pages_in_use)
    old=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null) || return 0
    want=$(( HUGE_PAGES_BEFORE + ($1 * 105 / 100 + 256) / 2 ))
    [ "$old" -ge "$want" ] && return 0
    if echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null; then
        DP_AT_EXIT+=("echo $old > /proc/sys/vm/nr_hugepages")
    fi
}

# Huge pages mapped or reserved by anyone on this machine.
huge_pages_in_use() {
    awk '/^HugePages_Total/ {t=$2} /^HugePages_Free/ {f=$2} /^HugePages_Rsvd/ {r=$2}
         END {print t - f + r + 0}' /proc/meminfo
}

# After the cluster started: did it map its shared memory in huge pages?
bench_huge_pages_check() {
    local n=$(( $(huge_pages_in_use) - HUGE_PAGES_BEFORE ))
    if [ "$n" -gt 0 ]; then
        HUGE_PAGES="on ($n huge pages of 2 MB)"
    fi
}

# Workloads are registered first, then run round-robin: every round runs
# each workload once for BENCH_SECONDS, in a shuffled order, so that drift
# in a noisy machine hits them all alike. TPS is the median over rounds. Latency percentiles,
# in microseconds, are over every transaction of all rounds: the time from
# one of a client's transactions ending to its next one ending (each thread
# runs one client, so that is the whole cycle of a transaction). pgbench's
# own per-transaction latency cannot serve: for transactions this short it
# logs 0 for most of them.
WORKLOADS=()
declare -A WORKLOAD_SCRIPT
declare -A WORKLOAD_BEFORE

# workload NAME SCRIPTS [BEFORE]
#   SCRIPTS: one script file, or several as "a.sql@9 b.sql@1" (pgbench's
#   weights); BEFORE: a shell command run before each of its runs (for
#   example, disabling the index's triggers for a baseline).
workload() {
    WORKLOADS+=("$1")
    WORKLOAD_SCRIPT[$1]="$2"
    WORKLOAD_BEFORE[$1]="${3:-}"
}

# What else ran on the machine meanwhile. cpu_mark FILE writes: wall-clock
# seconds, CPU seconds busy on the whole machine (steal excluded), CPU
# seconds of this run (the cluster's processes, with the backends they have
# reaped, and this shell's children: pgbench, psql), steal seconds, and the
# 1-minute load average. Call it in the main shell (times must see its
# children).
cpu_mark() {
    local pm ours_pg
    times > "$WORKDIR/times"
    pm=$(head -n1 "$WORKDIR/cluster/data/postmaster.pid" 2>/dev/null || echo)
    ours_pg=0
    if [ -n "$pm" ] && [ -d "/proc/$pm" ]; then
        # A backend may exit between pgrep and cat: not an error.
        ours_pg=$(for p in "$pm" $(pgrep -P "$pm" || true); do
                      cat "/proc/$p/stat" 2>/dev/null || true
                  done | awk '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 } END { print s / 100 }')
    fi
    awk -v pg="$ours_pg" -v now="$(date +%s.%N)" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
        function sec(t) { split(t, a, "m"); sub(/s$/, "", a[2]); return a[1] * 60 + a[2] }
        FILENAME ~ /times$/ && FNR == 2 { kids = sec($1) + sec($2) }
        FILENAME ~ /stat$/ && $1 == "cpu" { busy = ($2 + $3 + $4 + $7 + $8) / 100; steal = $9 / 100 }
        END { printf "%s %.2f %.2f %.2f %s\n", now, busy, pg + kids, steal, load }' \
        "$WORKDIR/times" /proc/stat > "$1"
}

# cpu_phase NAME START_FILE: one line of $WORKDIR/load.tsv for the time since
# START_FILE's mark: the phase, its seconds, the share of the machine's
# cores busy with other work (not this run), the share stolen by the
# hypervisor, and the load average at its start and end.
cpu_phase() {
    cpu_mark "$WORKDIR/mark-end"
    read -r t0 b0 o0 s0 l0 < "$2"
    read -r t1 b1 o1 s1 l1 < "$WORKDIR/mark-end"
    awk -v n="$1" -v c="$(nproc)" -v t0="$t0" -v t1="$t1" -v b0="$b0" -v b1="$b1" -v o0="$o0" \
        -v o1="$o1" -v s0="$s0" -v s1="$s1" -v l0="$l0" -v l1="$l1" 'BEGIN {
        w = (t1 - t0) * c; other = (b1 - b0) - (o1 - o0); if (other < 0) other = 0;
        printf "%s\t%.0f\t%.0f\t%.0f\t%s\t%s\n", n, t1 - t0, 100 * other / w, 100 * (s1 - s0) / w, l0, l1
    }' >> "$WORKDIR/load.tsv"
}

# run_workloads [PHASE]: runs the registered workloads; PHASE names them in
# the load table.
run_workloads() {
    local name r phase="${1:-workloads}"
    cpu_mark "$WORKDIR/mark-start"
    for name in "${WORKLOADS[@]}"; do
        rm -rf "$WORKDIR/pgbench-$name"
        mkdir -p "$WORKDIR/pgbench-$name"
        : > "$WORKDIR/pgbench-$name/tps"
    done
    for r in $(seq 1 "$BENCH_REPEATS"); do
        # Each round in another order (seeded: the same in every run), so
        # that no workload always follows the one that cooled its caches.
        for name in $(printf '%s\n' "${WORKLOADS[@]}" | shuf --random-source=<(yes "$r")); do
            local out f
            local -a files=()
            for f in ${WORKLOAD_SCRIPT[$name]}; do files+=(-f "$f"); done
            if [ -n "${WORKLOAD_BEFORE[$name]}" ]; then eval "${WORKLOAD_BEFORE[$name]}"; fi
            out=$(cd "$WORKDIR/pgbench-$name" && pgbench -n -M prepared -c "$BENCH_CLIENTS" \
                  -j "$BENCH_CLIENTS" -T "$BENCH_SECONDS" "${files[@]}" \
                  -l --log-prefix="r$r" "$PGDATABASE" 2>&1) || {
                echo "$out" >&2
                echo "pgbench failed for $name" >&2
                return 1
            }
            echo "$out" | sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -n1 >> "$WORKDIR/pgbench-$name/tps"
        done
        echo "   round $r of $BENCH_REPEATS done"
    done
    cpu_phase "$phase" "$WORKDIR/mark-start"
    awk -F'\t' 'END { printf "   other work on the machine meanwhile: %s %% of its cores (steal %s %%), load %s to %s\n", $3, $4, $5, $6 }' "$WORKDIR/load.tsv"
    for name in "${WORKLOADS[@]}"; do
        local dir="$WORKDIR/pgbench-$name" tps pct
        tps=$(sort -n "$dir/tps" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        pct=$(for f in "$dir"/r*.*; do
                  [ -f "$f" ] && awk '{t = $5 * 1000000 + $6; if (NR > 1) print t - p; p = t}' "$f"
              done | sort -n | awk '
            {a[NR]=$1}
            END {
                if (NR == 0) { print "-", "-", "-"; exit }
                i50=int(NR*0.50); i99=int(NR*0.99); i999=int(NR*0.999);
                if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1; if (i999 < 1) i999 = 1;
                print a[i50], a[i99], a[i999]
            }')
        printf '%s\t%s\t%s\n' "$name" "$tps" "$pct" | tr ' ' '\t' >> "$RESULTS_TSV"
        printf '   %-34s %10.0f tps   p50 %6s us   p99 %6s us   p99.9 %6s us\n' \
            "$name" "$tps" $pct
        rm -rf "$dir"
    done
    WORKLOADS=()
    WORKLOAD_SCRIPT=()
    WORKLOAD_BEFORE=()
}

# The value of column 2 (tps) for a workload name in the results.
tps_of() { awk -F'\t' -v n="$1" '$1==n {print $2}' "$RESULTS_TSV"; }
col_of() { awk -F'\t' -v n="$1" -v c="$2" '$1==n {print $c}' "$RESULTS_TSV"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# Writes a pgbench script: name, then the lines.
script() {
    local file="$WORKDIR/$1.sql"
    shift
    printf '%s\n' "$@" > "$file"
    echo "$file"
}

# \set t to one of the uids in $1 (space separated), drawn uniformly.
pick_from() {
    local var="$1" list="$2"
    local -a uids=($list)
    local n=${#uids[@]}
    local expr="\\set ${var}_i random(0, $((n - 1)))"$'\n'"\\set ${var} case"
    for i in "${!uids[@]}"; do
        expr+=" when :${var}_i = $i then ${uids[$i]}"
    done
    expr+=" else ${uids[0]} end"
    printf '%s' "$expr"
}

# ------------------------------------------------------ the baselines' SQL
# What an AppView without the index runs, on the same tables: bench/run
# measures these one at a time, bench/scenario under load. The arguments
# name the placeholders: pgbench's variables by default (:v, :ts, :id),
# $1... for prepared statements.

# fanin_sql LIMIT CURSOR [V TS ID]: Bluesky's fan-in query (the reference
# query of DESIGN.md); with CURSOR=1, below the cursor (TS, ID).
fanin_sql() {
    local v="${3:-:v}" ts="${4:-:ts::timestamptz}" id="${5:-:id::bigint}" cond="true"
    [ "$2" = 1 ] && cond="(t.sort_at, t.item_id) < ($ts, $id)"
    cat <<SQL
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = $v UNION SELECT $v)
SELECT * FROM (
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src)
) t WHERE $cond
ORDER BY t.sort_at DESC, t.item_id DESC LIMIT $1
SQL
}

# lateral_sql LIMIT CURSOR [V TS ID]: the per-followee rewrite Blacksky
# runs: the newest LIMIT items of each source through its index, then
# merged.
lateral_sql() {
    local v="${3:-:v}" ts="${4:-:ts::timestamptz}" id="${5:-:id::bigint}" cp="true" cr="true"
    if [ "$2" = 1 ]; then
        cp="(p.created_at, p.id) < ($ts, $id)"
        cr="(r.created_at, r.id) < ($ts, $id)"
    fi
    cat <<SQL
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = $v UNION SELECT $v)
SELECT t.* FROM src, LATERAL (
  (SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at
     FROM dataplane.post p WHERE p.author = src.uid AND $cp
    ORDER BY p.created_at DESC, p.id DESC LIMIT $1)
  UNION ALL
  (SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
     FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
    WHERE r.reposter = src.uid AND $cr
    ORDER BY r.created_at DESC, r.id DESC LIMIT $1)
) t ORDER BY t.sort_at DESC, t.item_id DESC LIMIT $1
SQL
}

# author_feed_sql LIMIT [A]: an author's posts and reposts, newest first.
author_feed_sql() {
    local a="${2:-:v}"
    cat <<SQL
SELECT * FROM (
  (SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at
     FROM dataplane.post p WHERE p.author = $a ORDER BY p.created_at DESC, p.id DESC LIMIT $1)
  UNION ALL
  (SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
     FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
    WHERE r.reposter = $a ORDER BY r.created_at DESC, r.id DESC LIMIT $1)
) t ORDER BY t.sort_at DESC, t.item_id DESC LIMIT $1
SQL
}

# proof_sql count|list [A T LIMIT]: social proof as the SQL self-join: the
# accounts A follows who follow T (their number, or the first LIMIT).
proof_sql() {
    local a="${2:-:a}" t="${3:-:t}" lim="${4:-10}"
    local from="FROM dataplane.follow f JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = $t WHERE f.follower = $a"
    if [ "$1" = count ]; then
        printf 'SELECT count(*) %s' "$from"
    else
        printf 'SELECT f.followee %s ORDER BY 1 LIMIT %s' "$from" "$lim"
    fi
}

# The same reads under the second part of the contract (schema 0.2.0:
# blocks, mutes, moderation lists, inactive accounts, replies under a
# blocked parent or root), as DESIGN.md's reference query states them for
# replies 'all', reposts and quotes shown: what get_timeline(v, lim,
# ts, id) and get_author_feed(a, lim, NULL, NULL, 'posts_with_replies', v)
# answer. Bluesky's AppView filters after cutting the page and re-queries
# to fill it; this SQL cuts a full page in one statement.

# moderation_ctes V: the viewer's blocked (either way, directly or through
# a list) and hidden (blocked, muted directly or through a list, inactive)
# accounts, as two CTEs (to follow a WITH list's comma).
moderation_ctes() {
    local v="$1"
    cat <<SQL
blocked AS (
  SELECT blocked AS uid FROM dataplane.block WHERE blocker = $v
  UNION SELECT blocker FROM dataplane.block WHERE blocked = $v
  UNION SELECT i.subject FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id) WHERE b.actor = $v
  UNION SELECT b.actor FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id) WHERE i.subject = $v),
hidden AS (
  SELECT uid FROM blocked
  UNION SELECT muted FROM dataplane.mute WHERE muter = $v
  UNION SELECT i.subject FROM dataplane.list_mute m JOIN dataplane.list_item i USING (list_id) WHERE m.actor = $v
  UNION SELECT uid FROM dataplane.actor WHERE NOT active)
SQL
}

# moderation_where P [R]: the filters of an item whose post is P (an alias)
# and, for a repost, whose reposter is R (a column).
moderation_where() {
    local p="$1" r="${2:-}"
    printf '%s' "$p.author NOT IN (SELECT uid FROM hidden)"
    [ -n "$r" ] && printf '%s' "
     AND $r NOT IN (SELECT uid FROM hidden)"
    printf '%s' "
     AND ($p.reply_parent_author IS NULL
          OR ($p.reply_parent_author NOT IN (SELECT uid FROM blocked)
              AND $p.reply_root_author NOT IN (SELECT uid FROM blocked)))"
}

# fanin_filtered_sql LIMIT CURSOR [V TS ID]: DESIGN.md's second-part
# reference query as it is written there: the fan-in query's items, then
# the filters. (The filters pushed into each branch made the planner read
# every post through the heap for its reply columns: 3 times slower.)
fanin_filtered_sql() {
    local v="${3:-:v}" ts="${4:-:ts::timestamptz}" id="${5:-:id::bigint}" cond="true"
    [ "$2" = 1 ] && cond="(t.sort_at, t.item_id) < ($ts, $id)"
    cat <<SQL
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = $v UNION SELECT $v),
$(moderation_ctes "$v"),
items AS (
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at,
         p.reply_parent_author, p.reply_root_author
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at,
         p.reply_parent_author, p.reply_root_author
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src))
SELECT t.item_id, t.post_id, t.author, t.reposter, t.sort_at
  FROM items t
 WHERE t.author NOT IN (SELECT uid FROM hidden)
   AND (t.reposter IS NULL OR t.reposter NOT IN (SELECT uid FROM hidden))
   AND (t.reply_parent_author IS NULL
        OR (t.reply_parent_author NOT IN (SELECT uid FROM blocked)
            AND t.reply_root_author NOT IN (SELECT uid FROM blocked)))
   AND $cond
 ORDER BY t.sort_at DESC, t.item_id DESC
 LIMIT $1
SQL
}

# lateral_filtered_sql LIMIT CURSOR [V TS ID]: the per-followee rewrite,
# filtered inside each source's subquery (so that each still yields its
# newest LIMIT items that qualify).
lateral_filtered_sql() {
    local v="${3:-:v}" ts="${4:-:ts::timestamptz}" id="${5:-:id::bigint}" cp="true" cr="true"
    if [ "$2" = 1 ]; then
        cp="(p.created_at, p.id) < ($ts, $id)"
        cr="(r.created_at, r.id) < ($ts, $id)"
    fi
    cat <<SQL
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = $v UNION SELECT $v),
$(moderation_ctes "$v")
SELECT t.* FROM src, LATERAL (
  (SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at
     FROM dataplane.post p WHERE p.author = src.uid AND $cp
     AND $(moderation_where p)
    ORDER BY p.created_at DESC, p.id DESC LIMIT $1)
  UNION ALL
  (SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
     FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
    WHERE r.reposter = src.uid AND $cr
     AND $(moderation_where p r.reposter)
    ORDER BY r.created_at DESC, r.id DESC LIMIT $1)
) t ORDER BY t.sort_at DESC, t.item_id DESC LIMIT $1
SQL
}

# author_feed_filtered_sql LIMIT [A V]: A's posts and reposts, newest
# first, without what viewer V must not see.
author_feed_filtered_sql() {
    local a="${2:-:a}" v="${3:-:v}"
    cat <<SQL
WITH $(moderation_ctes "$v")
SELECT * FROM (
  (SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at
     FROM dataplane.post p WHERE p.author = $a
     AND $(moderation_where p)
    ORDER BY p.created_at DESC, p.id DESC LIMIT $1)
  UNION ALL
  (SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
     FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
    WHERE r.reposter = $a
     AND $(moderation_where p r.reposter)
    ORDER BY r.created_at DESC, r.id DESC LIMIT $1)
) t ORDER BY t.sort_at DESC, t.item_id DESC LIMIT $1
SQL
}
