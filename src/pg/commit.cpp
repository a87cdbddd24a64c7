#include "commit.hpp"

#include <bitset>

#include "capture.hpp"
#include "graph_apply.hpp"
#include "guc.hpp"
#include "set_write.hpp"

extern "C" {
#include "access/transam.h"
#include "access/xlog.h"
#include "storage/backendid.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace dpg {

namespace {

// What PRE_COMMIT prepared for the COMMIT callback. Static storage: C++
// objects here are never on a stack that ereport could unwind.
struct Prepared {
    bool registered = false;  // filter bits and pending slot published
    bool truncate = false;
    std::vector<dp::SideChange> changes;
    std::vector<size_t> starts;       // per stripe, into changes
    std::bitset<dp::kStripes * dp::kBuckets> bits;  // filter bits we hold
};
Prepared prep;

uint32 &slot_index() {
    static uint32 idx = 0;
    return idx;
}

bool others_pending(void *, uint32_t owner, uint32_t other, uint8_t side) {
    uint32 s = dp::stripe_of(owner), b = dp::bucket_of(owner, other, side);
    uint32 count = pg_atomic_read_u32(&L.sh->stripes[s].pending[b]);
    return count > (prep.bits.test(s * dp::kBuckets + b) ? 1u : 0u);
}

bool any_pending(void *, uint32_t owner, uint32_t other, uint8_t side) {
    uint32 s = dp::stripe_of(owner), b = dp::bucket_of(owner, other, side);
    return pg_atomic_read_u32(&L.sh->stripes[s].pending[b]) > 0;
}

bool in_journal(void *, uint32_t uid, uint8_t side) {
    // Called under the stripe lock, which orders this read against the
    // builder's cursor update for the same uid.
    return L.sh->stripes[dp::stripe_of(uid)].mode == kModeBuilding &&
           uid >= pg_atomic_read_u32(&L.sh->cursor[side]);
}

void release_stripe_bits(uint32 s) {
    for (uint32 b = 0; b < dp::kBuckets; b++)
        if (prep.bits.test(s * dp::kBuckets + b)) {
            pg_atomic_fetch_sub_u32(&L.sh->stripes[s].pending[b], 1);
            prep.bits.reset(s * dp::kBuckets + b);
        }
}

void unregister() {
    if (!prep.registered)
        return;
    for (uint32 s = 0; s < dp::kStripes; s++)
        release_stripe_bits(s);
    pg_atomic_write_u32(&L.sh->pending_xid[slot_index()], InvalidTransactionId);
    pg_atomic_fetch_sub_u32(&L.sh->n_pending, 1);
    prep.registered = false;
}

void reset_all() {
    prep.changes.clear();
    prep.starts.clear();
    prep.truncate = false;
    prep.bits.reset();
    txn_reset();
}

// Nets the queue into per-stripe side changes. C++ only: errors come back
// as false, and the caller raises them.
bool net_changes(const TxnChanges &t) noexcept {
    try {
        size_t from = 0;
        for (size_t i = 0; i < t.n; i++)
            if (t.edges[i].op == kOpTruncate) {
                prep.truncate = true;
                from = i + 1;
            }
        prep.changes = dp::net_side_changes(t.edges + from, t.n - from);
        prep.starts = dp::stripe_starts(prep.changes);
        for (const auto &c : prep.changes)
            prep.bits.set(c.stripe() * dp::kBuckets + c.bucket());
        return true;
    } catch (...) {
        prep.changes.clear();
        prep.starts.clear();
        return false;
    }
}

void prepare_commit() {
    TxnChanges &t = txn_changes();
    if (!txn_has_changes() || !shmem_attach())
        return;
    if (t.overflow)
        return;  // nothing to announce: the commit invalidates the index
    if (!net_changes(t))
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
                        errmsg("out of memory while preparing dataplane changes for commit")));
    slot_index() = uint32(MyBackendId - 1);
    TransactionId xid = GetTopTransactionIdIfAny();
    // Publish before the commit becomes visible: a transaction that sees our
    // rows will see these too (the atomics are full barriers).
    pg_atomic_fetch_add_u32(&L.sh->n_pending, 1);
    pg_atomic_write_u32(&L.sh->pending_xid[slot_index()], xid);
    for (uint32 s = 0; s < dp::kStripes; s++)
        for (uint32 b = 0; b < dp::kBuckets; b++)
            if (prep.bits.test(s * dp::kBuckets + b))
                pg_atomic_fetch_add_u32(&L.sh->stripes[s].pending[b], 1);
    prep.registered = true;
}

// Marks the index as needing a rebuild: a commit could not be applied.
void invalidate_index() {
    SpinLockAcquire(&L.sh->mutex);
    L.sh->launch_seq++;  // a running build must not declare itself ready
    pg_atomic_write_u32(&L.sh->state, kStateEmpty);
    SpinLockRelease(&L.sh->mutex);
}

void apply_stripe_changes(uint32 s, dp::StripeApply &a, dp::Directory &dir) {
    StripeShared &st = L.sh->stripes[s];
    size_t from = prep.starts[s], to = prep.starts[s + 1];
    if (!prep.truncate && from == to)
        return;
    LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
    if (st.mode != kModeEmpty) {
        dp::ApplyResult r;
        if (prep.truncate) {
            dp::clear_stripe(L.arena, dir, s, &r);
            st.invalid_sets = 0;
        }
        a.lww = &st.lww;
        dp::apply_stripe(a, prep.changes.data() + from, to - from, &r);
        st.edges[0] += r.card[0];
        st.edges[1] += r.card[1];
        st.compactions += r.compactions;
        st.stale += r.stale;
        st.invalid_sets += r.invalidated;
        if (r.lost_leaves)
            pg_atomic_fetch_add_u64(&L.sh->lost_leaves, r.lost_leaves);
    }
    LWLockRelease(stripe_lock(s));
    release_stripe_bits(s);
}

void apply_commit() {
    TxnChanges &t = txn_changes();
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
        dp::Directory dir = directory();
        dp::StripeApply a{};
        a.arena = &L.arena;
        a.dir = &dir;
        a.views = local_views;
        a.lsn = XactLastCommitEnd;
        a.others_pending = others_pending;
        a.any_pending = any_pending;
        a.journal = in_journal;
        for (uint32 s = 0; s < dp::kStripes; s++)
            apply_stripe_changes(s, a, dir);
        if (prep.truncate)
            dir.clear_lost();
        pg_atomic_fetch_add_u64(&L.sh->commits_applied, 1);
        pg_atomic_fetch_add_u64(&L.sh->changes_applied, prep.changes.size());
    }
    unregister();
}

}  // namespace

void commit_xact_callback(XactEvent event, void *) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
            prepare_commit();
            break;
        case XACT_EVENT_COMMIT:
            apply_commit();
            reset_all();
            break;
        case XACT_EVENT_ABORT:
            if (L.sh != nullptr)
                unregister();
            reset_all();
            break;
        case XACT_EVENT_PRE_PREPARE:
            if (txn_has_changes())
                ereport(ERROR,
                        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                         errmsg("cannot PREPARE a transaction that has changed dataplane tables"),
                         errhint("Commit such transactions directly: the dataplane index is "
                                 "updated at commit and cannot hold prepared changes.")));
            break;
        case XACT_EVENT_PREPARE:
            reset_all();
            break;
        default:
            break;
    }
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
        // to ~20 us (no sleep: the shortest sleep is far longer); a bulk
        // apply takes longer, and then the tables answer instead.
        TimestampTz start = 0;
        while (pg_atomic_read_u32(&L.sh->pending_xid[i]) == xid) {
            TimestampTz now = GetCurrentTimestamp();
            if (start == 0)
                start = now;
            else if (now - start > 20)
                return false;
            pg_spin_delay();
        }
    }
    return true;
}

}  // namespace dpg
