// The user directory: find / get / leaf creation / uid_end, lost leaves, and
// the uids at the edges of the range.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "directory.hpp"
#include "test_util.hpp"

namespace dp {
namespace {

using test::DirTopHolder;
using test::TestArena;

constexpr uint32_t kMaxUid = 0x7FFFFFFFu;

bool entry_empty(const DirEntry *e) { return e->set[0].empty() && e->set[1].empty(); }

TEST(Directory, StartsEmpty) {
    TestArena ta;
    DirTopHolder h;
    Directory d(ta.arena, h.top);
    EXPECT_EQ(d.uid_end(), 0u);
    EXPECT_EQ(d.leaves(), 0u);
    for (uint32_t u : {0u, 1u, 4095u, 4096u, kMaxUid, kMaxUid + 1, UINT32_MAX}) {
        EXPECT_EQ(d.find(u), nullptr) << u;
        EXPECT_FALSE(d.lost(u)) << u;
    }
}

TEST(Directory, InvalidUidsNeverGetALeaf) {
    TestArena ta;
    DirTopHolder h;
    Directory d(ta.arena, h.top);
    for (uint32_t u : {0u, kMaxUid + 1, 0x80000FFFu, UINT32_MAX}) {
        EXPECT_EQ(d.get(u), nullptr) << u;
        EXPECT_FALSE(d.lost(u)) << u;
    }
    EXPECT_EQ(d.leaves(), 0u);
    EXPECT_EQ(d.uid_end(), 0u);
    EXPECT_EQ(ta.live_blocks(), 0u);
    // uid 0 has no entry even once its leaf exists.
    ASSERT_NE(d.get(1), nullptr);
    EXPECT_EQ(d.find(0), nullptr);
    EXPECT_EQ(d.get(0), nullptr);
    EXPECT_EQ(d.leaves(), 1u);
}

TEST(Directory, EdgeUids) {
    TestArena ta;
    DirTopHolder h;
    Directory d(ta.arena, h.top);

    DirEntry *e1 = d.get(1);
    ASSERT_NE(e1, nullptr);
    EXPECT_TRUE(entry_empty(e1));
    EXPECT_EQ(d.leaves(), 1u);
    EXPECT_EQ(d.uid_end(), 4096u);
    // 4095 shares leaf 0; 4096 does not.
    DirEntry *e4095 = d.find(4095);
    ASSERT_NE(e4095, nullptr);
    EXPECT_EQ(e4095, e1 + 4094);
    EXPECT_EQ(d.find(4096), nullptr);
    EXPECT_EQ(d.get(4095), e4095);
    EXPECT_EQ(d.leaves(), 1u);

    DirEntry *e4096 = d.get(4096);
    ASSERT_NE(e4096, nullptr);
    EXPECT_EQ(d.leaves(), 2u);
    EXPECT_EQ(d.uid_end(), 8192u);
    EXPECT_EQ(d.find(8191), e4096 + 4095);
    EXPECT_EQ(d.find(8192), nullptr);

    DirEntry *emax = d.get(kMaxUid);
    ASSERT_NE(emax, nullptr);
    EXPECT_EQ(d.leaves(), 3u);
    EXPECT_EQ(d.uid_end(), uint32_t(1) << 31);
    EXPECT_EQ(d.find(kMaxUid - 4095), emax - 4095);  // first uid of the last leaf
    EXPECT_EQ(d.find(kMaxUid - 4096), nullptr);
    EXPECT_EQ(d.find(kMaxUid + 1), nullptr);
    // A leaf below the highest does not move uid_end.
    ASSERT_NE(d.get(100000), nullptr);
    EXPECT_EQ(d.uid_end(), uint32_t(1) << 31);
    EXPECT_EQ(d.leaves(), 4u);

    // Entries keep what is written to them, each its own.
    e1->set[kOut] = SetRef{11, 12};
    e4095->set[kIn] = SetRef{13, 0};
    emax->set[kIn] = SetRef{14, 15};
    EXPECT_EQ(d.find(1)->set[kOut].base, 11u);
    EXPECT_EQ(d.find(1)->set[kOut].delta, 12u);
    EXPECT_TRUE(d.find(1)->set[kIn].empty());
    EXPECT_TRUE(d.find(2)->set[kOut].empty());
    EXPECT_EQ(d.find(4095)->set[kIn].base, 13u);
    EXPECT_EQ(d.find(kMaxUid)->set[kIn].delta, 15u);
    EXPECT_TRUE(d.find(4096)->set[kOut].empty());
    for (uint32_t u : {1u, 4095u, 4096u, kMaxUid})
        EXPECT_FALSE(d.lost(u));
}

TEST(Directory, RandomLeavesAgainstModel) {
    std::mt19937_64 rng(5);
    TestArena ta;
    DirTopHolder h;
    Directory d(ta.arena, h.top);
    std::set<uint32_t> leaves;
    for (int i = 0; i < 3000; i++) {
        uint32_t u;
        switch (i % 3) {
            case 0: u = 1 + uint32_t(rng() % 200000); break;
            case 1: u = 1 + uint32_t(rng() % kMaxUid); break;
            default: u = uint32_t(rng() % 64) << kLeafBits | uint32_t(rng() % 2 ? 0 : 4095); break;
        }
        if (rng() % 2) {
            DirEntry *e = d.find(u);
            if (u == 0) {
                EXPECT_EQ(e, nullptr);
                continue;
            }
            ASSERT_EQ(e != nullptr, leaves.count(u >> kLeafBits) == 1) << u;
            continue;
        }
        DirEntry *e = d.get(u);
        if (u == 0) {
            ASSERT_EQ(e, nullptr);
            continue;
        }
        ASSERT_NE(e, nullptr);
        ASSERT_EQ(d.find(u), e);
        // Mark the entry so that a recreated leaf would show.
        e->set[kOut].base = u;
        leaves.insert(u >> kLeafBits);
        ASSERT_EQ(d.leaves(), leaves.size());
        ASSERT_EQ(d.uid_end(), (*leaves.rbegin() + 1) << kLeafBits);
        ASSERT_EQ(ta.live_blocks(), leaves.size());
    }
}

TEST(Directory, FullArenaThenLostThenFreed) {
    TestArena ta;
    DirTopHolder h;
    Directory d(ta.arena, h.top);
    ASSERT_NE(d.get(10), nullptr);
    ta.limit = ta.live_bytes();  // no room for another leaf
    const uint32_t u = 3 * kLeafSize + 17;  // leaf 3
    EXPECT_EQ(d.get(u), nullptr);
    EXPECT_EQ(d.leaves(), 1u);
    EXPECT_EQ(d.uid_end(), kLeafSize);
    EXPECT_FALSE(d.lost(u));  // get does not mark: the caller decides

    d.mark_lost(u);
    for (uint32_t x : {3 * kLeafSize, u, 4 * kLeafSize - 1})
        EXPECT_TRUE(d.lost(x)) << x;
    for (uint32_t x : {3 * kLeafSize - 1, 4 * kLeafSize, 10u})
        EXPECT_FALSE(d.lost(x)) << x;
    EXPECT_EQ(d.find(u), nullptr);
    // Iterations must reach the lost leaf: uid_end covers it.
    EXPECT_EQ(d.uid_end(), 4 * kLeafSize);
    EXPECT_EQ(d.leaves(), 1u);
    // A lost leaf is not created again, even with room.
    ta.limit = SIZE_MAX;
    size_t blocks = ta.live_blocks();
    EXPECT_EQ(d.get(u), nullptr);
    EXPECT_EQ(d.get(3 * kLeafSize), nullptr);
    EXPECT_EQ(ta.live_blocks(), blocks);
    // Marking again changes nothing.
    d.mark_lost(u + 1);
    EXPECT_TRUE(d.lost(u));

    // Marking a leaf that exists is a no-op: its users keep their entries.
    DirEntry *e10 = d.find(10);
    d.mark_lost(10);
    EXPECT_FALSE(d.lost(10));
    EXPECT_EQ(d.find(10), e10);

    // Only free_leaves (a rebuild) forgets lost marks.
    d.free_leaves();
    EXPECT_FALSE(d.lost(u));
    EXPECT_EQ(d.find(u), nullptr);
    EXPECT_EQ(d.find(10), nullptr);
    EXPECT_EQ(d.leaves(), 0u);
    DirEntry *e = d.get(u);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(entry_empty(e));
    EXPECT_EQ(d.leaves(), 1u);
    EXPECT_EQ(d.uid_end(), 4 * kLeafSize);
}

TEST(Directory, LostEdgeLeaves) {
    TestArena ta;
    DirTopHolder h;
    Directory d(ta.arena, h.top);
    d.mark_lost(kMaxUid);
    EXPECT_TRUE(d.lost(kMaxUid));
    EXPECT_TRUE(d.lost(kMaxUid - 4095));
    EXPECT_FALSE(d.lost(kMaxUid - 4096));
    EXPECT_FALSE(d.lost(kMaxUid + 1));
    EXPECT_EQ(d.uid_end(), uint32_t(1) << 31);
    d.mark_lost(1);
    EXPECT_TRUE(d.lost(1));
    EXPECT_TRUE(d.lost(4095));
    EXPECT_FALSE(d.lost(4096));
    EXPECT_FALSE(d.lost(0));  // uid 0 is never lost: it is no one
    d.free_leaves();
    EXPECT_FALSE(d.lost(1));
    EXPECT_FALSE(d.lost(kMaxUid));
    EXPECT_NE(d.get(kMaxUid), nullptr);
    EXPECT_NE(d.get(1), nullptr);
    EXPECT_EQ(d.leaves(), 2u);
}

TEST(Directory, TwoDirectoriesOverOneTopAgree) {
    // Each backend builds its own Directory over the shared top.
    TestArena ta;
    DirTopHolder h;
    Directory a(ta.arena, h.top), b(ta.arena, h.top);
    DirEntry *e = a.get(5000);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(b.find(5000), e);
    EXPECT_EQ(b.get(5000), e);
    EXPECT_EQ(ta.live_blocks(), 1u);
    b.mark_lost(9000);
    EXPECT_TRUE(a.lost(9000));
    EXPECT_EQ(a.uid_end(), b.uid_end());
}

}  // namespace
}  // namespace dp

namespace dp {
namespace {

TEST(Directory, FreeLeavesReturnsEveryBlock) {
    // A rebuild starts from a directory as at server start: leaves made by
    // users who no longer have sets must not hold memory.
    test::TestArena ta;
    test::DirTopHolder h;
    Directory d(ta.arena, h.top);
    for (uint32_t u : {1u, 5000u, 9000u, 100000u})
        ASSERT_NE(d.get(u), nullptr);
    d.mark_lost(50000);
    EXPECT_EQ(ta.live_blocks(), 4u);
    d.free_leaves();
    EXPECT_EQ(ta.live_blocks(), 0u);
    EXPECT_EQ(d.leaves(), 0u);
    EXPECT_EQ(d.uid_end(), 0u);
    EXPECT_FALSE(d.lost(50000));
    EXPECT_EQ(d.find(5000), nullptr);
    DirEntry *e = d.get(5000);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->set[0].empty() && e->set[1].empty());
    EXPECT_EQ(d.uid_end(), 2 * kLeafSize);
}

}  // namespace
}  // namespace dp
