// Writing uid sets: building a base, applying committed changes, the journal
// kept while the index is being built, and installing what a build read.
//
// Every function here runs under the set's stripe lock (exclusive), never
// throws, and leaves the set unchanged when it returns kNoMem: the caller then
// marks the set invalid so that reads of it go to the tables.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "arena.hpp"
#include "roaring_views.hpp"
#include "set_layout.hpp"

namespace dp {

enum class Status { kOk, kNoMem };

// What a write did, for the index's statistics.
struct WriteStats {
    int64_t card = 0;         // change in cardinality
    uint64_t compactions = 0; // deltas folded into a new base
};

// Writes a base for the sorted, duplicate-free uids v[0..n) in the smallest
// format; *out is kNoRef for an empty set.
Status set_build_base(const Arena &arena, const uint32_t *v, size_t n, Ref *out,
                      WriteStats *st);

// Frees both blocks of a set and makes it empty (an invalid set stays invalid).
void set_free(const Arena &arena, SetRef *ref, WriteStats *st);

// Applies committed changes: afterwards the set is old ∪ ins − del. Both
// lists are sorted, duplicate-free and disjoint; inserting a present uid or
// deleting an absent one is a no-op.
Status set_apply(const Arena &arena, SetRef *ref, const uint32_t *ins, size_t n_ins,
                 const uint32_t *del, size_t n_del, RoaringViews *views, WriteStats *st);

// Journal mode, while a build has not yet installed this set: the set holds
// only changes committed since the build began, as adds and tombstones.
Status set_journal(const Arena &arena, SetRef *ref, const uint32_t *ins, size_t n_ins,
                   const uint32_t *del, size_t n_del, WriteStats *st);

// Ends journal mode: the set becomes (scanned ∪ adds) − tombstones, where
// `scanned` (sorted, duplicate-free) is what the build read from the tables.
Status set_install(const Arena &arena, SetRef *ref, const uint32_t *scanned, size_t n,
                   WriteStats *st);

// Arena bytes held by a set.
size_t set_bytes(const Arena &arena, SetRef ref);

}  // namespace dp
