# Benchmark helpers: pgbench runs with latency logs, percentiles, and the
# markdown report. Sourced by bench/run after scripts/common.sh.

BENCH_CLIENTS=${BENCH_CLIENTS:-2}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_REPEATS=${BENCH_REPEATS:-3}

# pgbench_run NAME SCRIPT_FILE: runs the script BENCH_REPEATS times for
# BENCH_SECONDS each (2 clients, prepared protocol, transaction latency logs)
# and appends "name tps p50 p99 p999" (median TPS over repeats; latency
# percentiles over all transactions, in microseconds) to $RESULTS_TSV.
pgbench_run() {
    local name="$1" script="$2"
    local logdir="$WORKDIR/pgbench-$name"
    rm -rf "$logdir"
    mkdir -p "$logdir"
    local tps_list=()
    for r in $(seq 1 "$BENCH_REPEATS"); do
        local out
        out=$(cd "$logdir" && pgbench -n -M prepared -c "$BENCH_CLIENTS" -j "$BENCH_CLIENTS" \
              -T "$BENCH_SECONDS" -f "$script" -l --log-prefix="r$r" "$PGDATABASE" 2>&1) || {
            echo "$out" >&2
            echo "pgbench failed for $name" >&2
            return 1
        }
        tps_list+=("$(echo "$out" | sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -n1)")
    done
    local tps
    tps=$(printf '%s\n' "${tps_list[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    local pct
    pct=$(cat "$logdir"/r*.* | awk '{print $3}' | sort -n | awk '
        {a[NR]=$1}
        END {
            p50=a[int(NR*0.50)>0?int(NR*0.50):1]; p99=a[int(NR*0.99)>0?int(NR*0.99):1];
            p999=a[int(NR*0.999)>0?int(NR*0.999):1];
            print p50, p99, p999
        }')
    printf '%s\t%s\t%s\n' "$name" "$tps" "$pct" | tr ' ' '\t' >> "$RESULTS_TSV"
    printf '   %-32s %10.0f tps   p50 %6s us   p99 %6s us   p99.9 %6s us\n' \
        "$name" "$tps" $pct
    rm -rf "$logdir"
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
