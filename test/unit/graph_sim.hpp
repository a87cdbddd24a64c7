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
#include <map>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "directory.hpp"
#include "edge_batch.hpp"
#include "graph_apply.hpp"
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

class Sim {
  public:
    enum Mode : uint8_t { kReady = 0, kBuilding = 1, kEmpty = 2 };

    Sim() : fa(ta), dir(fa.arena, top.top), lww(kStripes) {}

    TestArena ta;
    DirTopHolder top;
    FailingArena fa;  // every write goes through it: failures can be injected
    Directory dir;
    std::vector<LwwTable> lww;  // value-initialized: empty
    RoaringViews views;
    uint32_t pending[kStripes][kBuckets] = {};
    Mode mode[kStripes] = {};
    uint32_t cursor[2] = {0, 0};
    int64_t edges[2] = {0, 0};  // sum of every card reported
    ApplyResult total;
    uint64_t journaled = 0;  // sets changed in journal mode
    const Arena *arena = &fa.arena;

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
        Ctx ctx{this, &t};
        StripeApply a{arena, &dir, &lww[s], &views, t.lsn, &ctx,
                      &others_pending_cb, &any_pending_cb, &journal_cb};
        ApplyResult r;
        if (mode[s] != kEmpty)  // as src/pg: an emptied stripe is not maintained
            apply_stripe(a, t.changes.data() + t.starts[s], t.starts[s + 1] - t.starts[s], &r);
        add(r);
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

    // Build step 1 for one stripe: emptied, and not maintained until every
    // stripe is.
    void reset_stripe(uint32_t s) {
        ApplyResult r;
        clear_stripe(*arena, dir, s, &r);
        add(r);
        mode[s] = kEmpty;
    }
    void begin_build() { cursor[0] = cursor[1] = 0; }
    // As src/pg/build.cpp: with every stripe empty, the leaves go too (and
    // lost marks with them); then every stripe journals.
    void end_reset() {
        dir.free_leaves();
        for (auto &m : mode)
            m = kBuilding;
    }

    // Build step 3 for one uid and side (as src/pg/build.cpp's install_one).
    void install(uint32_t uid, uint8_t side, const Vec &scanned) {
        DirEntry *e = scanned.empty() ? dir.find(uid) : dir.get(uid);
        if (e == nullptr) {
            if (!scanned.empty() && !dir.lost(uid))
                dir.mark_lost(uid);
        } else {
            SetRef *ref = &e->set[side];
            WriteStats st;
            if (set_install(*arena, ref, scanned.data(), scanned.size(), &st) != Status::kOk) {
                set_free(*arena, ref, &st);
                *ref = SetRef{kInvalidRef, kNoRef};
            }
            edges[side] += st.card;
        }
        cursor[side] = uid + 1;
    }
    void finish_build() {
        for (auto &m : mode)
            m = kReady;
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
                EXPECT_EQ(got, w) << "uid " << u << " side " << side;
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
    struct Ctx {
        Sim *sim;
        Txn *txn;
    };
    static bool others_pending_cb(void *ctx, uint32_t owner, uint32_t other, uint8_t side) {
        auto *c = static_cast<Ctx *>(ctx);
        uint32_t s = stripe_of(owner), b = bucket_of(owner, other, side);
        return c->sim->pending[s][b] > (c->txn->bits.test(s * kBuckets + b) ? 1u : 0u);
    }
    static bool any_pending_cb(void *ctx, uint32_t owner, uint32_t other, uint8_t side) {
        auto *c = static_cast<Ctx *>(ctx);
        return c->sim->pending[stripe_of(owner)][bucket_of(owner, other, side)] > 0;
    }
    static bool journal_cb(void *ctx, uint32_t uid, uint8_t side) {
        auto *c = static_cast<Ctx *>(ctx);
        bool j = c->sim->mode[stripe_of(uid)] == kBuilding && uid >= c->sim->cursor[side];
        c->sim->journaled += j;
        return j;
    }
    void skip_empty(Txn &t) {
        while (t.next_stripe < kStripes && t.starts[t.next_stripe] == t.starts[t.next_stripe + 1])
            t.next_stripe++;
        t.done = t.next_stripe == kStripes;
    }
    void add(const ApplyResult &r) {
        for (int s = 0; s < 2; s++) {
            edges[s] += r.card[s];
            total.card[s] += r.card[s];
        }
        total.compactions += r.compactions;
        total.invalidated += r.invalidated;
        total.stale += r.stale;
        total.lost_leaves += r.lost_leaves;
    }
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

// The builder as src/pg/build.cpp runs it, one atomic step at a time: each
// step is what it does under one stripe lock (or all of them).
struct Builder {
    enum Phase { kStart, kReset, kScan, kInstall, kDone } phase = kStart;
    uint32_t next_stripe = 0;
    uint8_t side = kOut;
    uint32_t uid = 1;
    std::map<uint32_t, Vec> scan[2];
    uint32_t max_uid = 0;
    uint32_t side_end = 0;

    bool done() const { return phase == kDone; }

    void step(Sim &sim, const Table &table) {
        switch (phase) {
            case kStart:
                sim.begin_build();
                phase = kReset;
                return;
            case kReset:
                sim.reset_stripe(next_stripe++);
                if (next_stripe == kStripes) {
                    sim.end_reset();
                    phase = kScan;
                }
                return;
            case kScan:
                // The snapshot: every commit so far, whether applied or not.
                scan_table(table, scan, &max_uid);
                phase = kInstall;
                return;
            case kInstall: {
                // The end is re-read at every step: a commit may create a
                // directory leaf beyond it while the build runs. (build.cpp
                // re-reads it too, and decides the pass is over under every
                // stripe lock; a step here is atomic.)
                side_end = std::max(sim.dir.uid_end(), max_uid + 1);
                uint32_t end = side_end;
                if (uid >= end) {
                    if (side == kOut) {
                        side = kIn;
                        uid = 1;
                        side_end = 0;
                    } else {
                        sim.finish_build();
                        phase = kDone;
                    }
                    return;
                }
                uint32_t leaf_end = std::min(end, ((uid >> kLeafBits) + 1) << kLeafBits);
                auto it = scan[side].lower_bound(uid);
                bool rows = it != scan[side].end() && it->first < leaf_end;
                bool leaf_start = uid == 1 || (uid & (kLeafSize - 1)) == 0;
                if (leaf_start && !rows && sim.dir.find(uid | 1) == nullptr &&
                    !sim.dir.lost(uid)) {
                    // Skip a run of leaves with neither rows nor sets, in one
                    // step (build.cpp holds every stripe lock meanwhile).
                    uint32_t next = it != scan[side].end() ? it->first : end;
                    uint32_t skip_to = uid;
                    while (skip_to < next && sim.dir.find(skip_to | 1) == nullptr &&
                           !sim.dir.lost(skip_to))
                        skip_to = std::min(next, ((skip_to >> kLeafBits) + 1) << kLeafBits);
                    if (skip_to > uid) {
                        sim.cursor[side] = skip_to;
                        uid = skip_to;
                        return;
                    }
                }
                static const Vec kEmpty{};
                auto f = scan[side].find(uid);
                sim.install(uid, side, f == scan[side].end() ? kEmpty : f->second);
                uid++;
                return;
            }
            case kDone: return;
        }
    }
};

}  // namespace dp::test
