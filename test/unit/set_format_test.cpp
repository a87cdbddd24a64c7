// Set formats at their boundaries (kCowMax, kRoaringMin, kPacked16Max), the
// delta's capacity, list with `after` on every format, writes that run out
// of arena or process memory at every allocation, and RoaringViews' promise
// that the last two views stay valid.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include <roaring/roaring.h>

#include "set_read.hpp"
#include "set_write.hpp"
#include "test_util.hpp"

namespace dp {
namespace {

using test::contents;
using test::FailingArena;
using test::fmt_of;
using test::make_set;
using test::Model;
using test::NewFailure;
using test::NewFailureScope;
using test::random_model;
using test::TestArena;
using test::to_vec;
using test::Vec;

Model range(uint32_t lo, uint32_t n) {
    Model m;
    for (uint32_t i = 0; i < n; i++)
        m.insert(lo + i);
    return m;
}

// n uids in array-container territory: spread over groups of 65536 with at
// most 3900 per group, so that Roaring would take 2 bytes a uid as Packed16
// does, plus more overhead.
Model grouped(std::mt19937_64 &rng, uint32_t n) {
    Model m;
    uint32_t groups = (n + 3899) / 3900;
    for (uint32_t g = 0; m.size() < n; g = (g + 1) % groups) {
        uint32_t x = (g + 1) << 16 | uint32_t(rng() % 65536);
        m.insert(x);
    }
    return m;
}

size_t roaring_block_bytes(const Vec &v) {
    roaring_bitmap_t *bm = roaring_bitmap_of_ptr(v.size(), v.data());
    roaring_bitmap_run_optimize(bm);
    size_t b = sizeof(RoaringHdr) + roaring_bitmap_frozen_size_in_bytes(bm) + 24;
    roaring_bitmap_free(bm);
    return b;
}

uint32_t groups_of(const Vec &v) {
    uint32_t k = 0;
    for (size_t i = 0; i < v.size(); i++)
        k += i == 0 || (v[i] >> 16) != (v[i - 1] >> 16);
    return k;
}

// ------------------------------------------------------------- formats

TEST(SetFormat, RoaringMinBoundary) {
    TestArena ta;
    RoaringViews views;
    // A run of consecutive uids: Roaring would be tiny, but is not
    // considered below kRoaringMin.
    Model below = range(100, kRoaringMin - 1), at = range(100, kRoaringMin);
    SetRef a = make_set(ta.arena, below), b = make_set(ta.arena, at);
    EXPECT_EQ(fmt_of(ta.arena, a), kFmtPacked16);
    EXPECT_EQ(fmt_of(ta.arena, b), kFmtRoaring);
    EXPECT_EQ(contents(ta.arena, a, &views), to_vec(below));
    EXPECT_EQ(contents(ta.arena, b, &views), to_vec(at));
    // The same boundary through set_apply: grow 1023 -> 1024.
    uint32_t one = 100 + kRoaringMin - 1;
    WriteStats st;
    // Rewrites only happen on compaction for sets this size: force one with
    // a batch larger than the delta.
    Vec ins = {one};
    Vec del;
    for (uint32_t i = 0; i < 64; i++)
        del.push_back(200000 + i);  // absent: no-ops, but they make the batch big
    ASSERT_EQ(set_apply(ta.arena, &a, ins.data(), ins.size(), del.data(), del.size(), &views, &st),
              Status::kOk);
    EXPECT_EQ(SetView(ta.arena, a, &views).size(), kRoaringMin);
    EXPECT_EQ(fmt_of(ta.arena, a), kFmtRoaring);
    EXPECT_EQ(a.delta, kNoRef);
    EXPECT_EQ(st.card, 1);
    WriteStats fs;
    set_free(ta.arena, &a, &fs);
    set_free(ta.arena, &b, &fs);
    EXPECT_EQ(ta.live_blocks(), 0u);
}

TEST(SetFormat, Packed16MaxBoundary) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(16);
    Model m = grouped(rng, kPacked16Max);
    Vec v = to_vec(m);
    ASSERT_LT(packed16_bytes(groups_of(v), kPacked16Max), roaring_block_bytes(v));
    SetRef a = make_set(ta.arena, m);
    EXPECT_EQ(fmt_of(ta.arena, a), kFmtPacked16);
    EXPECT_EQ(contents(ta.arena, a, &views), v);
    // One more uid in the same regime: Packed16 cannot hold it (uint16 end
    // positions), Roaring is next smallest.
    uint32_t extra = (1u << 16) | 0;
    while (m.count(extra))
        extra++;
    m.insert(extra);
    SetRef b = make_set(ta.arena, m);
    EXPECT_EQ(fmt_of(ta.arena, b), kFmtRoaring);
    EXPECT_EQ(contents(ta.arena, b, &views), to_vec(m));
    // A Packed16 of exactly kPacked16Max reads right at its very end.
    SetView va(ta.arena, a, &views);
    EXPECT_TRUE(va.contains(v.back()));
    EXPECT_FALSE(va.contains(v.back() + 1));
    uint32_t out[4];
    ASSERT_EQ(va.list(v[v.size() - 3], 4, out), 2u);
    EXPECT_EQ(out[1], v.back());
    WriteStats st;
    set_free(ta.arena, &a, &st);
    set_free(ta.arena, &b, &st);
    EXPECT_EQ(ta.live_blocks(), 0u);
}

// The base takes the smallest of the formats allowed for its size.
TEST(SetFormat, PicksTheSmallestAllowed) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(17);
    struct Shape {
        uint32_t n, space;
    } shapes[] = {{1, 10},         {3, 2000000000},  {40, 100},      {100, 40000000},
                  {128, 65536},    {129, 300},       {500, 70000},   {1000, 4000},
                  {1023, 1100},    {1024, 1100},     {1024, 40000000}, {3000, 3000},
                  {5000, 8000},    {5000, 40000000}, {20000, 60000}, {65535, 2000000},
                  {65536, 2000000}, {70000, 75000},  {200000, 40000000}};
    for (auto sh : shapes) {
        Model m = random_model(rng, sh.n, sh.space);
        Vec v = to_vec(m);
        SetRef r = make_set(ta.arena, m);
        size_t got = base_block_bytes(ta.arena.at<BaseHdr>(r.base));
        size_t best = array32_bytes(sh.n);
        if (sh.n <= kPacked16Max)
            best = std::min(best, packed16_bytes(groups_of(v), sh.n));
        if (sh.n >= kRoaringMin)
            best = std::min(best, roaring_block_bytes(v));
        EXPECT_EQ(got, best) << sh.n << " in " << sh.space << " fmt " << int(fmt_of(ta.arena, r));
        EXPECT_EQ(ta.arena.at<BaseHdr>(r.base)->n, sh.n);
        EXPECT_EQ(set_bytes(ta.arena, r), got);
        EXPECT_EQ(contents(ta.arena, r, &views), v);
        WriteStats st;
        set_free(ta.arena, &r, &st);
        EXPECT_EQ(st.card, -int64_t(sh.n));
    }
    EXPECT_EQ(ta.live_blocks(), 0u);
}

// ------------------------------------------------------------ the delta

struct DeltaState {
    uint32_t cap, n_add, n_del;
};
DeltaState delta_of(const Arena &arena, SetRef r) {
    if (r.delta == kNoRef)
        return {0, 0, 0};
    const DeltaHdr *d = arena.at<DeltaHdr>(r.delta);
    return {d->cap, d->n_add, d->n_del};
}

// Applies and mirrors into the model; returns the stats.
WriteStats apply(TestArena &ta, RoaringViews *views, SetRef *ref, Model *m, const Vec &ins,
                 const Vec &del) {
    WriteStats st;
    EXPECT_EQ(set_apply(ta.arena, ref, ins.data(), ins.size(), del.data(), del.size(), views, &st),
              Status::kOk);
    for (uint32_t x : ins)
        m->insert(x);
    for (uint32_t x : del)
        m->erase(x);
    return st;
}

TEST(SetDelta, CowMaxBoundary) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(1);
    // kCowMax uids: a change rewrites the base, no delta.
    Model m = random_model(rng, kCowMax, 40000000);
    SetRef r = make_set(ta.arena, m);
    Ref before = r.base;
    WriteStats st = apply(ta, &views, &r, &m, {}, {*m.begin()});
    EXPECT_EQ(r.delta, kNoRef);
    EXPECT_NE(r.base, before);
    EXPECT_EQ(st.card, -1);
    // Back to kCowMax, then one more: still rewritten (the size before the
    // change decides), and now kCowMax + 1.
    apply(ta, &views, &r, &m, {5}, {});
    ASSERT_EQ(m.size(), kCowMax);
    apply(ta, &views, &r, &m, {6}, {});
    EXPECT_EQ(r.delta, kNoRef);
    ASSERT_EQ(m.size(), kCowMax + 1);
    // Above kCowMax: the change goes to a new delta of 64.
    before = r.base;
    st = apply(ta, &views, &r, &m, {7}, {});
    EXPECT_EQ(r.base, before);
    ASSERT_NE(r.delta, kNoRef);
    DeltaState d = delta_of(ta.arena, r);
    EXPECT_EQ(d.cap, 64u);
    EXPECT_EQ(d.n_add, 1u);
    EXPECT_EQ(st.card, 1);
    EXPECT_EQ(contents(ta.arena, r, &views), to_vec(m));
    // Shrinking below kCowMax keeps the delta until it fills.
    Vec del(m.begin(), std::next(m.begin(), 10));
    apply(ta, &views, &r, &m, {}, del);
    EXPECT_NE(r.delta, kNoRef);
    EXPECT_LT(m.size(), kCowMax);
    EXPECT_EQ(SetView(ta.arena, r, &views).size(), m.size());
    EXPECT_EQ(contents(ta.arena, r, &views), to_vec(m));
    WriteStats fs;
    set_free(ta.arena, &r, &fs);
    EXPECT_EQ(ta.live_blocks(), 0u);
}

void delta_fill(uint32_t n, uint32_t space, uint32_t cap) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(n);
    Model m = random_model(rng, n, space);
    SetRef r = make_set(ta.arena, m);
    Ref base = r.base;
    ASSERT_EQ(delta_cap_for(n), cap);
    // cap single changes, half adds of new uids, half removes of base uids:
    // each takes a slot of the delta.
    const Model orig = m;
    for (uint32_t i = 0; i < cap; i++) {
        Vec ins, del;
        if (i % 2) {
            uint32_t x;
            do
                x = 1 + uint32_t(rng() % space);
            while (orig.count(x) || m.count(x));
            ins.push_back(x);
        } else {
            auto it = m.lower_bound(1 + uint32_t(rng() % space));
            if (it == m.end())
                it = m.begin();
            while (!orig.count(*it))
                it = std::next(it) == m.end() ? m.begin() : std::next(it);
            del.push_back(*it);
        }
        WriteStats st = apply(ta, &views, &r, &m, ins, del);
        ASSERT_EQ(st.compactions, 0u) << i;
        ASSERT_EQ(r.base, base);
    }
    DeltaState d = delta_of(ta.arena, r);
    EXPECT_EQ(d.cap, cap);
    EXPECT_EQ(d.n_add + d.n_del, cap);
    EXPECT_EQ(contents(ta.arena, r, &views), to_vec(m));
    // Full: cancelling changes still fit (re-add a removed uid, remove an
    // added one).
    const DeltaHdr *dh = ta.arena.at<DeltaHdr>(r.delta);
    uint32_t removed = dh->dels()[0], added = dh->adds()[0];
    WriteStats st = apply(ta, &views, &r, &m, {removed}, {added});
    EXPECT_EQ(st.compactions, 0u);
    EXPECT_EQ(st.card, 0);
    d = delta_of(ta.arena, r);
    EXPECT_EQ(d.n_add + d.n_del, cap - 2);
    // No-ops fit too: inserting a present uid, deleting an absent one.
    uint32_t present = *m.rbegin(), absent = 0;
    for (uint32_t x = 1; m.count(x); x++)
        absent = x + 1;
    if (absent == 0)
        absent = 1;
    st = apply(ta, &views, &r, &m, {present}, {absent});
    EXPECT_EQ(st.card, 0);
    EXPECT_EQ(st.compactions, 0u);
    EXPECT_EQ(delta_of(ta.arena, r).n_add + delta_of(ta.arena, r).n_del, cap - 2);
    // Two real changes fill it again; the next one compacts.
    uint32_t x1 = 0, x2 = 0;
    for (uint32_t x = 1; x2 == 0; x++)
        if (!m.count(x))
            (x1 == 0 ? x1 : x2) = x;
    st = apply(ta, &views, &r, &m, {x1, x2}, {});
    EXPECT_EQ(st.compactions, 0u);
    EXPECT_EQ(delta_of(ta.arena, r).n_add + delta_of(ta.arena, r).n_del, cap);
    uint32_t x3 = x2 + 1;
    while (m.count(x3))
        x3++;
    st = apply(ta, &views, &r, &m, {x3}, {});
    EXPECT_EQ(st.compactions, 1u);
    EXPECT_EQ(st.card, 1);
    EXPECT_EQ(r.delta, kNoRef);
    EXPECT_NE(r.base, base);
    EXPECT_EQ(ta.arena.at<BaseHdr>(r.base)->n, m.size());
    EXPECT_EQ(contents(ta.arena, r, &views), to_vec(m));
    WriteStats fs;
    set_free(ta.arena, &r, &fs);
    EXPECT_EQ(ta.live_blocks(), 0u);
}

TEST(SetDelta, FillsAndCompactsSmallCap) { delta_fill(kCowMax + 1, 40000000, 64); }
TEST(SetDelta, FillsAndCompactsSmallCapLargest) { delta_fill(65535, 200000, 64); }
TEST(SetDelta, FillsAndCompactsLargeCap) { delta_fill(65536, 200000, 256); }

// One batch of exactly the capacity goes to the delta; one more is a
// rewrite (no compaction: there was no delta).
void batch_boundary(uint32_t n, uint32_t space) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(n + 1);
    uint32_t cap = delta_cap_for(n);
    for (uint32_t batch : {cap, cap + 1}) {
        Model m = random_model(rng, n, space);
        SetRef r = make_set(ta.arena, m);
        Ref base = r.base;
        Vec ins;
        while (ins.size() < batch) {
            uint32_t x = 1 + uint32_t(rng() % space);
            if (!m.count(x) && std::find(ins.begin(), ins.end(), x) == ins.end())
                ins.push_back(x);
        }
        std::sort(ins.begin(), ins.end());
        WriteStats st = apply(ta, &views, &r, &m, ins, {});
        EXPECT_EQ(st.card, int64_t(batch));
        EXPECT_EQ(st.compactions, 0u);
        if (batch == cap) {
            EXPECT_EQ(r.base, base);
            EXPECT_EQ(delta_of(ta.arena, r).n_add, cap);
        } else {
            EXPECT_EQ(r.delta, kNoRef);
        }
        EXPECT_EQ(contents(ta.arena, r, &views), to_vec(m));
        WriteStats fs;
        set_free(ta.arena, &r, &fs);
        EXPECT_EQ(fs.card, -int64_t(m.size()));
    }
    EXPECT_EQ(ta.live_blocks(), 0u);
}

TEST(SetDelta, BatchAtCapacitySmall) { batch_boundary(1000, 40000000); }
TEST(SetDelta, BatchAtCapacityLarge) { batch_boundary(70000, 300000); }

// A delta made for a set under 65536 keeps its capacity of 64 when the set
// grows past it; the next compaction gives the set a delta of 256.
TEST(SetDelta, CapacityFollowsSizeAtCompaction) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(3);
    Model m = random_model(rng, 65535, 200000);
    SetRef r = make_set(ta.arena, m);
    uint32_t x = 1;
    auto fresh = [&]() {
        while (m.count(x))
            x++;
        return x++;
    };
    apply(ta, &views, &r, &m, {fresh()}, {});
    EXPECT_EQ(delta_of(ta.arena, r).cap, 64u);
    for (int i = 0; i < 63; i++)
        apply(ta, &views, &r, &m, {fresh()}, {});
    EXPECT_EQ(delta_of(ta.arena, r).cap, 64u);
    EXPECT_EQ(delta_of(ta.arena, r).n_add, 64u);
    WriteStats st = apply(ta, &views, &r, &m, {fresh()}, {});
    EXPECT_EQ(st.compactions, 1u);
    apply(ta, &views, &r, &m, {fresh()}, {});
    EXPECT_EQ(delta_of(ta.arena, r).cap, 256u);
    EXPECT_EQ(contents(ta.arena, r, &views), to_vec(m));
    WriteStats fs;
    set_free(ta.arena, &r, &fs);
}

// ------------------------------------------------- list with after, probes

void check_reads(const Arena &arena, SetRef r, const Model &m, RoaringViews *views,
                 std::mt19937_64 &rng) {
    SetView v(arena, r, views);
    ASSERT_TRUE(v.ok());
    Vec mv = to_vec(m);
    ASSERT_EQ(v.size(), mv.size());
    // Probe points: members, their neighbours, group edges, extremes.
    Vec probes = {0, 1, 65535, 65536, 65537, 0x7FFFFFFFu, 0x80000000u, UINT32_MAX};
    for (int i = 0; i < 200 && !mv.empty(); i++) {
        uint32_t x = mv[rng() % mv.size()];
        probes.push_back(x);
        probes.push_back(x - 1);
        probes.push_back(x + 1);
        probes.push_back((x & 0xFFFF0000u) - 1);
        probes.push_back(x | 0xFFFF);
    }
    probes.push_back(uint32_t(rng()));
    Vec out(mv.size() + 2);
    for (size_t pi = 0; pi < probes.size(); pi++) {
        uint32_t after = probes[pi];
        ASSERT_EQ(v.contains(after), m.count(after) == 1) << after;
        auto from = m.upper_bound(after);
        // The whole rest of the set for a few probes only: it is long.
        size_t all = pi < 10 || mv.size() < 1000 ? out.size() : 0;
        for (size_t lim : {size_t(0), size_t(1), size_t(2), size_t(50), all}) {
            size_t n = v.list(after, lim, out.data());
            Vec want;
            for (auto it = from; it != m.end() && want.size() < lim; ++it)
                want.push_back(*it);
            ASSERT_EQ(Vec(out.begin(), out.begin() + n), want) << "after " << after << " lim " << lim;
        }
    }
    // SetProbe with non-decreasing probes.
    std::sort(probes.begin(), probes.end());
    SetProbe p(v);
    for (uint32_t x : probes)
        ASSERT_EQ(p.contains(x), m.count(x) == 1) << x;
    // The same probes in one batch, and every other one of them (groups
    // skipped, runs of probes in a group split).
    for (size_t stride : {size_t(1), size_t(2), size_t(7)}) {
        Vec xs;
        for (size_t i = 0; i < probes.size(); i += stride)
            xs.push_back(probes[i]);
        std::vector<uint8_t> in(xs.size(), 2);
        v.members(xs.data(), xs.size(), in.data());
        for (size_t i = 0; i < xs.size(); i++)
            ASSERT_EQ(in[i], m.count(xs[i]) == 1 ? 1 : 0) << xs[i] << " stride " << stride;
    }
}

TEST(SetRead, ListAfterOnEveryFormatWithDeltas) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(31);
    struct Shape {
        uint32_t n, space;
        uint8_t fmt;
    } shapes[] = {{0, 10, 0},
                  {1, 40000000, kFmtArray32},
                  {100, 40000000, kFmtArray32},
                  {300, 40000000, kFmtArray32},
                  {300, 200000, kFmtPacked16},
                  {3000, 70000, kFmtPacked16},
                  {3000, 3000, kFmtRoaring},        // runs
                  {50000, 100000, kFmtRoaring},     // bitsets
                  {100000, 40000000, kFmtRoaring}}; // arrays
    for (auto sh : shapes) {
        Model m = random_model(rng, sh.n, sh.space);
        SetRef r = make_set(ta.arena, m);
        EXPECT_EQ(fmt_of(ta.arena, r), sh.fmt) << sh.n << " in " << sh.space;
        check_reads(ta.arena, r, m, &views, rng);
        // With a delta holding adds and removes (and removes of the first and
        // last uids, adds beyond both ends).
        if (sh.n > kCowMax) {
            Vec ins = {1, sh.space + 5}, del = {*m.begin(), *m.rbegin()};
            ins.erase(std::remove_if(ins.begin(), ins.end(), [&](uint32_t x) { return m.count(x) > 0; }),
                      ins.end());
            for (int i = 0; i < 20; i++) {
                uint32_t x = 1 + uint32_t(rng() % sh.space);
                if (m.count(x)) {
                    if (std::find(del.begin(), del.end(), x) == del.end())
                        del.push_back(x);
                } else if (std::find(ins.begin(), ins.end(), x) == ins.end()) {
                    ins.push_back(x);
                }
            }
            std::sort(ins.begin(), ins.end());
            std::sort(del.begin(), del.end());
            apply(ta, &views, &r, &m, ins, del);
            ASSERT_NE(r.delta, kNoRef);
            check_reads(ta.arena, r, m, &views, rng);
        }
        WriteStats st;
        set_free(ta.arena, &r, &st);
        if (HasFatalFailure())
            return;
    }
}

// A Roaring set of many runs with gaps in two groups (a moderation list of
// mostly consecutive accounts): run containers, which probes search by
// galloping on from the last probe's run.
TEST(SetRead, ProbesOnManyRuns) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(47);
    Model m;
    for (uint32_t x = 10001; x < 120000;) {
        uint32_t len = 1 + uint32_t(rng() % 200), gap = 1 + uint32_t(rng() % 5);
        for (uint32_t i = 0; i < len && x + i < 120000; i++)
            m.insert(x + i);
        x += len + gap;
    }
    SetRef r = make_set(ta.arena, m);
    EXPECT_EQ(fmt_of(ta.arena, r), kFmtRoaring);
    check_reads(ta.arena, r, m, &views, rng);
    WriteStats st;
    set_free(ta.arena, &r, &st);
}

// Growing one set through every format by applies: Array32 -> Packed16 ->
// Roaring, past kPacked16Max, and shrinking back.
TEST(SetApply, ThroughEveryFormat) {
    TestArena ta;
    RoaringViews views;
    std::mt19937_64 rng(41);
    const uint32_t space = 150000;
    Model m;
    SetRef r;
    std::set<uint8_t> seen;
    for (int round = 0; round < 260; round++) {
        // Sparse over 40M first (Array32), then crowded in `space`
        // (Packed16, then Roaring), then shrinking.
        bool grow = round < 200;
        bool sparse = round < 20;
        size_t batch = sparse ? 5 : 1 + rng() % (round % 3 == 0 ? 600 : 40);
        Model ins, del;
        if (round >= 20 && round < 30)  // drop the sparse uids
            for (auto it = m.lower_bound(space); it != m.end() && del.size() < 20; ++it)
                del.insert(*it);
        for (size_t i = 0; i < batch; i++) {
            uint32_t x = 1 + uint32_t(rng() % (sparse ? 40000000 : space));
            if (m.count(x) && (!grow || rng() % 4 == 0)) {
                if (!ins.count(x))
                    del.insert(x);
            } else if (!del.count(x) && grow) {
                ins.insert(x);
            }
        }
        apply(ta, &views, &r, &m, to_vec(ins), to_vec(del));
        seen.insert(fmt_of(ta.arena, r));
        if (round % 20 == 0 || round > 250) {
            ASSERT_EQ(contents(ta.arena, r, &views), to_vec(m)) << round;
        }
        ASSERT_EQ(SetView(ta.arena, r, &views).size(), m.size());
    }
    EXPECT_TRUE(seen.count(kFmtArray32));
    EXPECT_TRUE(seen.count(kFmtPacked16));
    EXPECT_TRUE(seen.count(kFmtRoaring));
    WriteStats st;
    set_free(ta.arena, &r, &st);
    EXPECT_EQ(ta.live_blocks(), 0u);
}

// Intersections with `after`, on every pairing of shapes (including two
// large Roaring sets, intersected by CRoaring) whose deltas change the same
// uids: adds of one that the other removes, and so on.
TEST(SetIntersect, AfterAndOverlappingDeltas) {
    std::mt19937_64 rng(71);
    struct Shape {
        uint32_t n, space;
    } shapes[] = {{60, 40000000}, {500, 70000}, {3000, 9000}, {6000, 9000}, {8000, 9000}};
    for (int round = 0; round < 6; round++) {
        TestArena ta;
        RoaringViews views;
        std::vector<std::pair<SetRef, Model>> sets;
        for (auto sh : shapes) {
            Model m = random_model(rng, sh.n, sh.space);
            SetRef r = make_set(ta.arena, m);
            sets.push_back({r, m});
        }
        // Deltas over a shared pool of uids, so that one set's adds are
        // another's removes.
        Vec pool;
        for (int i = 0; i < 40; i++)
            pool.push_back(1 + uint32_t(rng() % 9000));
        for (auto &[r, m] : sets) {
            if (m.size() <= kCowMax)
                continue;
            Model ins, del;
            for (uint32_t x : pool) {
                if (rng() % 2 == 0)
                    continue;
                if (m.count(x))
                    del.insert(x);
                else
                    ins.insert(x);
            }
            apply(ta, &views, &r, &m, to_vec(ins), to_vec(del));
            ASSERT_NE(r.delta, kNoRef);
        }
        for (auto &[ra, ma] : sets)
            for (auto &[rb, mb] : sets) {
                Vec both;
                std::set_intersection(ma.begin(), ma.end(), mb.begin(), mb.end(),
                                      std::back_inserter(both));
                SetView a(ta.arena, ra, &views), b(ta.arena, rb, &views);
                ASSERT_EQ(intersect_count(a, b), both.size());
                Vec afters = {0, 1, UINT32_MAX, 0x7FFFFFFFu, uint32_t(rng() % 9000)};
                for (uint32_t x : pool)
                    afters.push_back(x);
                if (!both.empty()) {
                    afters.push_back(both.back());
                    afters.push_back(both.back() - 1);
                    afters.push_back(both[both.size() / 2]);
                }
                for (uint32_t after : afters)
                    for (size_t lim : {size_t(1), size_t(7), both.size() + 1}) {
                        Vec got(lim);
                        got.resize(intersect_list(a, b, after, lim, got.data()));
                        Vec want;
                        for (auto it = std::upper_bound(both.begin(), both.end(), after);
                             it != both.end() && want.size() < lim; ++it)
                            want.push_back(*it);
                        ASSERT_EQ(got, want) << "after " << after << " lim " << lim << " sizes "
                                             << ma.size() << " " << mb.size();
                    }
            }
    }
}

// A viewer's follows against a popular account's followers: small sets
// (Array32 and Packed16, 1 to 300 uids, many of them members) against large
// Packed16 and Roaring sets, with and without a delta on the large side, as
// the group-by-group count takes them (a search per uid when the group is
// small, a container intersection otherwise).
TEST(SetIntersect, SmallAgainstLargeGrouped) {
    std::mt19937_64 rng(404);
    TestArena ta;
    RoaringViews views;
    struct Large {
        SetRef r;
        Model m;
    };
    std::vector<Large> larges;
    std::set<uint8_t> large_fmts;
    for (uint32_t n : {4500u, 9000u, 30000u}) {
        Large l;
        l.m = n == 30000 ? random_model(rng, n, 100000) : grouped(rng, n);
        l.r = make_set(ta.arena, l.m);
        large_fmts.insert(fmt_of(ta.arena, l.r));
        larges.push_back(l);
        // The same set with a delta: adds and removes of uids that the
        // small sets below hold too.
        Large d = l;
        d.r = make_set(ta.arena, d.m);
        Vec ins, del;
        for (uint32_t x : l.m)
            if (rng() % 200 == 0)
                del.push_back(x);
        for (int i = 0; i < 30; i++) {
            uint32_t x = (1u + uint32_t(rng() % 3)) << 16 | uint32_t(rng() % 65536);
            if (!d.m.count(x) && std::find(ins.begin(), ins.end(), x) == ins.end())
                ins.push_back(x);
        }
        std::sort(ins.begin(), ins.end());
        del.resize(std::min<size_t>(del.size(), 30));
        apply(ta, &views, &d.r, &d.m, ins, del);
        ASSERT_NE(d.r.delta, kNoRef);
        larges.push_back(d);
    }
    EXPECT_TRUE(large_fmts.count(kFmtPacked16));
    EXPECT_TRUE(large_fmts.count(kFmtRoaring));
    std::set<uint8_t> small_fmts;
    for (int q = 0; q < 400; q++) {
        const Large &l = larges[size_t(rng()) % larges.size()];
        Vec lv = to_vec(l.m);
        // Half members of the large set, half not (spread or crowded).
        uint32_t n = 1 + uint32_t(rng() % (q % 3 == 0 ? 300 : 40));
        Model sm;
        while (sm.size() < n) {
            if (rng() % 2)
                sm.insert(lv[size_t(rng()) % lv.size()]);
            else
                sm.insert(q % 2 ? 1 + uint32_t(rng() % 40000000) : (1u << 16) + uint32_t(rng() % 200000));
        }
        SetRef sr = make_set(ta.arena, sm);
        small_fmts.insert(fmt_of(ta.arena, sr));
        SetView a(ta.arena, sr, &views), b(ta.arena, l.r, &views);
        uint64_t want = 0;
        for (uint32_t x : sm)
            want += l.m.count(x);
        ASSERT_EQ(intersect_count(a, b), want) << "q " << q;
        ASSERT_EQ(intersect_count(b, a), want) << "q " << q;
        WriteStats st;
        set_free(ta.arena, &sr, &st);
    }
    EXPECT_TRUE(small_fmts.count(kFmtPacked16));
    EXPECT_TRUE(small_fmts.count(kFmtArray32));
}

// ------------------------------------------------------- out of memory

// Batches that reach every write path: copy-on-write, a new delta, an
// in-place delta update, compaction into each format, a big batch, emptying.
std::vector<std::pair<Vec, Vec>> batches_for(const Model &m, uint32_t space, std::mt19937_64 &rng) {
    std::vector<std::pair<Vec, Vec>> out;
    for (size_t size : {size_t(1), size_t(2), size_t(30), size_t(64), size_t(65), size_t(300)}) {
        Model ins, del;
        for (size_t i = 0; i < size * 2 && ins.size() + del.size() < size; i++) {
            uint32_t x = 1 + uint32_t(rng() % space);
            if (m.count(x) && !ins.count(x))
                del.insert(x);
            else if (!m.count(x) && !del.count(x))
                ins.insert(x);
        }
        out.push_back({to_vec(ins), to_vec(del)});
    }
    out.push_back({{}, to_vec(m)});  // remove everything
    return out;
}

struct Snapshot {
    SetRef ref;
    Vec items;
    size_t bytes, blocks;
};

Snapshot snap(TestArena &ta, SetRef ref, RoaringViews *views) {
    return Snapshot{ref, contents(ta.arena, ref, views), ta.live_bytes(), ta.live_blocks()};
}

void expect_unchanged(TestArena &ta, const Snapshot &s, SetRef ref, const WriteStats &st,
                      RoaringViews *views, const char *what, long n) {
    EXPECT_EQ(ref.base, s.ref.base) << what << " " << n;
    EXPECT_EQ(ref.delta, s.ref.delta) << what << " " << n;
    EXPECT_EQ(contents(ta.arena, ref, views), s.items) << what << " " << n;
    EXPECT_EQ(ta.live_bytes(), s.bytes) << what << " " << n;
    EXPECT_EQ(ta.live_blocks(), s.blocks) << what << " " << n;
    EXPECT_EQ(st.card, 0) << what << " " << n;
    EXPECT_EQ(st.compactions, 0u) << what << " " << n;
}

// Runs `op` with the nth arena allocation failing, for n = 1, 2, ... until
// it succeeds; every failure must leave the set as it was. Returns the
// number of allocations the successful run made.
template <typename Op>
uint64_t every_arena_failure(TestArena &ta, FailingArena &fa, SetRef *ref, RoaringViews *views,
                             Op op) {
    Snapshot s = snap(ta, *ref, views);
    for (uint64_t n = 1;; n++) {
        fa.reset(n);
        WriteStats st;
        Status r = op(fa.arena, ref, &st);
        uint64_t attempts = fa.attempts;
        fa.reset(0);
        if (r == Status::kOk) {
            EXPECT_LT(attempts, n);  // it failed whenever the nth was reached
            return attempts;
        }
        expect_unchanged(ta, s, *ref, st, views, "arena", long(n));
        if (::testing::Test::HasFailure() || n > 20)
            return attempts;
    }
}

// The same with the nth operator new throwing.
template <typename Op>
void every_new_failure(TestArena &ta, const Arena &arena, SetRef *ref, RoaringViews *views, Op op) {
    Snapshot s = snap(ta, *ref, views);
    for (long n = 1;; n++) {
        WriteStats st;
        Status r;
        bool fired;
        {
            NewFailureScope f(n);
            r = op(arena, ref, &st);
            fired = NewFailure::fired();
        }
        if (!fired) {
            EXPECT_EQ(r, Status::kOk);
            return;
        }
        EXPECT_EQ(r, Status::kNoMem) << n;
        expect_unchanged(ta, s, *ref, st, views, "new", n);
        if (::testing::Test::HasFailure())
            return;
    }
}

TEST(SetNoMem, ApplyAtEveryAllocation) {
    std::mt19937_64 rng(51);
    struct Shape {
        uint32_t n, space;
    } shapes[] = {{0, 1000}, {5, 40000000}, {kCowMax, 40000000}, {kCowMax + 1, 40000000},
                  {2000, 100000}, {1500, 1600}, {30000, 60000}, {70000, 40000000}};
    uint64_t ops = 0;
    for (auto sh : shapes) {
        for (bool with_delta : {false, true}) {
            for (size_t bi = 0; bi < 7; bi++) {
                TestArena ta;
                FailingArena fa(ta);
                RoaringViews views;
                Model m = random_model(rng, sh.n, sh.space);
                SetRef ref = make_set(ta.arena, m);
                if (with_delta && sh.n > kCowMax) {
                    Vec ins = {sh.space + 1}, del = {*m.begin()};
                    apply(ta, &views, &ref, &m, ins, del);
                }
                auto b = batches_for(m, sh.space, rng)[bi];
                const Vec &ins = b.first, &del = b.second;
                auto op = [&](const Arena &arena, SetRef *r, WriteStats *st) {
                    return set_apply(arena, r, ins.data(), ins.size(), del.data(), del.size(),
                                     &views, st);
                };
                every_new_failure(ta, fa.arena, &ref, &views, op);
                // Byte limit: nothing more fits.
                {
                    Snapshot s = snap(ta, ref, &views);
                    ta.limit = ta.live_bytes();
                    WriteStats st;
                    Status r = op(ta.arena, &ref, &st);
                    ta.limit = SIZE_MAX;
                    if (r == Status::kNoMem)
                        expect_unchanged(ta, s, ref, st, &views, "limit", 0);
                    else  // no allocation needed (in place, or emptied)
                        EXPECT_LE(ta.live_bytes(), s.bytes);
                    if (r == Status::kOk) {
                        for (uint32_t x : ins)
                            m.insert(x);
                        for (uint32_t x : del)
                            m.erase(x);
                        ASSERT_EQ(contents(ta.arena, ref, &views), to_vec(m));
                        continue;
                    }
                }
                every_arena_failure(ta, fa, &ref, &views, op);
                for (uint32_t x : ins)
                    m.insert(x);
                for (uint32_t x : del)
                    m.erase(x);
                ASSERT_EQ(contents(ta.arena, ref, &views), to_vec(m)) << sh.n << " " << bi;
                ASSERT_EQ(SetView(ta.arena, ref, &views).size(), m.size());
                WriteStats fs;
                set_free(ta.arena, &ref, &fs);
                ASSERT_EQ(ta.live_blocks(), 0u);
                ops++;
                if (HasFailure())
                    return;
            }
        }
    }
    EXPECT_GT(ops, 50u);
}

// Byte limits just below and at what a rewrite needs: the old blocks are
// freed only after the new base is written, so the peak is old + new.
TEST(SetNoMem, ByteLimitAroundTheRewritePeak) {
    std::mt19937_64 rng(52);
    for (uint32_t n : {10u, 500u, 5000u, 60000u}) {
        TestArena probe_ta;
        RoaringViews probe_views;  // views are per arena: serials repeat across arenas
        Model m = random_model(rng, n, n * 3);
        Vec ins;
        for (uint32_t x = 1; ins.size() < 300; x++)
            if (!m.count(x))
                ins.push_back(x);  // more than a delta holds: a rewrite
        // Bytes the rewrite allocates, measured on a twin set.
        SetRef twin = make_set(probe_ta.arena, m);
        WriteStats st;
        ASSERT_EQ(set_apply(probe_ta.arena, &twin, ins.data(), ins.size(), nullptr, 0,
                            &probe_views, &st),
                  Status::kOk);
        size_t new_bytes = probe_ta.live_bytes();
        for (size_t slack : {new_bytes - 8, new_bytes}) {
            TestArena ta;
            RoaringViews views;
            SetRef ref = make_set(ta.arena, m);
            Snapshot s = snap(ta, ref, &views);
            ta.limit = ta.live_bytes() + slack;
            WriteStats w;
            Status r = set_apply(ta.arena, &ref, ins.data(), ins.size(), nullptr, 0, &views, &w);
            if (slack < new_bytes) {
                EXPECT_EQ(r, Status::kNoMem) << n;
                expect_unchanged(ta, s, ref, w, &views, "limit", long(n));
            } else {
                EXPECT_EQ(r, Status::kOk) << n;
                Model want = m;
                want.insert(ins.begin(), ins.end());
                EXPECT_EQ(contents(ta.arena, ref, &views), to_vec(want));
            }
        }
    }
}

TEST(SetNoMem, JournalInstallAndBuildAtEveryAllocation) {
    std::mt19937_64 rng(53);
    for (int iter = 0; iter < 40; iter++) {
        TestArena ta;
        FailingArena fa(ta);
        RoaringViews views;
        uint32_t space = iter % 2 ? 500 : 40000000;
        // Two twin journals: one sees operator new fail, the other the
        // arena (an install cannot be repeated on the same set).
        SetRef ref, ref2;
        Model adds, tomb;
        for (int b = 0; b < 5; b++) {
            Model ins, del;
            size_t k = 1 + rng() % (b == 2 ? 80 : 10);
            for (size_t i = 0; i < k; i++) {
                uint32_t x = 1 + uint32_t(rng() % space);
                if (!ins.count(x) && !del.count(x))
                    (rng() % 3 ? ins : del).insert(x);
            }
            Vec vi = to_vec(ins), vd = to_vec(del);
            auto op = [&](const Arena &arena, SetRef *r, WriteStats *st) {
                return set_journal(arena, r, vi.data(), vi.size(), vd.data(), vd.size(), st);
            };
            every_new_failure(ta, fa.arena, &ref, &views, op);
            every_arena_failure(ta, fa, &ref2, &views, op);
            ASSERT_FALSE(HasFailure());
            for (uint32_t x : ins) {
                adds.insert(x);
                tomb.erase(x);
            }
            for (uint32_t x : del) {
                adds.erase(x);
                tomb.insert(x);
            }
            ASSERT_EQ(contents(ta.arena, ref, &views), to_vec(adds));  // base is empty
            ASSERT_EQ(contents(ta.arena, ref2, &views), to_vec(adds));
            // The tombstones too (for_each only shows the adds).
            for (SetRef r : {ref, ref2}) {
                const DeltaHdr *d = ta.arena.at<DeltaHdr>(r.delta);
                ASSERT_EQ(Vec(d->dels(), d->dels() + d->n_del), to_vec(tomb));
            }
        }
        Model scanned = random_model(rng, rng() % (space == 500 ? 400 : 3000), space);
        Vec sv = to_vec(scanned);
        auto install = [&](const Arena &arena, SetRef *r, WriteStats *st) {
            return set_install(arena, r, sv.data(), sv.size(), st);
        };
        // A failed install leaves the journal as it was.
        every_new_failure(ta, fa.arena, &ref, &views, install);
        every_arena_failure(ta, fa, &ref2, &views, install);
        Model want = scanned;
        for (uint32_t x : adds)
            want.insert(x);
        for (uint32_t x : tomb)
            want.erase(x);
        ASSERT_EQ(contents(ta.arena, ref, &views), to_vec(want));
        ASSERT_EQ(contents(ta.arena, ref2, &views), to_vec(want));
        EXPECT_EQ(ref.delta, kNoRef);
        WriteStats st;
        set_free(ta.arena, &ref, &st);
        set_free(ta.arena, &ref2, &st);
        EXPECT_EQ(ta.live_blocks(), 0u);
    }
    // set_build_base: kNoMem and nothing allocated, at every failure.
    for (uint32_t n : {0u, 1u, 200u, 2000u, 100000u}) {
        TestArena ta;
        FailingArena fa(ta);
        std::mt19937_64 r2(n);
        Vec v = to_vec(random_model(r2, n, n * 2 + 10));
        for (long k = 1;; k++) {
            Ref out = 12345;
            WriteStats st;
            Status s;
            bool fired;
            {
                NewFailureScope f(k);
                s = set_build_base(fa.arena, v.data(), v.size(), &out, &st);
                fired = NewFailure::fired();
            }
            if (!fired) {
                EXPECT_EQ(s, Status::kOk);
                SetRef ref{out, kNoRef};
                set_free(ta.arena, &ref, &st);
                break;
            }
            EXPECT_EQ(s, Status::kNoMem);
            EXPECT_EQ(ta.live_blocks(), 0u);
            EXPECT_EQ(st.card, 0);
        }
        fa.fail_all = true;
        Ref out = 12345;
        WriteStats st;
        EXPECT_EQ(set_build_base(fa.arena, v.data(), v.size(), &out, &st),
                  n == 0 ? Status::kOk : Status::kNoMem);
        EXPECT_EQ(ta.live_blocks(), 0u);
        EXPECT_EQ(st.card, 0);
    }
}

// Invalid sets: writes leave them alone, set_free keeps them invalid.
TEST(SetWrite, InvalidSetsAreLeftAlone) {
    TestArena ta;
    RoaringViews views;
    SetRef ref{kInvalidRef, kNoRef};
    Vec v = {1, 2, 3};
    WriteStats st;
    EXPECT_EQ(set_apply(ta.arena, &ref, v.data(), 3, nullptr, 0, &views, &st), Status::kOk);
    EXPECT_EQ(set_journal(ta.arena, &ref, v.data(), 3, nullptr, 0, &st), Status::kOk);
    EXPECT_EQ(set_install(ta.arena, &ref, v.data(), 3, &st), Status::kOk);
    set_free(ta.arena, &ref, &st);
    EXPECT_TRUE(ref.invalid());
    EXPECT_EQ(st.card, 0);
    EXPECT_EQ(set_bytes(ta.arena, ref), 0u);
    EXPECT_EQ(ta.live_blocks(), 0u);
    SetView sv(ta.arena, ref, &views);
    EXPECT_EQ(sv.size(), 0u);
}

// ------------------------------------------------------- RoaringViews

// The views returned by the last two calls stay valid (and are returned
// again for the same block), whatever the sequence of blocks.
TEST(RoaringViews, LastTwoStayValid) {
    TestArena ta;
    std::mt19937_64 rng(61);
    struct Block {
        SetRef ref;
        uint32_t lo, n;  // the uids lo .. lo + n - 1
    };
    std::vector<Block> blocks;
    for (uint32_t i = 0; i < 150; i++) {
        // A run of kRoaringMin + i uids from 1 + 700 i: Roaring, small, and
        // overlapping its neighbours.
        uint32_t lo = 1 + 700 * i, n = kRoaringMin + i;
        blocks.push_back({make_set(ta.arena, range(lo, n)), lo, n});
        ASSERT_EQ(fmt_of(ta.arena, blocks.back().ref), kFmtRoaring);
    }
    RoaringViews views;
    struct Got {
        size_t block;
        const roaring_bitmap_t *view;
    };
    Got last[2] = {{SIZE_MAX, nullptr}, {SIZE_MAX, nullptr}};
    size_t reused = 0, remade = 0;
    std::vector<const roaring_bitmap_t *> first_view(blocks.size(), nullptr);
    for (int call = 0; call < 30000; call++) {
        // Mostly the last two blocks or a few hot ones, sometimes anything.
        size_t b;
        switch (rng() % 4) {
            case 0: b = last[rng() % 2].block; break;
            case 1: b = rng() % 4; break;
            default: b = rng() % blocks.size(); break;
        }
        if (b == SIZE_MAX)
            b = 0;
        const BaseHdr *h = ta.arena.at<BaseHdr>(blocks[b].ref.base);
        const roaring_bitmap_t *v = views.get(h);
        ASSERT_NE(v, nullptr);
        for (const Got &g : last) {
            if (g.block == b) {
                ASSERT_EQ(v, g.view) << "call " << call << ": a view of the last two was remade";
            }
        }
        if (first_view[b] == v)
            reused++;
        else
            remade++;
        first_view[b] = v;
        // The previous view is still usable alongside this one.
        const Got &prev = last[1];
        if (prev.view != nullptr) {
            const Block &pb = blocks[prev.block], &cb = blocks[b];
            uint32_t lo = std::max(pb.lo, cb.lo), hi = std::min(pb.lo + pb.n, cb.lo + cb.n);
            uint64_t want = hi > lo ? hi - lo : 0;
            ASSERT_EQ(roaring_bitmap_and_cardinality(prev.view, v), want) << call;
            ASSERT_EQ(roaring_bitmap_get_cardinality(prev.view), pb.n);
            ASSERT_TRUE(roaring_bitmap_contains(prev.view, pb.lo + pb.n - 1));
        }
        if (last[1].block != b) {
            last[0] = last[1];
            last[1] = Got{b, v};
        }
    }
    EXPECT_GT(reused, 0u);
    EXPECT_GT(remade, 0u);  // the cache did evict
    views.clear();
    const roaring_bitmap_t *v = views.get(ta.arena.at<BaseHdr>(blocks[0].ref.base));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(roaring_bitmap_get_cardinality(v), blocks[0].n);
}

// An intersection of two large Roaring sets (each view from the cache) is
// right whichever blocks the cache held before.
TEST(RoaringViews, IntersectionAfterChurn) {
    TestArena ta;
    std::mt19937_64 rng(62);
    std::vector<std::pair<SetRef, Model>> sets;
    for (int i = 0; i < 80; i++) {
        Model m = random_model(rng, 5000 + rng() % 2000, 9000);
        sets.push_back({make_set(ta.arena, m), m});
    }
    RoaringViews views;
    for (int q = 0; q < 400; q++) {
        auto &[ra, ma] = sets[rng() % sets.size()];
        auto &[rb, mb] = sets[rng() % sets.size()];
        SetView a(ta.arena, ra, &views), b(ta.arena, rb, &views);
        ASSERT_TRUE(a.ok() && b.ok());
        ASSERT_TRUE(a.is_roaring() && b.is_roaring());
        uint64_t want = 0;
        for (uint32_t x : ma)
            want += mb.count(x);
        ASSERT_EQ(intersect_count(a, b), want);
        uint32_t out[10];
        size_t n = intersect_list(a, b, 0, 10, out);
        ASSERT_EQ(n, std::min<uint64_t>(10, want));
    }
}

}  // namespace
}  // namespace dp
