// Turning one transaction's changes to the relations the index keeps as
// sets (follows, blocks, mutes, list subscriptions, list items, inactive
// accounts) into per-set work.
//
// A transaction may insert, delete and re-insert the same edge, and a bulk
// load may bring millions of edges. At commit the changes are netted (the
// last change to an edge wins, as the table's final state does) and split
// into one change per set they touch: a follow into (follower, out,
// followee) and (followee, in, follower); every other relation into its
// owner's side only. They are sorted by stripe, owner, side and other, so
// the apply takes each stripe lock once and rewrites each set once, however
// many of its edges changed.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>
#include <vector>

#include "directory.hpp"

namespace dp {

// Number of lock stripes over uids (uid % kStripes).
constexpr uint32_t kStripes = 128;
// Buckets per stripe of the pending-key filter (see lww.hpp).
constexpr uint32_t kBuckets = 64;

inline uint32_t stripe_of(uint32_t uid) { return uid % kStripes; }

inline uint32_t bucket_of(uint32_t owner, uint32_t other, uint8_t side) {
    uint64_t h = (uint64_t(owner) << 32 | other) * 0x9E3779B97F4A7C15ull;
    h ^= side ? 0x5bd1e995u : 0;
    h *= 0xff51afd7ed558ccdull;
    return uint32_t(h >> 58) % kBuckets;
}

enum Op : uint8_t { kDelete = 0, kInsert = 1, kTruncate = 2 };

// The relations, as captured. Each names its owner and its other end, and
// lands in the owner's set and, for those read from the other end too, in
// the other end's set of the reverse side:
//   kRelFollow     follower -> followee    (kOut; kIn)
//   kRelBlock      blocker -> blocked      (kBlock; kBlockers)
//   kRelMute       muter -> muted          (kMute)
//   kRelListBlock  actor -> list id        (kListBlock; kListBlockers)
//   kRelListMute   actor -> list id        (kListMute)
//   kRelListItem   list id -> subject      (kMembers; kMemberOf)
//   kRelInactive   uid -> 1                (kInactive; kInactives)
enum Rel : uint8_t {
    kRelFollow = 0,
    kRelBlock,
    kRelMute,
    kRelListBlock,
    kRelListMute,
    kRelListItem,
    kRelInactive,
    kNumRels
};

// The side of the owner's set a relation lands in.
inline uint8_t owner_side(uint8_t rel) {
    static constexpr uint8_t kSide[kNumRels] = {kOut,      kBlock,   kMute,    kListBlock,
                                                kListMute, kMembers, kInactive};
    return kSide[rel];
}

// The side of the other end's set it lands in too, or kNumSides for none.
inline uint8_t reverse_side(uint8_t rel) {
    static constexpr uint8_t kSide[kNumRels] = {kIn,       kBlockers,  kNumSides, kListBlockers,
                                                kNumSides, kMemberOf,  kInactives};
    return kSide[rel];
}

// One change as captured, in statement order. op kTruncate voids every
// earlier change of its relation and empties it (follower, followee unused).
struct RawEdge {
    uint32_t follower;  // the owner
    uint32_t followee;  // the other end
    uint8_t op;
    uint8_t rel = kRelFollow;
};

// One change to one side of one edge.
struct SideChange {
    uint32_t owner;
    uint32_t other;
    uint8_t side;
    uint8_t op;
    uint32_t stripe() const { return stripe_of(owner); }
    uint32_t bucket() const { return bucket_of(owner, other, side); }
};

// Nets `raw` (last change per edge wins; a truncation voids what came
// before it in its relation) and returns the side changes ordered by
// (stripe, owner, side, other). *truncated gets a bit (1 << side) for every
// side a truncation empties.
std::vector<SideChange> net_side_changes(const RawEdge *raw, size_t n,
                                         uint32_t *truncated = nullptr);

// The bit of every side a relation's truncation empties.
inline uint32_t truncated_sides(uint8_t rel) {
    uint8_t rev = reverse_side(rel);
    return 1u << owner_side(rel) | (rev < kNumSides ? 1u << rev : 0u);
}

// Offsets of each stripe's run in a vector of changes ordered by stripe
// (each has a stripe()): changes of stripe s are [starts[s], starts[s+1]).
template <typename Change>
std::vector<size_t> stripe_starts(const std::vector<Change> &v) {
    std::vector<size_t> starts(kStripes + 1, v.size());
    size_t i = 0;
    for (uint32_t s = 0; s < kStripes; s++) {
        while (i < v.size() && v[i].stripe() < s)
            i++;
        starts[s] = i;
    }
    return starts;
}

}  // namespace dp
