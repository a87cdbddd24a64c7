// Author rings: applying committed post and repost changes, and installing
// what a build read.
//
// A user's author ring (DirEntry::author) holds their newest items, up to
// dataplane.author_capacity. kNoRef means the user has no item at all (the
// index knows it); kInvalidRef means the index does not hold the user's
// items (the arena was full): their author feed, and any timeline that
// needs them, is read from the tables.
//
// While a build has not installed a user's ring, the ring is a journal:
// items committed since the build began, and, for deletions, tombstones
// (entries with author 0), to be merged over what the build reads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arena.hpp"
#include "directory.hpp"
#include "item_batch.hpp"
#include "lww.hpp"
#include "ring.hpp"

namespace dp {

// A journal never drops entries: its capacity is only bounded by the arena.
constexpr uint32_t kJournalCap = 1u << 28;

inline bool is_tombstone(const AuthorItem &it) { return it.author == 0; }

struct ItemApply {
    const Arena *arena;
    Directory *dir;
    ItemLwwTable *lww;   // the stripe's
    uint64_t lsn;        // commit LSN of the transaction
    uint32_t stripe;
    uint32_t author_cap;
    void *ctx;
    // Does a pending transaction other than this one (any at all) hold the
    // bucket in this stripe?
    bool (*others_pending)(void *ctx, uint32_t stripe, uint32_t bucket);
    bool (*any_pending)(void *ctx, uint32_t stripe, uint32_t bucket);
    // Is uid's author ring still a journal (a running build has not
    // installed it)?
    bool (*journal)(void *ctx, uint32_t uid);
};

struct ItemResult {
    uint64_t applied = 0;      // changes that reached a ring
    uint64_t stale = 0;        // skipped: a newer commit came first
    uint64_t lost_rings = 0;   // rings given up (arena or commit-order table full)
    uint64_t lost_leaves = 0;
};

// Applies the changes v[0..n) (one stripe's run from net_item_changes) to
// their sources' author rings. Sets applied_out[i] to whether change i was
// applied (not stale): fan-out follows only applied changes.
void apply_author_rings(const ItemApply &a, const ItemChange *v, size_t n, bool *applied_out,
                        ItemResult *r);

// Ends journal mode for one author ring: the ring becomes the `scanned`
// items (ascending, at most cap, all above `horizon`) with the journal
// replayed over them. Returns false if the arena was full (the ring is then
// kInvalidRef).
bool author_ring_install(const Arena &arena, Ref *ref, const AuthorItem *scanned, size_t n,
                         ItemKey horizon, uint32_t cap);

// Frees an author ring (kInvalidRef becomes kNoRef: a new build starts over).
void author_ring_clear(const Arena &arena, Ref *ref);

}  // namespace dp
