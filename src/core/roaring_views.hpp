// A per-process cache of CRoaring frozen views over Roaring base blocks.
//
// roaring_bitmap_frozen_view() mallocs a small header and walks the container
// table, which costs about a microsecond for a large bitmap: too much to pay
// on every read of a celebrity's follower set. Base blocks are immutable and
// carry a serial number that is never reused, so a view stays valid for as
// long as the block it was made from is still the set's base; the caller
// checks that under the set's stripe lock before using the view.
//
// The cache is 2-way set associative with LRU replacement, which guarantees
// that the views returned by the last two calls are both still alive: an
// operation may hold two views (an intersection) and no more.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstdint>

#include <roaring/roaring.h>

#include "set_layout.hpp"

namespace dp {

class RoaringViews {
  public:
    RoaringViews() = default;
    ~RoaringViews() { clear(); }
    RoaringViews(const RoaringViews &) = delete;
    RoaringViews &operator=(const RoaringViews &) = delete;

    // The view of the Roaring base `h`, or nullptr when CRoaring refuses the
    // buffer (misaligned or corrupt) or cannot allocate.
    const roaring_bitmap_t *get(const BaseHdr *h);
    void clear();

  private:
    static constexpr int kSets = 32;
    struct Slot {
        uint64_t serial = 0;
        const roaring_bitmap_t *view = nullptr;
    };
    Slot slots_[kSets][2];
    uint8_t mru_[kSets] = {};  // which way was used last
};

}  // namespace dp
