// Author rings deepened by a page's read of the tables, and trimmed back
// by the eviction sweep (ring_deepen.hpp), against a model: whatever
// happens, a ring holds exactly its author's items above its horizon.
#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <set>
#include <vector>

#include "directory.hpp"
#include "ring_deepen.hpp"
#include "test_arena.hpp"
#include "test_util.hpp"

namespace dp {
namespace {

AuthorItem item(int64_t ts, int64_t id) { return AuthorItem{ts, id, id, 5, 0}; }

AgeBound bound(int64_t cutoff, uint32_t keep) { return AgeBound{age_floor(cutoff), keep}; }

using Model = std::set<std::pair<int64_t, int64_t>>;  // (ts, id) of every item

// The model's items with lo < key <= hi, ascending.
std::vector<AuthorItem> between(const Model &m, ItemKey lo, ItemKey hi) {
    std::vector<AuthorItem> v;
    for (const auto &p : m) {
        AuthorItem it = item(p.first, p.second);
        if (lo < it.key() && it.key() <= hi)
            v.push_back(it);
    }
    return v;
}

void expect_exact(const test::TestArena &ta, Ref ref, const Model &m) {
    if (ref == kNoRef) {
        EXPECT_TRUE(m.empty());
        return;
    }
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    std::vector<AuthorItem> above = between(m, r.horizon(), kMaxKey);
    ASSERT_EQ(r.size(), above.size());
    for (uint32_t i = 0; i < r.size(); i++)
        ASSERT_TRUE(r.at(i).key() == above[i].key()) << i;
}

TEST(RingDeepen, TakesTheOlderItemsDownToTheBound) {
    test::TestArena ta;
    Ref ref = kNoRef;
    Model m;
    for (int64_t t = 1; t <= 40; t++) {
        m.insert({t * 10, t});
        ring_insert(ta.arena, &ref, item(t * 10, t), 1000);
    }
    // Trimmed to the last ten; then a page read items 11..30 from the tables.
    ring_trim<AuthorItem>(ta.arena, &ref, bound(310, 0));
    ASSERT_EQ(AuthorRing(ta.arena.at<RingHdr>(ref)).size(), 10u);
    ItemKey h = AuthorRing(ta.arena.at<RingHdr>(ref)).horizon();
    ItemKey b = item(100, 10).key();
    std::vector<AuthorItem> older = between(m, b, h);
    ASSERT_EQ(older.size(), 20u);
    EXPECT_EQ(author_ring_deepen(ta.arena, &ref, older.data(), older.size(), b, 1000),
              Deepen::kDeeper);
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    EXPECT_EQ(r.size(), 30u);
    EXPECT_TRUE(r.horizon() == b);
    EXPECT_TRUE(r.hdr()->flags & kRingDeep);
    expect_exact(ta, ref, m);
    // Not below the horizon any more: nothing to do.
    EXPECT_EQ(author_ring_deepen(ta.arena, &ref, older.data(), older.size(), item(200, 20).key(),
                                 1000),
              Deepen::kNothing);
    // Down to nothing: complete.
    std::vector<AuthorItem> rest = between(m, kMinKey, b);
    EXPECT_EQ(author_ring_deepen(ta.arena, &ref, rest.data(), rest.size(), kMinKey, 1000),
              Deepen::kDeeper);
    EXPECT_TRUE(AuthorRing(ta.arena.at<RingHdr>(ref)).horizon() == kMinKey);
    expect_exact(ta, ref, m);
    ring_free<AuthorItem>(ta.arena, &ref);
}

TEST(RingDeepen, StopsAtCapacityWithTheNewest) {
    test::TestArena ta;
    Ref ref = kNoRef;
    Model m;
    for (int64_t t = 1; t <= 100; t++) {
        m.insert({t, t});
        ring_insert(ta.arena, &ref, item(t, t), 40);
    }
    ring_trim<AuthorItem>(ta.arena, &ref, bound(91, 0));  // 91..100 stay
    std::vector<AuthorItem> older = between(m, kMinKey, item(90, 90).key());
    EXPECT_EQ(author_ring_deepen(ta.arena, &ref, older.data(), older.size(), kMinKey, 40),
              Deepen::kDeeper);
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    EXPECT_EQ(r.size(), 40u);
    EXPECT_EQ(r.oldest().ts, 61);
    EXPECT_TRUE(r.horizon() == item(60, 60).key());
    expect_exact(ta, ref, m);
    // Full: nothing more fits.
    EXPECT_EQ(author_ring_deepen(ta.arena, &ref, older.data(), older.size(), kMinKey, 40),
              Deepen::kNothing);
    ring_free<AuthorItem>(ta.arena, &ref);
}

TEST(RingDeepen, AHeaderOnlyRingWithNothingBelowBecomesNoRing) {
    test::TestArena ta;
    Ref ref = kNoRef;
    ring_insert(ta.arena, &ref, item(10, 1), 1000);
    ring_trim<AuthorItem>(ta.arena, &ref, bound(100, 0));
    ASSERT_EQ(AuthorRing(ta.arena.at<RingHdr>(ref)).cap(), 0u);
    // The item was deleted since; the read found nothing at all.
    EXPECT_EQ(author_ring_deepen(ta.arena, &ref, nullptr, 0, kMinKey, 1000), Deepen::kDeeper);
    EXPECT_EQ(ref, kNoRef);
}

// The sweep passes a deep ring once (marks it), trims it the second time
// unless it was read in between, and leaves rings that never took older
// items alone.
TEST(RingDeepen, TheSweepTrimsADeepRingTheSecondTimeItPasses) {
    test::TestArena ta;
    test::DirTopHolder top;
    Directory dir(ta.arena, top.top);
    Model m;
    for (uint32_t u = 1; u <= 2; u++) {
        DirEntry *e = dir.get(u);
        for (int64_t t = 1; t <= 20; t++)
            ring_insert(ta.arena, &e->author, item(t * 10, t), 1000);
        ring_trim<AuthorItem>(ta.arena, &e->author, bound(150, 0));
    }
    for (int64_t t = 1; t <= 20; t++)
        m.insert({t * 10, t});
    DirEntry *deep = dir.find(1);
    std::vector<AuthorItem> older = between(m, kMinKey, item(140, 14).key());
    ASSERT_EQ(author_ring_deepen(ta.arena, &deep->author, older.data(), older.size(), kMinKey,
                                 1000),
              Deepen::kDeeper);
    int changes = 0;
    auto sweep = [&] {
        uint64_t freed = 0;
        for (uint32_t s = 0; s < kStripes; s++)
            freed += age_deep_rings(ta.arena, dir, s, 0, UINT32_MAX, bound(150, 0),
                                    [&] { changes++; });
        return freed;
    };
    EXPECT_EQ(sweep(), 0u);
    EXPECT_EQ(changes, 0);
    EXPECT_EQ(AuthorRing(ta.arena.at<RingHdr>(deep->author)).size(), 20u);
    // Read since (TimelineReader::touch_aged clears the mark): it stays.
    ta.arena.at<RingHdr>(deep->author)->flags &= ~kRingAged;
    EXPECT_EQ(sweep(), 0u);
    EXPECT_EQ(changes, 0);
    EXPECT_EQ(AuthorRing(ta.arena.at<RingHdr>(deep->author)).size(), 20u);
    sweep();  // (bytes are freed when the block shrinks: not here)
    EXPECT_EQ(changes, 1);
    AuthorRing r(ta.arena.at<RingHdr>(deep->author));
    EXPECT_EQ(r.size(), 6u);
    EXPECT_FALSE(r.hdr()->flags & (kRingDeep | kRingAged));
    expect_exact(ta, deep->author, m);
    EXPECT_EQ(sweep(), 0u);
    EXPECT_EQ(AuthorRing(ta.arena.at<RingHdr>(dir.find(2)->author)).size(), 6u);
    for (uint32_t u = 1; u <= 2; u++)
        ring_free<AuthorItem>(ta.arena, &dir.find(u)->author);
}

// Inserts, deletes, trims, deepenings by a read of any depth, and sweeps,
// in any order: the ring holds exactly the items above its horizon.
TEST(RingDeepen, MatchesAModel) {
    test::TestArena ta;
    std::mt19937_64 rng(17);
    int deepened = 0;
    for (int round = 0; round < 200; round++) {
        Ref ref = kNoRef;
        Model m;
        uint32_t cap = rng() % 2 ? 64 : 1000;
        int64_t now = 0;
        for (int step = 0; step < 300; step++) {
            uint64_t op = rng() % 12;
            if (op < 5) {
                now += int64_t(rng() % 5);
                int64_t ts = rng() % 8 == 0 ? now - int64_t(rng() % 100) : now;  // some backdated
                int64_t id = step + 1;
                m.insert({ts, id});
                ring_insert(ta.arena, &ref, item(ts, id), cap, 4, true);
                ring_trim<AuthorItem>(ta.arena, &ref, bound(now - 60, 0));
            } else if (op < 7 && ref != kNoRef) {
                ring_trim<AuthorItem>(ta.arena, &ref, bound(now - int64_t(rng() % 50), rng() % 3));
            } else if (op < 10 && ref != kNoRef) {
                // A read of the tables below the cut (at or above the
                // horizon) that covered down to a bound: one of the
                // items, or all of them.
                ItemKey h = AuthorRing(ta.arena.at<RingHdr>(ref)).horizon();
                std::vector<AuthorItem> below = between(m, kMinKey, h);
                ItemKey b = below.empty() || rng() % 4 == 0
                                ? kMinKey
                                : below[rng() % below.size()].key();
                std::vector<AuthorItem> older = between(m, b, h);
                deepened += author_ring_deepen(ta.arena, &ref, older.data(), older.size(), b,
                                               cap) == Deepen::kDeeper;
            } else if (op < 11 && ref != kNoRef) {
                RingHdr *hd = ta.arena.at<RingHdr>(ref);
                if (hd->flags & kRingAged) {
                    hd->flags &= ~(kRingDeep | kRingAged);
                    ring_trim<AuthorItem>(ta.arena, &ref, bound(now - 60, 0));
                } else if (hd->flags & kRingDeep) {
                    hd->flags |= kRingAged;
                }
            } else if (!m.empty()) {
                auto it = m.begin();
                std::advance(it, rng() % m.size());
                if (ref != kNoRef)
                    AuthorRing(ta.arena.at<RingHdr>(ref)).erase(item(it->first, it->second).key());
                m.erase(it);
            }
            if (ref == kNoRef) {
                // No ring: the model must then have nothing the ring would
                // have held; start over from everything (as a build would).
                for (const auto &p : m)
                    ring_insert(ta.arena, &ref, item(p.first, p.second), cap, 4, true);
                if (ref == kNoRef)
                    continue;
            }
            expect_exact(ta, ref, m);
            if (testing::Test::HasFatalFailure()) {
                ADD_FAILURE() << "round " << round << " step " << step;
                return;
            }
        }
        ring_free<AuthorItem>(ta.arena, &ref);
    }
    EXPECT_GT(deepened, 2000);  // the model saw many
}

}  // namespace
}  // namespace dp
