#include "commit.hpp"

#include "build.hpp"
#include "capture.hpp"
#include "capture_guard.hpp"
#include "commit_apply.hpp"
#include "entry.hpp"
#include "evict.hpp"
#include "guc.hpp"
#include "index_host.hpp"
#include "pressure.hpp"
#include "alloc_fault.hpp"

extern "C" {
#include "access/transam.h"
#include "access/xlog.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace dpg {

namespace {

// What PRE_COMMIT prepared for the COMMIT callback. Static storage: C++
// objects here are never on a stack that ereport could unwind.
struct Prepared {
    bool registered = false;  // filter bits and pending slot published
    dp::CommitWork work;
    dp::CommitApply apply;
};
Prepared prep;

void unregister() {
    if (!prep.registered)
        return;
    pending_release();
    prep.registered = false;
}

void reset_all() {
    prep.work.clear();
    pending_reset();
    txn_reset();
}

// Nets the queue into per-stripe work and its filter bits. C++ only:
// errors come back as false, and the caller raises them.
bool net_changes(const TxnChanges &t) noexcept {
    try {
        dp::CommitWork &w = prep.work;
        w.clear();
        w.edges = dp::net_side_changes(t.edges.v, t.edges.n, &w.truncated);
        w.items = dp::net_item_changes(t.items.v, t.items.n);
        w.index();
    } catch (...) {
        prep.work.clear();
        return false;
    }
    return pending_collect(prep.work);
}

void prepare_commit() {
    flush_row_run();
    TxnChanges &t = txn_changes();
    if (!txn_has_changes() || !shmem_attach())
        return;
    // Before the commit becomes visible, so that no read that sees its rows
    // misses the mark; sticky (an abort leaves it: reads then use the
    // tables until a build finds no such list id).
    if (t.odd_lists)
        pg_atomic_write_u32(&L.sh->odd_lists, 1);
    if (t.overflow)
        return;  // nothing to announce: the commit invalidates the index
    if (!net_changes(t))
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
                        errmsg("out of memory while preparing dataplane changes for commit")));
    // Published before the commit becomes visible: a transaction that sees
    // our rows will see these too.
    pending_announce(GetTopTransactionIdIfAny());
    prep.registered = true;
}

void add(pg_atomic_uint64 *c, uint64 v) {
    if (v)
        pg_atomic_fetch_add_u64(c, v);
}

void count(const dp::TimelineStats &st) {
    TimelineCounters &tl = L.sh->tl;
    add(&tl.items_applied, st.items_applied);
    add(&tl.items_stale, st.items_stale);
    add(&tl.rings_lost, st.rings_lost);
    add(&tl.fanout, st.fanout);
    add(&tl.backfills, st.backfills);
    add(&tl.promotions, st.promotions);
    add(&tl.feeds_dropped, st.feeds_dropped);
    add(&tl.feed_resets, st.feed_resets);
    add(&L.sh->lost_leaves, st.lost_leaves);
}

void apply_commit() {
    TxnChanges &t = txn_changes();
    if (t.odd_lists && L.sh != nullptr)  // again, after a build may have cleared it
        pg_atomic_write_u32(&L.sh->odd_lists, 1);
    if (t.overflow) {
        if (L.sh != nullptr)
            invalidate_index();
        return;
    }
    if (!prep.registered)
        return;
    if (guc_test_apply_delay_ms > 0)
        pg_usleep(long(guc_test_apply_delay_ms) * 1000L);
    // Changes to another incarnation of the tables (the extension was
    // dropped and created again) are not ours to apply.
    if (t.gen == L.sh->gen_relid && MyDatabaseId == L.sh->dbid) {
        // The newest created_at among the new items: ring_max_age counts from it.
        int64 newest = PG_INT64_MIN;
        for (const dp::ItemChange &c : prep.work.items.changes)
            if (c.op == dp::kInsert && c.item.ts > newest)
                newest = c.item.ts;
        if (newest != PG_INT64_MIN)
            note_newest_item(newest);
        const dp::IndexEnv &env = index_env();
        prep.work.lsn = XactLastCommitEnd;
        // Timeline reads retry when an apply overlapped them.
        pg_atomic_fetch_add_u64(&L.sh->applies_started, 1);
        // Nothing may fail here (an error in a commit callback is a PANIC):
        // the core catches everything, and a commit it could not apply
        // whole leaves the index failed, its reads answered by the tables.
        arm_test_alloc_failure();
        bool ok = prep.apply.apply_all(env, &prep.work);
        disarm_test_alloc_failure();
        pg_atomic_fetch_add_u64(&L.sh->applies_finished, 1);
        // A truncate of follow does not forget lost leaves: a lost leaf also
        // stands for its users' rings, and for changes this commit or a
        // concurrent one could not apply after the truncate. Only a rebuild
        // (which frees every leaf) forgets them.
        count(prep.apply.stats());
        if (!ok)
            fail_index("a commit could not be applied to the index (out of memory)");
        pg_atomic_fetch_add_u64(&L.sh->commits_applied, 1);
        pg_atomic_fetch_add_u64(&L.sh->changes_applied,
                                prep.work.edges.size() + prep.work.items.changes.size());
    }
    unregister();
    evict_if_needed();
}

}  // namespace

void commit_xact_callback(XactEvent event, void *) {
    if (event == XACT_EVENT_COMMIT) {
        // No error may be raised here (it would be a PANIC): a C++ exception
        // that escapes the apply leaves the index failed instead.
        guard_commit([] { apply_commit(); },
                     [](int, const char *) {
                         unregister();
                         fail_index("a commit could not be applied to the index");
                     });
        reset_all();
        guard_at_commit();
        return;
    }
    guard_callback("dataplane transaction callback", [event] {
        switch (event) {
            case XACT_EVENT_PRE_COMMIT:
                prepare_commit();
                break;
            case XACT_EVENT_ABORT:
                if (L.sh != nullptr)
                    unregister();
                reset_all();
                guard_at_abort();
                break;
            case XACT_EVENT_PRE_PREPARE:
                flush_row_run();
                if (guard_txn_off())
                    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                                    errmsg("cannot PREPARE a transaction that disabled a "
                                           "dataplane capture trigger"),
                                    errhint("Commit it directly.")));
                if (txn_has_changes())
                    ereport(ERROR,
                            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                             errmsg("cannot PREPARE a transaction that has changed dataplane "
                                    "tables"),
                             errhint("Commit such transactions directly: the dataplane index is "
                                     "updated at commit and cannot hold prepared changes.")));
                break;
            case XACT_EVENT_PREPARE:
                reset_all();
                guard_at_abort();
                break;
            default:
                break;
        }
    });
}

bool fence_visible_commits() {
    if (pg_atomic_read_u32(&L.sh->n_pending) == 0)
        return true;
    Snapshot snap = GetActiveSnapshot();
    if (snap == nullptr)
        return false;
    for (int i = 0; i < MaxBackends; i++) {
        TransactionId xid = pg_atomic_read_u32(&L.sh->pending_xid[i]);
        if (!TransactionIdIsValid(xid) || XidInMVCCSnapshot(xid, snap))
            continue;
        // Committed (or aborted) before our snapshot, still applying: it is
        // past its commit record, so this takes microseconds. Spin for up
        // to ~20 us; a bulk apply takes longer, and then the tables answer.
        if (!spin_until([&] { return pg_atomic_read_u32(&L.sh->pending_xid[i]) != xid; }, 20))
            return false;
    }
    return true;
}

}  // namespace dpg
