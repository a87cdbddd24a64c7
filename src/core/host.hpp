// Host: everything the core asks of the process it runs in, in one
// interface: memory for the index, the stripe and celebrity locks, the state
// of a build, and the commits pending around the one being applied.
//
// In the server the host is src/pg/index_host.cpp (a DSA area, LWLocks,
// atomics in shared memory); in the unit tests and microbenchmarks a
// single-process simulation. The defaults below describe the simplest host:
// one thread, no build under way, no other commit pending; test hosts
// override what they simulate. Implementations never throw.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

namespace dp {

// Whether the commit apply maintains a stripe's sets and rings.
enum StripeMode : uint32_t {
    kModeEmpty = 0,     // not maintained: the next build reads the tables
    kModeBuilding = 1,  // maintained; sets a build has not installed yet keep a journal
    kModeReady = 2,
};

// The install cursors of a build: owners below have been installed. One per
// side of the sets (Cursor(side), directory.hpp), then the author rings.
enum Cursor : uint32_t { kCursorOut = 0, kCursorIn = 1, kCursorAuthor = 12, kNumCursors = 13 };

// Counts one step of an apply or a build made in a stripe (graph_apply.hpp).
struct ApplyResult;

class Host {
  public:
    // ---- memory: blocks of the arena (arena.hpp), as offsets from its base
    // A block of at least `size` bytes, 8-byte aligned; 0 when full.
    virtual uint64_t alloc(size_t size) noexcept = 0;
    virtual void free(uint64_t offset, size_t size) noexcept = 0;

    // ---- locks: stripe locks in ascending stripe order, the celebrity
    // lock last (index_env.hpp)
    virtual void lock(uint32_t, bool /*exclusive*/) noexcept {}
    virtual void unlock(uint32_t) noexcept {}
    virtual void lock_celebs(bool /*exclusive*/) noexcept {}
    virtual void unlock_celebs() noexcept {}

    // ---- a build (build.hpp): stripe modes and install cursors. Modes
    // change under the stripe's lock; cursors are read under it.
    virtual StripeMode mode(uint32_t /*stripe*/) const noexcept { return kModeReady; }
    virtual void set_mode(uint32_t, StripeMode) noexcept {}
    virtual uint32_t cursor(Cursor) const noexcept { return UINT32_MAX; }
    virtual void set_cursor(Cursor, uint32_t) noexcept {}
    // May feed rings exist (the index is built and answering)?
    virtual bool feeds_on() const noexcept { return true; }

    // ---- the commit being applied and the others pending (lww.hpp):
    // does a pending transaction other than the applying one (others), or
    // any (any), hold the key's bucket?
    virtual bool edge_others_pending(uint32_t, uint32_t, uint8_t) noexcept { return false; }
    virtual bool edge_any_pending(uint32_t, uint32_t, uint8_t) noexcept { return false; }
    virtual bool item_others_pending(uint32_t /*bucket*/) noexcept { return false; }
    virtual bool item_any_pending(uint32_t /*bucket*/) noexcept { return false; }
    // A generation per item slot (item_generation_slot), advanced once by
    // each commit that changes an item of the slot in an author ring: a
    // fan-out can tell that another commit changed its item (or one sharing
    // its slot) since it was planned.
    virtual void item_changed(uint32_t /*slot*/) noexcept {}
    virtual uint32_t item_generation(uint32_t /*slot*/) noexcept { return 0; }

    // ---- bookkeeping: what a step did to a stripe (called under its
    // exclusive lock), and that the applying commit is done with a stripe's
    // follow changes (called after its lock is released).
    virtual void stripe_counted(uint32_t /*stripe*/, const ApplyResult &) noexcept {}
    // Every set and ring of the stripe was freed (a build, a TRUNCATE):
    // its counts start over. Under its exclusive lock.
    virtual void stripe_cleared(uint32_t /*stripe*/) noexcept {}
    virtual void edge_stripe_released(uint32_t /*stripe*/) noexcept {}

  protected:
    ~Host() = default;
};

// Does the commit apply maintain this stripe?
inline bool maintained(const Host &h, uint32_t stripe) { return h.mode(stripe) != kModeEmpty; }

}  // namespace dp
