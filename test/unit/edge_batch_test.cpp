// net_side_changes() and stripe_starts() against a model: the last change
// per edge wins, both sides come out, ordered by (stripe, owner, side, other).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "edge_batch.hpp"

namespace dp {
namespace {

using Key = std::tuple<uint32_t, uint32_t, uint8_t, uint32_t>;  // stripe, owner, side, other

Key key_of(const SideChange &c) { return Key{c.stripe(), c.owner, c.side, c.other}; }

std::vector<SideChange> model_net(const std::vector<RawEdge> &raw) {
    std::map<std::pair<uint32_t, uint32_t>, uint8_t> last;
    for (const auto &e : raw)
        last[{e.follower, e.followee}] = e.op;
    std::map<Key, SideChange> sides;
    for (const auto &[edge, op] : last) {
        SideChange out{edge.first, edge.second, kOut, op};
        SideChange in{edge.second, edge.first, kIn, op};
        sides[key_of(out)] = out;
        sides[key_of(in)] = in;
    }
    std::vector<SideChange> v;
    for (const auto &[k, c] : sides)
        v.push_back(c);
    return v;
}

void check_starts(const std::vector<SideChange> &v) {
    std::vector<size_t> starts = stripe_starts(v);
    ASSERT_EQ(starts.size(), size_t(kStripes) + 1);
    EXPECT_EQ(starts[0], 0u);
    EXPECT_EQ(starts[kStripes], v.size());
    for (uint32_t s = 0; s < kStripes; s++) {
        ASSERT_LE(starts[s], starts[s + 1]) << s;
        for (size_t i = starts[s]; i < starts[s + 1]; i++)
            ASSERT_EQ(v[i].stripe(), s) << i;
    }
}

void expect_same(const std::vector<SideChange> &got, const std::vector<SideChange> &want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); i++) {
        ASSERT_EQ(got[i].owner, want[i].owner) << i;
        ASSERT_EQ(got[i].other, want[i].other) << i;
        ASSERT_EQ(got[i].side, want[i].side) << i;
        ASSERT_EQ(got[i].op, want[i].op) << i;
    }
}

// Uids drawn from a few regimes: a tiny space (many repeats of one edge),
// a space across stripes and leaves, and the extreme uids.
uint32_t draw_uid(std::mt19937_64 &rng, int regime) {
    static const uint32_t edges[] = {1, 2, 127, 128, 129, 4095, 4096, 4097, 65535, 65536,
                                     0x7FFFFFFEu, 0x7FFFFFFFu};
    switch (regime) {
        case 0: return 1 + uint32_t(rng() % 6);
        case 1: return 1 + uint32_t(rng() % 3000);
        case 2: return edges[rng() % (sizeof(edges) / sizeof(edges[0]))];
        default: return 1 + uint32_t(rng() % 0x7FFFFFFFu);
    }
}

TEST(NetSideChanges, RandomAgainstModel) {
    std::mt19937_64 rng(20240601);
    for (int iter = 0; iter < 400; iter++) {
        int regime = iter % 4;
        size_t n = iter % 50 == 0 ? 0 : 1 + rng() % (iter % 7 == 0 ? 3000 : 60);
        std::vector<RawEdge> raw;
        for (size_t i = 0; i < n; i++) {
            RawEdge e{draw_uid(rng, regime), draw_uid(rng, regime), uint8_t(rng() % 2)};
            raw.push_back(e);
            // Repeat an earlier edge with another op now and then.
            if (i > 0 && rng() % 4 == 0) {
                RawEdge r = raw[rng() % raw.size()];
                r.op = uint8_t(rng() % 2);
                raw.push_back(r);
            }
        }
        std::vector<SideChange> got = net_side_changes(raw.data(), raw.size());
        expect_same(got, model_net(raw));
        check_starts(got);
        if (HasFatalFailure())
            return;
        // Sorted strictly by (stripe, owner, side, other): one change per key.
        for (size_t i = 1; i < got.size(); i++)
            ASSERT_LT(key_of(got[i - 1]), key_of(got[i]));
    }
}

TEST(NetSideChanges, LastChangeWins) {
    // insert, delete, insert of one edge: insert; delete last: delete.
    std::vector<RawEdge> raw = {{5, 9, kInsert}, {5, 9, kDelete}, {5, 9, kInsert},
                                {7, 9, kInsert}, {7, 9, kDelete}};
    auto v = net_side_changes(raw.data(), raw.size());
    ASSERT_EQ(v.size(), 4u);
    // Stripe 5: (5 out 9, insert); stripe 7: (7 out 9, delete);
    // stripe 9: (9 in 5, insert), (9 in 7, delete).
    EXPECT_EQ(v[0].owner, 5u);
    EXPECT_EQ(v[0].side, kOut);
    EXPECT_EQ(v[0].op, kInsert);
    EXPECT_EQ(v[1].owner, 7u);
    EXPECT_EQ(v[1].op, kDelete);
    EXPECT_EQ(v[2].owner, 9u);
    EXPECT_EQ(v[2].side, kIn);
    EXPECT_EQ(v[2].other, 5u);
    EXPECT_EQ(v[2].op, kInsert);
    EXPECT_EQ(v[3].other, 7u);
    EXPECT_EQ(v[3].op, kDelete);
}

TEST(NetSideChanges, SelfFollowAndSameStripeOwners) {
    // A self-follow gives both sides of one owner; owners 3 and 131 share a
    // stripe and come out in owner order, out before in per owner.
    std::vector<RawEdge> raw = {{131, 3, kInsert}, {3, 3, kInsert}, {3, 131, kDelete}};
    auto v = net_side_changes(raw.data(), raw.size());
    std::vector<SideChange> want = {{3, 3, kOut, kInsert},   {3, 131, kOut, kDelete},
                                    {3, 3, kIn, kInsert},    {3, 131, kIn, kInsert},
                                    {131, 3, kOut, kInsert}, {131, 3, kIn, kDelete}};
    expect_same(v, want);
    check_starts(v);
}

TEST(NetSideChanges, Empty) {
    auto v = net_side_changes(nullptr, 0);
    EXPECT_TRUE(v.empty());
    auto s = stripe_starts(v);
    ASSERT_EQ(s.size(), size_t(kStripes) + 1);
    for (size_t x : s)
        EXPECT_EQ(x, 0u);
}

TEST(StripeStarts, OnlyLastStripe) {
    std::vector<SideChange> v = {{127, 1, kOut, kInsert}, {255, 1, kIn, kInsert}};
    auto s = stripe_starts(v);
    for (uint32_t i = 0; i <= 127; i++)
        EXPECT_EQ(s[i], 0u) << i;
    EXPECT_EQ(s[128], 2u);
}

TEST(StripeStarts, OnlyFirstStripe) {
    std::vector<SideChange> v = {{128, 1, kOut, kInsert}, {256, 1, kIn, kInsert}};
    auto s = stripe_starts(v);
    EXPECT_EQ(s[0], 0u);
    for (uint32_t i = 1; i <= 128; i++)
        EXPECT_EQ(s[i], 2u) << i;
}

TEST(EdgeBatch, StripeAndBucketRanges) {
    std::mt19937_64 rng(3);
    for (int i = 0; i < 100000; i++) {
        uint32_t o = uint32_t(rng()), x = uint32_t(rng());
        uint8_t side = uint8_t(rng() % 2);
        SideChange c{o, x, side, kInsert};
        ASSERT_LT(c.stripe(), kStripes);
        ASSERT_EQ(c.stripe(), o % kStripes);
        ASSERT_LT(c.bucket(), kBuckets);
        ASSERT_EQ(c.bucket(), bucket_of(o, x, side));
    }
}

}  // namespace
}  // namespace dp
