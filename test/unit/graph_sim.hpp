// A single-process simulation of the index's write side, as src/pg drives
// the core: transactions announce their keys in the pending-key filter
// (PRE_COMMIT), then apply their netted changes stripe by stripe with their
// commit LSN (COMMIT), releasing each stripe's filter bits after applying it;
// a build empties the stripes (commits skip an emptied stripe), frees the
// directory's leaves, switches every stripe to journal mode, reads a
// snapshot of the table and installs it uid by uid.
//
// The model is the table itself: the set of (follower, followee) edges after
// the committed transactions in commit (LSN) order.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bitset>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "directory.hpp"
#include "edge_batch.hpp"
#include "graph_apply.hpp"
#include "index_build.hpp"
#include "index_env.hpp"
#include "lww.hpp"
#include "set_read.hpp"
#include "set_write.hpp"
#include "test_util.hpp"

namespace dp::test {

using Edge = std::pair<uint32_t, uint32_t>;  // follower, followee
using Table = std::set<Edge>;

struct Txn {
    uint64_t lsn = 0;
    std::vector<RawEdge> raw;
    std::vector<SideChange> changes;
    std::vector<size_t> starts;
    std::bitset<kStripes * kBuckets> bits;
    uint32_t next_stripe = 0;  // stripes below are applied
    bool announced = false;
    bool done = false;

    void net() {
        changes = net_side_changes(raw.data(), raw.size());
        starts = stripe_starts(changes);
        for (const auto &c : changes)
            bits.set(c.stripe() * kBuckets + c.bucket());
    }
    // The table after this transaction commits.
    void commit_to(Table *t) const {
        for (const auto &e : raw) {
            if (e.op == kInsert)
                t->insert({e.follower, e.followee});
            else
                t->erase({e.follower, e.followee});
        }
    }
};

// The simulated process is the core's host (host.hpp): memory through a
// FailingArena, stripe modes and cursors of its own, and the pending-key
// filter of the transaction it is applying.
class Sim : public Host {
  public:
    Sim() : fa(ta), dir(arena, top.top), lww(kStripes) {
        arena = fa.arena;
        arena.host = this;
        env.arena = &arena;
        env.dir = &dir;
        env.views = &views;
        env.edge_lww = lww.data();
        env.celebs = &celebs;
        for (auto &m : mode_)
            m = kModeReady;
    }
    virtual ~Sim() = default;

    TestArena ta;
    DirTopHolder top;
    FailingArena fa;  // every write goes through it: failures can be injected
    Arena arena;      // fa's, with this simulation as its host
    Directory dir;
    std::vector<LwwTable> lww;  // value-initialized: empty
    RoaringViews views;
    SetRef celebs;
    IndexEnv env;
    uint32_t pending[kStripes][kBuckets] = {};
    int64_t edges[2] = {0, 0};  // sum of every card reported
    ApplyResult total;
    uint64_t journaled = 0;  // changes applied to sets in journal mode

    // ---- Host
    uint64_t alloc(size_t size) noexcept override { return fa.alloc(size); }
    void free(uint64_t off, size_t size) noexcept override { fa.free(off, size); }
    StripeMode mode(uint32_t s) const noexcept override { return mode_[s]; }
    void set_mode(uint32_t s, StripeMode m) noexcept override { mode_[s] = m; }
    uint32_t cursor(Cursor c) const noexcept override { return cursor_[c]; }
    void set_cursor(Cursor c, uint32_t v) noexcept override { cursor_[c] = v; }
    bool edge_others_pending(uint32_t owner, uint32_t other, uint8_t side) noexcept override {
        uint32_t s = stripe_of(owner), b = bucket_of(owner, other, side);
        bool mine = applying_ != nullptr && applying_->bits.test(s * kBuckets + b);
        return pending[s][b] > (mine ? 1u : 0u);
    }
    bool edge_any_pending(uint32_t owner, uint32_t other, uint8_t side) noexcept override {
        return pending[stripe_of(owner)][bucket_of(owner, other, side)] > 0;
    }
    void stripe_counted(uint32_t s, const ApplyResult &r) noexcept override {
        for (int side = 0; side < 2; side++) {
            stripe_edges_[s][side] += r.card[side];
            edges[side] += r.card[side];
            total.card[side] += r.card[side];
        }
        total.compactions += r.compactions;
        total.invalidated += r.invalidated;
        total.stale += r.stale;
        total.lost_leaves += r.lost_leaves;
    }
    void stripe_cleared(uint32_t s) noexcept override {
        for (int side = 0; side < 2; side++) {
            edges[side] -= stripe_edges_[s][side];
            stripe_edges_[s][side] = 0;
        }
    }

    // PRE_COMMIT: the transaction's keys become pending.
    void announce(Txn &t) {
        for (uint32_t s = 0; s < kStripes; s++)
            for (uint32_t b = 0; b < kBuckets; b++)
                if (t.bits.test(s * kBuckets + b))
                    pending[s][b]++;
        t.announced = true;
        t.next_stripe = 0;
        skip_empty(t);
    }

    // COMMIT: applies the next stripe of t that has changes, then releases
    // the stripe's bits. Returns false once t is done.
    bool apply_next(Txn &t) {
        if (t.done)
            return false;
        uint32_t s = t.next_stripe;
        StripeApply a{&arena, &dir, &lww[s], &views, t.lsn};
        ApplyResult r;
        if (maintained(*this, s)) {  // as src/pg: an emptied stripe is not maintained
            for (size_t i = t.starts[s]; i < t.starts[s + 1]; i++)
                journaled += set_journal(*this, t.changes[i].owner, t.changes[i].side);
            applying_ = &t;
            apply_stripe(a, t.changes.data() + t.starts[s], t.starts[s + 1] - t.starts[s], &r);
            applying_ = nullptr;
        } else {
            applying_ = &t;
            skip_stripe(a, t.changes.data() + t.starts[s], t.starts[s + 1] - t.starts[s]);
            applying_ = nullptr;
        }
        stripe_counted(s, r);
        for (uint32_t b = 0; b < kBuckets; b++)
            if (t.bits.test(s * kBuckets + b)) {
                pending[s][b]--;
                t.bits.reset(s * kBuckets + b);
            }
        t.next_stripe = s + 1;
        skip_empty(t);
        return !t.done;
    }

    void apply_all(Txn &t) {
        if (!t.announced)
            announce(t);
        while (apply_next(t)) {
        }
    }

    // Calls f(uid, entry) for every uid that has a directory entry.
    template <typename F>
    void for_each_entry(F &&f) const {
        uint32_t end = dir.uid_end();
        for (uint64_t leaf = 0; leaf < (uint64_t(end) >> kLeafBits); leaf++) {
            uint32_t first = uint32_t(leaf << kLeafBits);
            if (dir.find(first | 1) == nullptr)
                continue;
            for (uint32_t u = first == 0 ? 1 : first; u < first + kLeafSize; u++)
                f(u, dir.find(u));
        }
    }

    // Every set equals the table; no set is invalid, no leaf lost (unless
    // allowed, and then those are skipped). The reported cards add up to
    // the sizes of the valid sets.
    void expect_matches(const Table &table, bool allow_invalid = false) {
        std::map<uint32_t, Vec> want[2];
        for (const auto &[a, b] : table) {
            want[kOut][a].push_back(b);
            want[kIn][b].push_back(a);
        }
        for (auto &w : want)
            for (auto &[u, v] : w)
                std::sort(v.begin(), v.end());
        int64_t sizes[2] = {0, 0};
        for_each_entry([&](uint32_t u, const DirEntry *e) {
            for (int side = 0; side < 2; side++) {
                SetRef ref = e->set[side];
                if (ref.invalid()) {
                    EXPECT_TRUE(allow_invalid) << "uid " << u << " side " << side << " invalid";
                    continue;
                }
                Vec got = contents(ta.arena, ref, &views);
                auto it = want[side].find(u);
                const Vec empty;
                const Vec &w = it == want[side].end() ? empty : it->second;
                if (got != w) {
                    Vec extra, missing;
                    std::set_difference(got.begin(), got.end(), w.begin(), w.end(),
                                        std::back_inserter(extra));
                    std::set_difference(w.begin(), w.end(), got.begin(), got.end(),
                                        std::back_inserter(missing));
                    ADD_FAILURE() << "uid " << u << " side " << side << ": "
                                  << ::testing::PrintToString(extra) << " not in the table, "
                                  << ::testing::PrintToString(missing) << " missing";
                }
                EXPECT_EQ(SetView(ta.arena, ref, &views).size(), w.size())
                    << "uid " << u << " side " << side;
                sizes[side] += int64_t(got.size());
            }
        });
        // Every owner in the table has an entry (or a lost leaf).
        for (int side = 0; side < 2; side++) {
            for (const auto &[u, v] : want[side])
                if (dir.find(u) == nullptr) {
                    EXPECT_TRUE(allow_invalid && dir.lost(u)) << "uid " << u << " has no entry";
                }
            EXPECT_EQ(edges[side], sizes[side]) << "side " << side;
        }
    }

  private:
    void skip_empty(Txn &t) {
        while (t.next_stripe < kStripes && t.starts[t.next_stripe] == t.starts[t.next_stripe + 1])
            t.next_stripe++;
        t.done = t.next_stripe == kStripes;
    }

    StripeMode mode_[kStripes];
    uint32_t cursor_[kNumCursors] = {};
    int64_t stripe_edges_[kStripes][2] = {};
    Txn *applying_ = nullptr;
};

// The table as a build's scan reads it: per side, owner -> sorted others.
inline void scan_table(const Table &t, std::map<uint32_t, Vec> out[2], uint32_t *max_uid) {
    out[0].clear();
    out[1].clear();
    *max_uid = 0;
    for (const auto &[a, b] : t) {
        out[kOut][a].push_back(b);
        out[kIn][b].push_back(a);
        *max_uid = std::max({*max_uid, a, b});
    }
    for (int side = 0; side < 2; side++)
        for (auto &[u, v] : out[side])
            std::sort(v.begin(), v.end());
}

// Live arena bytes the index should hold: leaves plus every valid set.
inline size_t expected_live_bytes(const Sim &sim) {
    size_t b = size_t(sim.dir.leaves()) * sizeof(DirEntry) * kLeafSize;
    sim.for_each_entry([&](uint32_t, const DirEntry *e) {
        for (int side = 0; side < 2; side++)
            if (!e->set[side].invalid()) {
                // TestArena hands out multiples of 8 bytes.
                SetRef r = e->set[side];
                if (r.base != kNoRef)
                    b += (set_bytes(sim.ta.arena, SetRef{r.base, kNoRef}) + 7) & ~size_t(7);
                if (r.delta != kNoRef)
                    b += (set_bytes(sim.ta.arena, SetRef{kNoRef, r.delta}) + 7) & ~size_t(7);
            }
    });
    return b;
}

// The build as src/pg/build.cpp runs it (index_build.hpp), one atomic step
// at a time so that commits interleave: each step is what the production
// code does under one stripe lock (or all of them). The table's rows are
// the snapshot the scan read.
struct Builder {
    enum Phase { kStart, kReset, kScan, kInstall, kDone } phase = kStart;
    uint32_t next_stripe = 0;
    std::map<uint32_t, Vec> scan[2];
    uint32_t max_uid = 0;
    std::unique_ptr<InstallPass> pass;
    uint8_t side = kOut;

    bool done() const { return phase == kDone; }

    // The next uid with rows on the current side, at or after the pass's.
    uint32_t next_row(uint32_t from) const {
        auto it = scan[side].lower_bound(from);
        return it == scan[side].end() ? InstallPass::kNoRows : it->first;
    }

    void step(Sim &sim, const Table &table) {
        switch (phase) {
            case kStart:
                build_reset_begin(sim.env);
                phase = kReset;
                return;
            case kReset:
                build_reset_stripe(sim.env, next_stripe++);
                if (next_stripe == kStripes) {
                    build_reset_end(sim.env);
                    phase = kScan;
                }
                return;
            case kScan:
                // The snapshot: every commit so far, whether applied or not.
                scan_table(table, scan, &max_uid);
                side = kOut;
                pass = std::make_unique<InstallPass>(sim.env, InstallPass::kFollowing);
                cursor = 1;
                phase = kInstall;
                return;
            case kInstall: {
                // Two steps per user, as in the server, where the rows are
                // loaded between them without a lock: next(), then install.
                if (pending_uid != 0) {
                    static const Vec kEmpty{};
                    auto f = scan[side].find(pending_uid);
                    const Vec &rows = f == scan[side].end() ? kEmpty : f->second;
                    pass->install_set(pending_uid, rows.data(), rows.size());
                    cursor = pending_uid + 1;
                    pending_uid = 0;
                    return;
                }
                uint32_t uid = pass->next(next_row(cursor));
                if (uid == InstallPass::kDone) {
                    if (side == kOut) {
                        side = kIn;
                        pass = std::make_unique<InstallPass>(sim.env, InstallPass::kFollowers);
                        cursor = 1;
                    } else {
                        build_finish(sim.env);
                        phase = kDone;
                    }
                    return;
                }
                pending_uid = uid;
                return;
            }
            case kDone: return;
        }
    }

  private:
    uint32_t cursor = 1;       // the pass's position, for next_row
    uint32_t pending_uid = 0;  // next() said this one; install it next step
};

}  // namespace dp::test
