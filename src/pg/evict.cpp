#include "evict.hpp"

#include "index_host.hpp"
#include "pressure.hpp"
#include "ring_ops.hpp"
#include "shmem.hpp"

namespace dpg {

namespace {

// Feed rings are evicted above 90 % of the limit, down to 80 %: room for
// the graph's and the author rings' next writes.
uint64 high_mark() { return uint64(L.sh->dsa_size) / 10 * 9; }
uint64 low_mark() { return uint64(L.sh->dsa_size) / 10 * 8; }

void sweep(uint64 goal) {
    uint32 expected = 0;
    if (!pg_atomic_compare_exchange_u32(&L.sh->evicting, &expected, 1))
        return;  // another backend sweeps
    note_memory_full();
    const dp::IndexEnv &env = index_env();
    uint32 leaves = Max(1u, env.dir->uid_end() >> dp::kLeafBits);
    uint32 hand = L.sh->evict_hand % leaves;
    uint64 freed = 0, evicted = 0, victim_freq = 0;
    dp::FreqSketch sketch(&L.sh->pressure.sketch);
    // Two full turns at most: the first may only clear reference marks.
    for (uint32 visited = 0; freed < goal && visited < 2 * leaves; visited++) {
        uint32 lo = hand << dp::kLeafBits, hi = lo + dp::kLeafSize;
        if (env.dir->find(lo | 1) != nullptr) {
            for (uint32 s = 0; s < dp::kStripes && freed < goal; s++) {
                LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
                freed += dp::sweep_feeds(*env.arena, *env.dir, s, lo, hi, goal - freed, &evicted,
                                         &sketch, &victim_freq);
                // On the second turn only (a whole turn over the feed
                // rings did not free enough), the items author rings took
                // for sparse pages: a page that needs them costs several
                // pages without a feed ring, and they cost a few items per
                // author. Author rings are read without locks: trimming one
                // counts as an apply (their readers retry).
                bool trimming = false;
                if (visited >= leaves)
                    freed += dp::age_deep_rings(*env.arena, *env.dir, s, lo, hi, env.ring_bound,
                                                [&] {
                                                    pg_atomic_fetch_add_u64(
                                                        &L.sh->applies_started, 1);
                                                    trimming = true;
                                                });
                if (trimming)
                    pg_atomic_fetch_add_u64(&L.sh->applies_finished, 1);
                LWLockRelease(stripe_lock(s));
            }
        }
        hand = hand + 1 == leaves ? 0 : hand + 1;
    }
    L.sh->evict_hand = hand;
    // Not enough feed rings to free: the rest is the graph and the author
    // rings. Do not sweep again until memory use grows by 1 % of the limit.
    pg_atomic_write_u64(&L.sh->evict_floor,
                        freed < goal ? pg_atomic_read_u64(&L.sh->bytes_used) : 0);
    if (evicted) {
        pg_atomic_fetch_add_u64(&L.sh->tl.evictions, evicted);
        pressure_note_victims(victim_freq, evicted);
    }
    pg_atomic_write_u32(&L.sh->evicting, 0);
}

}  // namespace

void evict_if_needed() {
    if (L.sh == nullptr || L.dsa == nullptr)
        return;
    uint64 used = pg_atomic_read_u64(&L.sh->bytes_used);
    uint64 floor = pg_atomic_read_u64(&L.sh->evict_floor);
    if (used > high_mark() && used > floor + uint64(L.sh->dsa_size) / 100)
        sweep(used - low_mark());
}

bool memory_has_room(uint64 bytes) {
    if (L.sh == nullptr)
        return false;
    uint64 used = pg_atomic_read_u64(&L.sh->bytes_used) + bytes;
    uint64 full_at = pg_atomic_read_u64(&L.sh->full_at);
    if (full_at != 0) {
        if (used > full_at / 10 * 8)
            return false;
        pg_atomic_write_u64(&L.sh->full_at, 0);  // well below: free again
    }
    return used <= low_mark();
}

void note_memory_full() {
    if (L.sh == nullptr)
        return;
    uint64 used = pg_atomic_read_u64(&L.sh->bytes_used);
    pg_atomic_write_u64(&L.sh->full_at, Max(used, 1));
}

void evict_bytes(uint64 bytes) {
    if (L.sh != nullptr && L.dsa != nullptr)
        sweep(bytes);
}

}  // namespace dpg
