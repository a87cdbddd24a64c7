// The shared index as the commit apply, the builds and the reads see it:
// the arena and directory, the commit-order tables, the celebrity set and
// the capacities; the arena's host (host.hpp) provides locks, build state
// and the pending-key filters.
//
// Lock order, which every caller keeps: stripe locks in ascending stripe
// order, the celebrity lock last.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "arena.hpp"
#include "directory.hpp"
#include "edge_batch.hpp"
#include "host.hpp"
#include "lww.hpp"
#include "ring.hpp"
#include "roaring_views.hpp"
#include "set_layout.hpp"
#include "side_sets.hpp"

namespace dp {

struct IndexEnv {
    const Arena *arena = nullptr;
    Directory *dir = nullptr;
    ModDirectory *mod_dir = nullptr;   // blocks, mutes, list subscriptions, inactive accounts
    ModDirectory *list_dir = nullptr;  // members of moderation lists, by list id
    RoaringViews *views = nullptr;
    LwwTable *edge_lww = nullptr;      // one per stripe
    ItemLwwTable *item_lww = nullptr;  // one per stripe
    // Authors whose items are merged at read time instead of fanned out;
    // under the celebrity lock.
    SetRef *celebs = nullptr;
    uint32_t author_cap = 1000;
    uint32_t feed_cap = 800;
    // dataplane.ring_max_age and ring_keep_newest: author rings keep no
    // item with a key at or below the floor beyond their newest `keep`
    // (ring_trim in ring.hpp); floor kMinKey: no bound.
    AgeBound ring_bound;
    uint64_t fanout_limit = 10000;

    // Commits that delete follows, started and finished applying their
    // follow changes (shared by all processes; __atomic). A fan-out planned
    // while none ran, and with none started since, need not check that its
    // targets still follow the source.
    uint64_t *unfollows_started = nullptr;
    uint64_t *unfollows_finished = nullptr;

    // The locks, the build's state and the pending commits: the arena's host.
    Host &host() const { return *arena->host; }
};

static_assert(uint32_t(kCursorAuthor) == uint32_t(kNumSides), "one build cursor per side, then the author rings");

// The sets of a side (side_sets.hpp).
inline SideSets side_sets(const IndexEnv &env, uint8_t side) {
    return SideSets(env.dir, env.mod_dir, env.list_dir, side);
}

// Is this set (this author ring) still a build's journal: its stripe is
// being built and the build has not installed its user yet?
inline bool set_journal(const Host &h, uint32_t uid, uint8_t side) {
    return h.mode(stripe_of(uid)) == kModeBuilding && uid >= h.cursor(Cursor(side));
}
inline bool author_journal(const Host &h, uint32_t uid) {
    return h.mode(stripe_of(uid)) == kModeBuilding && uid >= h.cursor(kCursorAuthor);
}

}  // namespace dp
