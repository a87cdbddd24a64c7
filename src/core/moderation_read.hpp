// What one viewer's relationships to other accounts are, read from the
// index: the answer of relationships(), and what a timeline hides.
//
// For a viewer v and accounts x, each x gets bits:
//   kFollowing       v follows x                 kFollowedBy     x follows v
//   kBlocking        v blocks x                  kBlockedBy      x blocks v
//   kMuting          v mutes x
//   kBlockingByList  x is on a list v list-blocks
//   kBlockedByList   v is on a list x list-blocks
//   kMutingByList    x is on a list v list-mutes
//   kInactiveBit     x's account is inactive
// Blocked (either way, directly or by list) and hidden (blocked, muted
// either way, or inactive) are unions of them (kBlockedMask, kHiddenMask).
//
// The reads take one stripe lock at a time (shared): v's, each list's, the
// inactive accounts' set's (directory.hpp: kInactives) and, only for a
// viewer on many lists, each x's stripe once for all the x in it. They are not one atomic view of
// the index: the caller discards a read that a commit's apply overlapped
// (as for timelines, timeline_read.hpp). Anything the index does not hold
// exactly (a set dropped under memory pressure, a lost leaf) answers
// kUnknown: the caller asks the tables. Nothing here throws; scratch
// allocations that fail answer kUnknown too.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>
#include <vector>

#include "graph_read.hpp"
#include "index_env.hpp"
#include "set_read.hpp"

namespace dp {

enum RelationBits : uint16_t {
    kFollowing = 1,
    kFollowedBy = 2,
    kBlocking = 4,
    kBlockedBy = 8,
    kMuting = 16,
    kBlockingByList = 32,
    kBlockedByList = 64,
    kMutingByList = 128,
    kInactiveBit = 256,
};
constexpr uint16_t kBlockedMask = kBlocking | kBlockedBy | kBlockingByList | kBlockedByList;
constexpr uint16_t kHiddenMask = kBlockedMask | kMuting | kMutingByList | kInactiveBit;
constexpr uint16_t kAllRelations = 511;

class ModerationReader {
  public:
    // bits[i] gets the relations of viewer to xs[i] that `want` asks for
    // (others may be set too); with `wants`, only those of wants[i] (a
    // subset of want) for each xs[i]: a set that only some of them ask for
    // is probed for those only. xs need not be sorted or distinct; 0 and
    // uids of no account get no bits.
    Read relations(const IndexEnv &env, uint32_t viewer, const uint32_t *xs, size_t n,
                   uint16_t want, uint16_t *bits, const uint16_t *wants = nullptr) noexcept;

  private:
    Read relations_inner(const IndexEnv &env, uint32_t viewer, const uint32_t *xs, size_t n,
                         uint16_t want, uint16_t *bits);
    Read viewer_sets(const IndexEnv &env, uint32_t viewer, uint16_t want, uint16_t *bits);
    Read lists_hold(const IndexEnv &env, const std::vector<uint32_t> &lists, uint8_t side,
                    uint16_t bit, uint16_t *bits);
    Read inactive(const IndexEnv &env, uint16_t *bits);
    Read blocked_by_lists(const IndexEnv &env, uint32_t viewer, const uint32_t *xs, size_t n,
                          uint16_t *bits);
    Read others_list_blocks(const IndexEnv &env, const uint32_t *xs, size_t n);
    Read others_lists(const IndexEnv &env, uint32_t viewer, uint16_t *bits);

    void probe_all(const SetView &v, uint16_t bit, uint16_t *bits);
    static uint32_t seen_bit(uint32_t uid);

    struct Probe {
        uint32_t uid;
        uint32_t index;  // into xs
    };
    const uint16_t *wants_ = nullptr;  // relations()' wants, set only during the call
    std::vector<Probe> sorted_;                     // the valid xs, by uid
    // A filter of the valid xs' uids (a bit each, by hash; a set bit may
    // be another uid's): most members of a set are no x.
    static constexpr uint32_t kSeenLog2 = 11;
    uint64_t seen_[(1u << kSeenLog2) / 64] = {};
    std::vector<uint32_t> list_block_, list_mute_;  // the viewer's lists
    std::vector<uint32_t> member_of_;               // the lists the viewer is on
    std::vector<uint32_t> order_;                   // indexes of xs by stripe
    // probe_all's batch: the uids asked of a set, where their bits go, and
    // the set's answers.
    std::vector<uint32_t> asked_uids_, asked_at_;
    std::vector<uint8_t> in_;
    struct Pending {
        uint32_t list;
        uint32_t index;  // into xs
    };
    std::vector<Pending> pending_;  // x's list blocks, to check for the viewer
};

}  // namespace dp
