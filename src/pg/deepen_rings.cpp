#include "deepen_rings.hpp"

#include "evict.hpp"
#include "index_host.hpp"
#include "shmem.hpp"

namespace dpg {

void deepen_rings(uint64 started, const uint32 *sources, const dp::ItemKey *horizons,
                  size_t n_sources, dp::ItemKey cut, const RestCover &cover) {
    if (!cover.valid || L.sh == nullptr)
        return;
    const dp::IndexEnv &env = index_env();
    uint64 expected = started, deepened = 0;
    for (size_t i = 0; i < n_sources; i++) {
        dp::ItemKey h = horizons[i], bound = cover.bound[i];
        // The read must have reached the horizon, and gone below it.
        if (!(h < cut) || !(bound < h))
            continue;
        // The rows of this source (cover's rows are by source, ascending).
        auto [rows, rows_end] = dp::items_of_src(cover.rows, cover.n, sources[i]);
        uint32 s = dp::stripe_of(sources[i]);
        LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
        // Since the index was read, only our own changes: else the rows
        // may not be where the ring left off.
        if (pg_atomic_read_u64(&L.sh->applies_started) != expected) {
            LWLockRelease(stripe_lock(s));
            break;
        }
        dp::DirEntry *e = env.dir->find(sources[i]);
        dp::Deepen d = dp::Deepen::kNothing;
        if (e != nullptr && dp::held(e->author) &&
            env.arena->at<dp::RingHdr>(e->author)->horizon == h) {
            pg_atomic_fetch_add_u64(&L.sh->applies_started, 1);
            expected++;
            d = dp::author_ring_deepen(*env.arena, &e->author, rows, size_t(rows_end - rows),
                                       bound, env.author_cap);
            pg_atomic_fetch_add_u64(&L.sh->applies_finished, 1);
        }
        LWLockRelease(stripe_lock(s));
        if (d == dp::Deepen::kNoMem) {
            note_memory_full();
            break;
        }
        deepened += d == dp::Deepen::kDeeper;
    }
    if (deepened > 0) {
        if (L.counters != nullptr)
            L.counters->rings_deepened += deepened;
        evict_if_needed();
    }
}

}  // namespace dpg
