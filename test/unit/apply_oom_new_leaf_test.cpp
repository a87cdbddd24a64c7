// Regression test: when std::bad_alloc escapes apply_group before the
// owner's directory leaf exists, the owner's leaf is marked lost (reads of
// its users go to the tables) instead of the change being dropped silently.
// Found by GraphApply.EveryProcessAllocationFailing.
#include <gtest/gtest.h>

#include "graph_read.hpp"
#include "graph_sim.hpp"

namespace dp {
namespace {


TEST(ApplyOomNewLeaf, ChangeToOwnerWithoutLeafIsLost) {
    test::Sim sim;
    // One change: 5000 follows 7, out side (stripe 5000 % 128). Leaf 1
    // (uids 4096..8191) does not exist yet.
    std::vector<SideChange> v = {{5000, 7, kOut, kInsert}};
    StripeApply a{&sim.arena, &sim.dir, &sim.lww[stripe_of(5000)], &sim.views, 1};
    ApplyResult r;
    {
        test::NewFailureScope f(1);  // the first operator new of the apply throws
        apply_stripe(a, v.data(), v.size(), &r);
        ASSERT_TRUE(test::NewFailure::fired());
    }
    GraphReader rd(sim.ta.arena, sim.dir, &sim.views);
    bool follows = false;
    Read res = rd.contains(5000, kOut, 7, &follows);
    EXPECT_TRUE(res == Read::kUnknown || follows)
        << "follows(5000, 7) answered false from the index after the commit; "
        << "invalidated " << r.invalidated << ", lost_leaves " << r.lost_leaves;
    uint64_t n = 0;
    res = rd.size(5000, kOut, &n);
    EXPECT_TRUE(res == Read::kUnknown || n == 1) << "following_count(5000) = " << n;
}

}  // namespace
}  // namespace dp
