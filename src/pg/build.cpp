#include "build.hpp"

#include "author_apply.hpp"
#include "gate.hpp"
#include "graph_apply.hpp"
#include "guc.hpp"
#include "index_host.hpp"
#include "owner.hpp"
#include "ring_ops.hpp"
#include "set_write.hpp"
#include "shmem.hpp"

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
// no set or ring left anywhere, the directory's leaves are freed too: users
// who had sets before may have none now, and their leaves would hold memory
// the new index needs. Only then do commits start journaling. Timeline
// readers that overlap the reset retry (it counts as an apply).
void reset_stripes() {
    const dp::IndexEnv &env = index_env();
    dp::Directory &dir = *env.dir;
    pg_atomic_fetch_add_u64(&L.sh->applies_started, 1);
    for (auto &c : L.sh->cursor)
        pg_atomic_write_u32(&c, 0);
    pg_atomic_write_u32(&L.sh->author_cursor, 0);
    for (uint32 s = 0; s < dp::kStripes; s++) {
        StripeShared &st = L.sh->stripes[s];
        LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
        st.mode = kModeEmpty;
        dp::ApplyResult r;
        dp::clear_stripe(L.arena, dir, s, &r);
        dp::clear_rings(L.arena, dir, s, true);
        st.edges[0] = st.edges[1] = 0;
        st.invalid_sets = 0;
        LWLockRelease(stripe_lock(s));
    }
    lock_all_stripes();
    LWLockAcquire(celeb_lock(), LW_EXCLUSIVE);
    dp::WriteStats ws;
    dp::set_free(L.arena, &L.sh->celebs, &ws);
    L.sh->celebs = dp::SetRef{};
    LWLockRelease(celeb_lock());
    dir.free_leaves();
    for (uint32 s = 0; s < dp::kStripes; s++)
        L.sh->stripes[s].mode = kModeBuilding;
    unlock_all_stripes();
    pg_atomic_write_u64(&L.sh->lost_leaves, 0);
    pg_atomic_write_u64(&L.sh->evict_floor, 0);
    pg_atomic_fetch_add_u64(&L.sh->applies_finished, 1);
}

// Step 2 for follows: the edges as (owner << 32 | other) keys.
struct Edges {
    uint64 *keys;
    size_t n;
};

Edges read_edges() {
    Edges e{nullptr, 0};
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

size_t longest_run(const Edges &e) {
    size_t best = 0, run_len = 0;
    for (size_t i = 0; i < e.n; i++) {
        run_len = (i > 0 && (e.keys[i] >> 32) == (e.keys[i - 1] >> 32)) ? run_len + 1 : 1;
        best = Max(best, run_len);
    }
    return best;
}

// One side's follow sets, from keys sorted by owner: a source of rows for
// install_pass. peek(): the next owner with rows; load(uid): gather its
// rows (outside any lock); install(uid): under its stripe lock.
class EdgeRows {
  public:
    EdgeRows(const Edges &e, uint8 side)
        : e_(e), side_(side),
          buf_(static_cast<uint32 *>(MemoryContextAllocHuge(TopTransactionContext,
                                                            (longest_run(e) + 1) * 4))) {}
    uint32 peek() const { return i_ < e_.n ? uint32(e_.keys[i_] >> 32) : UINT32_MAX; }
    void load(uint32 uid) {
        n_ = 0;
        while (i_ < e_.n && uint32(e_.keys[i_] >> 32) == uid)
            buf_[n_++] = uint32(e_.keys[i_++]);
    }
    void install(dp::Directory &dir, uint32 uid) {
        StripeShared &st = L.sh->stripes[dp::stripe_of(uid)];
        dp::DirEntry *e = n_ > 0 ? dir.get(uid) : dir.find(uid);
        if (e == nullptr) {
            if (n_ > 0 && !dir.lost(uid)) {
                dir.mark_lost(uid);
                pg_atomic_fetch_add_u64(&L.sh->lost_leaves, 1);
            }
            return;
        }
        dp::SetRef *ref = &e->set[side_];
        dp::WriteStats ws;
        if (dp::set_install(L.arena, ref, buf_, n_, &ws) != dp::Status::kOk) {
            dp::set_free(L.arena, ref, &ws);
            *ref = dp::SetRef{dp::kInvalidRef, dp::kNoRef};
            st.invalid_sets++;
        }
        st.edges[side_] += ws.card;
    }

  private:
    const Edges &e_;
    uint8 side_;
    uint32 *buf_;
    size_t i_ = 0, n_ = 0;
};

// Posts and reposts by source, newest first: the author rings' rows.
const char *const kItemScan =
    "SELECT src, sort_at, item_id, post_id, author, reposter FROM ("
    "  SELECT p.author AS src, p.created_at AS sort_at, p.id AS item_id, p.id AS post_id,"
    "         p.author, 0 AS reposter FROM dataplane.post p"
    "  UNION ALL"
    "  SELECT r.reposter, r.created_at, r.id, r.post_id, p.author, r.reposter"
    "    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id"
    ") t WHERE src > 0 ORDER BY src, sort_at DESC, item_id DESC, reposter <> 0 DESC";

class AuthorRows {
  public:
    explicit AuthorRows(uint32 cap) : cap_(cap) {
        buf_ = static_cast<dp::AuthorItem *>(
            MemoryContextAllocHuge(TopTransactionContext, sizeof(dp::AuthorItem) * (cap + 1)));
        SPIPlanPtr plan = SPI_prepare(kItemScan, 0, nullptr);
        if (plan == nullptr)
            elog(ERROR, "dataplane: could not plan the item scan: %s",
                 SPI_result_code_string(SPI_result));
        portal_ = SPI_cursor_open(nullptr, plan, nullptr, nullptr, false);
        fetch();
    }
    ~AuthorRows() = default;
    void close() { SPI_cursor_close(portal_); }
    uint32 peek() const { return valid() ? cur_src_ : UINT32_MAX; }
    void load(uint32 uid) {
        n_ = 0;
        horizon_ = dp::kMinKey;
        while (valid() && cur_src_ == uid) {
            if (n_ < cap_)
                buf_[n_++] = cur_;
            else if (n_ == cap_ && horizon_ == dp::kMinKey)
                horizon_ = cur_.key();  // the newest item that does not fit
            next();
        }
        std::reverse(buf_, buf_ + n_);  // ascending
    }
    void install(dp::Directory &dir, uint32 uid) {
        dp::DirEntry *e = n_ > 0 ? dir.get(uid) : dir.find(uid);
        if (e == nullptr) {
            if (n_ > 0 && !dir.lost(uid)) {
                dir.mark_lost(uid);
                pg_atomic_fetch_add_u64(&L.sh->lost_leaves, 1);
            }
            return;
        }
        if (!dp::author_ring_install(L.arena, &e->author, buf_, n_, horizon_, cap_))
            pg_atomic_fetch_add_u64(&L.sh->tl.rings_lost, 1);
    }

  private:
    bool valid() const { return i_ < n_rows_; }
    void fetch() {
        if (batch_ != nullptr)
            SPI_freetuptable(batch_);
        SPI_cursor_fetch(portal_, true, 65536);
        batch_ = SPI_tuptable;
        n_rows_ = SPI_processed;
        i_ = 0;
        if (n_rows_ > 0)
            decode();
        CHECK_FOR_INTERRUPTS();
    }
    void next() {
        if (++i_ == n_rows_)
            fetch();
        else
            decode();
    }
    void decode() {
        HeapTuple t = batch_->vals[i_];
        TupleDesc d = batch_->tupdesc;
        bool isnull;
        cur_src_ = uint32(DatumGetInt32(SPI_getbinval(t, d, 1, &isnull)));
        cur_.ts = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
        cur_.id = DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
        cur_.post_id = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
        cur_.author = uint32(DatumGetInt32(SPI_getbinval(t, d, 5, &isnull)));
        cur_.reposter = uint32(DatumGetInt32(SPI_getbinval(t, d, 6, &isnull)));
    }

    uint32 cap_;
    dp::AuthorItem *buf_;
    size_t n_ = 0;
    dp::ItemKey horizon_ = dp::kMinKey;
    Portal portal_ = nullptr;
    SPITupleTable *batch_ = nullptr;
    uint64 n_rows_ = 0, i_ = 0;
    uint32 cur_src_ = 0;
    dp::AuthorItem cur_{};
};

// Step 3: per uid, in ascending order, under the stripe lock, the build's
// rows are installed over the journal, and the install cursor moves past
// the uid (from then on commits apply to it normally). The pass also visits
// uids that have only a journal (a user who appeared during the build);
// runs of leaves with neither rows nor entries are skipped.
template <typename Rows>
void install_pass(pg_atomic_uint32 *cursor, Rows &rows, uint64 seq) {
    dp::Directory &dir = *index_env().dir;
    uint32 uid = 1;
    for (;;) {
        // The end moves: a commit may create a leaf (a new account) while
        // the pass runs, and its journal must be installed too.
        auto rows_end = [&]() { return rows.peek() == UINT32_MAX ? 0u : rows.peek() + 1; };
        uint32 end = Max(dir.uid_end(), rows_end());
        if (uid >= end) {
            // Decide that the pass is over under every stripe lock, where no
            // commit can create a leaf; from then on commits apply normally.
            lock_all_stripes();
            bool done = uid >= Max(dir.uid_end(), rows_end());
            if (done)
                pg_atomic_write_u32(cursor, UINT32_MAX);
            unlock_all_stripes();
            if (done)
                return;
            continue;
        }
        uint32 leaf_end = Min(end, ((uid >> dp::kLeafBits) + 1) << dp::kLeafBits);
        bool rows_in_leaf = rows.peek() < leaf_end;
        if (!rows_in_leaf && dir.find(uid | 1) == nullptr && !dir.lost(uid)) {
            // Skip a run of leaves with neither rows nor entries. All stripes
            // are locked so that no commit creates a journal in the run.
            lock_all_stripes();
            uint32 next = Min(rows.peek(), end);
            uint32 skip_to = uid;
            while (skip_to < next && dir.find(skip_to | 1) == nullptr && !dir.lost(skip_to))
                skip_to = Min(next, ((skip_to >> dp::kLeafBits) + 1) << dp::kLeafBits);
            if (skip_to > uid)
                pg_atomic_write_u32(cursor, skip_to);
            unlock_all_stripes();
            if (skip_to > uid) {
                uid = skip_to;
                continue;
            }
        }
        for (; uid < leaf_end; uid++) {
            rows.load(uid);
            uint32 s = dp::stripe_of(uid);
            LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
            rows.install(dir, uid);
            pg_atomic_write_u32(cursor, uid + 1);
            LWLockRelease(stripe_lock(s));
        }
        CHECK_FOR_INTERRUPTS();
        if (!is_current(seq))
            ereport(ERROR, (errmsg("dataplane index build superseded by a newer one")));
    }
}

void read_and_install(uint64 seq);

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
    TimestampTz started = GetCurrentTimestamp();
    SpinLockAcquire(&L.sh->mutex);
    bool mine = L.sh->launch_seq == seq && L.sh->gen_relid == gen;
    L.sh->build_started_at = started;
    SpinLockRelease(&L.sh->mutex);
    if (!mine)
        ereport(ERROR, (errmsg("dataplane index build superseded by a newer one")));

    reset_stripes();
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    run_as_tables_owner([&]() noexcept { read_and_install(seq); });
    SPI_finish();
    finish(seq, started);
}

// Step 2 and 3: the scans of the tables, each installed as it is read.
void read_and_install(uint64 seq) {
    Edges e = read_edges();
    sort_keys(e.keys, e.n);
    {
        EdgeRows rows(e, dp::kOut);
        install_pass(&L.sh->cursor[dp::kOut], rows, seq);
    }
    swap_halves(e.keys, e.n);
    sort_keys(e.keys, e.n);
    {
        EdgeRows rows(e, dp::kIn);
        install_pass(&L.sh->cursor[dp::kIn], rows, seq);
    }
    pfree(e.keys);
    {
        AuthorRows rows{uint32(guc_author_capacity)};
        install_pass(&L.sh->author_cursor, rows, seq);
        rows.close();
    }
}

}  // namespace

void invalidate_index() {
    SpinLockAcquire(&L.sh->mutex);
    L.sh->launch_seq++;
    pg_atomic_write_u32(&L.sh->state, kStateEmpty);
    SpinLockRelease(&L.sh->mutex);
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

bool build_and_wait(Oid gen, bool force) {
    if (RecoveryInProgress())
        ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                        errmsg("the dataplane index is not built on a standby"),
                        errdetail("A hot standby answers every read from its tables."),
                        errhint("Promote the standby, or run this on the primary.")));
    if (pg_atomic_read_u32(&L.sh->capture_off) != 0) {
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
