#include "build.hpp"

#include <type_traits>

#include "index_build.hpp"
#include "capture.hpp"
#include "capture_guard.hpp"
#include "entry.hpp"
#include "tables.hpp"
#include "guc.hpp"
#include "index_host.hpp"
#include "pressure.hpp"
#include "owner.hpp"
#include "shmem.hpp"
#include "spi_stream.hpp"
#include "sql_text.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

namespace dpg {

namespace {

constexpr long kRelaunchAfterMs = 10000;    // a launched worker that never started
constexpr long kRetryFailedAfterMs = 5000;  // a build that failed

void set_error(const char *msg) {
    SpinLockAcquire(&L.sh->mutex);
    strlcpy(L.sh->last_error, msg, sizeof(L.sh->last_error));
    SpinLockRelease(&L.sh->mutex);
}

// Registers the worker; false (and the index back to empty) if it cannot.
bool start_worker(uint64 seq) {
    BackgroundWorker w;
    std::memset(&w, 0, sizeof(w));
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = BGW_NEVER_RESTART;
    strlcpy(w.bgw_library_name, "dataplane", BGW_MAXLEN);
    strlcpy(w.bgw_function_name, "dataplane_builder_main", BGW_MAXLEN);
    strlcpy(w.bgw_name, "dataplane index builder", BGW_MAXLEN);
    strlcpy(w.bgw_type, "dataplane index builder", BGW_MAXLEN);
    w.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
    std::memcpy(w.bgw_extra, &seq, sizeof(seq));
    if (RegisterDynamicBackgroundWorker(&w, nullptr))
        return true;
    TimestampTz now = GetCurrentTimestamp();  // no system call under a spinlock
    SpinLockAcquire(&L.sh->mutex);
    if (L.sh->launch_seq == seq) {
        pg_atomic_write_u32(&L.sh->state, kStateEmpty);
        L.sh->failed_at = now;
        strlcpy(L.sh->last_error, "could not start the index builder: no background worker slot",
                sizeof(L.sh->last_error));
    }
    SpinLockRelease(&L.sh->mutex);
    ereport(WARNING,
            (errmsg("dataplane could not start its index builder"),
             errhint("Raise max_worker_processes; until a build succeeds, reads use the tables.")));
    return false;
}

// Decides under the mutex whether to launch, and records the launch.
bool claim_launch(Oid gen, bool force, uint64 *seq) {
    TimestampTz now = GetCurrentTimestamp();
    bool go = false;
    SpinLockAcquire(&L.sh->mutex);
    uint32 st = pg_atomic_read_u32(&L.sh->state);
    bool same_gen = L.sh->gen_relid == gen;
    if (st == kStateBuilding && same_gen) {
        go = L.sh->builder_pid == 0 &&
             TimestampDifferenceExceeds(L.sh->launched_at, now, kRelaunchAfterMs);
    } else if (st == kStateFailed && same_gen && !force) {
        go = false;  // failed: rebuild() (force) or a restart repairs it
    } else if (force || st != kStateReady || !same_gen) {
        go = force || !same_gen || L.sh->failed_at == 0 ||
             TimestampDifferenceExceeds(L.sh->failed_at, now, kRetryFailedAfterMs);
    }
    if (go) {
        *seq = ++L.sh->launch_seq;
        L.sh->gen_relid = gen;
        L.sh->dbid = MyDatabaseId;
        L.sh->launched_at = now;
        pg_atomic_write_u32(&L.sh->state, kStateBuilding);
    }
    SpinLockRelease(&L.sh->mutex);
    return go;
}

bool is_current(uint64 seq) {
    SpinLockAcquire(&L.sh->mutex);
    bool cur = L.sh->launch_seq == seq;
    SpinLockRelease(&L.sh->mutex);
    return cur;
}

// ------------------------------------------------------------ the builder

struct BuildRun {
    uint64 seq;
    bool finished;
};
BuildRun run;

void builder_exit(int, Datum) {
    TimestampTz now = GetCurrentTimestamp();
    SpinLockAcquire(&L.sh->mutex);
    if (L.sh->builder_pid == MyProcPid)
        L.sh->builder_pid = 0;
    if (!run.finished && L.sh->launch_seq == run.seq) {
        pg_atomic_write_u32(&L.sh->state, kStateEmpty);
        L.sh->failed_at = now;
        L.sh->build_seq++;
        if (L.sh->last_error[0] == '\0')
            strlcpy(L.sh->last_error, "index build ended early", sizeof(L.sh->last_error));
    }
    SpinLockRelease(&L.sh->mutex);
    ConditionVariableBroadcast(&L.sh->build_cv);
}

// Step 1 (index_build.hpp): every stripe emptied and in journal mode.
// Timeline readers that overlap the reset retry (it counts as an apply).
void reset_index() {
    pg_atomic_fetch_add_u64(&L.sh->applies_started, 1);
    dp::build_reset(index_env());
    // Before the scans' snapshots: a commit naming an odd list id that the
    // scans miss sets the mark again when it is applied (commit.cpp).
    pg_atomic_write_u32(&L.sh->odd_lists, 0);
    pg_atomic_write_u64(&L.sh->lost_leaves, 0);
    pg_atomic_write_u64(&L.sh->evict_floor, 0);
    pg_atomic_fetch_add_u64(&L.sh->applies_finished, 1);
}

// Step 2 for follows: every edge as an (owner << 32 | other) key, read at
// once (the other side needs them sorted the other way).
struct Edges {
    uint64 *keys;
    size_t n;
};
DP_PG_FRAME(Edges);

Edges read_edges(const char *sql) {
    Edges e{nullptr, 0};
    size_t cap = 1 << 16;
    e.keys = static_cast<uint64 *>(MemoryContextAllocHuge(TopTransactionContext, cap * 8));
    SpiStream rows;
    // read_only = false: the cursor takes a new snapshot now, after the reset.
    rows.open(sql, false, 65536);
    for (; rows.valid(); rows.next()) {
        if (e.n == cap) {
            cap *= 2;
            e.keys = static_cast<uint64 *>(repalloc_huge(e.keys, cap * 8));
        }
        e.keys[e.n++] = uint64(rows.uid(1)) << 32 | rows.uid(2);
    }
    rows.close();
    return e;
}

void swap_halves(uint64 *keys, size_t n) {
    for (size_t i = 0; i < n; i++)
        keys[i] = keys[i] << 32 | keys[i] >> 32;
}

size_t longest_run(const Edges &e) {
    size_t best = 0, run_len = 0;
    for (size_t i = 0; i < e.n; i++) {
        run_len = (i > 0 && (e.keys[i] >> 32) == (e.keys[i - 1] >> 32)) ? run_len + 1 : 1;
        best = Max(best, run_len);
    }
    return best;
}

// One side's follow sets, from keys sorted by owner: the rows of an
// install pass (dp::run_install_pass).
class EdgeRows {
  public:
    explicit EdgeRows(const Edges &e)
        : e_(e), buf_(static_cast<uint32 *>(
                     MemoryContextAllocHuge(TopTransactionContext, (longest_run(e) + 1) * 4))) {}
    uint32 peek() const { return i_ < e_.n ? uint32(e_.keys[i_] >> 32) : dp::InstallPass::kNoRows; }
    void load(uint32 uid) {
        n_ = 0;
        while (i_ < e_.n && uint32(e_.keys[i_] >> 32) == uid)
            buf_[n_++] = uint32(e_.keys[i_++]);
    }
    void install(dp::InstallPass &pass, uint32 uid) { pass.install_set(uid, buf_, n_); }

  private:
    const Edges &e_;
    uint32 *buf_;
    size_t i_ = 0, n_ = 0;
};
DP_PG_FRAME(EdgeRows);

// Posts and reposts by source, newest first: the author rings' rows. A
// source keeps its newest `cap` items and the key of the newest that does
// not fit (its ring's horizon).
class AuthorRows {
  public:
    explicit AuthorRows(uint32 cap)
        : cap_(cap), floor_(ring_floor()), keep_(uint32(guc_ring_keep_newest)),
          now_(GetCurrentTimestamp()),
          max_age_us_(int64(guc_ring_max_age_s) * USECS_PER_SEC) {
        buf_ = static_cast<dp::AuthorItem *>(
            MemoryContextAllocHuge(TopTransactionContext, sizeof(dp::AuthorItem) * (cap + 1)));
        rows_.open(sql::items_by_source(true), false, 65536);
    }
    void close() { rows_.close(); }
    uint32 peek() const { return rows_.valid() ? rows_.uid(1) : dp::InstallPass::kNoRows; }
    void load(uint32 uid) {
        n_ = 0;
        horizon_ = dp::kMinKey;
        for (; rows_.valid() && rows_.uid(1) == uid; rows_.next()) {
            dp::AuthorItem it = rows_.item(2);
            if (it.ts > newest_) {
                // The floor follows the newest item read so far (the scan
                // is by source, not by time): sources read before it
                // reached the newest overall keep a little more, until
                // the trim after the build.
                newest_ = std::min(it.ts, now_);
                if (max_age_us_ > 0 && floor_ < dp::age_floor(newest_ - max_age_us_))
                    floor_ = dp::age_floor(newest_ - max_age_us_);
            }
            // Rows come newest first: the first that does not fit (the
            // ring is full, or it is older than ring_max_age beyond the
            // newest few: ring_trim in ring.hpp) is the horizon, and so are
            // all after it.
            if (n_ < cap_ && (n_ < keep_ || floor_ < it.key()))
                buf_[n_++] = it;
            else if (horizon_ == dp::kMinKey)
                horizon_ = it.key();
        }
        std::reverse(buf_, buf_ + n_);  // ascending
    }
    void install(dp::InstallPass &pass, uint32 uid) {
        pass.install_author(uid, buf_, n_, horizon_);
    }

    // The newest created_at read (not later than the build's start).
    int64 newest() const { return newest_; }

  private:
    uint32 cap_;
    dp::ItemKey floor_;
    uint32 keep_;
    TimestampTz now_;
    int64 max_age_us_;
    int64 newest_ = PG_INT64_MIN;
    dp::AuthorItem *buf_;
    size_t n_ = 0;
    dp::ItemKey horizon_ = dp::kMinKey;
    SpiStream rows_;
};
DP_PG_FRAME(AuthorRows);

// Step 3: one install pass; between leaves, interrupts are served and a
// build that a newer one superseded stops.
template <typename Rows>
void install(dp::InstallPass::Kind kind, Rows &rows, uint64 seq) {
    dp::InstallPass pass(index_env(), kind);
    dp::run_install_pass(pass, rows, [seq]() {
        CHECK_FOR_INTERRUPTS();
        if (!is_current(seq))
            ereport(ERROR, (errmsg("dataplane index build superseded by a newer one")));
    });
}

void finish(uint64 seq, TimestampTz started) {
    dp::build_finish(index_env());
    TimestampTz now = GetCurrentTimestamp();
    SpinLockAcquire(&L.sh->mutex);
    if (L.sh->launch_seq == seq) {
        pg_atomic_write_u32(&L.sh->state, kStateReady);
        L.sh->build_finished_at = now;
        L.sh->builds_ok++;
        L.sh->build_seq++;
        L.sh->last_build_ms = double(now - started) / 1000.0;
        L.sh->last_error[0] = '\0';
        L.sh->failed_at = 0;
    }
    SpinLockRelease(&L.sh->mutex);
    run.finished = true;
    // Rings installed before this build knew the newest item's time.
    trim_all_rings();
}

// The moderation relations (schema 0.2.0), one set per owner: the side
// and the query of its (owner, other) pairs, and the side of the other
// end's sets when the index keeps the relation both ways (edge_batch.hpp:
// reverse_side; kNumSides when not). List ids the list directory cannot
// hold are left out here and flagged (odd_lists).
struct RelationQuery {
    dp::Side side;
    dp::Side reverse;
    const char *sql;
};
const RelationQuery kRelations[] = {
    {dp::kBlock, dp::kBlockers,
     "SELECT blocker, blocked FROM dataplane.block WHERE blocker > 0 AND blocked > 0"},
    {dp::kMute, dp::kNumSides, "SELECT muter, muted FROM dataplane.mute"},
    {dp::kListBlock, dp::kListBlockers,
     "SELECT actor, list_id::int4 FROM dataplane.list_block "
     "WHERE actor > 0 AND list_id > 0 AND list_id < 2147483648"},
    {dp::kListMute, dp::kNumSides,
     "SELECT actor, list_id::int4 FROM dataplane.list_mute "
     "WHERE list_id > 0 AND list_id < 2147483648"},
    {dp::kMembers, dp::kMemberOf,
     "SELECT list_id::int4, subject FROM dataplane.list_item "
     "WHERE subject > 0 AND list_id > 0 AND list_id < 2147483648"},
    {dp::kInactive, dp::kInactives, "SELECT uid, 1 FROM dataplane.actor WHERE NOT active AND uid > 0"},
};

bool odd_list_ids() {
    SpiStream rows;
    rows.open("SELECT 1 FROM (SELECT list_id FROM dataplane.list_item UNION ALL "
              "SELECT list_id FROM dataplane.list_block UNION ALL "
              "SELECT list_id FROM dataplane.list_mute) l "
              "WHERE list_id <= 0 OR list_id >= 2147483648 LIMIT 1",
              false, 1);
    bool odd = rows.valid();
    rows.close();
    return odd;
}

// One relation's passes: its owners' side, then (the same pairs swapped)
// the other ends' side. No rows (a 0.1.0 schema): empty passes, so that
// every side's cursor still ends the build.
void install_relation(const RelationQuery &q, bool read, uint64 seq) {
    Edges e{nullptr, 0};
    if (read) {
        e = read_edges(q.sql);
        std::sort(e.keys, e.keys + e.n);
        e.n = size_t(std::unique(e.keys, e.keys + e.n) - e.keys);
    }
    {
        EdgeRows rows(e);
        install(dp::InstallPass::Kind(q.side), rows, seq);
    }
    if (q.reverse != dp::kNumSides) {
        swap_halves(e.keys, e.n);
        std::sort(e.keys, e.keys + e.n);
        EdgeRows rows(e);
        install(dp::InstallPass::Kind(q.reverse), rows, seq);
    }
    if (e.keys != nullptr)
        pfree(e.keys);
}

void install_relations(uint64 seq) {
    for (const RelationQuery &q : kRelations)
        install_relation(q, true, seq);
    if (odd_list_ids())
        pg_atomic_write_u32(&L.sh->odd_lists, 1);
}

// Steps 2 and 3: the scans of the tables, each installed as it is read.
void read_and_install(uint64 seq) {
    Edges e = read_edges("SELECT follower, followee FROM dataplane.follow "
                         "WHERE follower > 0 AND followee > 0");
    std::sort(e.keys, e.keys + e.n);
    {
        EdgeRows rows(e);
        install(dp::InstallPass::kFollowing, rows, seq);
    }
    swap_halves(e.keys, e.n);
    std::sort(e.keys, e.keys + e.n);
    {
        EdgeRows rows(e);
        install(dp::InstallPass::kFollowers, rows, seq);
    }
    pfree(e.keys);
    AuthorRows rows{uint32(guc_author_capacity)};
    install(dp::InstallPass::kAuthors, rows, seq);
    rows.close();
    if (rows.newest() != PG_INT64_MIN)
        note_newest_item(rows.newest());
    if (moderation_schema()) {
        install_relations(seq);
    } else {
        // A 0.1.0 schema has none: every such pass is empty.
        for (const RelationQuery &q : kRelations)
            install_relation(q, false, seq);
    }
}

void build(uint64 seq) {
    Oid gen = current_generation();
    if (!OidIsValid(gen))
        ereport(ERROR, (errmsg("dataplane.follow does not exist in this database")));
    TimestampTz started = GetCurrentTimestamp();
    SpinLockAcquire(&L.sh->mutex);
    bool mine = L.sh->launch_seq == seq && L.sh->gen_relid == gen;
    L.sh->build_started_at = started;
    SpinLockRelease(&L.sh->mutex);
    if (!mine)
        ereport(ERROR, (errmsg("dataplane index build superseded by a newer one")));

    reset_index();
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    run_as_tables_owner([&]() noexcept { read_and_install(seq); });
    SPI_finish();
    finish(seq, started);
}

}  // namespace

void invalidate_index() {
    SpinLockAcquire(&L.sh->mutex);
    L.sh->launch_seq++;
    pg_atomic_write_u32(&L.sh->state, kStateEmpty);
    SpinLockRelease(&L.sh->mutex);
}

void fail_index(const char *why) {
    SpinLockAcquire(&L.sh->mutex);
    L.sh->launch_seq++;
    pg_atomic_write_u32(&L.sh->state, kStateFailed);
    strlcpy(L.sh->last_error, why, sizeof(L.sh->last_error));
    SpinLockRelease(&L.sh->mutex);
    ereport(WARNING, (errmsg("dataplane: %s; reads use the tables until it is rebuilt", why),
                      errhint("Call dataplane.rebuild() (as its owner or a superuser).")));
}

void maybe_launch_build(Oid gen) {
    // No build while writes may bypass the capture (capture_guard.hpp).
    if (!OidIsValid(gen) || !serves_this_database() || RecoveryInProgress() ||
        pg_atomic_read_u32(&L.sh->capture_off) != 0)
        return;
    uint64 seq;
    if (claim_launch(gen, false, &seq))
        start_worker(seq);
}

void check_index_usable(const char *what) {
    if (!shmem_attach())
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("dataplane is not loaded via shared_preload_libraries"),
                        errhint("Add 'dataplane' to shared_preload_libraries and restart the "
                                "server; until then reads use the tables.")));
    check_served_database(what);
    if (txn_has_changes())
        ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
                        errmsg("dataplane.%s() cannot run in a transaction that has changed "
                               "dataplane tables",
                               what),
                        errhint("Commit first: the index only holds committed changes.")));
}

bool build_and_wait(Oid gen, bool force) {
    if (RecoveryInProgress())
        ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                        errmsg("the dataplane index is not built on a standby"),
                        errdetail("A hot standby answers every read from its tables."),
                        errhint("Promote the standby, or run this on the primary.")));
    if (!heal_capture(false)) {
        char reason[sizeof(L.sh->capture_reason)];
        SpinLockAcquire(&L.sh->mutex);
        strlcpy(reason, L.sh->capture_reason, sizeof(reason));
        SpinLockRelease(&L.sh->mutex);
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the dataplane index cannot be built while its capture is off"),
                        errdetail("%s.", reason),
                        errhint("Enable the trigger again (ALTER TABLE ... ENABLE TRIGGER); "
                                "the index then rebuilds by itself.")));
    }
    SpinLockAcquire(&L.sh->mutex);
    uint64 before = L.sh->build_seq;
    SpinLockRelease(&L.sh->mutex);
    uint64 seq;
    if (claim_launch(gen, force, &seq) && !start_worker(seq))
        return false;
    bool ok = false;
    for (;;) {
        SpinLockAcquire(&L.sh->mutex);
        uint32 st = pg_atomic_read_u32(&L.sh->state);
        bool same = L.sh->gen_relid == gen;
        bool ended = L.sh->build_seq > before;
        SpinLockRelease(&L.sh->mutex);
        if (st == kStateReady && same && (ended || !force)) {
            ok = true;
            break;
        }
        if (ended && st != kStateBuilding)
            break;  // the build failed
        if (st == kStateEmpty || !same)
            maybe_launch_build(gen);
        ConditionVariableTimedSleep(&L.sh->build_cv, 1000, PG_WAIT_EXTENSION);
    }
    ConditionVariableCancelSleep();
    return ok;
}

}  // namespace dpg

using namespace dpg;

// The builder worker: one build, then exit.
static void builder_main(Oid dbid) {
    std::memcpy(&run.seq, MyBgworkerEntry->bgw_extra, sizeof(run.seq));
    run.finished = false;
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
    shmem_attach();

    // One builder at a time: wait for a superseded one to leave.
    for (;;) {
        SpinLockAcquire(&L.sh->mutex);
        bool current = L.sh->launch_seq == run.seq;
        int other = L.sh->builder_pid;
        if (current && other == 0)
            L.sh->builder_pid = MyProcPid;
        SpinLockRelease(&L.sh->mutex);
        if (!current)
            proc_exit(0);
        if (other == 0)
            break;
        pg_usleep(10000);
        CHECK_FOR_INTERRUPTS();
    }
    before_shmem_exit(builder_exit, 0);

    SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    // The database's or a role's settings must not reach the scans (they
    // also run under run_as_tables_owner's pinned search_path).
    SetConfigOption("search_path", kPinnedSearchPath, PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    // READ COMMITTED, whatever the configuration says: the edge scan must
    // take its snapshot after the stripes were reset, not at the first
    // catalog lookup.
    XactIsoLevel = XACT_READ_COMMITTED;
    pgstat_report_activity(STATE_RUNNING, "building the dataplane index");
    PG_TRY();
    {
        build(run.seq);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(TopMemoryContext);
        ErrorData *ed = CopyErrorData();
        set_error(ed->message);
        PG_RE_THROW();
    }
    PG_END_TRY();
    CommitTransactionCommand();
    pgstat_report_activity(STATE_IDLE, nullptr);
    ConditionVariableBroadcast(&L.sh->build_cv);
    proc_exit(0);
}

extern "C" void dataplane_builder_main(Datum arg) {
    guard_callback("dataplane index builder", [arg] { builder_main(DatumGetObjectId(arg)); });
}
