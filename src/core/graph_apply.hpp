// Applying one committed transaction's netted follow changes to one stripe.
//
// Runs under the stripe's lock (exclusive) in the commit callback: it must not
// fail. A set that cannot take its change (arena full, or the commit-order
// table full) is marked invalid, so that readers answer it from the tables
// until the next build, instead of answering wrongly.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "arena.hpp"
#include "directory.hpp"
#include "edge_batch.hpp"
#include "lww.hpp"
#include "roaring_views.hpp"

namespace dp {

// Told about every set change the apply made (not journal changes), so that
// the feed rings that depend on the follow graph can follow it.
class EdgeObserver {
  public:
    // owner's set on side had ins added and del removed (both sorted), or,
    // if !ok, could not be kept and is now invalid.
    virtual void applied(uint32_t owner, uint8_t side, const uint32_t *ins, size_t n_ins,
                         const uint32_t *del, size_t n_del, bool ok) = 0;

  protected:
    ~EdgeObserver() = default;
};

// One stripe's share of one commit. The arena's host (host.hpp) says which
// sets are journals and which keys other pending commits hold.
struct StripeApply {
    const Arena *arena;
    Directory *dir;
    LwwTable *lww;
    RoaringViews *views;
    uint64_t lsn;  // commit LSN of the transaction
    EdgeObserver *observer = nullptr;  // optional
};

struct ApplyResult {
    int64_t card[2] = {0, 0};  // change in edges per side
    uint64_t compactions = 0;
    uint64_t invalidated = 0;  // sets marked invalid
    uint64_t stale = 0;        // changes skipped: a newer commit already applied
    uint64_t lost_leaves = 0;  // directory leaves that could not be created
    uint64_t lost_rings = 0;   // author rings a build could not install
};

void apply_stripe(const StripeApply &a, const SideChange *v, size_t n, ApplyResult *r);

// Frees every set of the users in `stripe` (TRUNCATE, or a new build).
void clear_stripe(const Arena &arena, const Directory &dir, uint32_t stripe, ApplyResult *r);

}  // namespace dp
