// Author rings that reach below the age bound because readers need them:
// the cache half of dataplane.ring_max_age.
//
// With ring_keep_newest = 0 an author who posted nothing in the last
// ring_max_age holds no item, and a timeline whose followees post less
// than a page a week reads most of every page from the tables. When such a
// page has read an author's older items from the tables anyway, the ring
// takes them (author_ring_deepen): its horizon goes down to what the read
// covered, and the same page, read again, comes from memory. What a ring
// holds stays exactly every item above its horizon, so nothing about
// exactness changes; only the bound by age stops being a bound by age
// alone: it is by age and by use.
//
// The items a ring took this way are a cache: the author's next post trims
// them (ring_trim, as every insertion does), a rebuild drops them, and
// under memory pressure the eviction sweep (age_deep_rings) trims a deep
// ring the second time it passes it, as it frees feed rings nobody read.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "arena.hpp"
#include "directory.hpp"
#include "ring.hpp"

namespace dp {

enum class Deepen {
    kDeeper,   // the ring holds the older items (some of them, at its capacity)
    kNothing,  // nothing to add: the items are not below its horizon, or it is full
    kNoMem,    // the arena had no block for it: the ring is unchanged
};

// The ring at *ref holds every item of its author with key above its
// horizon h. `older` (n items, ascending) must be every item of the author
// with bound < key <= h. The ring becomes every item above `bound`, or,
// beyond `cap` items, the newest cap of them (its horizon then the newest
// item left out), in a new block (the old one is freed), marked kRingDeep.
// Under the author's stripe lock, exclusive; lock-free readers of the ring
// must be made to retry (the caller counts it as an apply).
Deepen author_ring_deepen(const Arena &arena, Ref *ref, const AuthorItem *older, size_t n,
                          ItemKey bound, uint32_t cap);

// One pass of the eviction sweep over the deep author rings of a stripe's
// users with uid in [lo, hi) (stripe lock exclusive): a deep ring marked
// kRingAged by the pass before, and not read since (a read clears the mark:
// TimelineReader::touch_aged), is trimmed to `bound` (ring_trim); another
// is marked. `before_change()` is called once, before the first ring is
// trimmed (the caller makes lock-free readers retry). Returns the bytes
// freed.
template <typename F>
uint64_t age_deep_rings(const Arena &arena, const Directory &dir, uint32_t stripe, uint32_t lo,
                        uint32_t hi, AgeBound bound, F before_change);

}  // namespace dp

#include "ring_ops.hpp"

namespace dp {

template <typename F>
uint64_t age_deep_rings(const Arena &arena, const Directory &dir, uint32_t stripe, uint32_t lo,
                        uint32_t hi, AgeBound bound, F before_change) {
    uint64_t freed = 0;
    bool changing = false;
    for_each_in_stripe(dir, stripe, lo, hi, [&](uint32_t, DirEntry *e) {
        if (!held(e->author))
            return;
        RingHdr *h = arena.at<RingHdr>(e->author);
        uint32_t flags = __atomic_load_n(&h->flags, __ATOMIC_RELAXED);
        if (!(flags & kRingDeep))
            return;
        if (!(flags & kRingAged)) {
            // A mark only (peeking readers read it as a hint): no retry.
            __atomic_fetch_or(&h->flags, kRingAged, __ATOMIC_RELAXED);
            return;
        }
        if (!changing) {
            before_change();
            changing = true;
        }
        __atomic_fetch_and(&h->flags, ~(kRingDeep | kRingAged), __ATOMIC_RELAXED);
        freed += ring_trim<AuthorItem>(arena, &e->author, bound);
    });
    return freed;
}

}  // namespace dp
