// Applying one committed transaction to the index, as a sequence of small
// steps, each under the locks it needs:
//
//  1. follows, per stripe: the follow sets (graph_apply.hpp); an unfollow
//     also removes the followee's items from the follower's feed ring, in
//     the same critical section, and a follow is noted for step 4;
//  2. posts and reposts, per stripe of their source: the author rings, and
//     the fan-out plan, taken in the same critical section as the ring
//     change: the source's own feed ring, and its followers' unless it is a
//     celebrity (more than fanout_limit followers: it is then promoted to
//     the celebrity set, and its items are merged at read time instead);
//  3. the fan-out, per stripe of the target feed rings: an insertion lands
//     only if the target still follows the source (an unfollow may have
//     overtaken the plan);
//  4. backfills: a new followee's author ring is merged into the follower's
//     feed ring (both stripes locked, in stripe order);
//  5. if some fan-out target could not be known (memory limit), every feed
//     ring is dropped: they are rebuilt on their next read.
//
// Where two transactions change the same item, the one with the later
// commit LSN wins in every ring it reaches (lww.hpp): registers live in the
// stripe of each ring touched.
//
// Feed rings exist only for viewers who read, and are built from the author
// rings (feed_build.hpp); a ring built while a commit is half applied is
// still exact once the commit finishes: every step either already shows in
// the author rings it is built from, or reaches the ring afterwards.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "edge_batch.hpp"
#include "graph_apply.hpp"
#include "index_env.hpp"
#include "item_batch.hpp"

namespace dp {

// One transaction's netted changes.
struct CommitWork {
    uint64_t lsn = 0;
    uint32_t truncated = 0;  // sides a TRUNCATE emptied (bits 1 << side)
    std::vector<SideChange> edges;
    std::vector<size_t> edge_starts;  // per stripe, into edges (kStripes + 1)
    NettedItems items;
    std::vector<size_t> item_starts;  // per stripe, into items.changes

    void clear();
    // Fills edge_starts / item_starts.
    void index();
};

// What one commit did to the timelines, for the index's statistics.
struct TimelineStats {
    uint64_t items_applied = 0;  // changes that reached an author ring
    uint64_t items_stale = 0;    // skipped: a newer commit came first
    uint64_t rings_lost = 0;     // author rings given up (arena or commit-order table full)
    uint64_t lost_leaves = 0;
    uint64_t fanout = 0;         // feed ring changes made by fan-out
    uint64_t backfills = 0;
    uint64_t promotions = 0;     // authors who became celebrities
    uint64_t feeds_dropped = 0;  // feed rings freed (invalid source, full tables, reset)
    uint64_t feed_resets = 0;    // times every feed ring was dropped
    uint64_t out_of_memory = 0;  // process memory ran out: the index must be rebuilt
};

class CommitApply {
  public:
    // Applies a whole commit: begin, then every step. Never throws: if
    // memory runs out (or anything else is thrown) part way, what was
    // applied stays, every lock is released, and it returns false: the host
    // must then stop answering from the index (stats().out_of_memory).
    bool apply_all(const IndexEnv &env, const CommitWork *w) noexcept;

    // The same in single steps (a simulation interleaves them with other
    // commits): these may throw std::bad_alloc; abandon() then ends the
    // commit's bookkeeping.
    void begin(const CommitWork *w);
    // Applies the next step; false once the commit is fully applied. The
    // arena's host answers for the applying commit's pending keys.
    bool step(const IndexEnv &env);
    void abandon(const IndexEnv &env) noexcept;
    const TimelineStats &stats() const { return stats_; }
    bool done() const { return phase_ == kDone; }

  private:
    enum Phase { kEdges, kItems, kFanout, kBackfill, kReset, kDone };
    class Observer;

    void step_edges(const IndexEnv &env, uint32_t s);
    void step_items(const IndexEnv &env, uint32_t s);
    void step_fanout(const IndexEnv &env, uint32_t s);
    void step_backfill(const IndexEnv &env, size_t i);
    void step_reset(const IndexEnv &env, uint32_t s);
    void apply_item(const IndexEnv &env, uint32_t s, size_t i);
    void plan_fanout(const IndexEnv &env, size_t i, DirEntry *e);
    bool try_promote(const IndexEnv &env, uint32_t src, DirEntry *e);
    bool is_celeb(const IndexEnv &env, uint32_t uid);
    void fan_one(const IndexEnv &env, uint32_t t, DirEntry *e, uint32_t target, uint32_t change,
                 bool check);
    bool record_author_change(const IndexEnv &env, uint32_t s, const ItemChange &c);
    bool racing(const IndexEnv &env, uint32_t change);
    bool changed_since_plan(const IndexEnv &env, uint32_t change);
    void asked(const IndexEnv &env, uint32_t change);
    void note_plan_epoch(const IndexEnv &env);
    void end_unfollows(const IndexEnv &env);
    void sort_fanout();
    bool advance();

    const CommitWork *w_ = nullptr;
    Phase phase_ = kDone;
    size_t pos_ = 0;
    TimelineStats stats_;
    bool reset_feeds_ = false;
    // Per item change: a celebrity's item fanned out before its promotion,
    // inserted again (an UPDATE of it): only the copies already in feed
    // rings are replaced, no ring gets a new one.
    std::vector<uint8_t> replace_only_;
    struct FanOp {
        uint32_t target;
        uint32_t change;
    };
    std::vector<FanOp> fan_, fan_sorted_;
    // Per item change: the item slot's generation when the fan-out was
    // planned (Host::item_changed), which this commit advances once per slot.
    std::vector<uint32_t> plan_generation_;
    std::bitset<kItemGenerations> generation_advanced_;
    std::vector<uint32_t> advanced_slots_;
    uint32_t racing_change_ = UINT32_MAX;  // asked(): the change last asked about
    bool racing_ = false, changed_ = false;
    std::vector<uint32_t> followers_;  // scratch of plan_fanout
    std::vector<DirEntry *> ent_;      // step_fanout: each target's entry (hint)
    size_t pf_[3] = {0, 0, 0};         // step_fanout: prefetch pipeline positions
    std::vector<size_t> fan_starts_;
    struct Follow {
        uint32_t viewer;
        uint32_t followee;
        // The ring may hold copies of the followee's items that its fan-out
        // did not keep current (the Observer says when): they are replaced
        // by the author ring's, not merged with them.
        bool resync;
    };
    std::vector<Follow> follows_;
    uint32_t celeb_uid_ = 0;  // is_celeb cache
    bool celeb_known_ = false, celeb_is_ = false;
    bool deletes_follows_ = false;   // this commit counts in unfollows_*
    bool unfollow_counted_ = false;  // ... and has started
    bool plan_checked_ = false;      // the plan must re-check every follow
    uint64_t plan_epoch_ = 0;        // unfollows_started when it was planned
    bool plan_epoch_set_ = false;
};

}  // namespace dp
