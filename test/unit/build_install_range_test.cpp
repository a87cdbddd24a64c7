// Regression tests: a commit during a build's install pass may create a
// directory leaf beyond the end the pass started with (a new account that
// follows, or is followed, while the build runs). Its set is journaled, and
// must still be installed before the stripes switch to ready: build.cpp's
// install_side re-reads the end, and decides that the pass is over under
// every stripe lock, where no commit can create a leaf. Before that fix the
// set stayed in journal form: size() was n_add - n_del (following_count
// 4294967295), and re-following a tombstoned uid only cancelled the
// tombstone. The Builder of graph_sim.hpp steps through the same protocol.
#include <gtest/gtest.h>

#include "graph_read.hpp"
#include "graph_sim.hpp"

namespace dp {
namespace {

using test::Builder;
using test::Sim;
using test::Table;
using test::Txn;

TEST(BuildInstallRange, NewAccountDuringInstallStaysJournaled) {
    Sim sim;
    Table table;
    Txn t0;
    t0.lsn = 1;
    t0.raw = {{1, 2, kInsert}};
    t0.net();
    t0.commit_to(&table);
    sim.apply_all(t0);

    Builder b;
    while (b.phase != Builder::kInstall)
        b.step(sim, table);
    b.step(sim, table);  // out side: end = 4096 (leaf 0), uid 1 installed
    uint64_t lsn = 10;
    auto commit = [&](std::vector<RawEdge> raw) {
        Txn t;
        t.lsn = lsn++;
        t.raw = std::move(raw);
        t.net();
        t.commit_to(&table);
        sim.apply_all(t);
    };
    // Account 5000 (leaf 1, created now) follows 2 and unfollows in one
    // transaction, then follows 3.
    commit({{5000, 2, kInsert}, {5000, 2, kDelete}});
    commit({{5000, 3, kInsert}});
    while (!b.done())
        b.step(sim, table);

    GraphReader rd(sim.ta.arena, sim.dir, &sim.views);
    uint64_t n = 0;
    ASSERT_EQ(rd.size(5000, kOut, &n), Read::kOk);
    EXPECT_EQ(n, 1u) << "following_count(5000) after the build";

    commit({{5000, 2, kInsert}});  // follows 2 again, index ready
    bool f = false;
    ASSERT_EQ(rd.contains(5000, kOut, 2, &f), Read::kOk);
    EXPECT_TRUE(f) << "follows(5000, 2)";
    ASSERT_EQ(rd.size(5000, kOut, &n), Read::kOk);
    EXPECT_EQ(n, 2u);
    sim.expect_matches(table);
}

// The same with only a tombstone: the size wraps below zero.
TEST(BuildInstallRange, TombstoneOnlyJournalWrapsSize) {
    Sim sim;
    Table table;
    Txn t0;
    t0.lsn = 1;
    t0.raw = {{1, 2, kInsert}};
    t0.net();
    t0.commit_to(&table);
    sim.apply_all(t0);
    Builder b;
    while (b.phase != Builder::kInstall)
        b.step(sim, table);
    b.step(sim, table);
    Txn t;
    t.lsn = 10;
    t.raw = {{5000, 2, kInsert}, {5000, 2, kDelete}};
    t.net();
    t.commit_to(&table);
    sim.apply_all(t);
    while (!b.done())
        b.step(sim, table);
    GraphReader rd(sim.ta.arena, sim.dir, &sim.views);
    uint64_t n = 0;
    ASSERT_EQ(rd.size(5000, kOut, &n), Read::kOk);
    EXPECT_EQ(n, 0u) << "following_count(5000) after the build";
}

}  // namespace
}  // namespace dp
