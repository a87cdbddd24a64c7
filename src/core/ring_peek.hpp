// An author ring read in place without its stripe lock (timeline reads).
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstdint>

#include "arena.hpp"
#include "ring.hpp"

namespace dp {

// An author ring read without its stripe lock: its header is copied, and
// accepted only if every slot it implies lies inside the arena, so that a
// header torn by a concurrent commit can make the read wrong (the caller
// then discards it) but never make it read outside the arena.
class PeekedRing {
  public:
    bool open(const Arena &arena, Ref ref, uint32_t max_cap) {
        if (ref == kNoRef || ref == kInvalidRef || !arena.contains(ref, sizeof(RingHdr)))
            return false;
        const RingHdr *h = arena.at<RingHdr>(ref);
        cap_ = __atomic_load_n(&h->cap, __ATOMIC_RELAXED);
        n_ = __atomic_load_n(&h->n, __ATOMIC_RELAXED);
        head_ = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
        horizon_ = h->horizon;
        flags_ = __atomic_load_n(&h->flags, __ATOMIC_RELAXED);
        // (A ring trimmed to its header alone has cap 0: no item, its
        // horizon.)
        if (cap_ > max_cap || n_ > cap_ || (cap_ > 0 ? head_ >= cap_ : head_ != 0) ||
            !arena.contains(ref, AuthorRing::bytes(cap_)))
            return false;
        items_ = reinterpret_cast<const AuthorItem *>(h + 1);
        return true;
    }
    uint32_t size() const { return n_; }
    // Starts loading the newest items, where a recent item's search begins
    // (a hint: nothing is dereferenced).
    void prefetch_newest() const {
        if (n_ > 0)
            __builtin_prefetch(&at(n_ - 1));
    }
    ItemKey horizon() const { return horizon_; }
    // A deep ring the eviction sweep will trim unless it is read (a hint:
    // the caller clears the mark under the ring's lock).
    bool aged() const { return (flags_ & kRingAged) != 0; }
    ItemKey horizon_key() const { return horizon_; }
    const AuthorItem &at(size_t i) const {
        uint32_t slot = head_ + uint32_t(i);
        return items_[slot >= cap_ ? slot - cap_ : slot];
    }
    // Index of the first item with key >= k; end_below(k) is the same: one
    // past the last item with key < k.
    size_t end_below(ItemKey k) const { return lower_bound(k); }
    // The same, searching from the newest end: galloping back over 1, 2, 4
    // ... items, then a binary search in the last step. A recent item (a
    // repost on a first page) costs a few cache lines, not a whole search.
    uint32_t lower_bound_from_end(ItemKey k) const {
        uint32_t hi = n_, step = 1;
        while (hi > 0) {
            uint32_t probe = hi > step ? hi - step : 0;
            if (at(probe).key() < k)
                return key_lower_bound(*this, probe + 1, hi, k);  // in (probe, hi]
            hi = probe;
            step *= 2;
        }
        return 0;
    }
    uint32_t lower_bound(ItemKey k) const { return key_lower_bound(*this, 0, n_, k); }

  private:
    const AuthorItem *items_ = nullptr;
    uint32_t cap_ = 0, n_ = 0, head_ = 0, flags_ = 0;
    ItemKey horizon_ = kMinKey;
};

}  // namespace dp
