// Rings and timeline pages against brute-force models: sorted insertion,
// out-of-order arrivals, dropping the oldest (the horizon), erasure, growth
// and the arena running out; the page merge against a sort of everything.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "ring.hpp"
#include "test_arena.hpp"
#include "timeline_page.hpp"
#include "directory.hpp"
#include "ring_ops.hpp"
#include "ring_peek.hpp"
#include "test_util.hpp"

namespace dp {
namespace {

using test::TestArena;

AuthorItem item(int64_t ts, int64_t id, uint32_t author = 7, uint32_t reposter = 0) {
    return AuthorItem{ts, id, reposter ? id - 1 : id, author, reposter};
}

std::vector<ItemKey> keys_of(const AuthorRing &r) {
    std::vector<ItemKey> v;
    for (uint32_t i = 0; i < r.size(); i++)
        v.push_back(r.at(i).key());
    return v;
}

bool key_less(ItemKey a, ItemKey b) { return a < b; }

// The model: every item ever inserted and not erased, and the ring must
// hold exactly those above its horizon, in order.
void check(const AuthorRing &r, const std::map<std::pair<int64_t, int64_t>, AuthorItem> &all) {
    std::vector<ItemKey> want;
    for (const auto &[k, it] : all)
        if (r.horizon() < it.key())
            want.push_back(it.key());
    std::vector<ItemKey> got = keys_of(r);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); i++)
        ASSERT_TRUE(got[i] == want[i]) << i;
    ASSERT_TRUE(std::is_sorted(got.begin(), got.end(), key_less));
}

TEST(Ring, RandomInsertEraseAgainstModel) {
    for (uint32_t cap : {1u, 3u, 16u, 100u}) {
        TestArena ta;
        Ref ref = ta.arena.alloc(AuthorRing::bytes(cap));
        AuthorRing::init(ta.arena.at<RingHdr>(ref), cap, kMinKey);
        AuthorRing r(ta.arena.at<RingHdr>(ref));
        std::mt19937_64 rng(cap);
        std::map<std::pair<int64_t, int64_t>, AuthorItem> all;
        int64_t next_id = 1, clock = 1000;
        for (int step = 0; step < 3000; step++) {
            int op = int(rng() % 10);
            if (op < 6) {
                // Mostly new items at the head; some from the past.
                clock += int64_t(rng() % 5);
                int64_t ts = rng() % 4 == 0 ? clock - int64_t(rng() % 200) : clock;
                AuthorItem it = item(ts, next_id++);
                Insert res = r.insert(it);
                all[{it.ts, it.id}] = it;
                if (res == Insert::kBelowHorizon) {
                    ASSERT_TRUE(it.key() <= r.horizon());
                }
            } else if (op < 8 && !all.empty()) {
                auto it = all.begin();
                std::advance(it, rng() % all.size());
                bool had = r.find(it->second.key()) != nullptr;
                ASSERT_EQ(r.erase(it->second.key()), had);
                all.erase(it);
            } else if (!all.empty()) {
                // Re-inserting a present item is a no-op.
                const AuthorItem &it = std::prev(all.end())->second;
                if (r.find(it.key()) != nullptr) {
                    ASSERT_EQ(r.insert(it), Insert::kPresent);
                }
            }
            check(r, all);
            if (::testing::Test::HasFatalFailure())
                return;
        }
    }
}

TEST(Ring, EraseIfKeepsOrder) {
    TestArena ta;
    Ref ref = ta.arena.alloc(FeedRing::bytes(8));
    FeedRing::init(ta.arena.at<RingHdr>(ref), 8, kMinKey);
    FeedRing r(ta.arena.at<RingHdr>(ref));
    for (int i = 1; i <= 12; i++)  // wraps around the circular buffer
        r.insert(FeedItem{i * 10, i, uint32_t(i % 3), 0});
    EXPECT_EQ(r.size(), 8u);
    EXPECT_TRUE(r.horizon() == (ItemKey{40, 4, kRankPost}));
    EXPECT_EQ(r.erase_if([](const FeedItem &f) { return f.src == 1; }), 2u);
    std::vector<int64_t> ids;
    for (uint32_t i = 0; i < r.size(); i++)
        ids.push_back(r.at(i).id);
    EXPECT_EQ(ids, (std::vector<int64_t>{5, 6, 8, 9, 11, 12}));
    // An item older than the horizon is refused.
    EXPECT_EQ(r.insert(FeedItem{35, 99, 2, 0}), Insert::kBelowHorizon);
}

TEST(Ring, CapacitiesFillStandardBlocks) {
    // A capacity fills one of few block sizes (powers of two up to 8 kB,
    // then whole pages): bytes(cap) <= block < bytes(cap + 1).
    auto standard = [](size_t b) {
        return (b <= 8192 && (b & (b - 1)) == 0) || (b > 8192 && b % 4096 == 0);
    };
    for (uint32_t want : {1u, 5u, 9u, 10u, 100u, 300u, 339u, 340u, 799u}) {
        uint32_t cap = ring_cap_for<FeedItem>(want, 800);
        EXPECT_GE(cap, want);
        if (cap == 800)
            continue;  // the configured capacity itself
        bool fills = false;
        for (size_t b = FeedRing::bytes(cap); b < FeedRing::bytes(cap + 1); b++)
            fills = fills || standard(b);
        EXPECT_TRUE(fills) << want << " -> " << cap;
    }
    EXPECT_EQ(ring_cap_for<FeedItem>(5000, 800), 800u);
    EXPECT_EQ(ring_cap_for<AuthorItem>(3, 4), 4u);
    EXPECT_GT(ring_grown_cap<AuthorItem>(6, 1000), 6u);
}

TEST(Ring, GrowsToCapacityThenDrops) {
    TestArena ta;
    Ref ref = kNoRef;
    for (int i = 1; i <= 100; i++)
        ring_insert(ta.arena, &ref, item(i, i), 37);
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    EXPECT_EQ(r.cap(), 37u);
    EXPECT_EQ(r.size(), 37u);
    EXPECT_EQ(r.oldest().id, 64);
    EXPECT_TRUE(r.horizon() == (ItemKey{63, 63, kRankPost}));
    ring_free<AuthorItem>(ta.arena, &ref);
    EXPECT_EQ(ta.live_blocks(), 0u);
}

TEST(Ring, FullArenaDropsInsteadOfGrowing) {
    TestArena ta;
    Ref ref = kNoRef;
    ring_insert(ta.arena, &ref, item(1, 1), 1000);
    const int first_cap = int(AuthorRing(ta.arena.at<RingHdr>(ref)).cap());
    for (int i = 2; i <= first_cap; i++)
        ring_insert(ta.arena, &ref, item(i, i), 1000);
    ta.limit = ta.live_bytes();  // no room to grow
    for (int i = first_cap + 1; i <= first_cap + 6; i++)
        EXPECT_EQ(ring_insert(ta.arena, &ref, item(i, i), 1000), Insert::kAdded);
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    EXPECT_EQ(int(r.size()), first_cap);
    EXPECT_EQ(r.oldest().id, 7);
    EXPECT_TRUE(r.horizon() == (ItemKey{6, 6, kRankPost}));
    // Nothing at all fits: no ring.
    Ref none = kNoRef;
    EXPECT_EQ(ring_insert(ta.arena, &none, item(1, 1), 1000), Insert::kBelowHorizon);
    EXPECT_EQ(none, kNoRef);
}

// ------------------------------------------------------------------ pages

struct Model {
    std::vector<AuthorItem> items;  // every item of every followed author
};


TEST(TimelinePage, MergeMatchesBruteForce) {
    std::mt19937_64 rng(5);
    for (int iter = 0; iter < 400; iter++) {
        // Items of a few authors; the feed ring holds some authors' items
        // (possibly truncated), celebrity rings hold the others'.
        const uint32_t n_authors = 1 + uint32_t(rng() % 6);
        std::vector<AuthorItem> all;
        int64_t id = 1;
        for (uint32_t a = 1; a <= n_authors; a++)
            for (int k = int(rng() % 12); k > 0; k--)
                all.push_back(item(int64_t(rng() % 40), id++, a, rng() % 4 == 0 ? a + 100 : 0));
        auto src_of = [](const AuthorItem &x) { return x.reposter ? x.reposter : x.author; };
        std::set<uint32_t> followed;
        for (uint32_t a = 1; a <= n_authors; a++)
            if (rng() % 5)
                followed.insert(a), followed.insert(a + 100);
        std::set<uint32_t> celebs;
        for (uint32_t a = 1; a <= n_authors; a++)
            if (rng() % 4 == 0)
                celebs.insert(a);

        auto by_key = [](const AuthorItem &x, const AuthorItem &y) { return x.key() < y.key(); };
        std::sort(all.begin(), all.end(), by_key);
        // Feed ring: items of followed non-celebrity sources, and some
        // celebrity items fanned out before their author became one; the
        // newest cap of them.
        std::vector<FeedItem> feed;
        for (const auto &x : all)
            if (followed.count(src_of(x)) && (!celebs.count(src_of(x)) || rng() % 3 == 0))
                feed.push_back(feed_item_of(x));
        size_t cap = 1 + rng() % 20;
        ItemKey feed_h = kMinKey;
        if (feed.size() > cap) {
            feed_h = feed[feed.size() - cap - 1].key();
            feed.erase(feed.begin(), feed.end() - cap);
        }
        // Celebrity rings (followed celebrities only), possibly truncated;
        // some of their items also sit in the feed (fanned out before).
        std::vector<std::vector<AuthorItem>> crings;
        std::vector<Source<AuthorItem>> csrc;
        for (uint32_t c : celebs) {
            if (!followed.count(c))
                continue;
            std::vector<AuthorItem> ring;
            for (const auto &x : all)
                if (src_of(x) == c)
                    ring.push_back(x);
            crings.push_back(ring);
        }
        std::vector<ItemKey> chor;
        for (auto &ring : crings) {
            size_t ccap = 1 + rng() % 10;
            ItemKey h = kMinKey;
            if (ring.size() > ccap) {
                h = ring[ring.size() - ccap - 1].key();
                ring.erase(ring.begin(), ring.end() - ccap);
            }
            csrc.push_back(Source<AuthorItem>{ring.data(), ring.size(), h});
        }
        // The truth: every item whose source the viewer follows.
        std::vector<FeedItem> truth;
        for (auto it = all.rbegin(); it != all.rend(); ++it)
            if (followed.count(src_of(*it)))
                truth.push_back(feed_item_of(*it));

        ItemKey before = rng() % 3 == 0 ? kMaxKey : ItemKey{int64_t(rng() % 45), int64_t(rng() % 60)};
        size_t lim = rng() % 15;
        std::vector<PageItem> out;
        Page p = merge_page(Source<FeedItem>{feed.data(), feed.size(), feed_h}, csrc.data(),
                            csrc.size(), before, lim, &out);
        std::vector<FeedItem> want;
        for (const auto &x : truth)
            if (x.key() < before && want.size() < lim)
                want.push_back(x);
        if (p == Page::kExact) {
            ASSERT_EQ(out.size(), want.size()) << "iter " << iter;
            for (size_t i = 0; i < out.size(); i++) {
                ASSERT_TRUE(out[i].item.key() == want[i].key()) << "iter " << iter << " at " << i;
                FeedItem got = feed_item_of(out[i].item);
                ASSERT_EQ(got.src, want[i].src);
                ASSERT_EQ(got.flags, want[i].flags);
                // Only reposts from the feed ring are left for the caller
                // to resolve.
                if (!out[i].resolved) {
                    ASSERT_TRUE(want[i].flags & kItemRepost);
                }
            }
        } else {
            // Refusing is only allowed when a horizon is in the way.
            ItemKey h = feed_h;
            for (auto &c : csrc)
                if (h < c.horizon)
                    h = c.horizon;
            ASSERT_FALSE(h == kMinKey) << "iter " << iter;
        }
    }
}

const Source<AuthorItem> *const kNoAuthors = nullptr;

TEST(TimelinePage, CompleteSourcesAreExactToTheEnd) {
    std::vector<FeedItem> feed = {{1, 1, 5, 0}, {2, 2, 5, 0}, {3, 3, 6, 0}};
    std::vector<PageItem> out;
    EXPECT_EQ(merge_page(Source<FeedItem>{feed.data(), feed.size(), kMinKey}, kNoAuthors, 0, kMaxKey,
                         50, &out),
              Page::kExact);
    EXPECT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].item.id, 3);
    EXPECT_EQ(out[0].item.author, 6u);
    out.clear();
    // The same ring with a horizon: a page reaching below it is refused...
    EXPECT_EQ(merge_page(Source<FeedItem>{feed.data(), feed.size(), ItemKey{0, 9}}, kNoAuthors, 0,
                         kMaxKey, 50, &out),
              Page::kNeedsTables);
    out.clear();
    // ...a page above it is not, nor is lim 0 anywhere.
    EXPECT_EQ(merge_page(Source<FeedItem>{feed.data(), feed.size(), ItemKey{0, 9}}, kNoAuthors, 0,
                         kMaxKey, 2, &out),
              Page::kExact);
    EXPECT_EQ(out.size(), 2u);
    out.clear();
    EXPECT_EQ(merge_page(Source<FeedItem>{feed.data(), feed.size(), ItemKey{5, 0}}, kNoAuthors, 0,
                         ItemKey{1, 0}, 0, &out),
              Page::kExact);
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace dp

namespace dp {
namespace {

// The CLOCK sweep over feed rings: a ring read since the last pass keeps
// its place once (its mark is cleared), an unread one is freed; the sweep
// stops once it has freed what was asked; author rings are never touched.
TEST(FeedEviction, ClockSweepFreesUnreadRingsFirst) {
    test::TestArena ta;
    test::DirTopHolder h;
    Directory dir(ta.arena, h.top);
    std::vector<uint32_t> users;
    for (uint32_t u = 1; u <= 300; u++) {
        DirEntry *e = dir.get(u);
        ring_insert(ta.arena, &e->feed, FeedItem{1, int64_t(u), u, 0}, 800);
        ring_insert(ta.arena, &e->author, AuthorItem{1, int64_t(u), int64_t(u), u, 0}, 1000);
        users.push_back(u);
    }
    // Read: every third user.
    for (uint32_t u = 3; u <= 300; u += 3)
        ta.arena.at<RingHdr>(dir.find(u)->feed)->flags |= kRingReferenced;
    uint64_t evicted = 0, freed = 0;
    for (uint32_t s = 0; s < kStripes; s++)
        freed += sweep_feeds(ta.arena, dir, s, 0, UINT32_MAX, UINT64_MAX, &evicted);
    EXPECT_EQ(evicted, 200u);
    EXPECT_GT(freed, 0u);
    for (uint32_t u : users) {
        DirEntry *e = dir.find(u);
        EXPECT_EQ(e->feed != kNoRef, u % 3 == 0) << u;
        EXPECT_NE(e->author, kNoRef) << u;  // author rings stay
        if (e->feed != kNoRef) {
            EXPECT_FALSE(ta.arena.at<RingHdr>(e->feed)->flags & kRingReferenced);  // second chance used
        }
    }
    // The next pass frees the rest; a bounded one stops early.
    evicted = 0;
    uint64_t one = FeedRing::bytes(ta.arena.at<RingHdr>(dir.find(3)->feed)->cap);
    sweep_feeds(ta.arena, dir, 3 % kStripes, 0, UINT32_MAX, one, &evicted);
    EXPECT_EQ(evicted, 1u);
    for (uint32_t s = 0; s < kStripes; s++)
        sweep_feeds(ta.arena, dir, s, 0, UINT32_MAX, UINT64_MAX, &evicted);
    EXPECT_EQ(evicted, 100u);
    for (uint32_t u : users)
        EXPECT_EQ(dir.find(u)->feed, kNoRef);
}

}  // namespace
}  // namespace dp

namespace dp {
namespace {

// A ring read in place (ring_peek.hpp): both searches agree with the
// ring's own, for rings that wrap around their block, and a header that
// claims more than the block holds is refused.
TEST(PeekedRing, SearchesAgreeAndBoundsHold) {
    test::TestArena ta;
    std::mt19937_64 rng(9);
    for (int iter = 0; iter < 200; iter++) {
        Ref ref = kNoRef;
        uint32_t cap = 1 + uint32_t(rng() % 60);
        int n = int(rng() % 150);
        for (int i = 0; i < n; i++)
            ring_insert(ta.arena, &ref, AuthorItem{int64_t(rng() % 100), i + 1, i + 1, 7, 0}, cap);
        if (ref == kNoRef)
            continue;
        AuthorRing r(ta.arena.at<RingHdr>(ref));
        PeekedRing p;
        ASSERT_TRUE(p.open(ta.arena, ref, 1000));
        ASSERT_EQ(p.size(), r.size());
        for (int q = 0; q < 30; q++) {
            ItemKey k{int64_t(rng() % 110) - 5, int64_t(rng() % 160)};
            ASSERT_EQ(p.lower_bound(k), r.lower_bound(k));
            ASSERT_EQ(p.lower_bound_from_end(k), r.lower_bound(k));
        }
        EXPECT_FALSE(p.open(ta.arena, ref, r.cap() - 1 + (r.cap() == 1)) && r.cap() > 1);
        ring_free<AuthorItem>(ta.arena, &ref);
    }
    PeekedRing p;
    EXPECT_FALSE(p.open(ta.arena, kNoRef, 1000));
    EXPECT_FALSE(p.open(ta.arena, Ref(ta.arena.size >> 3), 1000));  // past the arena
}

}  // namespace
// Every representable (created_at, id) is an item, the sentinels included:
// -infinity / infinity created_at, the smallest and largest ids, and a post
// and a repost that share both. None is taken for "no horizon" or "no
// cursor", and a cursor excludes exactly the items at its (ts, id).
TEST(Ring, ExtremeKeysAreItems) {
    constexpr int64_t kLo = std::numeric_limits<int64_t>::min();
    constexpr int64_t kHi = std::numeric_limits<int64_t>::max();
    TestArena arena(1 << 16);
    Ref ref = kNoRef;
    std::vector<AuthorItem> items = {item(kLo, kLo), item(kLo, kLo + 1), item(0, 5),
                                     item(0, 5, 7, 9),  // a repost sharing the post's key
                                     item(kHi, kHi - 1), item(kHi, kHi), item(kHi, kHi, 7, 9)};
    for (const AuthorItem &it : items)
        ASSERT_EQ(ring_insert(arena.arena, &ref, it, 64), Insert::kAdded);
    AuthorRing r(arena.arena.at<RingHdr>(ref));
    ASSERT_EQ(r.size(), items.size());
    EXPECT_TRUE(r.horizon() == kMinKey);
    for (uint32_t i = 0; i + 1 < r.size(); i++)
        EXPECT_TRUE(r.at(i).key() < r.at(i + 1).key());
    EXPECT_TRUE(kMinKey < r.oldest().key());
    EXPECT_TRUE(r.newest().key() < kMaxKey);
    // No cursor: everything; cursor (infinity, max id): neither item at it.
    std::vector<AuthorItem> out;
    EXPECT_EQ(copy_below(r, kMaxKey, 100, &out), items.size());
    out.clear();
    EXPECT_EQ(copy_below(r, ItemKey{kHi, kHi}, 100, &out), items.size() - 2);
    out.clear();
    // Cursor (-infinity, min id): nothing is below it.
    EXPECT_EQ(copy_below(r, ItemKey{kLo, kLo}, 100, &out), 0u);
    // Cursor (0, 5): both items at (0, 5) are excluded, those below stay.
    out.clear();
    EXPECT_EQ(copy_below(r, ItemKey{0, 5}, 100, &out), 2u);
    // Erasing one of two items that share (ts, id) keeps the other.
    EXPECT_TRUE(r.erase(item(0, 5).key()));
    EXPECT_TRUE(r.find(item(0, 5, 7, 9).key()) != nullptr);
    EXPECT_TRUE(r.find(item(0, 5).key()) == nullptr);
}

}  // namespace dp
