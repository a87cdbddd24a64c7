#include "index_host.hpp"
#include "pressure.hpp"

#include <bitset>

#include "guc.hpp"

extern "C" {
#include "access/transam.h"
#include "storage/backendid.h"
#include "utils/memutils.h"
}

namespace dpg {

namespace {

// This backend's published keys.
struct Pending {
    bool published = false;
    uint32 slot = 0;
    std::bitset<dp::kStripes * dp::kBuckets> bits;  // edge filter bits held
    std::bitset<dp::kItemBuckets> item_bits;        // item filter bits held
    // The same bits as lists, so that announcing and releasing them costs
    // what a transaction changed, not 9,216 tests.
    std::vector<uint16> bit_list, item_bit_list;
    std::bitset<dp::kStripes> stripes_with_bits;
};
Pending pending;

void release_stripe_bits(uint32 s) {
    if (!pending.stripes_with_bits.test(s))
        return;
    for (uint32 b = 0; b < dp::kBuckets; b++)
        if (pending.bits.test(s * dp::kBuckets + b)) {
            pg_atomic_fetch_sub_u32(&L.sh->stripes[s].pending[b], 1);
            pending.bits.reset(s * dp::kBuckets + b);
        }
    pending.stripes_with_bits.reset(s);
}

class PgHost final : public dp::Host {
  public:
    uint64_t alloc(size_t size) noexcept override {
        int flags = DSA_ALLOC_NO_OOM | (size >= MaxAllocSize ? DSA_ALLOC_HUGE : 0);
        dsa_pointer p = dsa_allocate_extended(L.dsa, size, flags);
        if (!DsaPointerIsValid(p))
            return 0;
        pg_atomic_fetch_add_u64(&L.sh->bytes_used, dsa_rounded_size(size));
        return p;
    }
    void free(uint64_t offset, size_t size) noexcept override {
        dsa_free(L.dsa, dsa_pointer(offset));
        pg_atomic_fetch_sub_u64(&L.sh->bytes_used, dsa_rounded_size(size));
    }

    void lock(uint32_t s, bool exclusive) noexcept override {
        LWLockAcquire(stripe_lock(s), exclusive ? LW_EXCLUSIVE : LW_SHARED);
    }
    void unlock(uint32_t s) noexcept override { LWLockRelease(stripe_lock(s)); }
    void lock_celebs(bool exclusive) noexcept override {
        LWLockAcquire(celeb_lock(), exclusive ? LW_EXCLUSIVE : LW_SHARED);
    }
    void unlock_celebs() noexcept override { LWLockRelease(celeb_lock()); }

    dp::StripeMode mode(uint32_t s) const noexcept override {
        return dp::StripeMode(L.sh->stripes[s].mode);
    }
    void set_mode(uint32_t s, dp::StripeMode m) noexcept override { L.sh->stripes[s].mode = m; }
    uint32_t cursor(dp::Cursor c) const noexcept override {
        return pg_atomic_read_u32(&L.sh->cursor[c]);
    }
    void set_cursor(dp::Cursor c, uint32_t v) noexcept override {
        pg_atomic_write_u32(&L.sh->cursor[c], v);
    }
    bool feeds_on() const noexcept override {
        return pg_atomic_read_u32(&L.sh->state) == kStateReady;
    }

    bool edge_others_pending(uint32_t owner, uint32_t other, uint8_t side) noexcept override {
        uint32 s = dp::stripe_of(owner), b = dp::bucket_of(owner, other, side);
        uint32 count = pg_atomic_read_u32(&L.sh->stripes[s].pending[b]);
        return count > (pending.bits.test(s * dp::kBuckets + b) ? 1u : 0u);
    }
    bool edge_any_pending(uint32_t owner, uint32_t other, uint8_t side) noexcept override {
        uint32 s = dp::stripe_of(owner), b = dp::bucket_of(owner, other, side);
        return pg_atomic_read_u32(&L.sh->stripes[s].pending[b]) > 0;
    }
    bool item_others_pending(uint32_t b) noexcept override {
        uint32 count = pg_atomic_read_u32(&L.sh->item_pending[b]);
        return count > (pending.item_bits.test(b) ? 1u : 0u);
    }
    bool item_any_pending(uint32_t b) noexcept override {
        return pg_atomic_read_u32(&L.sh->item_pending[b]) > 0;
    }
    void item_changed(uint32_t b) noexcept override {
        pg_atomic_fetch_add_u32(&L.sh->item_generation[b], 1);
    }
    uint32_t item_generation(uint32_t b) noexcept override {
        return pg_atomic_read_u32(&L.sh->item_generation[b]);
    }

    void stripe_counted(uint32_t s, const dp::ApplyResult &r) noexcept override {
        StripeShared &st = L.sh->stripes[s];
        st.edges[0] += r.card[0];
        st.edges[1] += r.card[1];
        st.compactions += r.compactions;
        st.stale += r.stale;
        st.invalid_sets += r.invalidated;
        st.invalid_sets -= Min(st.invalid_sets, r.revalidated);
        if (r.lost_leaves)
            pg_atomic_fetch_add_u64(&L.sh->lost_leaves, r.lost_leaves);
        if (r.lost_rings)
            pg_atomic_fetch_add_u64(&L.sh->tl.rings_lost, r.lost_rings);
    }
    void stripe_cleared(uint32_t s) noexcept override {
        StripeShared &st = L.sh->stripes[s];
        st.edges[0] = st.edges[1] = 0;
        st.invalid_sets = 0;
    }
    void edge_stripe_released(uint32_t s) noexcept override { release_stripe_bits(s); }
};

PgHost host;
dp::IndexEnv env;
bool env_ready = false;

}  // namespace

dp::Host &pg_host() { return host; }

const dp::IndexEnv &index_env() {
    static dp::Directory dir(L.arena, &L.sh->dir);
    static dp::ModDirectory mod_dir(L.arena, &L.sh->mod_dir);
    static dp::ModDirectory list_dir(L.arena, &L.sh->list_dir);
    if (!env_ready) {
        env_ready = true;
        env.arena = &L.arena;
        env.dir = &dir;
        env.mod_dir = &mod_dir;
        env.list_dir = &list_dir;
        env.views = local_views;
        env.edge_lww = L.sh->edge_lww;
        env.item_lww = L.sh->item_lww;
        env.celebs = &L.sh->celebs;
        env.unfollows_started = &L.sh->unfollows[0];
        env.unfollows_finished = &L.sh->unfollows[1];
    }
    env.author_cap = uint32_t(guc_author_capacity);
    env.feed_cap = uint32_t(guc_feed_capacity);
    env.fanout_limit = uint64_t(guc_fanout_limit);
    env.ring_bound = dp::AgeBound{ring_floor(), uint32_t(guc_ring_keep_newest)};
    return env;
}

// Every stripe lock, the celebrity lock, and what a DSA allocation under
// them takes (the area's lock and a size class's), must fit PostgreSQL's
// limit on LWLocks held at once (MAX_SIMUL_LWLOCKS in lwlock.c, not in a
// header: 200 since PostgreSQL 9.4).
constexpr int kMaxSimulLWLocks = 200;
static_assert(dp::kStripes + 1 + 8 <= kMaxSimulLWLocks,
              "lock_everything_for would hold more LWLocks than PostgreSQL allows");

void lock_everything_for(uint32 exclusive_stripe) {
    for (uint32 s = 0; s < dp::kStripes; s++)
        LWLockAcquire(stripe_lock(s), s == exclusive_stripe ? LW_EXCLUSIVE : LW_SHARED);
    LWLockAcquire(celeb_lock(), LW_SHARED);
}

void unlock_everything() {
    LWLockRelease(celeb_lock());
    for (uint32 s = dp::kStripes; s-- > 0;)
        LWLockRelease(stripe_lock(s));
}

bool pending_collect(const dp::CommitWork &w) noexcept {
    try {
        pending.bit_list.clear();
        pending.item_bit_list.clear();
        for (const auto &c : w.edges) {
            uint32 sb = c.stripe() * dp::kBuckets + c.bucket();
            if (!pending.bits.test(sb)) {
                pending.bits.set(sb);
                pending.bit_list.push_back(uint16(sb));
                pending.stripes_with_bits.set(c.stripe());
            }
        }
        for (const auto &c : w.items.changes) {
            uint32 b = dp::item_bucket(c.item.id, c.kind);
            if (!pending.item_bits.test(b)) {
                pending.item_bits.set(b);
                pending.item_bit_list.push_back(uint16(b));
            }
        }
        return true;
    } catch (...) {
        pending_reset();
        return false;
    }
}

void pending_announce(TransactionId xid) {
    pending.slot = uint32(MyBackendId - 1);
    // The atomics are full barriers: the slot and bits are visible before
    // the commit record makes the rows visible.
    pg_atomic_fetch_add_u32(&L.sh->n_pending, 1);
    pg_atomic_write_u32(&L.sh->pending_xid[pending.slot], xid);
    for (uint16 sb : pending.bit_list)
        pg_atomic_fetch_add_u32(&L.sh->stripes[sb / dp::kBuckets].pending[sb % dp::kBuckets], 1);
    for (uint16 b : pending.item_bit_list)
        pg_atomic_fetch_add_u32(&L.sh->item_pending[b], 1);
    pending.published = true;
}

void pending_release() {
    if (!pending.published)
        return;
    for (uint16 sb : pending.bit_list)
        release_stripe_bits(sb / dp::kBuckets);
    for (uint16 b : pending.item_bit_list)
        pg_atomic_fetch_sub_u32(&L.sh->item_pending[b], 1);
    pending.item_bits.reset();
    pending.item_bit_list.clear();
    pending.bit_list.clear();
    pg_atomic_write_u32(&L.sh->pending_xid[pending.slot], InvalidTransactionId);
    pg_atomic_fetch_sub_u32(&L.sh->n_pending, 1);
    pending.published = false;
}

void pending_reset() {
    pending.bits.reset();
    pending.item_bits.reset();
    pending.stripes_with_bits.reset();
    pending.bit_list.clear();
    pending.item_bit_list.clear();
}

}  // namespace dpg
