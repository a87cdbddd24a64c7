// Arena: the allocator the core uses for shared data.
//
// The core never sees PostgreSQL. In the server the arena is a DSA area
// created in place inside the main shared memory segment, so every block is
// addressed by its byte offset from one base that all backends map at the
// same address; in unit tests it is a plain heap region. Blocks are
// referenced by a 32-bit "ref": the offset divided by 8, which addresses up
// to 32 GiB.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "host.hpp"

namespace dp {

using Ref = uint32_t;            // offset / 8 inside the arena; 0 = none
constexpr Ref kNoRef = 0;
constexpr uint64_t kMaxArenaBytes = uint64_t(1) << 35;

struct Arena {
    char *base = nullptr;
    uint64_t size = 0;  // bytes addressable from base (bounds for unlocked reads)
    Host *host = nullptr;  // hands out and takes back the blocks
    // Source of serial numbers for Roaring blocks (shared by all processes).
    uint64_t *serial_counter = nullptr;

    // A block of at least `size` bytes, or kNoRef when the arena is full.
    Ref alloc(size_t size) const {
        uint64_t off = host->alloc(size);
        return off == 0 ? kNoRef : Ref(off >> 3);
    }
    void free(Ref r, size_t size) const {
        if (r != kNoRef)
            host->free(uint64_t(r) << 3, size);
    }
    uint64_t next_serial() const {
        return __atomic_add_fetch(serial_counter, 1, __ATOMIC_RELAXED);
    }
    template <typename T = char>
    T *at(Ref r) const {
        return reinterpret_cast<T *>(base + (uint64_t(r) << 3));
    }
    // Does [r, r + bytes) lie inside the arena? For reads without a lock,
    // whose refs and sizes may be stale.
    bool contains(Ref r, uint64_t bytes) const {
        uint64_t off = uint64_t(r) << 3;
        return r != 0 && off < size && bytes <= size - off;
    }
};

}  // namespace dp
