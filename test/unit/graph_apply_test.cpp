// apply_stripe and the build protocol, simulated: several transactions'
// netted changes applied stripe by stripe in shuffled orders with their
// commit LSNs and the pending-key filter, builds with commits interleaved,
// clear_stripe, and what happens when memory or the commit-order table runs
// out.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "graph_read.hpp"
#include "graph_sim.hpp"
#include "test_util.hpp"

namespace dp {
namespace {

using test::Builder;
using test::Edge;
using test::NewFailureScope;
using test::Sim;
using test::Table;
using test::Txn;
using test::Vec;

constexpr uint32_t kMaxUid = 0x7FFFFFFFu;

// Random follow traffic over a few regimes of uids: a crowded range, a
// second leaf, a celebrity with a set big enough for deltas, hot edges that
// many transactions change, and the extreme uid.
struct Traffic {
    std::mt19937_64 rng;
    std::vector<Edge> hot;
    uint32_t new_uid = 30000;  // accounts created as the traffic goes

    explicit Traffic(uint64_t seed) : rng(seed) {
        for (int i = 0; i < 40; i++)
            hot.push_back({uid(), uid()});
    }
    uint32_t uid() {
        switch (rng() % 8) {
            case 0: return 4096 + uint32_t(rng() % 300);  // leaf 1
            case 1: return 7;                              // the celebrity
            case 2: return 128 * uint32_t(1 + rng() % 20); // stripe 0
            default: return 1 + uint32_t(rng() % 1500);
        }
    }
    RawEdge edge() {
        uint8_t op = uint8_t(rng() % 2);
        switch (rng() % 10) {
            case 0:
            case 1:
            case 2: {
                Edge e = hot[rng() % hot.size()];
                return {e.first, e.second, op};
            }
            case 3: return {1 + uint32_t(rng() % 1500), 7, op};
            case 4: return {3, 1 + uint32_t(rng() % 1500), op};
            case 5:
                if (rng() % 8 == 0)
                    return {kMaxUid, uid(), op};
                return {uid(), rng() % 2 ? new_uid++ : new_uid, op};
            default: return {uid(), uid(), op};
        }
    }
    Txn txn(uint64_t lsn) {
        Txn t;
        t.lsn = lsn;
        size_t n = rng() % 16 == 0 ? 300 + rng() % 300 : 1 + rng() % 25;
        for (size_t i = 0; i < n; i++) {
            t.raw.push_back(edge());
            if (rng() % 6 == 0) {  // change an edge of this transaction again
                RawEdge r = t.raw[rng() % t.raw.size()];
                r.op = uint8_t(rng() % 2);
                t.raw.push_back(r);
            }
        }
        t.net();
        return t;
    }
    // The starting graph: everyone follows a few, the celebrity has a long
    // run of followers (a Roaring base), uid 3 follows several hundred.
    Txn initial() {
        Txn t;
        t.lsn = 1;
        for (uint32_t u = 1; u <= 1500; u++) {
            if (u % 50 != 0)
                t.raw.push_back({u, 7, kInsert});
            for (int k = 0; k < 3; k++)
                t.raw.push_back({u, uid(), kInsert});
        }
        for (uint32_t v = 1; v <= 400; v++)
            t.raw.push_back({3, v * 3, kInsert});
        t.net();
        return t;
    }
};

// Applies the initial graph in ready mode, before anything is pending.
void load_initial(Sim &sim, Traffic &tr, Table *table) {
    Txn t0 = tr.initial();
    t0.commit_to(table);
    sim.apply_all(t0);
}

// Transactions announce in commit order and apply later, stripe by stripe,
// interleaved in random order: a later commit often applies a key before an
// earlier one. The end state must be the table's.
TEST(GraphApply, ShuffledCommitsLastLsnWins) {
    uint64_t stale = 0, compactions = 0;
    for (uint64_t seed : test::seeds(1, 12)) {
        Sim sim;
        Traffic tr(seed);
        Table table;
        load_initial(sim, tr, &table);
        std::vector<Txn> txns;
        for (int i = 0; i < 60; i++)
            txns.push_back(tr.txn(100 + 10 * uint64_t(i)));
        for (const auto &t : txns)
            t.commit_to(&table);

        std::vector<Txn *> active;
        size_t next = 0;
        while (next < txns.size() || !active.empty()) {
            // Announce (commit) in LSN order; apply in any order after. At
            // most a few transactions are pending at once: with many, the
            // commit-order tables fill up (see FullCommitOrderTable...).
            if (next < txns.size() && (active.empty() || (active.size() < 4 && tr.rng() % 3 == 0))) {
                sim.announce(txns[next]);
                if (!txns[next].done)
                    active.push_back(&txns[next]);
                next++;
                continue;
            }
            size_t k = tr.rng() % active.size();
            if (!sim.apply_next(*active[k])) {
                active[k] = active.back();
                active.pop_back();
            }
        }
        for (const auto &row : sim.pending)
            for (uint32_t c : row)
                ASSERT_EQ(c, 0u);
        EXPECT_EQ(sim.total.invalidated, 0u) << "seed " << seed;
        EXPECT_EQ(sim.total.lost_leaves, 0u);
        sim.expect_matches(table);
        EXPECT_EQ(sim.ta.live_bytes(), test::expected_live_bytes(sim));
        stale += sim.total.stale;
        compactions += sim.total.compactions;
        if (HasFailure())
            return;
    }
    // The schedules did reorder conflicting commits, and deltas filled up.
    EXPECT_GT(stale, 0u);
    EXPECT_GT(compactions, 0u);
}

// Two transactions changing one edge, the later one applied first: the
// earlier one must not undo it, on either side, whichever op each has.
TEST(GraphApply, LaterCommitAppliedFirstWins) {
    for (int ops = 0; ops < 4; ops++) {
        for (bool exists : {false, true}) {
            Sim sim;
            Table table;
            if (exists) {
                Txn t0;
                t0.lsn = 1;
                t0.raw = {{10, 20, kInsert}};
                t0.net();
                t0.commit_to(&table);
                sim.apply_all(t0);
            }
            Txn t1, t2;
            t1.lsn = 100;
            t1.raw = {{10, 20, uint8_t(ops & 1)}};
            t2.lsn = 200;
            t2.raw = {{10, 20, uint8_t(ops >> 1)}, {11, 20, kInsert}};
            t1.net();
            t2.net();
            t1.commit_to(&table);
            t2.commit_to(&table);
            sim.announce(t1);
            sim.announce(t2);
            while (sim.apply_next(t2)) {
            }
            while (sim.apply_next(t1)) {
            }
            sim.expect_matches(table);
            EXPECT_EQ(sim.total.stale, 2u) << ops;  // t1's two sides
        }
    }
}

// Without overlap nothing is recorded in the commit-order tables.
TEST(GraphApply, SerialCommitsRecordNothing) {
    Sim sim;
    Traffic tr(77);
    Table table;
    load_initial(sim, tr, &table);
    for (int i = 0; i < 30; i++) {
        Txn t = tr.txn(100 + uint64_t(i));
        t.commit_to(&table);
        sim.apply_all(t);
    }
    for (const auto &l : sim.lww)
        EXPECT_EQ(l.n, 0u);
    EXPECT_EQ(sim.total.stale, 0u);
    sim.expect_matches(table);
}

// ------------------------------------------------------------------ builds

// Commits before, during and after the build's reset and snapshot, applied
// late and out of order; the installed index must equal the table. (Seeds
// 59 and 178 found a newer commit that reached no set, an invalid one or
// an emptied stripe's, and an older one journaled after it that undid it
// over the snapshot.)
TEST(GraphBuild, InterleavedCommitsEndAsTable) {
    uint64_t journaled = 0, stale = 0;
    std::vector<uint64_t> runs = test::seeds(1, 8);
    if (getenv("SIM_SEEDS") == nullptr)
        runs.insert(runs.end(), {59, 178});
    for (uint64_t seed : runs) {
        Sim sim;
        Traffic tr(1000 + seed);
        Table table;
        load_initial(sim, tr, &table);
        // A set dropped under memory pressure before the build: the build
        // must bring it back.
        {
            WriteStats st;
            SetRef *ref = &sim.dir.find(7)->set[kIn];
            set_free(sim.ta.arena, ref, &st);
            ApplyResult r;
            r.card[kIn] = st.card;
            sim.stripe_counted(stripe_of(7), r);
            *ref = SetRef{kInvalidRef, kNoRef};
        }
        std::vector<Txn> txns;
        for (int i = 0; i < 120; i++)
            txns.push_back(tr.txn(100 + 10 * uint64_t(i)));
        std::vector<Txn *> active;
        size_t next = 0;
        Builder b;
        size_t delay = tr.rng() % 40;  // events before the build starts
        size_t events = 0;
        while (!b.done() || next < txns.size() || !active.empty()) {
            uint64_t r = tr.rng() % 100;
            if (!b.done() && events >= delay && r < 92) {
                b.step(sim, table);
            } else if (next < txns.size() &&
                       (active.empty() || (active.size() < 4 && r % 3 == 0))) {
                txns[next].commit_to(&table);
                sim.announce(txns[next]);
                if (!txns[next].done)
                    active.push_back(&txns[next]);
                next++;
            } else if (!active.empty()) {
                size_t k = tr.rng() % active.size();
                if (!sim.apply_next(*active[k])) {
                    active[k] = active.back();
                    active.pop_back();
                }
            }
            events++;
        }
        EXPECT_EQ(sim.total.invalidated, 0u);
        sim.expect_matches(table);
        EXPECT_EQ(sim.ta.live_bytes(), test::expected_live_bytes(sim));
        if (HasFailure())
            return;
        journaled += sim.journaled;
        stale += sim.total.stale;
    }
    // Commits did land in journals, and were reordered.
    EXPECT_GT(journaled, 0u);
    EXPECT_GT(stale, 0u);
}

// The same with every commit applied right away (no reordering), and one
// commit exactly between the reset and the snapshot, applied after the
// snapshot: it is both in the journal and in the scan.
TEST(GraphBuild, CommitInJournalAndScan) {
    Sim sim;
    Table table;
    Txn t0;
    t0.lsn = 1;
    for (uint32_t u = 1; u <= 300; u++)
        t0.raw.push_back({u, 1000, kInsert});
    t0.raw.push_back({5, 6, kInsert});
    t0.net();
    t0.commit_to(&table);
    sim.apply_all(t0);

    Builder b;
    while (b.phase != Builder::kScan)
        b.step(sim, table);
    Txn t1;  // committed before the snapshot, applied after it
    t1.lsn = 10;
    t1.raw = {{5, 6, kDelete}, {5, 7, kInsert}, {301, 1000, kInsert}, {2, 1000, kDelete}};
    t1.net();
    t1.commit_to(&table);
    sim.announce(t1);
    b.step(sim, table);  // scan
    Txn t2;  // committed after the snapshot: only in the journal
    t2.lsn = 20;
    t2.raw = {{5, 7, kDelete}, {5, 6, kInsert}, {3, 1000, kDelete}, {3, 1000, kInsert},
              {4, 1000, kDelete}};
    t2.net();
    t2.commit_to(&table);
    sim.announce(t2);
    while (sim.apply_next(t2)) {
    }
    while (sim.apply_next(t1)) {  // older, applied last: stale where they overlap
    }
    while (!b.done())
        b.step(sim, table);
    sim.expect_matches(table);
}

// A new account (beyond every uid of the scan and every leaf at the start
// of the install pass) follows and unfollows during the build: its journal
// must still be installed.
TEST(GraphBuild, NewAccountDuringInstallIsInstalled) {
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
    b.step(sim, table);  // installs uid 1, out side
    uint64_t lsn = 10;
    auto commit = [&](std::vector<RawEdge> raw) {
        Txn t;
        t.lsn = lsn++;
        t.raw = std::move(raw);
        t.net();
        t.commit_to(&table);
        sim.apply_all(t);
    };
    commit({{5000, 2, kInsert}, {5000, 2, kDelete}});  // a tombstone for 5000 out
    commit({{5000, 3, kInsert}});
    while (!b.done())
        b.step(sim, table);
    sim.expect_matches(table);
    commit({{5000, 2, kInsert}});  // after the build
    sim.expect_matches(table);
}

// ------------------------------------------------------------ clear_stripe

TEST(ClearStripe, FreesOnlyItsStripe) {
    Sim sim;
    Table table;
    Txn t;
    t.lsn = 1;
    // Owners in many leaves with gaps, both ends of the range, every stripe.
    std::vector<uint32_t> owners = {1, 127, 128, 129, 255, 256, 4095, 4096, 4097, 40000,
                                    40127, 1000000, kMaxUid - 128, kMaxUid - 1, kMaxUid};
    for (uint32_t u = 1; u < 600; u += 3)
        owners.push_back(u);
    for (uint32_t o : owners)
        for (uint32_t k = 0; k < 1 + o % 200; k++)
            t.raw.push_back({o, 1 + (o * 7 + k * 13) % 5000, kInsert});
    t.net();
    t.commit_to(&table);
    sim.apply_all(t);
    // An invalid set: clear_stripe makes it empty and valid.
    DirEntry *e1 = sim.dir.find(129);
    WriteStats st;
    set_free(sim.ta.arena, &e1->set[kOut], &st);
    sim.edges[kOut] += st.card;
    e1->set[kOut] = SetRef{kInvalidRef, kNoRef};
    sim.expect_matches(table, /*allow_invalid=*/true);  // skips the invalid set

    for (uint32_t s : {1u, 0u, 127u, 5u}) {
        ApplyResult r;
        clear_stripe(sim.ta.arena, sim.dir, s, &r);
        sim.edges[0] += r.card[0];
        sim.edges[1] += r.card[1];
        EXPECT_EQ(r.invalidated, 0u);
        sim.for_each_entry([&](uint32_t u, const DirEntry *e) {
            if (stripe_of(u) == s)
                for (int side = 0; side < 2; side++) {
                    EXPECT_TRUE(e->set[side].empty()) << u;
                    EXPECT_FALSE(e->set[side].invalid()) << u;
                }
        });
    }
    // What remains: every set of the other stripes, untouched (an edge
    // leaves only the sets whose owner is in a cleared stripe).
    std::map<uint32_t, Vec> want[2];
    for (const auto &[a, b] : table) {
        if (stripe_of(a) != 0 && stripe_of(a) != 1 && stripe_of(a) != 5 && stripe_of(a) != 127)
            want[kOut][a].push_back(b);
        if (stripe_of(b) != 0 && stripe_of(b) != 1 && stripe_of(b) != 5 && stripe_of(b) != 127)
            want[kIn][b].push_back(a);
    }
    int64_t sizes[2] = {0, 0};
    sim.for_each_entry([&](uint32_t u, const DirEntry *e) {
        for (int side = 0; side < 2; side++) {
            Vec got = test::contents(sim.ta.arena, e->set[side], &sim.views);
            Vec w = want[side].count(u) ? want[side][u] : Vec();
            std::sort(w.begin(), w.end());
            EXPECT_EQ(got, w) << u << " " << side;
            sizes[side] += int64_t(got.size());
        }
    });
    EXPECT_EQ(sim.edges[0], sizes[0]);
    EXPECT_EQ(sim.edges[1], sizes[1]);
    EXPECT_EQ(sim.ta.live_bytes(), test::expected_live_bytes(sim));
    // Clearing every stripe leaves only the leaves.
    for (uint32_t s = 0; s < kStripes; s++) {
        ApplyResult r;
        clear_stripe(sim.ta.arena, sim.dir, s, &r);
    }
    EXPECT_EQ(sim.ta.live_bytes(), size_t(sim.dir.leaves()) * sizeof(DirEntry) * kLeafSize);
}

TEST(ClearStripe, EmptyDirectoryAndLostLeaves) {
    Sim sim;
    ApplyResult r;
    for (uint32_t s = 0; s < kStripes; s++)
        clear_stripe(sim.ta.arena, sim.dir, s, &r);
    EXPECT_EQ(r.card[0], 0);
    sim.dir.mark_lost(kMaxUid);  // uid_end = 2^31, no leaf
    for (uint32_t s : {0u, 1u, 127u})  // each walks all 2^19 leaf slots
        clear_stripe(sim.ta.arena, sim.dir, s, &r);
    EXPECT_TRUE(sim.dir.lost(kMaxUid));  // clear_stripe does not clear lost marks
    EXPECT_EQ(sim.ta.live_blocks(), 0u);
}

// ------------------------------------------------- running out of things


TEST(GraphApply, FullCommitOrderTableInvalidatesTheSet) {
    Sim sim;
    // Owner 256 (stripe 0) gets kLwwSlots + 72 followees (none in stripe
    // 0, so that only 256's following set lands there) while another
    // transaction holds every bucket: the stripe's table fills at kLwwSlots.
    std::vector<RawEdge> raw;
    for (uint32_t x = 1, n = 0; n < kLwwSlots + 72; x++)
        if (stripe_of(x) != 0) {
            raw.push_back({256, x, kInsert});
            n++;
        }
    raw.push_back({384, 1, kInsert});  // another owner of stripe 0
    auto v = net_side_changes(raw.data(), raw.size());
    auto starts = stripe_starts(v);
    test::ScriptedHost host(sim.ta.arena);
    host.pending = true;  // a transaction that always overlaps another one
    StripeApply a{&host.arena, &sim.dir, &sim.lww[0], &sim.views, 50};
    ApplyResult r;
    apply_stripe(a, v.data() + starts[0], starts[1] - starts[0], &r);
    // 256's set fills the table at its (kLwwSlots + 1)th key; 384's (applied
    // after it, in owner order) finds it full too.
    EXPECT_EQ(r.invalidated, 2u);
    EXPECT_EQ(r.card[kOut], 0);  // every edge added is freed again
    EXPECT_TRUE(sim.dir.find(256)->set[kOut].invalid());
    EXPECT_EQ(sim.lww[0].n, kLwwSlots);
    GraphReader rd(sim.ta.arena, sim.dir, &sim.views);
    bool b;
    uint64_t n;
    EXPECT_EQ(rd.contains(256, kOut, 5, &b), Read::kUnknown);
    EXPECT_EQ(rd.size(256, kOut, &n), Read::kUnknown);
    EXPECT_EQ(rd.proof_count(256, 7, &n), Read::kUnknown);
    EXPECT_EQ(rd.contains(384, kOut, 1, &b), Read::kUnknown);
    // Later changes to an invalid set leave it invalid and count nothing.
    std::vector<SideChange> more = {{256, 999, kOut, kInsert}};
    ApplyResult r2;
    host.pending = false;  // prune empties the table
    apply_stripe(a, more.data(), 1, &r2);
    EXPECT_EQ(r2.invalidated, 0u);
    EXPECT_EQ(r2.card[kOut], 0);
    EXPECT_TRUE(sim.dir.find(256)->set[kOut].invalid());
    EXPECT_EQ(sim.lww[0].n, 0u);
    // clear_stripe (a new build, or TRUNCATE) makes it valid again.
    ApplyResult r3;
    clear_stripe(sim.ta.arena, sim.dir, 0, &r3);
    EXPECT_FALSE(sim.dir.find(256)->set[kOut].invalid());
    EXPECT_EQ(rd.contains(256, kOut, 5, &b), Read::kOk);
    EXPECT_FALSE(b);
}

TEST(GraphApply, StaleChangesAreSkippedAndCounted) {
    Sim sim;
    test::ScriptedHost host(sim.ta.arena);
    host.pending = true;  // the older transaction is pending throughout
    std::vector<SideChange> v = {{10, 1, kOut, kInsert}, {10, 2, kOut, kInsert}};
    StripeApply a{&host.arena, &sim.dir, &sim.lww[10], &sim.views, 200};
    ApplyResult r;
    apply_stripe(a, v.data(), v.size(), &r);
    EXPECT_EQ(r.card[kOut], 2);
    EXPECT_EQ(sim.lww[10].n, 2u);
    // The older commit (LSN 100) deletes 1 and 2 and inserts 3: only 3 lands.
    std::vector<SideChange> old = {
        {10, 1, kOut, kDelete}, {10, 2, kOut, kDelete}, {10, 3, kOut, kInsert}};
    a.lsn = 100;
    ApplyResult r2;
    apply_stripe(a, old.data(), old.size(), &r2);
    EXPECT_EQ(r2.stale, 2u);
    EXPECT_EQ(r2.card[kOut], 1);
    EXPECT_EQ(test::contents(sim.ta.arena, sim.dir.find(10)->set[kOut], &sim.views),
              (Vec{1, 2, 3}));
    // Once nothing is pending, the next apply prunes the table.
    host.pending = false;
    ApplyResult r3;
    a.lsn = 300;
    std::vector<SideChange> later = {{10, 4, kOut, kInsert}};
    apply_stripe(a, later.data(), later.size(), &r3);
    EXPECT_EQ(sim.lww[10].n, 0u);
}

TEST(GraphApply, JournalCallbackSelectsJournalMode) {
    Sim sim;
    std::vector<SideChange> v = {{10, 1, kOut, kInsert}, {10, 2, kOut, kDelete}};
    test::ScriptedHost host(sim.ta.arena);
    host.journal = true;
    StripeApply a{&host.arena, &sim.dir, &sim.lww[10], &sim.views, 1};
    ApplyResult r;
    apply_stripe(a, v.data(), v.size(), &r);
    SetRef ref = sim.dir.find(10)->set[kOut];
    EXPECT_EQ(ref.base, kNoRef);  // journal: no base, adds and tombstones
    ASSERT_NE(ref.delta, kNoRef);
    const DeltaHdr *d = sim.ta.arena.at<DeltaHdr>(ref.delta);
    EXPECT_EQ(d->n_add, 1u);
    EXPECT_EQ(d->n_del, 1u);  // the delete of an absent edge is kept as a tombstone
    EXPECT_EQ(r.card[kOut], 1);
    WriteStats st;
    Vec scanned = {2, 5};
    ASSERT_EQ(set_install(sim.ta.arena, &sim.dir.find(10)->set[kOut], scanned.data(),
                          scanned.size(), &st),
              Status::kOk);
    EXPECT_EQ(test::contents(sim.ta.arena, sim.dir.find(10)->set[kOut], &sim.views),
              (Vec{1, 5}));
    EXPECT_EQ(r.card[kOut] + st.card, 2);
}

TEST(GraphApply, FullArenaInvalidatesSetsAndLosesLeaves) {
    Sim sim;
    Table table;
    Txn t0;
    t0.lsn = 1;
    for (uint32_t u = 1; u <= 200; u++)
        t0.raw.push_back({u, 2, kInsert});
    t0.net();
    t0.commit_to(&table);
    sim.apply_all(t0);
    sim.ta.limit = sim.ta.live_bytes();  // nothing more fits
    Txn t1;
    t1.lsn = 2;
    // 2's follower set (201 > kCowMax) needs a delta; 9000 needs a leaf.
    t1.raw = {{201, 2, kInsert}, {9000, 2, kDelete}, {9001, 5, kInsert}, {5, 9002, kInsert}};
    t1.net();
    sim.apply_all(t1);
    EXPECT_EQ(sim.total.lost_leaves, 1u);  // leaf 2 (8192..12287) counted once
    EXPECT_TRUE(sim.dir.lost(9001));
    EXPECT_TRUE(sim.dir.find(2)->set[kIn].invalid());
    EXPECT_GE(sim.total.invalidated, 1u);
    GraphReader rd(sim.ta.arena, sim.dir, &sim.views);
    bool b;
    uint64_t n;
    EXPECT_EQ(rd.contains(9001, kOut, 5, &b), Read::kUnknown);
    EXPECT_EQ(rd.size(2, kIn, &n), Read::kUnknown);
    EXPECT_EQ(rd.size(2, kOut, &n), Read::kOk);
    // Sets that needed no allocation are right.
    t1.commit_to(&table);
    sim.expect_matches(table, /*allow_invalid=*/true);
    EXPECT_EQ(sim.ta.live_bytes(), test::expected_live_bytes(sim));
}

// Fails each arena allocation of an apply in turn: every set ends either
// right or invalid, the cards add up, nothing leaks.
TEST(GraphApply, EveryArenaAllocationFailing) {
    Traffic tr0(5);
    Txn base = tr0.initial();
    Traffic tr(6);
    Txn big = tr.txn(50);
    for (int i = 0; i < 600; i++)
        big.raw.push_back(tr.edge());
    big.net();
    // Every allocation among the first 16, then a sample of the rest.
    for (uint64_t n = 1;; n += n < 16 ? 1 : 1 + n / 4) {
        Sim sim;
        Table table;
        Txn t0 = base;
        t0.commit_to(&table);
        sim.apply_all(t0);
        Txn t = big;
        t.commit_to(&table);
        sim.fa.reset(n);
        sim.apply_all(t);
        bool fired = sim.fa.attempts >= n;
        sim.fa.reset(0);
        sim.expect_matches(table, /*allow_invalid=*/true);
        EXPECT_EQ(sim.ta.live_bytes(), test::expected_live_bytes(sim));
        if (fired) {
            EXPECT_GT(sim.total.invalidated + sim.total.lost_leaves, 0u) << n;
        }
        if (HasFailure() || !fired)
            break;
    }
}

// Throws std::bad_alloc from each operator new of an apply in turn.
TEST(GraphApply, EveryProcessAllocationFailing) {
    Traffic tr0(8);
    Txn base = tr0.initial();
    Traffic tr(9);
    Txn t = tr.txn(50);
    for (int i = 0; i < 300; i++)
        t.raw.push_back(tr.edge());
    t.net();
    Sim sim;
    Table table;
    Txn t0 = base;
    t0.commit_to(&table);
    sim.apply_all(t0);
    t.commit_to(&table);
    // Every owner's leaf exists beforehand: a bad_alloc before a new leaf is
    // created loses the change (apply_oom_new_leaf_test.cpp).
    for (const auto &c : t.changes)
        ASSERT_NE(sim.dir.get(c.owner), nullptr);
    sim.announce(t);
    // Each stripe is applied with its nth operator new failing, n cycling
    // through 1..7 (a stripe with fewer allocations does not fail).
    long stripes = 0, fired = 0;
    while (!t.done) {
        NewFailureScope f(1 + stripes % 7);
        sim.apply_next(t);
        fired += test::NewFailure::fired() ? 1 : 0;
        stripes++;
    }
    EXPECT_GT(fired, 0);
    sim.expect_matches(table, /*allow_invalid=*/true);
    EXPECT_EQ(sim.ta.live_bytes(), test::expected_live_bytes(sim));
    EXPECT_GT(sim.total.invalidated, 0u);
}

}  // namespace
}  // namespace dp
