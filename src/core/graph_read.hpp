// Read operations on the follow graph, as the SQL functions need them.
//
// The caller holds the stripe lock (shared) of every uid (or list id) it
// passes. Each call
// answers kOk, or kUnknown when the index does not hold that user's set
// exactly (a set or directory leaf dropped under memory pressure, or a
// bitmap CRoaring would not view): the caller then asks the tables.
// Nothing here throws or allocates in the arena.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include "arena.hpp"
#include "directory.hpp"
#include "roaring_views.hpp"

namespace dp {

enum class Read { kOk, kUnknown };

class SetView;

class GraphReader {
  public:
    // mod and lists: the moderation and list directories, for reads of
    // those sides (none kept where nullptr).
    GraphReader(const Arena &arena, const Directory &dir, RoaringViews *views,
                const ModDirectory *mod = nullptr, const ModDirectory *lists = nullptr)
        : arena_(arena), dir_(dir), views_(views), mod_(mod), lists_(lists) {}

    Read contains(uint32_t owner, Side side, uint32_t x, bool *out) const;
    Read size(uint32_t owner, Side side, uint64_t *out) const;
    // Ascending uids > after in the set, at most lim; out has room for lim.
    Read list(uint32_t owner, Side side, uint32_t after, size_t lim, uint32_t *out,
              size_t *n) const;
    // Accounts `viewer` follows that follow `target`.
    Read proof_count(uint32_t viewer, uint32_t target, uint64_t *out) const;
    Read proof_list(uint32_t viewer, uint32_t target, size_t lim, uint32_t *out,
                    size_t *n) const;

  private:
    bool ref_of(uint32_t owner, Side side, SetRef *ref) const;
    template <typename F>
    Read with_view(uint32_t owner, Side side, F f) const;
    bool proof_views(uint32_t viewer, uint32_t target, SetView *va, SetView *vb) const;
    template <typename F>
    Read with_proof_views(uint32_t viewer, uint32_t target, F f) const;
    const Arena &arena_;
    const Directory &dir_;
    RoaringViews *views_;
    const ModDirectory *mod_;
    const ModDirectory *lists_;
};

}  // namespace dp
