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
// an item in its author's stripe and in the stripe of every feed ring it is
// fanned out to.
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

// A post or repost, by kind and id.
struct ItemLwwKey {
    int64_t id;
    uint32_t kind;
    uint32_t pad;
    bool operator==(const ItemLwwKey &o) const { return id == o.id && kind == o.kind; }
};

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
