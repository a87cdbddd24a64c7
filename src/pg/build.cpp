#include "build.hpp"

#include "gate.hpp"
#include "graph_apply.hpp"
#include "set_write.hpp"
#include "shmem.hpp"

extern "C" {
#include "access/xact.h"
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
    SpinLockAcquire(&L.sh->mutex);
    if (L.sh->launch_seq == seq) {
        pg_atomic_write_u32(&L.sh->state, kStateEmpty);
        L.sh->failed_at = GetCurrentTimestamp();
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
    SpinLockAcquire(&L.sh->mutex);
    if (L.sh->builder_pid == MyProcPid)
        L.sh->builder_pid = 0;
    if (!run.finished && L.sh->launch_seq == run.seq) {
        pg_atomic_write_u32(&L.sh->state, kStateEmpty);
        L.sh->failed_at = GetCurrentTimestamp();
        L.sh->build_seq++;
        if (L.sh->last_error[0] == '\0')
            strlcpy(L.sh->last_error, "index build ended early", sizeof(L.sh->last_error));
    }
    SpinLockRelease(&L.sh->mutex);
    ConditionVariableBroadcast(&L.sh->build_cv);
}

void lock_all_stripes() {
    for (uint32 s = 0; s < dp::kStripes; s++)
        LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
}

void unlock_all_stripes() {
    for (uint32 s = dp::kStripes; s-- > 0;)
        LWLockRelease(stripe_lock(s));
}

// Step 1: every stripe empty and in journal mode.
//
// Stripes are emptied one at a time and left unmaintained (commits skip
// them: the build's snapshot, taken later, sees those commits). Then, with
// no set left anywhere, the directory's leaves are freed too: users who had
// sets before may have none now, and their leaves would hold memory the new
// index needs. Only then do commits start journaling.
void reset_stripes() {
    dp::Directory dir = directory();
    for (auto &c : L.sh->cursor)
        pg_atomic_write_u32(&c, 0);
    for (uint32 s = 0; s < dp::kStripes; s++) {
        StripeShared &st = L.sh->stripes[s];
        LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
        st.mode = kModeEmpty;
        dp::ApplyResult r;
        dp::clear_stripe(L.arena, dir, s, &r);
        st.edges[0] = st.edges[1] = 0;
        st.invalid_sets = 0;
        LWLockRelease(stripe_lock(s));
    }
    lock_all_stripes();
    dir.free_leaves();
    for (uint32 s = 0; s < dp::kStripes; s++)
        L.sh->stripes[s].mode = kModeBuilding;
    unlock_all_stripes();
    pg_atomic_write_u64(&L.sh->lost_leaves, 0);
}

// Step 2: the edges as (owner << 32 | other) keys.
struct Edges {
    uint64 *keys;
    size_t n;
    uint32 max_uid;
};

Edges read_edges() {
    Edges e{nullptr, 0, 0};
    size_t cap = 1 << 20;
    e.keys = static_cast<uint64 *>(MemoryContextAllocHuge(TopTransactionContext, cap * 8));
    SPIPlanPtr plan = SPI_prepare("SELECT follower, followee FROM dataplane.follow", 0, nullptr);
    if (plan == nullptr)
        elog(ERROR, "dataplane: could not plan the edge scan: %s", SPI_result_code_string(SPI_result));
    // read_only = false: the cursor takes a new snapshot now, after the reset.
    Portal portal = SPI_cursor_open(nullptr, plan, nullptr, nullptr, false);
    for (;;) {
        SPI_cursor_fetch(portal, true, 65536);
        if (SPI_processed == 0)
            break;
        for (uint64 i = 0; i < SPI_processed; i++) {
            bool n1, n2;
            int32 a = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &n1));
            int32 b = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &n2));
            if (n1 || n2 || a <= 0 || b <= 0)
                continue;
            if (e.n == cap) {
                cap *= 2;
                e.keys = static_cast<uint64 *>(repalloc_huge(e.keys, cap * 8));
            }
            e.keys[e.n++] = uint64(uint32(a)) << 32 | uint32(b);
            e.max_uid = Max(e.max_uid, uint32(Max(a, b)));
        }
        SPI_freetuptable(SPI_tuptable);
        CHECK_FOR_INTERRUPTS();
    }
    SPI_cursor_close(portal);
    return e;
}

void sort_keys(uint64 *keys, size_t n) { std::sort(keys, keys + n); }

void swap_halves(uint64 *keys, size_t n) {
    for (size_t i = 0; i < n; i++)
        keys[i] = keys[i] << 32 | keys[i] >> 32;
}

// Installs one user's set on one side (under its stripe lock).
void install_one(dp::Directory &dir, uint32 uid, uint8 side, const uint32 *v, size_t n) {
    StripeShared &st = L.sh->stripes[dp::stripe_of(uid)];
    dp::DirEntry *e = n > 0 ? dir.get(uid) : dir.find(uid);
    if (e == nullptr) {
        if (n > 0 && !dir.lost(uid)) {
            dir.mark_lost(uid);
            pg_atomic_fetch_add_u64(&L.sh->lost_leaves, 1);
        }
        return;
    }
    dp::SetRef *ref = &e->set[side];
    dp::WriteStats ws;
    if (dp::set_install(L.arena, ref, v, n, &ws) != dp::Status::kOk) {
        dp::set_free(L.arena, ref, &ws);
        *ref = dp::SetRef{dp::kInvalidRef, dp::kNoRef};
        st.invalid_sets++;
    }
    st.edges[side] += ws.card;
}

// Step 3 for one side: keys sorted by owner.
void install_side(const Edges &e, uint8 side, uint64 seq, uint32 *buf) {
    dp::Directory dir = directory();
    const uint32 rows_end = e.max_uid + 1;
    size_t i = 0;
    uint32 uid = 1;
    for (;;) {
        // The end moves: a commit may create a leaf (a new account) while
        // the pass runs, and its journal must be installed too.
        uint32 end = Max(dir.uid_end(), rows_end);
        if (uid >= end) {
            // Decide that the pass is over under every stripe lock, where no
            // commit can create a leaf; from then on commits apply normally.
            lock_all_stripes();
            bool done = uid >= Max(dir.uid_end(), rows_end);
            if (done)
                pg_atomic_write_u32(&L.sh->cursor[side], UINT32_MAX);
            unlock_all_stripes();
            if (done)
                return;
            continue;
        }
        uint32 leaf_end = Min(end, ((uid >> dp::kLeafBits) + 1) << dp::kLeafBits);
        bool rows_in_leaf = i < e.n && uint32(e.keys[i] >> 32) < leaf_end;
        if (!rows_in_leaf && dir.find(uid | 1) == nullptr && !dir.lost(uid)) {
            // Skip a run of leaves with neither rows nor sets. All stripes are
            // locked so that no commit creates a journal in the run meanwhile.
            lock_all_stripes();
            uint32 next = i < e.n ? uint32(e.keys[i] >> 32) : end;
            uint32 skip_to = uid;
            while (skip_to < next && dir.find(skip_to | 1) == nullptr && !dir.lost(skip_to))
                skip_to = Min(next, ((skip_to >> dp::kLeafBits) + 1) << dp::kLeafBits);
            if (skip_to > uid)
                pg_atomic_write_u32(&L.sh->cursor[side], skip_to);
            unlock_all_stripes();
            if (skip_to > uid) {
                uid = skip_to;
                continue;
            }
        }
        for (; uid < leaf_end; uid++) {
            size_t j = i;
            while (j < e.n && uint32(e.keys[j] >> 32) == uid) {
                buf[j - i] = uint32(e.keys[j]);
                j++;
            }
            uint32 s = dp::stripe_of(uid);
            LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
            install_one(dir, uid, side, buf, j - i);
            pg_atomic_write_u32(&L.sh->cursor[side], uid + 1);
            LWLockRelease(stripe_lock(s));
            i = j;
        }
        CHECK_FOR_INTERRUPTS();
        if (!is_current(seq))
            ereport(ERROR, (errmsg("dataplane index build superseded by a newer one")));
    }
}

size_t longest_run(const Edges &e) {
    size_t best = 0, run_len = 0;
    for (size_t i = 0; i < e.n; i++) {
        run_len = (i > 0 && (e.keys[i] >> 32) == (e.keys[i - 1] >> 32)) ? run_len + 1 : 1;
        best = Max(best, run_len);
    }
    return best;
}

void finish(uint64 seq, TimestampTz started) {
    for (uint32 s = 0; s < dp::kStripes; s++) {
        LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
        L.sh->stripes[s].mode = kModeReady;
        LWLockRelease(stripe_lock(s));
    }
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
}

void build(uint64 seq) {
    Oid nsp = get_namespace_oid("dataplane", true);
    Oid gen = OidIsValid(nsp) ? get_relname_relid("follow", nsp) : InvalidOid;
    if (!OidIsValid(gen))
        ereport(ERROR, (errmsg("dataplane.follow does not exist in this database")));
    SpinLockAcquire(&L.sh->mutex);
    bool mine = L.sh->launch_seq == seq && L.sh->gen_relid == gen;
    TimestampTz started = L.sh->build_started_at = GetCurrentTimestamp();
    SpinLockRelease(&L.sh->mutex);
    if (!mine)
        ereport(ERROR, (errmsg("dataplane index build superseded by a newer one")));

    reset_stripes();
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    Edges e = read_edges();
    sort_keys(e.keys, e.n);
    uint32 *buf = static_cast<uint32 *>(
        MemoryContextAllocHuge(TopTransactionContext, (longest_run(e) + 1) * 4));
    install_side(e, dp::kOut, seq, buf);
    swap_halves(e.keys, e.n);
    sort_keys(e.keys, e.n);
    buf = static_cast<uint32 *>(repalloc_huge(buf, (longest_run(e) + 1) * 4));
    install_side(e, dp::kIn, seq, buf);
    SPI_finish();
    finish(seq, started);
}

}  // namespace

void maybe_launch_build(Oid gen) {
    if (!OidIsValid(gen) || !serves_this_database())
        return;
    uint64 seq;
    if (claim_launch(gen, false, &seq))
        start_worker(seq);
}

bool build_and_wait(Oid gen, bool force) {
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

extern "C" void dataplane_builder_main(Datum arg) {
    Oid dbid = DatumGetObjectId(arg);
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
