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
