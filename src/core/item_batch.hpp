// Turning one transaction's post and repost changes into per-ring work.
//
// As for follows (edge_batch.hpp): the changes are netted, the last change
// to an item winning as the table's final state does, and ordered by the
// stripe of the ring that holds them: an item belongs to the author ring of
// its source, the author of a post or the reposter of a repost.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "edge_batch.hpp"
#include "ring.hpp"

namespace dp {

enum ItemKind : uint8_t { kPost = 0, kRepost = 1 };

// RawItem.op of a TRUNCATE of the kind's table: earlier changes of that
// kind are void, and every item of that kind leaves the rings.
constexpr uint8_t kItemTruncate = 2;

// One post or repost change as captured, in statement order. A deletion
// needs only the key and the source (author = 0 when unknown).
struct RawItem {
    AuthorItem item;
    uint8_t op;    // kInsert, kDelete or kItemTruncate
    uint8_t kind;  // ItemKind
};

// The items of source src among n sorted by source: [first, second).
inline std::pair<const AuthorItem *, const AuthorItem *> items_of_src(const AuthorItem *items,
                                                                      size_t n, uint32_t src) {
    struct BySrc {
        bool operator()(const AuthorItem &a, uint32_t s) const { return item_src(a) < s; }
        bool operator()(uint32_t s, const AuthorItem &a) const { return s < item_src(a); }
    };
    return std::equal_range(items, items + n, src, BySrc{});
}

// One netted change to one item, owned by its source's author ring. An
// insertion replaces an item with the same key (its details may differ).
struct ItemChange {
    AuthorItem item;
    uint32_t src;
    uint8_t op;
    uint8_t kind;
    // An insertion whose commit deletes the item's version from another
    // source (an UPDATE gave it another author or reposter): that source.
    uint32_t moved_from = 0;
    uint32_t stripe() const { return stripe_of(src); }
};

struct NettedItems {
    std::vector<ItemChange> changes;  // ordered by (stripe of source, source, key, op)
    bool truncated[2] = {false, false};  // per ItemKind
};

// Nets `raw`: per (kind, id), the deletion of the state committed before
// (its first change, when that is a deletion) unless the final state has
// the same source and key, and the final state (its last change, when that
// is an insertion). Intermediate states were never committed.
NettedItems net_item_changes(const RawItem *raw, size_t n);


// Buckets of the item pending-key filter. Unlike edges (whose two sides
// live in known stripes), an item reaches the feed rings of any stripe, so
// its bucket is announced once, for all stripes.
constexpr uint32_t kItemBuckets = 1024;

inline uint64_t item_hash(int64_t id, uint8_t kind) {
    return (uint64_t(id) ^ (uint64_t(kind) << 62)) * 0x9E3779B97F4A7C15ull;
}

inline uint32_t item_bucket(int64_t id, uint8_t kind) {
    return uint32_t(item_hash(id, kind) >> 54) % kItemBuckets;
}

// Slots of the item change generations (Host::item_changed): finer than
// the buckets, as a commit of a large batch touches most buckets.
constexpr uint32_t kItemGenerations = 16384;

inline uint32_t item_generation_slot(int64_t id, uint8_t kind) {
    return uint32_t(item_hash(id, kind) >> 50) % kItemGenerations;
}

}  // namespace dp
