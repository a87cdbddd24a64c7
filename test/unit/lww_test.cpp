// LwwTable: newer / record / prune against a map model.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "directory.hpp"  // Side
#include "lww.hpp"

namespace dp {
namespace {

using Key = std::tuple<uint32_t, uint32_t, uint8_t>;  // owner, other, side

struct Model {
    std::map<Key, uint64_t> lsn;
    bool newer(const Key &k, uint64_t l) const {
        auto it = lsn.find(k);
        return it != lsn.end() && it->second > l;
    }
};

TEST(Lww, EmptyTableKnowsNothing) {
    LwwTable t{};
    EXPECT_FALSE(t.newer(1, 2, kOut, 0));
    EXPECT_FALSE(t.newer(0, 0, kIn, 0));
    t.prune([](uint32_t, uint32_t, uint8_t) { return false; });
    EXPECT_EQ(t.n, 0u);
}

TEST(Lww, NewerIsStrict) {
    LwwTable t{};
    auto all = [](uint32_t, uint32_t, uint8_t) { return true; };
    ASSERT_TRUE(t.record(7, 9, kOut, 100, all));
    EXPECT_TRUE(t.newer(7, 9, kOut, 99));
    EXPECT_FALSE(t.newer(7, 9, kOut, 100));  // the same commit is not newer
    EXPECT_FALSE(t.newer(7, 9, kOut, 101));
    // Other side, other owner, other uid: unknown.
    EXPECT_FALSE(t.newer(7, 9, kIn, 1));
    EXPECT_FALSE(t.newer(9, 7, kOut, 1));
    EXPECT_FALSE(t.newer(7, 10, kOut, 1));
    // Recording an older LSN keeps the newer one; a newer one replaces it.
    ASSERT_TRUE(t.record(7, 9, kOut, 50, all));
    EXPECT_TRUE(t.newer(7, 9, kOut, 99));
    ASSERT_TRUE(t.record(7, 9, kOut, 200, all));
    EXPECT_TRUE(t.newer(7, 9, kOut, 150));
    EXPECT_EQ(t.n, 1u);
}

TEST(Lww, SideBitAndExtremeUids) {
    // The side shares a word with the other uid: the largest uid on either
    // side must stay distinct, and prune must get back what was recorded.
    LwwTable t{};
    auto all = [](uint32_t, uint32_t, uint8_t) { return true; };
    const uint32_t big = 0x7FFFFFFFu;
    ASSERT_TRUE(t.record(big, big, kOut, 10, all));
    ASSERT_TRUE(t.record(big, big, kIn, 20, all));
    ASSERT_TRUE(t.record(0, 0, kIn, 30, all));
    EXPECT_TRUE(t.newer(big, big, kOut, 9));
    EXPECT_FALSE(t.newer(big, big, kOut, 10));
    EXPECT_TRUE(t.newer(big, big, kIn, 19));
    EXPECT_FALSE(t.newer(0, 0, kOut, 0));
    EXPECT_TRUE(t.newer(0, 0, kIn, 29));
    std::set<Key> seen;
    t.prune([&](uint32_t o, uint32_t x, uint8_t s) {
        seen.insert(Key{o, x, s});
        return s == kIn;
    });
    EXPECT_EQ(seen, (std::set<Key>{{big, big, kOut}, {big, big, kIn}, {0, 0, kIn}}));
    EXPECT_EQ(t.n, 2u);
    EXPECT_FALSE(t.newer(big, big, kOut, 9));
    EXPECT_TRUE(t.newer(big, big, kIn, 19));
}

TEST(Lww, FullTablePrunesThenRefuses) {
    LwwTable t{};
    auto all = [](uint32_t, uint32_t, uint8_t) { return true; };
    for (uint32_t i = 0; i < kLwwSlots; i++)
        ASSERT_TRUE(t.record(1, i, kOut, 100 + i, all));
    EXPECT_EQ(t.n, kLwwSlots);
    // Full, everything needed: refused, nothing lost.
    EXPECT_FALSE(t.record(2, 0, kOut, 5, all));
    EXPECT_EQ(t.n, kLwwSlots);
    EXPECT_FALSE(t.newer(2, 0, kOut, 0));
    for (uint32_t i = 0; i < kLwwSlots; i++)
        ASSERT_TRUE(t.newer(1, i, kOut, 99 + i));
    // An existing key can still be updated when full.
    EXPECT_TRUE(t.record(1, 3, kOut, 1000, all));
    EXPECT_TRUE(t.newer(1, 3, kOut, 999));
    // Full, odd keys no longer needed: they go, the new key fits.
    auto even = [](uint32_t, uint32_t x, uint8_t) { return x % 2 == 0; };
    EXPECT_TRUE(t.record(2, 0, kOut, 5, even));
    EXPECT_EQ(t.n, kLwwSlots / 2 + 1);
    EXPECT_TRUE(t.newer(2, 0, kOut, 4));
    EXPECT_FALSE(t.newer(1, 1, kOut, 0));
    EXPECT_TRUE(t.newer(1, 2, kOut, 0));
    // record does not prune when there is room.
    int calls = 0;
    EXPECT_TRUE(t.record(3, 0, kOut, 5, [&](uint32_t, uint32_t, uint8_t) {
        calls++;
        return false;
    }));
    EXPECT_EQ(calls, 0);
}

// Random records, prunes and queries against the model, with a "pending"
// predicate that changes over time.
TEST(Lww, RandomAgainstModel) {
    std::mt19937_64 rng(99);
    for (int round = 0; round < 20; round++) {
        LwwTable t{};
        Model m;
        uint32_t owners = 1 + uint32_t(rng() % 50), others = 1 + uint32_t(rng() % 200);
        auto draw = [&]() {
            return Key{uint32_t(rng() % owners), uint32_t(rng() % others), uint8_t(rng() % 2)};
        };
        uint64_t salt = rng();
        auto needed = [&](uint32_t o, uint32_t x, uint8_t s) {
            return ((uint64_t(o) * 31 + x * 7 + s + salt) * 0x9E3779B97F4A7C15ull >> 61) < 4;
        };
        auto model_prune = [&]() {
            for (auto it = m.lsn.begin(); it != m.lsn.end();)
                it = needed(std::get<0>(it->first), std::get<1>(it->first),
                            std::get<2>(it->first))
                         ? std::next(it)
                         : m.lsn.erase(it);
        };
        for (int step = 0; step < 20000; step++) {
            int op = int(rng() % 10);
            Key k = draw();
            auto [o, x, s] = k;
            uint64_t lsn = rng() % 1000;
            if (op < 5) {
                bool ok = t.record(o, x, s, lsn, needed);
                bool want = true;
                if (m.lsn.count(k)) {
                    m.lsn[k] = std::max(m.lsn[k], lsn);
                } else {
                    if (m.lsn.size() == kLwwSlots)
                        model_prune();
                    if (m.lsn.size() == kLwwSlots)
                        want = false;
                    else
                        m.lsn[k] = lsn;
                }
                ASSERT_EQ(ok, want) << "step " << step;
            } else if (op < 6) {
                t.prune(needed);
                model_prune();
                salt = rng();  // other transactions are pending now
            } else {
                ASSERT_EQ(t.newer(o, x, s, lsn), m.newer(k, lsn)) << "step " << step;
            }
            ASSERT_EQ(t.n, m.lsn.size()) << "step " << step;
        }
    }
}

}  // namespace
}  // namespace dp
