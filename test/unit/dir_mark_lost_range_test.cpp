// Regression tests: Directory::mark_lost ignores uids that no entry can
// have (0, and >= 2^31), as find/get/lost do: mark_lost(0) used to lose
// uids 1..4095, and a uid >= 2^31 wrote past the end of DirTop::leaf.
// apply_group skips changes whose owner is not a uid.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "graph_read.hpp"
#include "graph_sim.hpp"

namespace dp {
namespace {


TEST(DirMarkLostRange, UidZeroLosesLeafZero) {
    test::TestArena ta;
    test::DirTopHolder h;
    Directory d(ta.arena, h.top);
    d.mark_lost(0);
    EXPECT_FALSE(d.lost(1)) << "mark_lost(0) made uid 1 lost";
    EXPECT_FALSE(d.lost(4095));
}

TEST(DirMarkLostRange, ApplyForOwnerZeroLosesUidsOneTo4095) {
    test::Sim sim;
    std::vector<SideChange> v = {{0, 7, kOut, kInsert}};
    StripeApply a{&sim.arena, &sim.dir, &sim.lww[0], &sim.views, 1};
    ApplyResult r;
    apply_stripe(a, v.data(), v.size(), &r);
    EXPECT_EQ(r.lost_leaves, 0u);
    GraphReader rd(sim.ta.arena, sim.dir, &sim.views);
    bool b;
    EXPECT_EQ(rd.contains(1, kOut, 7, &b), Read::kOk) << "uid 1 is unknown";
}

TEST(DirMarkLostRange, UidAbove2To31WritesPastTheTop) {
    test::TestArena ta;
    // A DirTop followed by a guard area that mark_lost must not touch.
    const size_t guard = 64 * sizeof(Ref);
    char *mem = static_cast<char *>(std::calloc(1, sizeof(DirTop) + guard));
    ASSERT_NE(mem, nullptr);
    auto *top = reinterpret_cast<DirTop *>(mem);
    Directory d(ta.arena, top);
    d.mark_lost(0x80000000u);
    d.mark_lost(0x80000000u + 5 * kLeafSize);
    char zero[guard] = {};
    EXPECT_EQ(std::memcmp(mem + sizeof(DirTop), zero, guard), 0)
        << "mark_lost wrote past DirTop::leaf";
    EXPECT_EQ(d.uid_end(), 0u) << "uid_end moved past 2^31";
    std::free(mem);
}

}  // namespace
}  // namespace dp
