// Turning one transaction's follow changes into per-set work.
//
// A transaction may insert, delete and re-insert the same edge, and a bulk
// load may bring millions of edges. At commit the changes are netted (the
// last change to an edge wins, as the table's final state does) and split
// into one change per side: (follower, out, followee) and (followee, in,
// follower). They are sorted by stripe, owner, side and other uid, so the
// apply takes each stripe lock once and rewrites each set once, however many
// of its edges changed.
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

enum Op : uint8_t { kDelete = 0, kInsert = 1 };

// One follow-table change as captured, in statement order.
struct RawEdge {
    uint32_t follower;
    uint32_t followee;
    uint8_t op;
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

// Nets `raw` (last change per edge wins) and returns the side changes
// ordered by (stripe, owner, side, other).
std::vector<SideChange> net_side_changes(const RawEdge *raw, size_t n);

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
