// Ring admission under memory pressure (admission.hpp) and the age bound
// of author rings (ring_trim in ring.hpp), against simple models.
#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <unordered_set>
#include <vector>

#include "admission.hpp"
#include "ring.hpp"
#include "test_arena.hpp"

namespace dp {
namespace {

std::unique_ptr<FreqSketchShared> new_sketch() {
    auto s = std::make_unique<FreqSketchShared>();
    FreqSketch::init(s.get());
    return s;
}

TEST(FreqSketch, EstimatesNeverUnderCountBelowSaturation) {
    auto shared = new_sketch();
    FreqSketch sk(shared.get());
    std::mt19937 rng(7);
    std::vector<uint32_t> truth(5000);
    for (int i = 0; i < 100000; i++) {
        uint32_t uid = 1 + rng() % 5000;
        truth[uid - 1]++;
        sk.touch(uid);
    }
    size_t exact = 0;
    for (uint32_t uid = 1; uid <= 5000; uid++) {
        uint32_t t = std::min<uint32_t>(truth[uid - 1], 255);
        EXPECT_GE(sk.estimate(uid), t) << uid;
        exact += sk.estimate(uid) == t;
    }
    // 5,000 viewers in a million slots: collisions are rare.
    EXPECT_GT(exact, 4900u);
    EXPECT_EQ(sk.estimate(999999), 0u);
}

TEST(FreqSketch, WindowHalvesCountsAndTheVictimsBar) {
    auto shared = new_sketch();
    FreqSketch sk(shared.get());
    for (int i = 0; i < 40; i++)
        sk.touch(42);
    sk.note_victims(30, 3);  // three rings of viewers read 10 times each
    EXPECT_EQ(sk.victim_freq(), 10u);
    // Admissions are rationed: a viewer read more often than the victims
    // gets in once enough others were refused.
    EXPECT_FALSE(sk.admit(42));
    for (uint64_t i = 2; i < kReadsPerAdmission; i++)
        EXPECT_FALSE(sk.admit(43));  // never read: never admitted
    EXPECT_TRUE(sk.admit(42));
    EXPECT_FALSE(sk.admit(42));  // and the next one waits again
    // A whole window of other reads: 42's count and the bar halve.
    for (uint32_t i = 0; i < kSketchSlots; i++)
        sk.touch(1000000 + (i % 1000));
    EXPECT_EQ(sk.halvings(), 1u);
    EXPECT_EQ(sk.estimate(42), 20u);
    EXPECT_EQ(sk.victim_freq(), 5u);
}

// A model of the index's feed rings under memory_limit: room for `high`
// rings; a CLOCK sweep down to `low` (evict.cpp sweeps from 90 % down to
// 80 %) when an admitted build finds it full; and the same decision as
// pressure_admit_ring: build freely below the low mark, else only if
// admitted.
struct RingCache {
    explicit RingCache(size_t slots, bool admission)
        : high(slots), low(slots * 8 / 9), admission(admission), shared(new_sketch()),
          sk(shared.get()) {}

    // One timeline read of v; true if it was answered by a ring.
    bool read(uint32_t v) {
        sk.touch(v);
        reads++;
        if (auto it = where.find(v); it != where.end()) {
            ring[it->second].referenced = true;
            return true;
        }
        if (held() >= low && admission && !sk.admit(v)) {
            ringless++;
            return false;
        }
        if (held() >= high)
            sweep(high - low);
        builds++;
        for (size_t i = 0; i < ring.size(); i++)
            if (ring[i].viewer == 0) {
                ring[i] = Slot{v, true};
                where[v] = i;
                return false;
            }
        ring.push_back(Slot{v, true});
        where[v] = ring.size() - 1;
        return false;
    }

    size_t held() const { return where.size(); }

    void sweep(size_t goal) {
        uint64_t freed = 0, freq = 0;
        for (size_t visited = 0; freed < goal && visited < 2 * ring.size(); visited++) {
            Slot &s = ring[hand];
            hand = (hand + 1) % ring.size();
            if (s.viewer == 0)
                continue;
            if (s.referenced) {
                s.referenced = false;
                continue;
            }
            freq += sk.estimate(s.viewer);
            where.erase(s.viewer);
            s.viewer = 0;
            freed++;
            evictions++;
        }
        sk.note_victims(freq, freed);
    }

    struct Slot {
        uint32_t viewer;
        bool referenced;
    };
    size_t high, low;
    bool admission;
    std::unique_ptr<FreqSketchShared> shared;
    FreqSketch sk;
    std::vector<Slot> ring;
    std::unordered_map<uint32_t, size_t> where;
    size_t hand = 0;
    uint64_t reads = 0, builds = 0, evictions = 0, ringless = 0;
};

TEST(Admission, ACycleLargerThanMemoryDoesNotThrash) {
    // 4,000 viewers read in turn, room for 1,000 rings: CLOCK alone
    // rebuilds a ring on every read; with admission the rings held stay.
    for (bool admission : {false, true}) {
        RingCache c(1000, admission);
        uint64_t hits = 0, reads = 0;
        for (int round = 0; round < 20; round++)
            for (uint32_t v = 1; v <= 4000; v++) {
                bool hit = c.read(v);
                if (round >= 5) {
                    hits += hit;
                    reads++;
                }
            }
        double builds_per_read = double(c.builds) / double(c.reads);
        double hit_rate = double(hits) / double(reads);
        if (!admission) {
            EXPECT_GT(builds_per_read, 0.9);  // the thrash the issue measured
            EXPECT_LT(hit_rate, 0.05);
        } else {
            EXPECT_LT(builds_per_read, 1.0 / kReadsPerAdmission);
            EXPECT_GT(hit_rate, 0.15);  // about the quarter that fits
        }
    }
}

TEST(Admission, ViewersWhoComeBackMoreOftenKeepTheirRings) {
    // 500 hot viewers read ten times as often as 5,000 others; room for
    // 1,000 rings: the hot ones end up (and stay) in memory.
    RingCache c(1000, true);
    std::mt19937 rng(3);
    uint64_t hot_reads = 0, hot_hits = 0;
    for (int i = 0; i < 400000; i++) {
        bool hot = rng() % 2 == 0;
        uint32_t v = hot ? 1 + rng() % 500 : 1000 + rng() % 5000;
        bool hit = c.read(v);
        if (i > 200000 && hot) {
            hot_reads++;
            hot_hits += hit;
        }
    }
    EXPECT_GT(double(hot_hits) / double(hot_reads), 0.9);
    EXPECT_LT(double(c.builds) / double(c.reads), 0.2);
}

TEST(Distinct, EstimatesWithinAFewPercent) {
    for (uint32_t n : {100u, 5000u, 200000u}) {
        DistinctShared d{};
        Distinct h(&d);
        for (uint32_t i = 0; i < n; i++) {
            h.add(i * 7 + 1);
            h.add(i * 7 + 1);  // repeats count once
        }
        EXPECT_NEAR(h.estimate(), double(n), 0.1 * n) << n;
        h.clear();
        EXPECT_NEAR(h.estimate(), 0.0, 0.5);
    }
}

AuthorItem item(int64_t ts, int64_t id) { return AuthorItem{ts, id, id, 5, 0}; }

AgeBound bound(int64_t cutoff, uint32_t keep) { return AgeBound{age_floor(cutoff), keep}; }

TEST(RingTrim, KeepsTheNewestFewAndWhatIsYoungerThanTheFloor) {
    test::TestArena ta;
    Ref ref = kNoRef;
    for (int64_t t = 1; t <= 400; t++)
        ring_insert(ta.arena, &ref, item(t * 10, t), 1000);
    uint32_t cap_before = AuthorRing(ta.arena.at<RingHdr>(ref)).cap();
    // Older than ts 3,000: dropped; the horizon is the newest item dropped.
    // A quarter of the slots or more still used: the block stays.
    EXPECT_EQ(ring_trim<AuthorItem>(ta.arena, &ref, bound(3000, 16)), 0u);
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    ASSERT_EQ(r.size(), 101u);  // 3,000 .. 4,000
    EXPECT_EQ(r.oldest().ts, 3000);
    EXPECT_TRUE(r.horizon() == item(2990, 299).key());
    EXPECT_EQ(r.cap(), cap_before);
    // A floor above everything: the newest `keep` stay, whatever their age,
    // in a smaller block.
    EXPECT_GT(ring_trim<AuthorItem>(ta.arena, &ref, bound(1000000, 16)), 0u);
    AuthorRing r2(ta.arena.at<RingHdr>(ref));
    ASSERT_EQ(r2.size(), 16u);
    EXPECT_EQ(r2.newest().ts, 4000);
    EXPECT_LT(r2.cap(), cap_before);
    EXPECT_TRUE(r2.horizon() == item(3840, 384).key());
    // No bound: nothing changes.
    EXPECT_EQ(ring_trim<AuthorItem>(ta.arena, &ref, AgeBound{}), 0u);
    EXPECT_EQ(AuthorRing(ta.arena.at<RingHdr>(ref)).size(), 16u);
}

TEST(RingTrim, ARarePosterKeepsAWholeRingUnderItsKeep) {
    test::TestArena ta;
    Ref ref = kNoRef;
    for (int64_t t = 1; t <= 10; t++)
        ring_insert(ta.arena, &ref, item(t, t), 1000);
    EXPECT_EQ(ring_trim<AuthorItem>(ta.arena, &ref, bound(1000000, 16)), 0u);
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    EXPECT_EQ(r.size(), 10u);
    EXPECT_TRUE(r.horizon() == kMinKey);  // still complete: pages stay in memory
}

// keep 0: an author with nothing younger than the floor keeps a header
// alone (its horizon: the newest item it had), and grows again from it when
// they post; what a ring holds is always every item above its horizon.
TEST(RingTrim, KeepZeroLeavesAHeaderThatGrowsBack) {
    test::TestArena ta;
    Ref ref = kNoRef;
    for (int64_t t = 1; t <= 10; t++)
        ring_insert(ta.arena, &ref, item(t * 10, t), 1000);
    uint64_t before = AuthorRing::bytes(AuthorRing(ta.arena.at<RingHdr>(ref)).cap());
    EXPECT_EQ(ring_trim<AuthorItem>(ta.arena, &ref, bound(1000, 0)), before - sizeof(RingHdr));
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    EXPECT_EQ(r.size(), 0u);
    EXPECT_EQ(r.cap(), 0u);
    EXPECT_TRUE(r.horizon() == item(100, 10).key());
    EXPECT_EQ(r.find(item(100, 10).key()), nullptr);
    // Nothing more to trim; an item at or below the horizon is refused.
    EXPECT_EQ(ring_trim<AuthorItem>(ta.arena, &ref, bound(2000, 0)), 0u);
    EXPECT_EQ(ring_insert(ta.arena, &ref, item(50, 5), 1000), Insert::kBelowHorizon);
    EXPECT_EQ(AuthorRing(ta.arena.at<RingHdr>(ref)).cap(), 0u);
    // A new post: the ring grows to its first block, the horizon stays.
    for (int64_t t = 11; t <= 20; t++)
        EXPECT_EQ(ring_insert(ta.arena, &ref, item(t * 10, t), 1000), Insert::kAdded);
    AuthorRing g(ta.arena.at<RingHdr>(ref));
    EXPECT_EQ(g.size(), 10u);
    EXPECT_EQ(g.oldest().ts, 110);
    EXPECT_TRUE(g.horizon() == item(100, 10).key());
    // ring_make_room (a build's journal) grows a header-only ring too.
    EXPECT_EQ(ring_trim<AuthorItem>(ta.arena, &ref, bound(1000000, 0)), AuthorRing::bytes(g.cap()) - sizeof(RingHdr));
    EXPECT_TRUE(ring_make_room<AuthorItem>(ta.arena, &ref, 1u << 20));
    EXPECT_GT(AuthorRing(ta.arena.at<RingHdr>(ref)).cap(), 0u);
    ring_free<AuthorItem>(ta.arena, &ref);
}

// Against a model: any series of inserts, deletes and trims (any keep,
// header-only rings included) leaves a ring holding exactly the items above
// its horizon.
TEST(RingTrim, MatchesAModel) {
    test::TestArena ta;
    std::mt19937_64 rng(15);
    for (int round = 0; round < 200; round++) {
        Ref ref = kNoRef;
        std::set<std::pair<int64_t, int64_t>> model;  // (ts, id) of every item
        uint32_t keep = uint32_t(rng() % 3 == 0 ? 0 : rng() % 20);
        int64_t now = 0;
        for (int step = 0; step < 300; step++) {
            uint64_t op = rng() % 10;
            if (op < 6) {
                now += int64_t(rng() % 5);
                int64_t id = step + 1;
                model.insert({now, id});
                ring_insert(ta.arena, &ref, item(now, id), 64);
            } else if (op < 8 && ref != kNoRef) {
                ring_trim<AuthorItem>(ta.arena, &ref, bound(now - int64_t(rng() % 50), keep));
            } else if (!model.empty()) {
                auto it = model.begin();
                std::advance(it, rng() % model.size());
                if (ref != kNoRef)
                    AuthorRing(ta.arena.at<RingHdr>(ref)).erase(item(it->first, it->second).key());
                model.erase(it);
            }
            if (ref == kNoRef)
                continue;
            AuthorRing r(ta.arena.at<RingHdr>(ref));
            std::vector<std::pair<int64_t, int64_t>> above;
            for (const auto &m : model)
                if (r.horizon() < item(m.first, m.second).key())
                    above.push_back(m);
            ASSERT_EQ(r.size(), above.size()) << round << " " << step;
            for (uint32_t i = 0; i < r.size(); i++)
                ASSERT_EQ(std::make_pair(r.at(i).ts, r.at(i).id), above[i]);
        }
        ring_free<AuthorItem>(ta.arena, &ref);
    }
}

}  // namespace
}  // namespace dp
