#!/usr/bin/env bash
# Runs the tests of dataplane and ends with "N passed, N failed":
#   GoogleTest unit tests of the core (ctest), pg_regress and isolation tests
#   against a throwaway cluster, and TAP tests (restart, crash, concurrency
#   stress), each of which starts clusters of its own; and the load
#   scenarios' tool (bench/scenario): its parser, and a tiny scenario end
#   to end (about 30 s).
# Usage (as root on Debian bookworm):
#   bash scripts/test.sh                       every test
#   bash scripts/test.sh unit 'SetFormat.*'    unit tests matching a GoogleTest filter
#   bash scripts/test.sh regress 002_graph     these regression tests
#   bash scripts/test.sh isolation follow_rollback
#   bash scripts/test.sh server                the regress and isolation suites,
#                                              on one cluster
#   bash scripts/test.sh tap 003 010           TAP tests whose names start so
#   bash scripts/test.sh scenario              bench/scenario's parser and a tiny scenario
# Each regression test runs alone too: those that use the dptest helpers
# load sql/include/dptest.psql first (see that file).
# Environment: PG_CONFIG (another PostgreSQL 15: scripts/cassert.sh runs
# the server suite against one built with assertions), DP_TEST_PORT (55432;
# the scenario suite's cluster uses the next port),
# DP_EXTRA_CXXFLAGS (more flags for the extension's compiler: -Werror in CI),
# DP_ACCEPT=1 (copy the output of failed regress and isolation tests over
# their expected files: for reviewing with git diff, never in CI).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SUITE="${1:-all}"
shift || true
SELECT=("$@")
PORT="${DP_TEST_PORT:-55432}"
case "$SUITE" in
    all|unit|regress|isolation|server|tap|scenario) ;;
    *) echo "unknown suite: $SUITE (all, unit, regress, isolation, server, tap, scenario)" >&2; exit 2 ;;
esac

dp_deps
# The unit tests need the CMake build, the other suites the installed
# extension (the TAP tests use the installed copy too).
case "$SUITE" in
    unit) dp_build_core ;;
    regress|isolation|server) dp_build_ext ;;
    # The TAP tests and bench/scenario also run tools of the CMake build
    # (jetgen, dpgen, dpload).
    tap|scenario) dp_build ;;
    *) dp_build ;;
esac

PASSED=0
FAILED=0
FAILURES=()
WORK=$(mktemp -d /tmp/dataplane-test.XXXXXX)
chown postgres:postgres "$WORK"
# The clusters, logs and diffs of a run (up to ~1 GB): kept only when a
# test failed, for its diffs and server logs.
DP_AT_EXIT+=('if [ "$FAILED" = 0 ]; then rm -rf "$WORK"; else echo "test files kept in $WORK"; fi')
for d in sql expected specs t; do
    if [ -d "$DP_ROOT/$d" ]; then cp -r "$DP_ROOT/$d" "$WORK/"; fi
done
mkdir -p "$WORK/output_iso/expected"
cp "$DP_ROOT"/expected/*.out "$WORK/output_iso/expected/" 2>/dev/null || true
chown -R postgres:postgres "$WORK"

# count SUITE PASSED FAILED [failed names...]
count() {
    local suite="$1" ok="$2" bad="$3"
    shift 3
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + bad))
    for n in "$@"; do FAILURES+=("$suite: $n"); done
    echo "== $suite: $ok passed, $bad failed"
}

# pg_regress-style output: "... ok" / "... FAILED" lines.
# count_regress_output SUITE LOG EXPECTED: tests that did not report
# (pg_regress stopped part way) count as failed.
count_regress_output() {
    local suite="$1" log="$2" expected="$3"
    local ok bad names
    ok=$(grep -cE '\.\.\. ok' "$log" || true)
    bad=$(grep -cE '\.\.\. (FAILED|failed)' "$log" || true)
    mapfile -t names < <(grep -E '\.\.\. (FAILED|failed)' "$log" | sed -E 's/^ *(test +)?([^ ]+).*/\2/')
    if [ "$((ok + bad))" -lt "$expected" ]; then
        names+=("$((expected - ok - bad)) tests did not run (see the log above)")
        bad=$((expected - ok))
    fi
    count "$suite" "$ok" "$bad" "${names[@]}"
}

run_unit() {
    echo "== unit tests (GoogleTest)"
    local filter="${SELECT[0]:-*}"
    if [ "$SUITE" = all ]; then
        if (cd "$DP_ROOT/build" && ctest --output-on-failure) > "$WORK/ctest.log" 2>&1; then
            n=$(grep -oE '[0-9]+ tests failed out of [0-9]+' "$WORK/ctest.log" | awk '{print $6}')
            count "unit" "${n:-0}" 0
        else
            cat "$WORK/ctest.log"
            n=$(grep -oE '[0-9]+ tests failed out of [0-9]+' "$WORK/ctest.log" | awk '{print $6}')
            f=$(grep -oE '[0-9]+ tests failed out of' "$WORK/ctest.log" | awk '{print $1}')
            count "unit" "$(( ${n:-1} - ${f:-1} ))" "${f:-1}" "see ctest output"
        fi
        return
    fi
    # One filter: run the test binary itself (its summary counts the tests).
    "$DP_ROOT/build/core_tests" --gtest_filter="$filter" > "$WORK/unit.log" 2>&1 || true
    local ok bad
    ok=$(grep -cE '^\[       OK \]' "$WORK/unit.log" || true)
    bad=$(grep -cE '^\[  FAILED  \] [A-Za-z0-9_/.]+ \(' "$WORK/unit.log" || true)
    [ "$bad" -gt 0 ] && cat "$WORK/unit.log"
    count "unit" "$ok" "$bad"
}

# The regress and isolation tests share one database whose newest item
# (008_extreme_keys writes some in the far future, counted as now) sets the
# age bound's clock for all: their data, months old, would be below the
# 7-day bound. Their rings keep 16 items whatever their age, so that their
# checks that pages came from the index test the index; pages cut by the
# bound, with the default ring_keep_newest = 0, are tested by
# t/021_memory_pressure.pl, t/022_recency_pages.pl and t/010.
start_cluster() {
    echo "== starting a test cluster"
    dp_cluster_start "$WORK/cluster" "$PORT" "dataplane.database = 'contrib_regression'" \
        "dataplane.memory_limit = 64MB" "dataplane.ring_keep_newest = 16"
    as_pg createdb -h "$WORK/cluster" -p "$PORT" contrib_regression
}

# names SUITE_DIR EXT: the selected tests of a suite (all when none selected).
names() {
    local dir="$1" ext="$2"
    if [ "$SUITE" != all ] && [ "${#SELECT[@]}" -gt 0 ]; then
        printf '%s\n' "${SELECT[@]}"
    else
        (cd "$WORK/$dir" && ls *."$ext" | grep -v '^dataplane' | sed "s/\.$ext\$//" | sort)
    fi
}

# accept RESULTS_DIR LOG: with DP_ACCEPT=1, failed tests' output becomes
# their expected output.
accept() {
    [ "${DP_ACCEPT:-0}" = 1 ] || return 0
    grep -E '\.\.\. (FAILED|failed)' "$2" | sed -E 's/^ *(test +)?([^ ]+).*/\2/' |
        while read -r name; do
            cp "$1/$name.out" "$DP_ROOT/expected/$name.out" && echo "accepted $name"
        done
}

run_regress() {
    local tests
    tests=$(names sql sql)
    echo "== regression tests"
    as_pg "$PGXS_DIR/src/test/regress/pg_regress" --inputdir="$WORK" --outputdir="$WORK" \
        --host="$WORK/cluster" --port="$PORT" --use-existing --dbname=contrib_regression \
        $tests > "$WORK/regress.log" 2>&1 || true
    cat "$WORK/regress.log"
    count_regress_output "regress" "$WORK/regress.log" "$(echo "$tests" | wc -w)"
    [ -f "$WORK/regression.diffs" ] && cat "$WORK/regression.diffs"
    accept "$WORK/results" "$WORK/regress.log"
    return 0
}

run_isolation() {
    ls "$DP_ROOT"/specs/*.spec >/dev/null 2>&1 || return 0
    local specs
    specs=$(names specs spec)
    echo "== isolation tests"
    as_pg "$PGXS_DIR/src/test/isolation/pg_isolation_regress" --inputdir="$WORK" \
        --outputdir="$WORK/output_iso" --host="$WORK/cluster" --port="$PORT" --use-existing \
        --dbname=contrib_regression $specs > "$WORK/isolation.log" 2>&1 || true
    cat "$WORK/isolation.log"
    count_regress_output "isolation" "$WORK/isolation.log" "$(echo "$specs" | wc -w)"
    [ -f "$WORK/output_iso/regression.diffs" ] && cat "$WORK/output_iso/regression.diffs"
    accept "$WORK/output_iso/results" "$WORK/isolation.log"
    return 0
}

run_tap() {
    ls "$DP_ROOT"/t/*.pl >/dev/null 2>&1 || return 0
    echo "== TAP tests"
    mkdir -p "$WORK/tap"
    chown postgres:postgres "$WORK/tap"
    for tap in "$WORK"/t/*.pl; do
        name=$(basename "$tap")
        if [ "$SUITE" != all ] && [ "${#SELECT[@]}" -gt 0 ]; then
            local want=0
            for p in "${SELECT[@]}"; do [[ "$name" == "$p"* ]] && want=1; done
            [ "$want" = 1 ] || continue
        fi
        if (cd "$WORK" && as_pg env PATH="$PATH" PERL5LIB="$PGXS_DIR/src/test/perl:$WORK/t" \
                TESTDIR="$WORK/tap" PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
                DP_ROOT="$DP_ROOT" prove -v "$tap") > "$WORK/tap-$name.log" 2>&1; then
            count "tap" 1 0
            grep -E '^(ok|# )' "$WORK/tap-$name.log" | grep -vE '^# (Running|Postmaster|Checking|Took)' | tail -n 40 || true
        else
            cat "$WORK/tap-$name.log"
            for log in "$WORK"/tap/tmp_check/log/*.log; do
                [ -f "$log" ] && { echo "---- $log"; tail -n 60 "$log"; }
            done
            count "tap" 0 1 "$name"
        fi
    done
}

# Output that ends with "N passed, N failed" (and names failures "not ok - NAME").
count_summary() {
    local suite="$1" log="$2" line names
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
    if [ -z "$line" ]; then
        count "$suite" 0 1 "$(basename "$log"): no summary"
        return
    fi
    mapfile -t names < <(grep -E '^not ok - ' "$log" | sed 's/^not ok - //')
    count "$suite" "$(echo "$line" | awk '{print $1}')" "$(echo "$line" | awk '{print $3}')" "${names[@]}"
}

# bench/scenario: the parser accepts every shipped scenario and refuses bad
# files with their line and field; test/scenario/tiny.toml runs end to end
# (both passes, report, dashboards) on a cluster of its own.
run_scenario() {
    echo "== scenario tests (bench/scenario)"
    /usr/bin/python3 "$DP_ROOT/test/scenario/test_parse.py" > "$WORK/scenario-parse.log" 2>&1 || true
    cat "$WORK/scenario-parse.log"
    count_summary "scenario" "$WORK/scenario-parse.log"
    local out="$WORK/scenario-tiny" t0=$SECONDS
    if bash "$DP_ROOT/bench/scenario" "$DP_ROOT/test/scenario/tiny.toml" --port $((PORT + 1)) \
            --out "$out" > "$WORK/scenario-tiny.log" 2>&1 &&
        /usr/bin/python3 "$DP_ROOT/test/scenario/check_results.py" "$out" >> "$WORK/scenario-tiny.log" 2>&1; then
        echo "ok - test/scenario/tiny.toml end to end ($((SECONDS - t0)) s)"
        count "scenario" 1 0
    else
        tail -n 60 "$WORK/scenario-tiny.log"
        echo "not ok - test/scenario/tiny.toml end to end"
        count "scenario" 0 1 "tiny.toml end to end"
    fi
}

case "$SUITE" in
    all)
        run_unit
        start_cluster
        run_regress
        run_isolation
        dp_cluster_stop "$WORK/cluster"
        run_tap
        run_scenario
        ;;
    unit) run_unit ;;
    regress) start_cluster; run_regress; dp_cluster_stop "$WORK/cluster" ;;
    isolation) start_cluster; run_isolation; dp_cluster_stop "$WORK/cluster" ;;
    server) start_cluster; run_regress; run_isolation; dp_cluster_stop "$WORK/cluster" ;;
    tap) run_tap ;;
    scenario) run_scenario ;;
    *) echo "unknown suite: $SUITE (all, unit, regress, isolation, server, tap, scenario)" >&2; exit 2 ;;
esac

echo
for f in "${FAILURES[@]}"; do echo "FAILED $f"; done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
