// The user directory: per uid, the follow sets, the moderation sets and the
// two rings, found by uid in two steps (a top table of leaf refs, then a
// leaf of 4096 entries). A second directory of the same shape holds the
// members of each moderation list, by list id.
//
// uids are dense positive ints, so a flat table beats any hash: a lookup is
// two dependent loads. Leaves are created on first write and live until the
// server stops; the top table lives outside the arena (in the fixed shared
// memory segment) and covers the whole positive int range.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstdint>

#include "arena.hpp"
#include "set_layout.hpp"

namespace dp {

constexpr uint32_t kLeafBits = 12;
constexpr uint32_t kLeafSize = 1u << kLeafBits;
constexpr uint32_t kTopSize = (uint32_t(1) << 31) >> kLeafBits;  // leaves for all positive ints

// The sets the index keeps. Each is owned by one uid (or one list) and
// holds uids (or list ids):
//   kOut        whom u follows               kIn        u's followers
//   kBlock      whom u blocks                kBlockers  who blocks u
//   kMute       whom u mutes
//   kListBlock  the lists u list-blocks      kListMute  the lists u list-mutes
//   kInactive   {1} when u's account is inactive, else empty
//   kMemberOf   the lists u is on
//   kInactives  every inactive account (owned by kInactivesOwner only)
//   kMembers    the members of list l        kListBlockers who list-blocks l
// A relation a read looks up from the viewer's side is kept both ways
// (follows, blocks, list items, list blocks, inactive accounts), so that a
// page's accounts are probed in a few of the viewer's sets instead of each
// account's own entry being looked up; mutes and list mutes are only ever
// read from the muter's side.
enum Side : uint8_t {
    kOut = 0,
    kIn = 1,
    kBlock = 2,
    kMute = 3,
    kListBlock = 4,
    kListMute = 5,
    kInactive = 6,
    kBlockers = 7,
    kMemberOf = 8,
    kInactives = 9,
    kMembers = 10,
    kListBlockers = 11,
    kNumSides = 12
};

// The owner of the one kInactives set (an inactive account u is the edge
// u -> 1 of kInactive, so its reverse is 1 -> u).
constexpr uint32_t kInactivesOwner = 1;

// Where they live: the follow sets in the user directory's entries (with
// the rings), the moderation sets in a second directory of uids whose
// leaves exist only where some user in them has one (most accounts never
// block anyone: they pay nothing), and each list's sets in a third, by
// list id.
struct DirEntry {
    SetRef set[2];  // kOut, kIn
    Ref author;     // author ring (author_apply.hpp)
    Ref feed;       // feed ring (feed rings are built for viewers who read)
};
static_assert(sizeof(DirEntry) == 24, "DirEntry layout");

constexpr uint32_t kModSlots = kMembers - kBlock;  // kBlock .. kInactives (64 bytes)
constexpr uint32_t kListSlots = kNumSides - kMembers;  // kMembers, kListBlockers
struct ModEntry {
    SetRef set[kModSlots];
};
static_assert(sizeof(ModEntry) == 64, "ModEntry layout");

// The slot of a side's set in its entry.
inline uint8_t slot_of(uint8_t side) {
    return side <= kIn ? side : side < kMembers ? uint8_t(side - kBlock) : uint8_t(side - kMembers);
}

// Is a side's set in the list directory (owned by a list id)?
inline bool list_side(uint8_t side) { return side >= kMembers; }

// Lives in fixed shared memory, zeroed at server start.
struct DirTop {
    uint32_t leaves_end;  // 1 + highest leaf index ever created
    uint32_t n_leaves;
    Ref leaf[kTopSize];
};

// A directory of entries of type Entry (DirEntry or ModEntry), by uid (or
// list id).
template <typename Entry>
class DirectoryT {
  public:
    DirectoryT(const Arena &arena, DirTop *top) : arena_(arena), top_(top) {}

    // The entry of uid, or nullptr when no leaf holds it yet (an empty user).
    Entry *find(uint32_t uid) const {
        if (uid == 0 || uid >= (uint32_t(1) << 31))
            return nullptr;
        Ref leaf = __atomic_load_n(&top_->leaf[uid >> kLeafBits], __ATOMIC_ACQUIRE);
        if (leaf == kNoRef || leaf == kInvalidRef)
            return nullptr;
        return arena_.at<Entry>(leaf) + (uid & (kLeafSize - 1));
    }

    // Starts loading uid's entry into the cache (a hint; no effect if none).
    void prefetch(uint32_t uid) const {
        if (uid == 0 || uid >= (uint32_t(1) << 31))
            return;
        Ref leaf = __atomic_load_n(&top_->leaf[uid >> kLeafBits], __ATOMIC_RELAXED);
        if (leaf != kNoRef && leaf != kInvalidRef)
            __builtin_prefetch(arena_.at<Entry>(leaf) + (uid & (kLeafSize - 1)));
    }

    // The entry of uid, creating its leaf; nullptr when the arena is full.
    Entry *get(uint32_t uid);

    // A leaf that could not be created loses the changes of its 4096 users:
    // it is marked lost, and their reads go to the tables until a rebuild.
    void mark_lost(uint32_t uid);
    bool lost(uint32_t uid) const {
        return uid != 0 && uid < (uint32_t(1) << 31) &&
               __atomic_load_n(&top_->leaf[uid >> kLeafBits], __ATOMIC_ACQUIRE) == kInvalidRef;
    }
    // Frees every leaf and forgets lost marks: the directory is as at server
    // start. Every entry must be empty, and the caller must exclude every
    // reader and writer (all stripe locks), since entries are read in place.
    void free_leaves();

    // One past the highest uid any leaf covers: iterations stop there.
    uint32_t uid_end() const {
        return __atomic_load_n(&top_->leaves_end, __ATOMIC_ACQUIRE) << kLeafBits;
    }
    uint32_t leaves() const { return __atomic_load_n(&top_->n_leaves, __ATOMIC_RELAXED); }

  private:
    const Arena &arena_;
    DirTop *top_;
};

using Directory = DirectoryT<DirEntry>;
using ModDirectory = DirectoryT<ModEntry>;

}  // namespace dp
