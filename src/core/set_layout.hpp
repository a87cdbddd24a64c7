// The byte layout of a uid set in the arena.
//
// A set is a "base" block, immutable once written, plus an optional "delta"
// block of recent adds and removes that is compacted into a new base when it
// fills up. The base takes whichever of three formats is smallest for its
// contents:
//
//   Array32   sorted uint32 uids: 4 bytes each; best for a few uids spread
//             over a large uid space (most follow sets).
//   Packed16  the uids grouped by their high 16 bits: one uint16 key and one
//             uint16 end position per group, then the low 16 bits of every
//             uid: 2 bytes each plus 4 per group; best for small sets in a
//             small or crowded uid space.
//   Roaring   a CRoaring bitmap in its frozen format, read in place through
//             roaring_bitmap_frozen_view; best for large sets, where bitset
//             and run containers take 1-2 bits or less per uid.
//
// Small sets (up to kCowMax) have no delta: a change writes a new base, which
// costs no more than the delta would. Larger sets collect changes in a delta
// of kDeltaCap entries, so that a write never rewrites a large set.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "arena.hpp"

namespace dp {

enum Fmt : uint8_t { kFmtArray32 = 1, kFmtPacked16 = 2, kFmtRoaring = 3 };

// Sets up to this size are rewritten whole on a change (no delta).
constexpr uint32_t kCowMax = 128;
// Roaring is only considered from this size on: below it, building a
// bitmap costs more than it can save.
constexpr uint32_t kRoaringMin = 1024;
// Packed16 stores end positions as uint16.
constexpr uint32_t kPacked16Max = 65535;

inline uint32_t delta_cap_for(uint32_t n) { return n < 65536 ? 64 : 256; }

// Marks a set that the index failed to keep (memory limit): readers must go
// to the tables for it, writers leave it alone until the next build.
constexpr Ref kInvalidRef = 0xFFFFFFFFu;
// Does a ring reference hold a ring (neither absent nor dropped)?
inline bool held(Ref r) { return r != kNoRef && r != kInvalidRef; }

struct SetRef {
    Ref base = kNoRef;
    Ref delta = kNoRef;
    bool invalid() const { return base == kInvalidRef; }
    bool empty() const { return base == kNoRef && delta == kNoRef; }
};

struct BaseHdr {
    uint8_t fmt;
    uint8_t pad;
    uint16_t nkeys;  // Packed16: number of high-16 groups
    uint32_t n;      // number of uids in the base
};
static_assert(sizeof(BaseHdr) == 8, "BaseHdr layout");

struct RoaringHdr {
    BaseHdr h;
    uint32_t frozen_len;   // exact length of the frozen bytes
    uint32_t data_off;     // from the block start to the 32-byte aligned bytes
    uint64_t serial;       // unique per block: keys per-process view caches
    uint32_t block_size;   // bytes allocated, for accounting on free
    uint32_t pad;
};
static_assert(sizeof(RoaringHdr) == 32, "RoaringHdr layout");

// Delta: adds fill slots from the front, removes from the back; both sorted.
// Invariants outside a build: adds are not in the base, removes are.
// During a build (journal mode) the base is empty and removes are
// tombstones: uids deleted since the build began, to be subtracted from what
// the build reads from the tables.
struct DeltaHdr {
    uint32_t cap;
    uint32_t n_add;
    uint32_t n_del;
    uint32_t pad;
    uint32_t *slots() { return reinterpret_cast<uint32_t *>(this + 1); }
    const uint32_t *slots() const { return reinterpret_cast<const uint32_t *>(this + 1); }
    const uint32_t *adds() const { return slots(); }
    const uint32_t *dels() const { return slots() + cap - n_del; }
};
static_assert(sizeof(DeltaHdr) == 16, "DeltaHdr layout");

inline size_t array32_bytes(uint32_t n) { return sizeof(BaseHdr) + size_t(n) * 4; }
inline size_t packed16_bytes(uint32_t nkeys, uint32_t n) {
    return (sizeof(BaseHdr) + size_t(nkeys) * 4 + size_t(n) * 2 + 7) & ~size_t(7);
}
inline size_t delta_bytes(uint32_t cap) { return sizeof(DeltaHdr) + size_t(cap) * 4; }

inline const uint16_t *packed16_keys(const BaseHdr *h) {
    return reinterpret_cast<const uint16_t *>(h + 1);
}
inline const uint16_t *packed16_ends(const BaseHdr *h) { return packed16_keys(h) + h->nkeys; }
inline const uint16_t *packed16_lows(const BaseHdr *h) { return packed16_ends(h) + h->nkeys; }
inline const uint32_t *array32_data(const BaseHdr *h) {
    return reinterpret_cast<const uint32_t *>(h + 1);
}
inline const char *roaring_data(const BaseHdr *h) {
    const auto *r = reinterpret_cast<const RoaringHdr *>(h);
    return reinterpret_cast<const char *>(h) + r->data_off;
}

// Bytes a base block occupies, as passed to Arena::free.
inline size_t base_block_bytes(const BaseHdr *h) {
    switch (h->fmt) {
        case kFmtArray32: return array32_bytes(h->n);
        case kFmtPacked16: return packed16_bytes(h->nkeys, h->n);
        default: return reinterpret_cast<const RoaringHdr *>(h)->block_size;
    }
}

}  // namespace dp
