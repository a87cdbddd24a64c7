// The DBA's functions: status(), rebuild(), and the install check that
// CREATE EXTENSION runs first.
#include "build.hpp"
#include "capture.hpp"
#include "gate.hpp"
#include "guc.hpp"
#include "index_host.hpp"
#include "ring_ops.hpp"
#include "set_read.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

DP_SQL_FUNCTION(dataplane_status);
DP_SQL_FUNCTION(dataplane_rebuild);
DP_SQL_FUNCTION(dataplane_install_check);
}

namespace dpg {

namespace {

const char *state_name(uint32 st, bool degraded) {
    if (st != kStateReady)
        return "warming";
    return degraded ? "degraded" : "ready";
}

Oid extension_owner() {
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    int rc = SPI_execute("SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'dataplane'",
                         true, 1);
    Oid owner = InvalidOid;
    if (rc == SPI_OK_SELECT && SPI_processed == 1) {
        bool isnull;
        owner = DatumGetObjectId(
            SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    }
    SPI_finish();
    return owner;
}

}  // namespace

}  // namespace dpg

using namespace dpg;

extern "C" Datum dataplane_status(PG_FUNCTION_ARGS) {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "dataplane.status: return type must be a row type");
    desc = BlessTupleDesc(desc);
    constexpr int kCols = 46;
    Datum v[kCols];
    bool nulls[kCols];
    std::memset(nulls, 0, sizeof(nulls));
    if (!shmem_attach()) {
        std::fill(nulls, nulls + kCols, true);
        nulls[0] = false;
        v[0] = CStringGetTextDatum("not preloaded");
        PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, nulls)));
    }
    DpShared *sh = L.sh;
    int64 edges = 0, invalid = 0, stale = 0, compactions = 0;
    const dp::IndexEnv &env = index_env();
    dp::RingCensus census;
    for (uint32 s = 0; s < dp::kStripes; s++) {
        LWLockAcquire(stripe_lock(s), LW_SHARED);
        edges += sh->stripes[s].edges[dp::kOut];
        invalid += int64(sh->stripes[s].invalid_sets);
        stale += int64(sh->stripes[s].stale);
        compactions += int64(sh->stripes[s].compactions);
        dp::census_stripe(*env.arena, *env.dir, s, &census, dsa_rounded_size);
        LWLockRelease(stripe_lock(s));
    }
    int64 celebs = 0;
    LWLockAcquire(celeb_lock(), LW_SHARED);
    if (!sh->celebs.empty() && !sh->celebs.invalid()) {
        dp::SetView cv(*env.arena, sh->celebs, env.views);
        celebs = cv.ok() ? int64(cv.size()) : 0;
    }
    LWLockRelease(celeb_lock());
    SpinLockAcquire(&sh->mutex);
    Oid dbid = sh->dbid;
    uint64 builds = sh->builds_ok;
    double last_ms = sh->last_build_ms;
    TimestampTz last_at = sh->build_finished_at;
    char err[sizeof(sh->last_error)];
    strlcpy(err, sh->last_error, sizeof(err));
    SpinLockRelease(&sh->mutex);
    uint32 st = pg_atomic_read_u32(&sh->state);
    int64 lost = int64(pg_atomic_read_u64(&sh->lost_leaves));
    uint64 fb[kFbCount], fb_total = 0, reads_index = pg_atomic_read_u64(&sh->reads_index);
    for (int i = 0; i < kFbCount; i++)
        fb[i] = pg_atomic_read_u64(&sh->reads_sql[i]);
    const ReadCounters *rc = read_counters(sh);
    uint64 pages_index = 0, pages_sql = 0, pages_why[kFbCount] = {};
    for (int b = 0; b < MaxBackends; b++) {
        const volatile ReadCounters *c = &rc[b];
        reads_index += c->index;
        for (int i = 0; i < kFbCount; i++)
            fb[i] += c->sql[i];
        pages_index += c->pages_index;
        for (int i = 0; i < kFbCount; i++) {
            pages_why[i] += c->pages_sql[i];
            pages_sql += c->pages_sql[i];
        }
    }
    for (int i = 0; i < kFbCount; i++)
        fb_total += fb[i];

    int c = 0;
    v[c++] = CStringGetTextDatum(state_name(st, invalid > 0 || lost > 0 || census.lost_rings > 0));
    char *dbname = OidIsValid(dbid) ? get_database_name(dbid) : nullptr;
    v[c] = dbname ? CStringGetTextDatum(dbname) : CStringGetTextDatum(guc_database);
    c++;
    v[c++] = Int64GetDatum(edges);
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->bytes_used)));
    v[c++] = Int64GetDatum(int64(sh->dsa_size));
    // The follow graph's share: its sets and the directory's leaves (the
    // directory also finds rings, but is there for the graph first).
    uint64 leaf_bytes = uint64(env.dir->leaves()) * dsa_rounded_size(sizeof(dp::DirEntry) * dp::kLeafSize);
    uint64 graph_bytes = census.set_bytes + leaf_bytes;
    v[c] = Float8GetDatum(edges > 0 ? double(graph_bytes) / double(edges) : 0);
    nulls[c] = edges == 0;
    c++;
    v[c++] = Int64GetDatum(invalid);
    v[c++] = Int64GetDatum(lost);
    v[c++] = Int64GetDatum(int64(reads_index));
    v[c++] = Int64GetDatum(int64(fb_total));
    v[c++] = Int64GetDatum(int64(fb[kFbWarming]));
    v[c++] = Int64GetDatum(int64(fb[kFbOwnWrites]));
    v[c++] = Int64GetDatum(int64(fb[kFbUnknown]));
    v[c++] = Int64GetDatum(int64(fb[kFbInFlight]));
    v[c++] = Int64GetDatum(int64(fb[kFbNotServed]));
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->commits_applied)));
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->changes_applied)));
    v[c++] = Int64GetDatum(stale);
    v[c++] = Int64GetDatum(compactions);
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->tl.evictions)));
    v[c++] = Int64GetDatum(int64(builds));
    v[c] = Float8GetDatum(last_ms);
    nulls[c] = builds == 0;
    c++;
    v[c] = TimestampTzGetDatum(last_at);
    nulls[c] = builds == 0;
    c++;
    v[c] = CStringGetTextDatum(err);
    nulls[c] = err[0] == '\0';
    c++;
    v[c++] = Int64GetDatum(int64(pages_index));
    v[c++] = Int64GetDatum(int64(pages_sql));
    v[c++] = Int64GetDatum(int64(pages_why[kFbHorizon]));
    v[c++] = Int64GetDatum(int64(pages_why[kFbWarming]));
    v[c++] = Int64GetDatum(int64(pages_why[kFbOwnWrites]));
    v[c++] = Int64GetDatum(int64(pages_why[kFbUnknown]));
    v[c++] = Int64GetDatum(int64(pages_why[kFbInFlight] + pages_why[kFbNotServed]));
    v[c++] = Int64GetDatum(int64(census.feed_rings));
    v[c++] = Int64GetDatum(int64(census.feed_items));
    v[c++] = Int64GetDatum(int64(census.author_rings));
    v[c++] = Int64GetDatum(int64(census.author_items));
    v[c++] = Int64GetDatum(int64(census.lost_rings));
    v[c++] = Int64GetDatum(celebs);
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->tl.items_applied)));
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->tl.items_stale)));
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->tl.fanout)));
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->tl.backfills)));
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->tl.feed_builds)));
    v[c++] = Int64GetDatum(int64(pg_atomic_read_u64(&sh->tl.feeds_dropped)));
    v[c++] = Int64GetDatum(int64(graph_bytes));
    v[c++] = Int64GetDatum(int64(census.author_bytes));
    v[c++] = Int64GetDatum(int64(census.feed_bytes));
    Assert(c == kCols);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, nulls)));
}

extern "C" Datum dataplane_rebuild(PG_FUNCTION_ARGS) {
    if (!superuser() && !has_privs_of_role(GetUserId(), extension_owner()))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("permission denied to rebuild the dataplane index"),
                        errhint("Only superusers and the owner of extension dataplane may "
                                "rebuild it.")));
    if (!shmem_attach())
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("dataplane is not loaded via shared_preload_libraries"),
                        errhint("Add 'dataplane' to shared_preload_libraries and restart the "
                                "server; until then reads use the tables.")));
    check_served_database("rebuild");
    if (txn_has_changes())
        ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
                        errmsg("dataplane.rebuild() cannot run in a transaction that has "
                               "changed dataplane tables"),
                        errhint("Commit first, then call dataplane.rebuild().")));
    Oid gen = current_generation();
    if (!build_and_wait(gen, true)) {
        SpinLockAcquire(&L.sh->mutex);
        char err[sizeof(L.sh->last_error)];
        strlcpy(err, L.sh->last_error, sizeof(err));
        SpinLockRelease(&L.sh->mutex);
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("dataplane index rebuild failed: %s", err),
                        errhint("See the server log; until a build succeeds, reads use the "
                                "tables.")));
    }
    PG_RETURN_VOID();
}

// Runs first in the install script: refuse to install where the index
// cannot serve.
extern "C" Datum dataplane_install_check(PG_FUNCTION_ARGS) {
    if (!shmem_available())
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("dataplane must be loaded via shared_preload_libraries"),
                        errhint("Add 'dataplane' to shared_preload_libraries in "
                                "postgresql.conf, restart the server, then run CREATE "
                                "EXTENSION dataplane again.")));
    const char *db = get_database_name(MyDatabaseId);
    if (db == nullptr || strcmp(db, guc_database) != 0)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("dataplane can only be installed in database \"%s\"", guc_database),
                        errdetail("The current database is \"%s\"; dataplane.database selects "
                                  "the one database the index serves.",
                                  db ? db : "?"),
                        errhint("Run CREATE EXTENSION dataplane in \"%s\", or set "
                                "dataplane.database = '%s' and restart the server.",
                                guc_database, db ? db : "?")));
    PG_RETURN_VOID();
}
