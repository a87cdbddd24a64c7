// GraphReader against the table: contains / size / list / proof_count /
// proof_list, and kUnknown for invalid sets, lost leaves and bitmaps CRoaring
// will not view.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "graph_read.hpp"
#include "graph_sim.hpp"

namespace dp {
namespace {

using test::Sim;
using test::Table;
using test::Txn;
using test::Vec;

constexpr uint32_t kMaxUid = 0x7FFFFFFFu;

struct Graph {
    std::map<uint32_t, Vec> side[2];
    explicit Graph(const Table &t) {
        for (const auto &[a, b] : t) {
            side[kOut][a].push_back(b);
            side[kIn][b].push_back(a);
        }
    }
    const Vec &get(uint32_t u, int s) const {
        static const Vec kEmpty{};
        auto it = side[s].find(u);
        return it == side[s].end() ? kEmpty : it->second;
    }
    Vec proof(uint32_t viewer, uint32_t target) const {
        const Vec &a = get(viewer, kOut), &b = get(target, kIn);
        Vec r;
        std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(r));
        return r;
    }
};

// A graph with every shape of set: sparse small ones over a 40M space,
// crowded ones, celebrities with Roaring follower sets (a run and a dense
// bitset), heavy followers, and uids at the edges; then random churn so that
// many sets have deltas.
struct Fixture {
    Sim sim;
    Table table;
    std::mt19937_64 rng{4242};
    std::vector<uint32_t> uids;
    uint64_t lsn = 1;

    void commit(std::vector<RawEdge> raw) {
        Txn t;
        t.lsn = lsn++;
        t.raw = std::move(raw);
        t.net();
        t.commit_to(&table);
        sim.apply_all(t);
    }

    Fixture() {
        std::vector<RawEdge> raw;
        for (uint32_t u = 1; u <= 6000; u++) {
            raw.push_back({u, 10, kInsert});                     // 10: a run of followers
            if (rng() % 6)
                raw.push_back({u, 20, kInsert});                 // 20: dense bitset
            if (rng() % 12)
                raw.push_back({30, u, kInsert});                 // 30: a dense follower
            // Sparse (2M, not 40M: every followee's directory leaf is 64 KiB).
            raw.push_back({u, 1 + uint32_t(rng() % 2000000), kInsert});
            raw.push_back({u, 1 + uint32_t(rng() % 8000), kInsert});
        }
        for (uint32_t k = 0; k < 120; k++)
            raw.push_back({31, 1 + uint32_t(rng() % 40000000), kInsert});  // sparse
        for (uint32_t u : {1u, 4095u, 4096u, kMaxUid, kMaxUid - 1}) {
            raw.push_back({u, kMaxUid, kInsert});
            raw.push_back({kMaxUid, u, kInsert});
            raw.push_back({u, 4096, kInsert});
        }
        commit(raw);
        // Churn: small transactions leave deltas behind.
        for (int i = 0; i < 300; i++) {
            std::vector<RawEdge> r;
            for (int k = 0; k < 5; k++) {
                uint32_t a = pick(), b = pick();
                r.push_back({a, b, uint8_t(rng() % 3 ? kInsert : kDelete)});
                // Delete existing edges too, on the big sets.
                r.push_back({1 + uint32_t(rng() % 6000), rng() % 2 ? 10u : 20u, kDelete});
                r.push_back({30, 1 + uint32_t(rng() % 6000), uint8_t(rng() % 2)});
            }
            commit(r);
        }
        for (const auto &[a, b] : table) {
            uids.push_back(a);
            uids.push_back(b);
        }
        std::sort(uids.begin(), uids.end());
        uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    }
    uint32_t pick() {
        static const uint32_t hubs[] = {10, 20, 30, 31, 1, 4095, 4096, kMaxUid};
        return rng() % 4 == 0 ? hubs[rng() % 8] : 1 + uint32_t(rng() % 6000);
    }
    uint32_t any_uid() {
        switch (rng() % 6) {
            case 0: return uint32_t(rng());  // often beyond every leaf, or 0
            case 1: return pick();
            default: return uids[rng() % uids.size()];
        }
    }
};

TEST(GraphRead, AgainstModel) {
    Fixture fx;
    Graph g(fx.table);
    GraphReader rd(fx.sim.ta.arena, fx.sim.dir, &fx.sim.views);
    // The shapes wanted are there.
    auto fmt = [&](uint32_t u, int s) { return test::fmt_of(fx.sim.ta.arena, fx.sim.dir.find(u)->set[s]); };
    EXPECT_EQ(fmt(10, kIn), kFmtRoaring);
    EXPECT_EQ(fmt(20, kIn), kFmtRoaring);
    EXPECT_EQ(fmt(30, kOut), kFmtRoaring);
    EXPECT_EQ(fmt(31, kOut), kFmtArray32);
    int with_delta = 0;
    for (auto [u, s] : {std::pair<uint32_t, int>{10, kIn}, {20, kIn}, {30, kOut}, {31, kOut}})
        with_delta += fx.sim.dir.find(u)->set[s].delta != kNoRef;
    EXPECT_GE(with_delta, 2);
    std::mt19937_64 &rng = fx.rng;
    Vec out(7000);
    for (int q = 0; q < 20000; q++) {
        uint32_t u = fx.any_uid();
        int side = int(rng() % 2);
        const Vec &m = g.get(u, side);
        switch (q % 5) {
            case 0: {
                uint32_t x = rng() % 2 && !m.empty() ? m[rng() % m.size()] : fx.any_uid();
                bool b = !std::binary_search(m.begin(), m.end(), x);
                ASSERT_EQ(rd.contains(u, Side(side), x, &b), Read::kOk);
                ASSERT_EQ(b, std::binary_search(m.begin(), m.end(), x)) << u << " " << x;
                break;
            }
            case 1: {
                uint64_t n = 12345;
                ASSERT_EQ(rd.size(u, Side(side), &n), Read::kOk);
                ASSERT_EQ(n, m.size()) << u;
                break;
            }
            case 2: {
                uint32_t after;
                switch (rng() % 4) {
                    case 0: after = 0; break;
                    case 1: after = m.empty() ? 5 : m[rng() % m.size()]; break;
                    case 2: after = m.empty() ? 5 : m[rng() % m.size()] - 1; break;
                    default: after = uint32_t(rng()); break;
                }
                size_t lim = rng() % 3 == 0 ? out.size() : rng() % 60;
                size_t n = 999999;
                ASSERT_EQ(rd.list(u, Side(side), after, lim, out.data(), &n), Read::kOk);
                auto from = std::upper_bound(m.begin(), m.end(), after);
                Vec want(from, from + std::min<size_t>(lim, size_t(m.end() - from)));
                ASSERT_EQ(Vec(out.begin(), out.begin() + n), want) << u << " after " << after;
                break;
            }
            default: {
                uint32_t target = rng() % 3 == 0 ? fx.pick() : fx.any_uid();
                Vec want = g.proof(u, target);
                uint64_t c = 0;
                ASSERT_EQ(rd.proof_count(u, target, &c), Read::kOk);
                ASSERT_EQ(c, want.size()) << u << " " << target;
                size_t lim = rng() % 2 ? 10 : out.size();
                size_t n = 0;
                ASSERT_EQ(rd.proof_list(u, target, lim, out.data(), &n), Read::kOk);
                want.resize(std::min(lim, want.size()));
                ASSERT_EQ(Vec(out.begin(), out.begin() + n), want) << u << " " << target;
                break;
            }
        }
    }
}

// Social proof between the big sets in every pairing of the hubs, with
// limits 0, 1, 10 and all.
TEST(GraphRead, ProofBetweenHubs) {
    Fixture fx;
    Graph g(fx.table);
    GraphReader rd(fx.sim.ta.arena, fx.sim.dir, &fx.sim.views);
    const uint32_t hubs[] = {10, 20, 30, 31, 1, 4095, 4096, kMaxUid, 0, 77};
    Vec out(7000);
    for (uint32_t v : hubs)
        for (uint32_t t : hubs) {
            Vec want = g.proof(v, t);
            uint64_t c = 0;
            ASSERT_EQ(rd.proof_count(v, t, &c), Read::kOk);
            ASSERT_EQ(c, want.size()) << v << " " << t;
            for (size_t lim : {size_t(0), size_t(1), size_t(10), out.size()}) {
                size_t n = 77;
                ASSERT_EQ(rd.proof_list(v, t, lim, out.data(), &n), Read::kOk);
                Vec w(want.begin(), want.begin() + std::min(lim, want.size()));
                ASSERT_EQ(Vec(out.begin(), out.begin() + n), w) << v << " " << t << " " << lim;
            }
        }
}

TEST(GraphRead, NoSuchUser) {
    Sim sim;
    GraphReader rd(sim.ta.arena, sim.dir, &sim.views);
    uint32_t out[4];
    for (uint32_t u : {0u, 1u, 4096u, kMaxUid, kMaxUid + 1, UINT32_MAX}) {
        bool b = true;
        uint64_t n = 7;
        size_t k = 7;
        EXPECT_EQ(rd.contains(u, kOut, 1, &b), Read::kOk);
        EXPECT_FALSE(b);
        EXPECT_EQ(rd.size(u, kIn, &n), Read::kOk);
        EXPECT_EQ(n, 0u);
        EXPECT_EQ(rd.list(u, kIn, 0, 4, out, &k), Read::kOk);
        EXPECT_EQ(k, 0u);
        n = 7;
        EXPECT_EQ(rd.proof_count(u, u, &n), Read::kOk);
        EXPECT_EQ(n, 0u);
        k = 7;
        EXPECT_EQ(rd.proof_list(u, 1, 4, out, &k), Read::kOk);
        EXPECT_EQ(k, 0u);
    }
}

// Invalid sets and lost leaves answer kUnknown, and only for what they hold.
TEST(GraphRead, InvalidAndLostAreUnknown) {
    Fixture fx;
    Sim &sim = fx.sim;
    GraphReader rd(sim.ta.arena, sim.dir, &sim.views);
    Graph g(fx.table);
    // 20's followers dropped (memory pressure); 30's followees dropped.
    for (auto [u, s] : {std::pair<uint32_t, int>{20, kIn}, {30, kOut}}) {
        WriteStats st;
        SetRef *ref = &sim.dir.find(u)->set[s];
        set_free(sim.ta.arena, ref, &st);
        *ref = SetRef{kInvalidRef, kNoRef};
    }
    // A lost leaf: leaf 5000 (uids 20480000..) was never created.
    const uint32_t lost = 5000u << kLeafBits | 7;
    ASSERT_EQ(sim.dir.find(lost), nullptr);
    sim.dir.mark_lost(lost);

    bool b;
    uint64_t n;
    size_t k;
    uint32_t out[16];
    EXPECT_EQ(rd.contains(20, kIn, 1, &b), Read::kUnknown);
    EXPECT_EQ(rd.size(20, kIn, &n), Read::kUnknown);
    EXPECT_EQ(rd.list(20, kIn, 0, 16, out, &k), Read::kUnknown);
    EXPECT_EQ(rd.proof_count(30, 10, &n), Read::kUnknown);   // viewer's out invalid
    EXPECT_EQ(rd.proof_list(30, 10, 16, out, &k), Read::kUnknown);
    EXPECT_EQ(rd.proof_count(1, 20, &n), Read::kUnknown);    // target's in invalid
    EXPECT_EQ(rd.proof_list(1, 20, 16, out, &k), Read::kUnknown);
    EXPECT_EQ(rd.contains(lost, kOut, 1, &b), Read::kUnknown);
    EXPECT_EQ(rd.size(lost - 7, kIn, &n), Read::kUnknown);  // the whole leaf
    EXPECT_EQ(rd.proof_count(lost, 10, &n), Read::kUnknown);
    EXPECT_EQ(rd.proof_count(1, lost, &n), Read::kUnknown);
    // The other sides of the same users answer.
    ASSERT_EQ(rd.size(20, kOut, &n), Read::kOk);
    EXPECT_EQ(n, g.get(20, kOut).size());
    ASSERT_EQ(rd.size(30, kIn, &n), Read::kOk);
    EXPECT_EQ(n, g.get(30, kIn).size());
    ASSERT_EQ(rd.proof_count(20, 30, &n), Read::kOk);  // 20's out, 30's in
    EXPECT_EQ(n, g.proof(20, 30).size());
    ASSERT_EQ(rd.contains(lost + kLeafSize, kOut, 1, &b), Read::kOk);  // the next leaf
    EXPECT_FALSE(b);
}

// A Roaring base that CRoaring refuses to view (misaligned) answers kUnknown.
TEST(GraphRead, UnviewableBitmapIsUnknown) {
    Fixture fx;
    Sim &sim = fx.sim;
    SetRef ref = sim.dir.find(10)->set[kIn];
    ASSERT_EQ(test::fmt_of(sim.ta.arena, ref), kFmtRoaring);
    auto *h = sim.ta.arena.at<RoaringHdr>(ref.base);
    RoaringViews fresh;  // nothing cached
    GraphReader rd(sim.ta.arena, sim.dir, &fresh);
    uint32_t saved = h->data_off;
    h->data_off += 8;  // no longer 32-byte aligned
    bool b;
    uint64_t n;
    size_t k;
    uint32_t out[4];
    EXPECT_EQ(rd.contains(10, kIn, 1, &b), Read::kUnknown);
    EXPECT_EQ(rd.size(10, kIn, &n), Read::kUnknown);
    EXPECT_EQ(rd.list(10, kIn, 0, 4, out, &k), Read::kUnknown);
    EXPECT_EQ(rd.proof_count(1, 10, &n), Read::kUnknown);
    EXPECT_EQ(rd.proof_list(1, 10, 4, out, &k), Read::kUnknown);
    h->data_off = saved;
    RoaringViews fresh2;
    GraphReader rd2(sim.ta.arena, sim.dir, &fresh2);
    EXPECT_EQ(rd2.size(10, kIn, &n), Read::kOk);
}

}  // namespace
}  // namespace dp
