// What the timeline engine needs from its host: the arena and directory,
// the commit-order tables, the celebrity set, the capacities, and callbacks
// for locks, stripe modes and the pending-key filters.
//
// In the server these are LWLocks and shared-memory fields (src/pg); in the
// unit tests a single-process simulation. Lock order, which every caller
// keeps: stripe locks in ascending stripe order, the celebrity lock last.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arena.hpp"
#include "directory.hpp"
#include "lww.hpp"
#include "roaring_views.hpp"
#include "set_layout.hpp"

namespace dp {

struct IndexEnv {
    const Arena *arena = nullptr;
    Directory *dir = nullptr;
    RoaringViews *views = nullptr;
    LwwTable *edge_lww = nullptr;      // one per stripe
    ItemLwwTable *item_lww = nullptr;  // one per stripe
    // Authors whose items are merged at read time instead of fanned out;
    // under the celebrity lock.
    SetRef *celebs = nullptr;
    uint32_t author_cap = 1000;
    uint32_t feed_cap = 800;
    uint64_t fanout_limit = 10000;

    // Commits that delete follows, started and finished applying their
    // follow changes (shared by all processes; __atomic). A fan-out planned
    // while none ran, and with none started since, need not check that its
    // targets still follow the source.
    uint64_t *unfollows_started = nullptr;
    uint64_t *unfollows_finished = nullptr;

    void *ctx = nullptr;
    void (*lock)(void *ctx, uint32_t stripe, bool exclusive) = nullptr;
    void (*unlock)(void *ctx, uint32_t stripe) = nullptr;
    void (*lock_celebs)(void *ctx, bool exclusive) = nullptr;
    void (*unlock_celebs)(void *ctx) = nullptr;
    // Does the commit apply maintain this stripe (not emptied for a build)?
    bool (*maintained)(void *ctx, uint32_t stripe) = nullptr;
    // Is this set / author ring still a build's journal?
    bool (*set_journal)(void *ctx, uint32_t uid, uint8_t side) = nullptr;
    bool (*author_journal)(void *ctx, uint32_t uid) = nullptr;
    // May feed rings exist (the index is built and answering)?
    bool (*feeds_on)(void *ctx) = nullptr;
};

}  // namespace dp
