// Commit-order guard: last-writer-wins by commit LSN, per key and stripe.
//
// Changes are applied in the XACT_EVENT_COMMIT callback, which runs after the
// commit became visible. Two transactions that change the same key (an edge
// side, an item) are ordered by the table itself (the second one waits for,
// or sees, the first), so their commit records are in WAL order:
// LSN(T1) < LSN(T2). But their callbacks may still run in the other order
// when T2 saw T1's row without waiting, in the window between T1 becoming
// visible and T1's callback.
//
// So every transaction announces, before it becomes visible (PRE_COMMIT),
// which (stripe, bucket) pairs its keys hash to, in a shared counting filter,
// and withdraws them once applied. A transaction applying a key whose bucket
// another pending transaction holds records the key with its commit LSN in
// the stripe's table; a later-running older transaction then finds a newer
// LSN and skips that key. Entries are pruned once no pending transaction
// holds their bucket. This costs nothing when transactions do not overlap,
// and never waits.
//
// Every structure that a key's change touches keeps its own register in the
// stripe that structure lives in: an edge in the stripes of both its users,
// an item in its source's stripe (the author ring) and in the stripe of
// every feed ring it is fanned out to, per source (ItemLwwKey).
//
// Skipping is not all: a change that overtakes an older one of the same
// item must also do what the older one, skipped, no longer will. An insertion
// removes the source's other versions of the item (the older commit's,
// whose removal will be skipped); a deletion whose version is missing
// removes another version of it; an older change found stale in the author
// ring still fans out its deletion (commit_apply.cpp). Where the order
// cannot be known (a fan-out that meets another source's copy of its key,
// or that another commit's change of its item overtook while the target
// unfollowed and followed again), the feed ring is given up and built
// again when next read.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstdint>

namespace dp {

constexpr uint32_t kLwwSlots = 512;

template <typename Key>
struct LwwTableT {
    struct Entry {
        Key key;
        uint64_t lsn;
    };
    uint32_t n;
    uint32_t pad;
    Entry e[kLwwSlots];

    // Was a newer change to this key already applied?
    bool newer(const Key &k, uint64_t lsn) const {
        for (uint32_t i = 0; i < n; i++)
            if (e[i].key == k)
                return e[i].lsn > lsn;
        return false;
    }

    // Records that the key was applied at `lsn`. When the table is full,
    // first drops entries no pending transaction may still need
    // (`needed(key)` false). Returns false if still full.
    template <typename Needed>
    bool record(const Key &k, uint64_t lsn, Needed needed) {
        for (uint32_t i = 0; i < n; i++)
            if (e[i].key == k) {
                if (lsn > e[i].lsn)
                    e[i].lsn = lsn;
                return true;
            }
        if (n == kLwwSlots)
            prune(needed);
        if (n == kLwwSlots)
            return false;
        e[n++] = Entry{k, lsn};
        return true;
    }

    template <typename Needed>
    void prune(Needed needed) {
        uint32_t j = 0;
        for (uint32_t i = 0; i < n; i++)
            if (needed(e[i].key))
                e[j++] = e[i];
        n = j;
    }
};

// An edge side: owner's set on `side` holds or not `other`.
struct EdgeKey {
    uint32_t owner;
    uint32_t other_;
    uint32_t side_;
    bool operator==(const EdgeKey &o) const {
        return owner == o.owner && other_ == o.other_ && side_ == o.side_;
    }
    uint32_t other() const { return other_; }
    uint8_t side() const { return uint8_t(side_); }
};

// A post or repost (kind and id) from one source (its author, or its
// reposter), in the author rings or in the feed rings of a stripe.
//
// A register covers exactly what the change it records reached, so that
// skipping an older change is right: a commit's change of an item from a
// source reaches, in one step under the stripe lock, that source's author
// ring, or every feed ring in the stripe that follows the source, and
// leaves there that source's version of the item as it is at the commit.
// An older change of the same item from another source (an UPDATE that
// moved it) reached other rings, and must still be applied; so must an
// older change of the author rings when the newer one has only reached
// the feed rings, which a commit changes in a later step.
enum : uint16_t { kLwwAuthorRings = 0, kLwwFeedRings = 1 };
struct ItemLwwKey {
    int64_t id;
    uint32_t src;
    uint16_t kind;
    uint16_t rings;  // kLwwAuthorRings or kLwwFeedRings
    bool operator==(const ItemLwwKey &o) const {
        return id == o.id && src == o.src && kind == o.kind && rings == o.rings;
    }
};
static_assert(sizeof(ItemLwwKey) == 16, "ItemLwwKey layout");

// The edge table, with the (owner, other, side) interface its callers use.
struct LwwTable : LwwTableT<EdgeKey> {
    static EdgeKey key(uint32_t owner, uint32_t other, uint8_t side) {
        return EdgeKey{owner, other, side};
    }
    bool newer(uint32_t owner, uint32_t other, uint8_t side, uint64_t lsn) const {
        return LwwTableT<EdgeKey>::newer(key(owner, other, side), lsn);
    }
    template <typename Needed>
    bool record(uint32_t owner, uint32_t other, uint8_t side, uint64_t lsn, Needed needed) {
        return LwwTableT<EdgeKey>::record(key(owner, other, side), lsn, [&](const EdgeKey &k) {
            return needed(k.owner, k.other(), k.side());
        });
    }
    template <typename Needed>
    void prune(Needed needed) {
        LwwTableT<EdgeKey>::prune(
            [&](const EdgeKey &k) { return needed(k.owner, k.other(), k.side()); });
    }
};

using ItemLwwTable = LwwTableT<ItemLwwKey>;

}  // namespace dp
