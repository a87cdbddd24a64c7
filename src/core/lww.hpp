// Commit-order guard: last-writer-wins by commit LSN, per edge side.
//
// Changes are applied in the XACT_EVENT_COMMIT callback, which runs after the
// commit became visible. Two transactions that change the same edge are
// ordered by the table itself (the second one waits for, or sees, the first),
// so their commit records are in WAL order: LSN(T1) < LSN(T2). But their
// callbacks may still run in the other order when T2 saw T1's row without
// waiting, in the window between T1 becoming visible and T1's callback.
//
// So every transaction announces, before it becomes visible (PRE_COMMIT),
// which (stripe, bucket) pairs its keys hash to, in a shared counting filter,
// and withdraws them once applied. A transaction applying a key whose bucket
// another pending transaction holds records the key with its commit LSN in
// the stripe's LwwTable; a later-running older transaction then finds a
// newer LSN and skips that key. Entries are pruned once no pending
// transaction holds their bucket. This costs nothing when transactions do not
// overlap, and never waits.
#pragma once

#include <cstdint>

namespace dp {

constexpr uint32_t kLwwSlots = 512;

struct LwwEntry {
    uint32_t owner;
    uint32_t other_side;  // other uid | side << 31
    uint64_t lsn;
};

// Lives in shared memory, one per stripe, used under the stripe lock.
struct LwwTable {
    uint32_t n;
    uint32_t pad;
    LwwEntry e[kLwwSlots];

    static uint32_t key2(uint32_t other, uint8_t side) { return other | uint32_t(side) << 31; }

    // Was a newer change to this key already applied?
    bool newer(uint32_t owner, uint32_t other, uint8_t side, uint64_t lsn) const {
        uint32_t k = key2(other, side);
        for (uint32_t i = 0; i < n; i++)
            if (e[i].owner == owner && e[i].other_side == k)
                return e[i].lsn > lsn;
        return false;
    }

    // Records that the key was applied at `lsn`. When the table is full,
    // first drops entries whose bucket no pending transaction holds
    // (`needed(owner, other, side)` false). Returns false if still full.
    template <typename Needed>
    bool record(uint32_t owner, uint32_t other, uint8_t side, uint64_t lsn, Needed needed) {
        uint32_t k = key2(other, side);
        for (uint32_t i = 0; i < n; i++)
            if (e[i].owner == owner && e[i].other_side == k) {
                if (lsn > e[i].lsn)
                    e[i].lsn = lsn;
                return true;
            }
        if (n == kLwwSlots)
            prune(needed);
        if (n == kLwwSlots)
            return false;
        e[n++] = LwwEntry{owner, k, lsn};
        return true;
    }

    template <typename Needed>
    void prune(Needed needed) {
        uint32_t j = 0;
        for (uint32_t i = 0; i < n; i++)
            if (needed(e[i].owner, e[i].other_side & 0x7FFFFFFFu, uint8_t(e[i].other_side >> 31)))
                e[j++] = e[i];
        n = j;
    }
};

}  // namespace dp
