// Operations over the rings of many users, and the merges that move items
// between rings: clearing a stripe, a TRUNCATE of posts or reposts, the
// backfill of a new followee into a feed ring, copies for a page, and the
// eviction sweep of feed rings.
//
// Every function runs under the locks its comment names; none throws.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>
#include <vector>

#include "admission.hpp"
#include "arena.hpp"
#include "directory.hpp"
#include "edge_batch.hpp"
#include "item_batch.hpp"
#include "ring.hpp"

namespace dp {

// Calls f(uid, entry) for every existing entry of the users in `stripe`
// with uid in [lo, hi), skipping leaves that do not exist.
template <typename F>
void for_each_in_stripe(const Directory &dir, uint32_t stripe, uint32_t lo, uint32_t hi, F f) {
    uint32_t end = dir.uid_end() < hi ? dir.uid_end() : hi;
    uint32_t first = lo + (stripe + kStripes - lo % kStripes) % kStripes;
    for (uint64_t uid = first == 0 ? kStripes : first; uid < end; uid += kStripes) {
        DirEntry *e = dir.find(uint32_t(uid));
        if (e == nullptr) {
            // Skip to the first uid of this stripe in the next leaf.
            uint64_t next_leaf = ((uid >> kLeafBits) + 1) << kLeafBits;
            uint64_t k = (next_leaf + kStripes - 1 - stripe) / kStripes;
            uid = k * kStripes + stripe - kStripes;
            continue;
        }
        f(uint32_t(uid), e);
    }
}

// Frees the feed rings (and, if `authors`, the author rings) of a stripe's
// users (stripe lock exclusive). Returns the number of feed rings freed.
uint64_t clear_rings(const Arena &arena, const Directory &dir, uint32_t stripe, bool authors);

// Removes every item of `kind` from the rings of a stripe's users (stripe
// lock exclusive): a TRUNCATE of that kind's table.
void erase_kind(const Arena &arena, const Directory &dir, uint32_t stripe, uint8_t kind);

// Removes from a feed ring the items whose source is in `gone` (sorted),
// except the owner's own items.
void feed_erase_sources(const Arena &arena, Ref ref, uint32_t owner, const uint32_t *gone,
                        size_t n);

// Merges an author ring into a feed ring (the viewer now follows that
// author), keeping the newest cap items. The feed ring's horizon rises to
// the author ring's where that is higher. Locks: the feed owner's stripe
// exclusive, the author's shared. False if a scratch buffer could not be
// allocated: the caller then frees the feed ring.
bool feed_backfill(const Arena &arena, Ref *feed, Ref author, uint32_t cap);

// Copies the newest items of a ring with floor < key < before, at most
// lim, in ascending order, into out (appended). Returns how many.
template <typename Item>
size_t copy_below(const Ring<Item> &ring, ItemKey before, size_t lim, std::vector<Item> *out,
                  ItemKey floor = kMinKey) {
    uint32_t end = before == kMaxKey ? ring.size() : ring.lower_bound(before);
    uint32_t begin = end > lim ? uint32_t(end - lim) : 0;
    if (!(floor == kMinKey)) {
        // Nothing at or below the floor: skip it, newest first.
        while (begin < end && ring.at(begin).key() <= floor)
            begin++;
    }
    for (uint32_t i = begin; i < end; i++)
        out->push_back(ring.at(i));
    return end - begin;
}

// Trims the author rings of a stripe's users to the age bound
// (ring_trim in ring.hpp; stripe lock exclusive). Returns bytes freed.
uint64_t trim_stripe(const Arena &arena, const Directory &dir, uint32_t stripe, AgeBound bound);

// One pass of the CLOCK sweep over the feed rings of a stripe's users with
// uid in [lo, hi) (stripe lock exclusive): a referenced ring loses its
// mark, an unreferenced one is freed, until `goal` bytes are freed.
// Returns the bytes freed (as ring sizes) and counts rings in *evicted;
// with a sketch, adds the evicted viewers' read frequencies to
// *victim_freq (admission.hpp).
uint64_t sweep_feeds(const Arena &arena, const Directory &dir, uint32_t stripe, uint32_t lo,
                     uint32_t hi, uint64_t goal, uint64_t *evicted,
                     const FreqSketch *sketch = nullptr, uint64_t *victim_freq = nullptr);

}  // namespace dp

namespace dp {

// What a stripe's users hold (stripe lock shared): rings, items, and the
// bytes of their blocks by kind, each block's size passed through
// `rounded` (the allocator's size classes; nullptr: as requested).
struct RingCensus {
    uint64_t feed_rings = 0, feed_items = 0;
    uint64_t author_rings = 0, author_items = 0;
    uint64_t lost_rings = 0;  // author rings not held (kInvalidRef)
    uint64_t set_bytes = 0, author_bytes = 0, feed_bytes = 0;
};
void census_stripe(const Arena &arena, const Directory &dir, uint32_t stripe, RingCensus *c,
                   size_t (*rounded)(size_t) = nullptr);

}  // namespace dp
