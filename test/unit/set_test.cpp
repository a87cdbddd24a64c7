// uid sets against std::set: every format, the delta and its compaction,
// journal mode and install, under randomized operations.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "set_read.hpp"
#include "set_write.hpp"
#include "test_arena.hpp"

namespace dp {
namespace {

using Model = std::set<uint32_t>;
using test::TestArena;

std::vector<uint32_t> sorted(const Model &m) { return std::vector<uint32_t>(m.begin(), m.end()); }

void expect_equal(const Arena &arena, SetRef ref, const Model &m, RoaringViews *views) {
    SetView v(arena, ref, views);
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(v.size(), m.size());
    std::vector<uint32_t> got;
    v.for_each([&](uint32_t x) {
        got.push_back(x);
        return true;
    });
    ASSERT_EQ(got, sorted(m));
    std::vector<uint32_t> listed(m.size() + 1);
    listed.resize(v.list(0, listed.size(), listed.data()));
    ASSERT_EQ(listed, sorted(m));
}

// Draws uids from a space of `space` values.
struct Gen {
    std::mt19937_64 rng;
    uint32_t space;
    uint32_t next() { return 1 + uint32_t(rng() % space); }
};

Ref build(TestArena &ta, const Model &m) {
    auto v = sorted(m);
    Ref r;
    WriteStats st;
    EXPECT_EQ(set_build_base(ta.arena, v.data(), v.size(), &r, &st), Status::kOk);
    return r;
}

TEST(SetBuild, PicksSmallestFormat) {
    TestArena ta;
    RoaringViews views;
    // Spread over 40M: Array32. Crowded in one 64K group: Packed16.
    // Large and dense: Roaring.
    struct Case {
        uint32_t n, space;
        Fmt fmt;
    } cases[] = {{50, 40000000, kFmtArray32}, {500, 60000, kFmtPacked16},
                 {200000, 400000, kFmtRoaring}, {100000, 40000000, kFmtRoaring}};
    for (auto c : cases) {
        Gen g{std::mt19937_64(c.n), c.space};
        Model m;
        while (m.size() < c.n)
            m.insert(g.next());
        Ref r = build(ta, m);
        EXPECT_EQ(ta.arena.at<BaseHdr>(r)->fmt, c.fmt) << c.n << " in " << c.space;
        expect_equal(ta.arena, SetRef{r, kNoRef}, m, &views);
        SetRef ref{r, kNoRef};
        WriteStats st;
        set_free(ta.arena, &ref, &st);
    }
    EXPECT_EQ(ta.live_blocks(), 0u);
}

TEST(SetBuild, EmptyAndBoundaryValues) {
    TestArena ta;
    RoaringViews views;
    Model m = {1, 65535, 65536, 65537, 0x7FFFFFFFu};
    Ref r = build(ta, m);
    expect_equal(ta.arena, SetRef{r, kNoRef}, m, &views);
    SetView v(ta.arena, SetRef{r, kNoRef}, &views);
    EXPECT_TRUE(v.contains(0x7FFFFFFFu));
    EXPECT_FALSE(v.contains(2));
    uint32_t out[8];
    ASSERT_EQ(v.list(65535, 8, out), 3u);
    EXPECT_EQ(out[0], 65536u);
    EXPECT_EQ(v.list(0x7FFFFFFFu, 8, out), 0u);
    EXPECT_EQ(v.list(UINT32_MAX, 8, out), 0u);
    Ref e = build(ta, Model{});
    EXPECT_EQ(e, kNoRef);
    SetView ev(ta.arena, SetRef{}, &views);
    EXPECT_EQ(ev.size(), 0u);
    EXPECT_FALSE(ev.contains(1));
}

// Random inserts and deletes in batches, checked against the model after
// every batch: exercises copy-on-write, the delta, and compaction.
void random_apply(uint32_t space, uint32_t target, uint64_t seed) {
    TestArena ta;
    RoaringViews views;
    Gen g{std::mt19937_64(seed), space};
    Model m;
    while (m.size() < target)
        m.insert(g.next());
    SetRef ref{build(ta, m), kNoRef};
    uint64_t compactions = 0;
    for (int round = 0; round < 300; round++) {
        size_t batch = 1 + g.rng() % (round % 10 == 0 ? 400 : 8);
        Model ins, del;
        for (size_t i = 0; i < batch; i++) {
            uint32_t x;
            if (g.rng() % 2 && !m.empty()) {
                auto it = m.lower_bound(g.next());
                x = it == m.end() ? *m.begin() : *it;
            } else {
                x = g.next();
            }
            if (ins.count(x) || del.count(x))
                continue;
            (g.rng() % 2 ? ins : del).insert(x);
        }
        auto vi = sorted(ins), vd = sorted(del);
        WriteStats st;
        ASSERT_EQ(set_apply(ta.arena, &ref, vi.data(), vi.size(), vd.data(), vd.size(), &views,
                            &st),
                  Status::kOk);
        int64_t before = int64_t(m.size());
        for (uint32_t x : ins)
            m.insert(x);
        for (uint32_t x : del)
            m.erase(x);
        ASSERT_EQ(st.card, int64_t(m.size()) - before);
        compactions += st.compactions;
        // Full comparisons of big sets are slow: do them now and then.
        if (m.size() < 5000 || round % 25 == 0)
            expect_equal(ta.arena, ref, m, &views);
        if (::testing::Test::HasFatalFailure())
            return;
        ASSERT_EQ(SetView(ta.arena, ref, &views).size(), m.size());
        // Membership of members, non-members and neighbours.
        SetView v(ta.arena, ref, &views);
        for (int k = 0; k < 50; k++) {
            uint32_t x = g.next();
            ASSERT_EQ(v.contains(x), m.count(x) == 1) << x;
        }
    }
    expect_equal(ta.arena, ref, m, &views);
    if (target > kCowMax) {
        EXPECT_GT(compactions, 0u);
    }
    WriteStats st;
    set_free(ta.arena, &ref, &st);
    EXPECT_EQ(ta.live_blocks(), 0u);
}

TEST(SetApply, SmallSparse) { random_apply(40000000, 20, 1); }
TEST(SetApply, MediumCrowded) { random_apply(100000, 3000, 2); }
TEST(SetApply, LargeDense) { random_apply(300000, 150000, 3); }
TEST(SetApply, LargeSparse) { random_apply(40000000, 70000, 4); }
TEST(SetApply, GrowFromEmpty) { random_apply(5000, 0, 5); }

TEST(SetApply, NoMemLeavesSetUnchanged) {
    TestArena ta;
    RoaringViews views;
    Model m = {1, 2, 3};
    SetRef ref{build(ta, m), kNoRef};
    ta.limit = ta.live_bytes();  // nothing more fits
    uint32_t ins[] = {4};
    WriteStats st;
    EXPECT_EQ(set_apply(ta.arena, &ref, ins, 1, nullptr, 0, &views, &st), Status::kNoMem);
    expect_equal(ta.arena, ref, m, &views);
}

TEST(SetJournal, InstallMergesScanWithJournal) {
    std::mt19937_64 rng(7);
    for (int iter = 0; iter < 200; iter++) {
        TestArena ta;
        RoaringViews views;
        uint32_t space = iter % 2 ? 300 : 3000000;
        // The table as a build's snapshot saw it, and changes committed after
        // the build began (some before the snapshot, some after: both are in
        // the journal, and the journal wins).
        Model table;
        for (int i = 0; i < int(rng() % 200); i++)
            table.insert(1 + uint32_t(rng() % space));
        Model truth = table;
        SetRef ref{};
        for (int b = 0; b < 6; b++) {
            Model ins, del;
            for (int i = 0; i < int(rng() % 30); i++) {
                uint32_t x = 1 + uint32_t(rng() % space);
                if (ins.count(x) || del.count(x))
                    continue;
                (rng() % 2 ? ins : del).insert(x);
            }
            auto vi = sorted(ins), vd = sorted(del);
            WriteStats st;
            ASSERT_EQ(set_journal(ta.arena, &ref, vi.data(), vi.size(), vd.data(), vd.size(), &st),
                      Status::kOk);
            for (uint32_t x : ins)
                truth.insert(x);
            for (uint32_t x : del)
                truth.erase(x);
        }
        auto scanned = sorted(table);
        WriteStats st;
        ASSERT_EQ(set_install(ta.arena, &ref, scanned.data(), scanned.size(), &st), Status::kOk);
        expect_equal(ta.arena, ref, truth, &views);
        set_free(ta.arena, &ref, &st);
        EXPECT_EQ(ta.live_blocks(), 0u);
    }
}

// Intersections of every pair of shapes, with deltas, against the model.
TEST(SetIntersect, AllShapesWithDeltas) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(11);
    struct Shape {
        uint32_t n, space;
    } shapes[] = {{0, 100}, {5, 1000}, {60, 40000000}, {500, 70000}, {3000, 40000000},
                  {20000, 60000}, {120000, 400000},
                  // array containers of ~3000 uids: the interpolated search
                  {200000, 4000000}, {40, 4000000}, {700, 4000000}};
    std::vector<std::pair<SetRef, Model>> sets;
    for (auto s : shapes) {
        Model m;
        while (m.size() < s.n)
            m.insert(1 + uint32_t(rng() % s.space));
        SetRef ref{build(ta, m), kNoRef};
        // Leave a non-empty delta on larger sets.
        Model ins, del;
        for (int i = 0; i < 20 && s.n > kCowMax; i++) {
            uint32_t x = 1 + uint32_t(rng() % s.space);
            if (m.count(x)) {
                del.insert(x);
            } else {
                ins.insert(x);
            }
        }
        auto vi = sorted(ins), vd = sorted(del);
        WriteStats st;
        EXPECT_EQ(set_apply(ta.arena, &ref, vi.data(), vi.size(), vd.data(), vd.size(), &views, &st),
                  Status::kOk);
        for (uint32_t x : ins)
            m.insert(x);
        for (uint32_t x : del)
            m.erase(x);
        sets.emplace_back(ref, m);
    }
    for (auto &[ra, ma] : sets)
        for (auto &[rb, mb] : sets) {
            std::vector<uint32_t> expect;
            std::set_intersection(ma.begin(), ma.end(), mb.begin(), mb.end(),
                                  std::back_inserter(expect));
            SetView a(ta.arena, ra, &views), b(ta.arena, rb, &views);
            ASSERT_EQ(intersect_count(a, b), expect.size());
            for (size_t lim : {size_t(1), size_t(10), expect.size() + 1}) {
                std::vector<uint32_t> got(lim);
                got.resize(intersect_list(a, b, 0, lim, got.data()));
                std::vector<uint32_t> want(expect.begin(),
                                           expect.begin() + std::min(lim, expect.size()));
                ASSERT_EQ(got, want) << "lim " << lim;
            }
        }
}

}  // namespace
}  // namespace dp
