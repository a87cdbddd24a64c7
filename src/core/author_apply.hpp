// Author rings: one change to one author ring, and installing what a build
// read.
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

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "arena.hpp"
#include "item_batch.hpp"
#include "ring.hpp"

namespace dp {

// A journal never drops entries: its capacity is only bounded by the arena.
constexpr uint32_t kJournalCap = 1u << 28;

inline bool is_tombstone(const AuthorItem &it) { return it.author == 0; }

// Applies one netted change to the ring at *ref (kNoRef or a ring; never
// kInvalidRef). False if the arena could not hold it: the caller gives the
// ring up.
//
// any_version: the caller sets it when another commit touching that item
// is pending. A delete whose own version (its created_at) is not in the
// ring then removes another version of the same item: an UPDATE committed
// just before this delete may not be applied yet, and will be skipped as
// stale when it is, leaving the version before it in the ring. An insert
// removes every other version first: an older commit's version whose
// removal that commit will skip as stale (this one is newer). (Within one
// commit, deletes are applied before inserts, so neither removes a version
// this commit put there.) An insertion then trims the ring to `bound`
// (ring_trim, dataplane.ring_max_age and ring_keep_newest).
bool author_ring_apply(const Arena &arena, Ref *ref, const ItemChange &c, uint32_t cap,
                       bool journal, bool any_version = false, AgeBound bound = {});

// Frees a ring and marks the author's items as not held.
void author_ring_give_up(const Arena &arena, Ref *ref);

// Ends journal mode for one author ring: the ring becomes the `scanned`
// items (ascending, at most cap, all above `horizon`) with the journal
// replayed over them. Returns false if the arena was full (the ring is then
// kInvalidRef).
bool author_ring_install(const Arena &arena, Ref *ref, const AuthorItem *scanned, size_t n,
                         ItemKey horizon, uint32_t cap);


}  // namespace dp
