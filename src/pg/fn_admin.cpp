// The DBA's functions: status(), rebuild(), and the install check that
// CREATE EXTENSION runs first.
#include "build.hpp"
#include "entry.hpp"
#include "capture.hpp"
#include "capture_guard.hpp"
#include "tables.hpp"
#include "guc.hpp"
#include "jetstream_worker.hpp"
#include "index_host.hpp"
#include "owner.hpp"
#include "pressure.hpp"
#include "ring_ops.hpp"
#include "set_read.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

}

namespace dpg {

namespace {

// status()'s row, filled by column name: the same C function serves every
// version of the SQL declaration (0.1.0's has fewer columns; columns are
// only ever appended).
class StatusRow {
  public:
    explicit StatusRow(TupleDesc desc) : desc_(desc) {
        v_ = static_cast<Datum *>(palloc0(sizeof(Datum) * desc->natts));
        n_ = static_cast<bool *>(palloc(sizeof(bool) * desc->natts));
        std::fill(n_, n_ + desc->natts, true);
    }
    void set(const char *name, Datum d) {
        for (int i = 0; i < desc_->natts; i++)
            if (strcmp(NameStr(TupleDescAttr(desc_, i)->attname), name) == 0) {
                v_[i] = d;
                n_[i] = false;
                return;
            }
    }
    void text(const char *name, const char *s) {
        if (s != nullptr)
            set(name, CStringGetTextDatum(s));
    }
    void i64(const char *name, uint64 x) { set(name, Int64GetDatum(int64(x))); }
    Datum datum() { return HeapTupleGetDatum(heap_form_tuple(desc_, v_, n_)); }

  private:
    TupleDesc desc_;
    Datum *v_;
    bool *n_;
};

DP_PG_FRAME(StatusRow);

// The live consumer: its state, and how far behind the stream it is (the
// time since the event it committed last was emitted).
void jetstream_columns(StatusRow &row, DpShared *sh) {
    JetstreamShared &js = sh->jetstream;
    row.text("jetstream_state", jetstream_state_name(pg_atomic_read_u32(&js.state)));
    row.text("jetstream_url", guc_jetstream_url);
    uint64 last = pg_atomic_read_u64(&js.last_time_us);
    if (last > 0) {
        int64 now_us = int64(GetCurrentTimestamp()) +
                       int64(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC;
        row.i64("jetstream_lag_ms", uint64(Max(now_us - int64(last), int64(0)) / 1000));
    }
    row.i64("jetstream_events", pg_atomic_read_u64(&js.events));
    row.i64("jetstream_batches", pg_atomic_read_u64(&js.batches));
    char reason[sizeof(js.reason)];
    double rate;
    SpinLockAcquire(&sh->mutex);
    strlcpy(reason, js.reason, sizeof(reason));
    rate = js.rate;
    SpinLockRelease(&sh->mutex);
    row.set("jetstream_events_per_s", Float8GetDatum(rate));
    if (reason[0] != '\0')
        row.text("jetstream_reason", reason);
}

// Memory pressure over the last window (pressure.hpp): rates, the share
// of timeline pages merged without a feed ring, and the memory_limit that
// would hold the working set when the current one is short.
void pressure_columns(StatusRow &row, DpShared *sh) {
    pressure_tick();
    uint64 ringless = 0, denied = 0, deepened = 0;
    const ReadCounters *rc = read_counters(sh);
    for (int b = 0; b < MaxBackends; b++) {
        ringless += rc[b].pages_ringless;
        denied += rc[b].rings_denied;
        deepened += rc[b].rings_deepened;
    }
    row.i64("pages_without_ring", ringless);
    row.i64("rings_not_admitted", denied);
    row.i64("author_rings_deepened", deepened);
    // A copy of the last window, taken while no one rolls it (nothing here
    // may raise an error while the flag is held).
    PressureShared &p = sh->pressure;
    uint32 expected = 0;
    if (pg_atomic_read_u64(&p.window) < 2 ||
        !pg_atomic_compare_exchange_u32(&p.rolling, &expected, 1))
        return;  // no window complete yet (or one is being rolled: NULLs)
    double secs = p.last_seconds, builds = p.builds_per_s, evictions = p.evictions_per_s,
           share = p.ringless_share, viewers = p.viewers_estimate;
    uint64 pages = p.last_pages;
    int64 needed = p.memory_needed;
    pg_atomic_write_u32(&p.rolling, 0);
    row.set("pressure_window_s", Float8GetDatum(secs));
    row.set("ring_builds_per_s", Float8GetDatum(builds));
    row.set("evictions_per_s", Float8GetDatum(evictions));
    if (pages > 0)
        row.set("pages_without_ring_share", Float8GetDatum(share));
    row.i64("active_viewers", uint64(viewers + 0.5));
    if (needed > 0)
        row.i64("memory_needed", uint64(needed));
}

// Reads as they were answered, summed over the backends.
struct ReadTotals {
    uint64 index = 0, sql[kFbCount] = {}, sql_total = 0;
    uint64 pages_index = 0, pages_sql[kFbCount] = {}, pages_sql_total = 0;
};

ReadTotals read_totals(DpShared *sh) {
    ReadTotals t;
    t.index = pg_atomic_read_u64(&sh->reads_index);
    for (int i = 0; i < kFbCount; i++)
        t.sql[i] = pg_atomic_read_u64(&sh->reads_sql[i]);
    const ReadCounters *rc = read_counters(sh);
    for (int b = 0; b < MaxBackends; b++) {
        const volatile ReadCounters *c = &rc[b];
        t.index += c->index;
        t.pages_index += c->pages_index;
        for (int i = 0; i < kFbCount; i++) {
            t.sql[i] += c->sql[i];
            t.pages_sql[i] += c->pages_sql[i];
        }
    }
    for (int i = 0; i < kFbCount; i++) {
        t.sql_total += t.sql[i];
        t.pages_sql_total += t.pages_sql[i];
    }
    return t;
}
DP_PG_FRAME(ReadTotals);

}  // namespace

}  // namespace dpg

using namespace dpg;

DP_FUNCTION(dataplane_status) {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "dataplane.status: return type must be a row type");
    StatusRow row(BlessTupleDesc(desc));
    if (!shmem_attach()) {
        row.text("state", "not preloaded");
        row.text("reason", "dataplane is not in shared_preload_libraries: every read uses the "
                           "tables");
        PG_RETURN_DATUM(row.datum());
    }
    DpShared *sh = L.sh;
    // "warming" means a build is under way: start one if none is (reads
    // would; a DBA watching status() should not have to).
    if (serves_this_database() && pg_atomic_read_u32(&sh->state) == kStateEmpty)
        maybe_launch_build(current_generation());
    // Nor report capture off once every trigger is enabled again, nor on
    // while one is disabled (capture_guard.hpp: commits that raced).
    sync_capture_mark();
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
    char capture_reason[sizeof(sh->capture_reason)];
    strlcpy(capture_reason, sh->capture_reason, sizeof(capture_reason));
    SpinLockRelease(&sh->mutex);
    uint32 st = pg_atomic_read_u32(&sh->state);
    int64 lost = int64(pg_atomic_read_u64(&sh->lost_leaves));
    bool capture_off = pg_atomic_read_u32(&sh->capture_off) != 0;
    ReadTotals t = read_totals(sh);

    // The state, and one line on why it is not simply "ready".
    const char *state;
    char *reason = nullptr;
    if (RecoveryInProgress()) {
        state = "standby";
        reason = pstrdup("a hot standby answers every read from its tables; the index is built "
                         "once it is promoted");
    } else if (capture_off) {
        state = "capture_disabled";
        reason = psprintf("%s: reads use the tables until it is enabled again (ALTER TABLE ... "
                          "ENABLE TRIGGER), then the index rebuilds by itself",
                          capture_reason);
    } else if (st == kStateFailed) {
        state = "degraded";
        reason = psprintf("%s: reads use the tables until dataplane.rebuild() (or a restart)", err);
    } else if (st != kStateReady) {
        state = "warming";
        reason = err[0] != '\0'
                     ? psprintf("the last build failed (%s); reads use the tables meanwhile", err)
                     : pstrdup("the index is being built from the tables; reads use the tables "
                               "meanwhile");
    } else if (invalid > 0 || lost > 0 || census.lost_rings > 0) {
        state = "degraded";
        reason = psprintf("%lld follow sets, %lld directory leaves and %lld author rings did not "
                          "fit in dataplane.memory_limit: their reads use the tables; raise it "
                          "and call dataplane.rebuild()",
                          (long long) invalid, (long long) lost, (long long) census.lost_rings);
    } else {
        state = "ready";
    }
    row.text("state", state);
    row.text("reason", reason);
    char *dbname = OidIsValid(dbid) ? get_database_name(dbid) : nullptr;
    row.text("database", dbname ? dbname : guc_database);
    row.i64("follow_edges", uint64(edges));
    row.i64("memory_used", pg_atomic_read_u64(&sh->bytes_used));
    row.i64("memory_limit", sh->dsa_size);
    // The follow graph's share: its sets and the directory's leaves (the
    // directory also finds rings, but is there for the graph first).
    uint64 leaf_bytes =
        uint64(env.dir->leaves()) * dsa_rounded_size(sizeof(dp::DirEntry) * dp::kLeafSize);
    uint64 graph_bytes = census.set_bytes + leaf_bytes;
    if (edges > 0)
        row.set("bytes_per_edge", Float8GetDatum(double(graph_bytes) / double(edges)));
    row.i64("invalid_sets", uint64(invalid));
    row.i64("lost_leaves", uint64(lost));
    row.i64("reads_index", t.index);
    row.i64("reads_fallback", t.sql_total);
    row.i64("fallback_warming", t.sql[kFbWarming]);
    row.i64("fallback_own_writes", t.sql[kFbOwnWrites]);
    row.i64("fallback_unknown", t.sql[kFbUnknown]);
    row.i64("fallback_in_flight", t.sql[kFbInFlight]);
    row.i64("fallback_not_served", t.sql[kFbNotServed]);
    row.i64("fallback_standby", t.sql[kFbStandby]);
    row.i64("fallback_capture", t.sql[kFbCapture]);
    row.i64("commits_applied", pg_atomic_read_u64(&sh->commits_applied));
    row.i64("changes_applied", pg_atomic_read_u64(&sh->changes_applied));
    row.i64("stale_changes", uint64(stale));
    row.i64("compactions", uint64(compactions));
    row.i64("evictions", pg_atomic_read_u64(&sh->tl.evictions));
    row.i64("builds", builds);
    if (builds > 0) {
        row.set("last_build_ms", Float8GetDatum(last_ms));
        row.set("last_build_at", TimestampTzGetDatum(last_at));
    }
    if (err[0] != '\0')
        row.text("last_error", err);
    row.i64("pages_index", t.pages_index);
    row.i64("pages_fallback", t.pages_sql_total);
    row.i64("pages_fallback_horizon", t.pages_sql[kFbHorizon]);
    row.i64("pages_fallback_warming",
            t.pages_sql[kFbWarming] + t.pages_sql[kFbStandby] + t.pages_sql[kFbCapture]);
    row.i64("pages_fallback_own_writes", t.pages_sql[kFbOwnWrites]);
    row.i64("pages_fallback_memory", t.pages_sql[kFbUnknown]);
    row.i64("pages_fallback_other", t.pages_sql[kFbInFlight] + t.pages_sql[kFbNotServed]);
    row.i64("feed_rings", census.feed_rings);
    row.i64("feed_items", census.feed_items);
    row.i64("author_rings", census.author_rings);
    row.i64("author_items", census.author_items);
    row.i64("lost_rings", census.lost_rings);
    row.i64("celebrities", uint64(celebs));
    row.i64("items_applied", pg_atomic_read_u64(&sh->tl.items_applied));
    row.i64("stale_items", pg_atomic_read_u64(&sh->tl.items_stale));
    row.i64("fanout_changes", pg_atomic_read_u64(&sh->tl.fanout));
    row.i64("backfills", pg_atomic_read_u64(&sh->tl.backfills));
    row.i64("feed_builds", pg_atomic_read_u64(&sh->tl.feed_builds));
    row.i64("feeds_dropped", pg_atomic_read_u64(&sh->tl.feeds_dropped));
    row.i64("graph_bytes", graph_bytes);
    row.i64("author_ring_bytes", census.author_bytes);
    row.i64("feed_ring_bytes", census.feed_bytes);
    IngestCounters &in = sh->ingest;
    row.i64("ingest_batches", pg_atomic_read_u64(&in.batches));
    row.i64("ingest_events", pg_atomic_read_u64(&in.lines));
    row.i64("ingest_applied", pg_atomic_read_u64(&in.applied));
    row.i64("ingest_skipped", pg_atomic_read_u64(&in.skipped));
    row.i64("ingest_unreadable", pg_atomic_read_u64(&in.unreadable));
    row.i64("ingest_rows_written", pg_atomic_read_u64(&in.rows_written));
    if (pg_atomic_read_u64(&in.batches) > 0)
        row.i64("ingest_last_time_us", pg_atomic_read_u64(&in.last_time_us));
    jetstream_columns(row, sh);
    pressure_columns(row, sh);
    PG_RETURN_DATUM(row.datum());
}

DP_FUNCTION(dataplane_rebuild) {
    check_admin("rebuild");
    check_index_usable("rebuild");
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
DP_FUNCTION(dataplane_install_check) {
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
