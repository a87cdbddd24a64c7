// Applying one committed transaction's netted set changes (follows and the
// moderation relations, edge_batch.hpp) to one stripe.
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
    ModDirectory *mod_dir = nullptr;   // the moderation sides (none kept where nullptr)
    ModDirectory *list_dir = nullptr;  // kMembers
};

struct ApplyResult {
    int64_t card[kNumSides] = {};  // change in set members per side
    uint64_t compactions = 0;
    uint64_t invalidated = 0;  // sets marked invalid
    uint64_t revalidated = 0;  // invalid sets cleared (emptied: valid again)
    uint64_t stale = 0;        // changes skipped: a newer commit already applied
    uint64_t lost_leaves = 0;  // directory leaves that could not be created
    uint64_t lost_rings = 0;   // author rings a build could not install
};

void apply_stripe(const StripeApply &a, const SideChange *v, size_t n, ApplyResult *r);

// The same for a stripe that a build has emptied and not yet switched to
// journals (index_env.hpp: maintained): nothing is applied, as the build's
// snapshot holds the commit, but the changes are recorded where another
// pending commit may change them too, so that an older commit journaled
// later does not undo them over the snapshot.
void skip_stripe(const StripeApply &a, const SideChange *v, size_t n);

// Every side, for clear_stripe.
constexpr uint32_t kAllSides = (1u << kNumSides) - 1;

// Frees the sets of the sides in `sides` (bits 1 << side) of every owner
// in `stripe` (TRUNCATE, or a new build).
// mod_dir and list_dir may be nullptr.
void clear_stripe(const Arena &arena, const Directory &dir, const ModDirectory *mod_dir,
                  const ModDirectory *list_dir, uint32_t stripe, uint32_t sides, ApplyResult *r);
// The follow sets of dir's owners in `stripe`.
inline void clear_stripe(const Arena &arena, const Directory &dir, uint32_t stripe, ApplyResult *r) {
    clear_stripe(arena, dir, nullptr, nullptr, stripe, kAllSides, r);
}

}  // namespace dp
