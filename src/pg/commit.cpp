#include "commit.hpp"

#include <bitset>

#include "build.hpp"
#include "capture.hpp"
#include "capture_guard.hpp"
#include "commit_apply.hpp"
#include "evict.hpp"
#include "guc.hpp"
#include "index_host.hpp"
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
    dp::CommitWork work;
    dp::CommitApply apply;
    std::bitset<dp::kStripes * dp::kBuckets> bits;  // edge filter bits we hold
    std::bitset<dp::kItemBuckets> item_bits;        // item filter bits we hold
    // The same bits as lists, so that announcing and releasing them costs
    // what a transaction changed, not 9,216 tests.
    std::vector<uint16> bit_list, item_bit_list;
    std::bitset<dp::kStripes> stripes_with_bits;
};
Prepared prep;

uint32 &slot_index() {
    static uint32 idx = 0;
    return idx;
}

void release_stripe_bits(uint32 s) {
    if (!prep.stripes_with_bits.test(s))
        return;
    for (uint32 b = 0; b < dp::kBuckets; b++)
        if (prep.bits.test(s * dp::kBuckets + b)) {
            pg_atomic_fetch_sub_u32(&L.sh->stripes[s].pending[b], 1);
            prep.bits.reset(s * dp::kBuckets + b);
        }
    prep.stripes_with_bits.reset(s);
}

// The applying transaction's side of the pending-key filters (lww.hpp).
class Hooks final : public dp::TxnHooks {
  public:
    bool edge_others_pending(uint32_t owner, uint32_t other, uint8_t side) override {
        uint32 s = dp::stripe_of(owner), b = dp::bucket_of(owner, other, side);
        uint32 count = pg_atomic_read_u32(&L.sh->stripes[s].pending[b]);
        return count > (prep.bits.test(s * dp::kBuckets + b) ? 1u : 0u);
    }
    bool edge_any_pending(uint32_t owner, uint32_t other, uint8_t side) override {
        uint32 s = dp::stripe_of(owner), b = dp::bucket_of(owner, other, side);
        return pg_atomic_read_u32(&L.sh->stripes[s].pending[b]) > 0;
    }
    bool item_others_pending(uint32_t b) override {
        uint32 count = pg_atomic_read_u32(&L.sh->item_pending[b]);
        return count > (prep.item_bits.test(b) ? 1u : 0u);
    }
    bool item_any_pending(uint32_t b) override {
        return pg_atomic_read_u32(&L.sh->item_pending[b]) > 0;
    }
    // Under the stripe's lock.
    void edge_stripe_done(uint32_t s, const dp::ApplyResult &r) override {
        StripeShared &st = L.sh->stripes[s];
        if (prep.work.truncate_follow)
            st.invalid_sets = 0;
        st.edges[0] += r.card[0];
        st.edges[1] += r.card[1];
        st.compactions += r.compactions;
        st.stale += r.stale;
        st.invalid_sets += r.invalidated;
        if (r.lost_leaves)
            pg_atomic_fetch_add_u64(&L.sh->lost_leaves, r.lost_leaves);
    }
    void edge_stripe_released(uint32_t s) override { release_stripe_bits(s); }
};
Hooks hooks;

void unregister() {
    if (!prep.registered)
        return;
    for (uint16 sb : prep.bit_list)
        release_stripe_bits(sb / dp::kBuckets);
    for (uint16 b : prep.item_bit_list)
        pg_atomic_fetch_sub_u32(&L.sh->item_pending[b], 1);
    prep.item_bits.reset();
    prep.item_bit_list.clear();
    prep.bit_list.clear();
    pg_atomic_write_u32(&L.sh->pending_xid[slot_index()], InvalidTransactionId);
    pg_atomic_fetch_sub_u32(&L.sh->n_pending, 1);
    prep.registered = false;
}

void reset_all() {
    prep.work.clear();
    prep.bits.reset();
    prep.item_bits.reset();
    prep.stripes_with_bits.reset();
    prep.bit_list.clear();
    prep.item_bit_list.clear();
    txn_reset();
}

// Nets the queue into per-stripe work. C++ only: errors come back as
// false, and the caller raises them.
bool net_changes(const TxnChanges &t) noexcept {
    try {
        dp::CommitWork &w = prep.work;
        w.clear();
        size_t from = 0;
        for (size_t i = 0; i < t.edges.n; i++)
            if (t.edges.v[i].op == kOpTruncate) {
                w.truncate_follow = true;
                from = i + 1;
            }
        w.edges = dp::net_side_changes(t.edges.v + from, t.edges.n - from);
        w.items = dp::net_item_changes(t.items.v, t.items.n);
        w.index();
        prep.bit_list.clear();
        prep.item_bit_list.clear();
        for (const auto &c : w.edges) {
            uint32 sb = c.stripe() * dp::kBuckets + c.bucket();
            if (!prep.bits.test(sb)) {
                prep.bits.set(sb);
                prep.bit_list.push_back(uint16(sb));
                prep.stripes_with_bits.set(c.stripe());
            }
        }
        for (const auto &c : w.items.changes) {
            uint32 b = dp::item_bucket(c.item.id, c.kind);
            if (!prep.item_bits.test(b)) {
                prep.item_bits.set(b);
                prep.item_bit_list.push_back(uint16(b));
            }
        }
        return true;
    } catch (...) {
        prep.work.clear();
        return false;
    }
}

void prepare_commit() {
    flush_row_run();
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
    for (uint16 sb : prep.bit_list)
        pg_atomic_fetch_add_u32(&L.sh->stripes[sb / dp::kBuckets].pending[sb % dp::kBuckets], 1);
    for (uint16 b : prep.item_bit_list)
        pg_atomic_fetch_add_u32(&L.sh->item_pending[b], 1);
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
        const dp::IndexEnv &env = index_env();
        prep.work.lsn = XactLastCommitEnd;
        // Timeline reads retry when an apply overlapped them.
        pg_atomic_fetch_add_u64(&L.sh->applies_started, 1);
        prep.apply.begin(&prep.work);
        while (prep.apply.step(env, hooks)) {
        }
        pg_atomic_fetch_add_u64(&L.sh->applies_finished, 1);
        // A truncate of follow does not forget lost leaves: a lost leaf also
        // stands for its users' rings, and for changes this commit or a
        // concurrent one could not apply after the truncate. Only a rebuild
        // (which frees every leaf) forgets them.
        count(prep.apply.stats());
        if (prep.apply.stats().out_of_memory)
            invalidate_index();
        pg_atomic_fetch_add_u64(&L.sh->commits_applied, 1);
        pg_atomic_fetch_add_u64(&L.sh->changes_applied,
                                prep.work.edges.size() + prep.work.items.changes.size());
    }
    unregister();
    evict_if_needed();
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
            guard_at_commit();
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
                ereport(ERROR,
                        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                         errmsg("cannot PREPARE a transaction that disabled a dataplane capture "
                                "trigger"),
                         errhint("Commit it directly.")));
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
