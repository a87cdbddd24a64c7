// FlatMap and FlatSet (src/ingest/flat_table.hpp) against the standard
// containers, under random inserts, lookups and erases (erases shift later
// entries back: the runs that wrap around the end of the array included).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "flat_table.hpp"
#include "test_util.hpp"

namespace {

// A poor hash on purpose: long runs of equal slots, and equal hashes of
// different keys.
struct CrowdedHash {
    size_t operator()(uint32_t k) const { return k / 4; }
    size_t operator()(const std::string &s) const { return s.size(); }
};

TEST(IngestFlatTable, MapMatchesStdMap) {
    std::mt19937 rng(7);
    for (int round = 0; round < 20; round++) {
        ing::FlatMap<uint32_t, std::vector<int>, CrowdedHash> m;
        std::map<uint32_t, std::vector<int>> ref;
        uint32_t range = 8 + uint32_t(round) * 40;
        for (int step = 0; step < 4000; step++) {
            uint32_t k = rng() % range;
            switch (rng() % 5) {
                case 0:
                case 1: {
                    int v = int(rng() % 100);
                    auto [it, added] = m.emplace(k, std::vector<int>{v});
                    auto [rit, radded] = ref.emplace(k, std::vector<int>{v});
                    ASSERT_EQ(added, radded);
                    ASSERT_EQ(it->first, k);
                    ASSERT_EQ(it->second, rit->second);
                    break;
                }
                case 2:
                    m[k].push_back(step);
                    ref[k].push_back(step);
                    break;
                case 3:
                    ASSERT_EQ(m.erase(k), ref.erase(k));
                    break;
                default: {
                    auto it = m.find(k);
                    auto rit = ref.find(k);
                    ASSERT_EQ(it == m.end(), rit == ref.end());
                    if (rit != ref.end()) {
                        ASSERT_EQ(it->second, rit->second);
                        m.erase(it);
                        ref.erase(rit);
                    }
                }
            }
            ASSERT_EQ(m.size(), ref.size());
        }
        std::map<uint32_t, std::vector<int>> seen;
        for (const auto &[k, v] : m)
            ASSERT_TRUE(seen.emplace(k, v).second) << "a key twice";
        ASSERT_EQ(seen, ref);
        for (uint32_t k = 0; k < range; k++)
            ASSERT_EQ(m.count(k), ref.count(k));
        ing::FlatMap<uint32_t, std::vector<int>, CrowdedHash> copy = m;
        for (const auto &[k, v] : ref)
            ASSERT_EQ(copy.at(k), v);
    }
}

TEST(IngestFlatTable, SetMatchesStdSet) {
    std::mt19937 rng(11);
    ing::FlatSet<std::string, CrowdedHash> s;
    std::set<std::string> ref;
    for (int step = 0; step < 20000; step++) {
        std::string k(size_t(rng() % 12), char('a' + rng() % 3));
        if (rng() % 3 == 0) {
            ASSERT_EQ(s.erase(k), ref.erase(k));
        } else {
            ASSERT_EQ(s.insert(k).second, ref.insert(k).second);
        }
        ASSERT_EQ(s.size(), ref.size());
    }
    std::vector<std::string> more = {"x", "y", "x"};
    s.insert(more.begin(), more.end());
    ref.insert(more.begin(), more.end());
    std::set<std::string> seen(s.begin(), s.end());
    EXPECT_EQ(seen, ref);
    EXPECT_EQ(size_t(std::distance(s.begin(), s.end())), ref.size());
    s.clear();
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.begin(), s.end());
    EXPECT_EQ(s.count("x"), 0u);
}

// A failed allocation while growing leaves the table as it was.
TEST(IngestFlatTable, GrowingFailsCleanly) {
    for (long nth = 1; nth < 50; nth++) {
        ing::FlatMap<uint32_t, int, CrowdedHash> m;
        size_t done = 0;
        try {
            dp::test::NewFailureScope fail(nth);
            for (uint32_t k = 0; k < 1000; k++) {
                m.emplace(k, int(k));
                done++;
            }
        } catch (const std::bad_alloc &) {
        }
        ASSERT_EQ(m.size(), done);
        for (uint32_t k = 0; k < done; k++)
            ASSERT_EQ(m.at(k), int(k));
    }
}

}  // namespace
