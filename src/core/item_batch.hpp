// Turning one transaction's post and repost changes into per-ring work.
//
// As for follows (edge_batch.hpp): the changes are netted, the last change
// to an item winning as the table's final state does, and ordered by the
// stripe of the ring that holds them: an item belongs to the author ring of
// its source, the author of a post or the reposter of a repost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "edge_batch.hpp"
#include "ring.hpp"

namespace dp {

enum ItemKind : uint8_t { kPost = 0, kRepost = 1 };

// One post or repost change as captured, in statement order. A deletion
// needs only the key and the source (author = 0 when unknown).
struct RawItem {
    AuthorItem item;
    uint8_t op;    // kInsert or kDelete
    uint8_t kind;  // ItemKind
};

inline uint32_t item_src(const AuthorItem &it) { return it.reposter ? it.reposter : it.author; }

// One netted change to one item, owned by its source's author ring.
struct ItemChange {
    AuthorItem item;
    uint32_t src;
    uint8_t op;
    uint8_t kind;
    uint32_t stripe() const { return stripe_of(src); }
};

// Nets `raw` (last change per (kind, id) wins) and returns the changes
// ordered by (stripe of source, source, key).
std::vector<ItemChange> net_item_changes(const RawItem *raw, size_t n);

// Offsets of each stripe's run: changes of stripe s are [starts[s], starts[s+1]).
std::vector<size_t> item_stripe_starts(const std::vector<ItemChange> &v);

inline uint32_t item_bucket(int64_t id, uint8_t kind) {
    uint64_t h = (uint64_t(id) ^ (uint64_t(kind) << 62)) * 0x9E3779B97F4A7C15ull;
    return uint32_t(h >> 58) % kBuckets;
}

}  // namespace dp
