// ModerationReader (moderation_read.hpp) against a brute-force model: random
// follows, blocks, mutes, list items, list subscriptions and inactive
// accounts, applied through the commit path (net_side_changes, then
// apply_stripe per stripe) in random transactions with inserts and deletes;
// after each, every viewer's relations to every account (and to uids of no
// account) must be the model's, bit by bit, for every `want` mask asked.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "graph_apply.hpp"
#include "index_env.hpp"
#include "moderation_read.hpp"
#include "timeline_filter.hpp"
#include "test_util.hpp"

namespace dp::test {
namespace {

struct World {
    TestArena ta;
    DirTopHolder users, mods, lists;
    Directory dir{ta.arena, users.top};
    ModDirectory mod_dir{ta.arena, mods.top};
    ModDirectory list_dir{ta.arena, lists.top};
    RoaringViews views;
    LwwTable lww[kStripes] = {};
    IndexEnv env;
    std::set<std::tuple<uint8_t, uint32_t, uint32_t>> rows;  // (rel, owner, other)

    World() {
        env.arena = &ta.arena;
        env.dir = &dir;
        env.mod_dir = &mod_dir;
        env.list_dir = &list_dir;
        env.views = &views;
        env.edge_lww = lww;
    }

    void commit(const std::vector<RawEdge> &raw, uint64_t lsn) {
        for (const RawEdge &e : raw) {
            auto key = std::make_tuple(e.rel, e.follower, e.followee);
            if (e.op == kInsert)
                rows.insert(key);
            else
                rows.erase(key);
        }
        std::vector<SideChange> v = net_side_changes(raw.data(), raw.size());
        std::vector<size_t> starts = stripe_starts(v);
        for (uint32_t s = 0; s < kStripes; s++) {
            StripeApply a{&ta.arena, &dir, &lww[s], &views, lsn, nullptr, &mod_dir, &list_dir};
            ApplyResult r;
            apply_stripe(a, v.data() + starts[s], starts[s + 1] - starts[s], &r);
            ASSERT_EQ(r.invalidated, 0u);
        }
    }

    bool has(uint8_t rel, uint32_t owner, uint32_t other) const {
        return rows.count(std::make_tuple(rel, owner, other)) > 0;
    }

    // The relations of v to x, as DESIGN.md defines them over the tables.
    uint16_t model(uint32_t v, uint32_t x, uint32_t n_lists) const {
        uint16_t b = 0;
        if (has(kRelFollow, v, x)) b |= kFollowing;
        if (has(kRelFollow, x, v)) b |= kFollowedBy;
        if (has(kRelBlock, v, x)) b |= kBlocking;
        if (has(kRelBlock, x, v)) b |= kBlockedBy;
        if (has(kRelMute, v, x)) b |= kMuting;
        if (has(kRelInactive, x, 1)) b |= kInactiveBit;
        for (uint32_t l = 1; l <= n_lists; l++) {
            if (has(kRelListBlock, v, l) && has(kRelListItem, l, x)) b |= kBlockingByList;
            if (has(kRelListBlock, x, l) && has(kRelListItem, l, v)) b |= kBlockedByList;
            if (has(kRelListMute, v, l) && has(kRelListItem, l, x)) b |= kMutingByList;
        }
        return b;
    }
};

// A random edge of a random relation over uids 1..n_users, lists 1..n_lists.
RawEdge random_edge(std::mt19937_64 &rng, uint32_t n_users, uint32_t n_lists) {
    uint8_t rel = uint8_t(rng() % kNumRels);
    uint32_t a = 1 + uint32_t(rng() % n_users), b = 1 + uint32_t(rng() % n_users);
    uint32_t l = 1 + uint32_t(rng() % n_lists);
    switch (rel) {
        case kRelListBlock:
        case kRelListMute: return RawEdge{a, l, kInsert, rel};
        case kRelListItem: return RawEdge{l, b, kInsert, rel};
        case kRelInactive: return RawEdge{a, 1, kInsert, rel};
        default: return RawEdge{a, b, kInsert, rel};
    }
}

TEST(ModerationRead, MatchesTheModel) {
    for (uint64_t seed : test::seeds(1, 6)) {
        std::mt19937_64 rng(seed);
        World w;
        const uint32_t n_users = 30 + uint32_t(seed * 7), n_lists = 5;
        ModerationReader reader;
        std::vector<uint32_t> xs;
        for (uint32_t x = 0; x <= n_users + 2; x++)  // 0 and uids of no account too
            xs.push_back(x);
        std::vector<uint16_t> bits(xs.size());
        for (int t = 0; t < 40; t++) {
            std::vector<RawEdge> raw;
            size_t n = 1 + rng() % 30;
            for (size_t i = 0; i < n; i++) {
                RawEdge e = random_edge(rng, n_users, n_lists);
                if (rng() % 3 == 0 && !w.rows.empty()) {
                    // Delete an existing row.
                    auto it = w.rows.begin();
                    std::advance(it, rng() % w.rows.size());
                    e = RawEdge{std::get<1>(*it), std::get<2>(*it), kDelete, std::get<0>(*it)};
                }
                raw.push_back(e);
            }
            w.commit(raw, uint64_t(t + 1));
            for (uint32_t v = 0; v <= n_users + 1; v++) {
                uint16_t want = t % 3 == 0 ? kAllRelations : t % 3 == 1 ? kHiddenMask : kBlockedMask;
                // The reader's bits for these accounts against the model's.
                auto check = [&](const std::vector<uint32_t> &accounts, std::vector<uint16_t> *out) {
                    ASSERT_EQ(reader.relations(w.env, v, accounts.data(), accounts.size(), want,
                                               out->data()),
                              Read::kOk);
                    for (size_t i = 0; i < accounts.size(); i++) {
                        uint16_t m = v == 0
                                         ? uint16_t(w.model(v, accounts[i], n_lists) & kInactiveBit)
                                         : w.model(v, accounts[i], n_lists);
                        ASSERT_EQ((*out)[i] & want, m & want) << "seed " << seed << " txn " << t
                                                              << " viewer " << v << " x "
                                                              << accounts[i] << " of "
                                                              << accounts.size();
                    }
                };
                check(xs, &bits);
                if (HasFatalFailure())
                    return;
                // A few accounts, unsorted and repeated (as a page names
                // them): most sets are then many times larger than the
                // accounts and are asked about them in a batch.
                std::vector<uint32_t> few;
                for (size_t i = 0, k = 1 + rng() % 4; i < k; i++) {
                    uint32_t x = uint32_t(rng() % (n_users + 3));
                    few.push_back(x);
                    if (rng() % 2)
                        few.push_back(x);
                }
                std::shuffle(few.begin(), few.end(), rng);
                std::vector<uint16_t> few_bits(few.size());
                check(few, &few_bits);
                if (HasFatalFailure())
                    return;
            }
        }
    }
}

// A viewer on many lists (more than ModerationReader answers from the
// lists' side): whether each x list-blocks one of them is read from the
// x's side. Against the model, while list items and list blocks come and go.
TEST(ModerationRead, ViewerOnManyLists) {
    std::mt19937_64 rng(77);
    World w;
    const uint32_t n_users = 30, n_lists = 50;
    std::vector<RawEdge> raw;
    for (uint32_t l = 1; l <= 45; l++)
        raw.push_back(RawEdge{l, 1, kInsert, kRelListItem});  // viewer 1 is on 45 lists
    w.commit(raw, 1);
    ModerationReader reader;
    std::vector<uint32_t> xs;
    for (uint32_t x = 0; x <= n_users + 2; x++)
        xs.push_back(x);
    std::vector<uint16_t> bits(xs.size());
    for (int t = 0; t < 60; t++) {
        raw.clear();
        for (int i = 0; i < 20; i++) {
            uint32_t a = 1 + uint32_t(rng() % n_users), l = 1 + uint32_t(rng() % n_lists);
            uint8_t op = rng() % 3 == 0 ? kDelete : kInsert;
            raw.push_back(rng() % 4 == 0 ? RawEdge{l, a, op, kRelListItem}
                                         : RawEdge{a, l, op, kRelListBlock});
        }
        w.commit(raw, uint64_t(t + 2));
        for (uint32_t v : {1u, 2u, 3u}) {
            ASSERT_EQ(reader.relations(w.env, v, xs.data(), xs.size(), kAllRelations, bits.data()),
                      Read::kOk);
            for (size_t i = 0; i < xs.size(); i++)
                ASSERT_EQ(bits[i], w.model(v, xs[i], n_lists))
                    << "txn " << t << " viewer " << v << " x " << xs[i];
        }
    }
}

// ItemFilter (what a timeline page keeps) against DESIGN.md's rules over
// the model's relations: random items naming random authors, reposters,
// parents and roots (repeated, as on a page), every switch combination.
// n_users accounts; `dense`: every viewer follows most of them and the
// batches are small, so that the viewer's follow set is probed account by
// account (relations()' `wants`) rather than merged with the batch.
void item_filter_matches_the_rules(uint64_t seed_lo, uint64_t seed_hi, uint32_t n_users, bool dense) {
    for (uint64_t seed : test::seeds(seed_lo, seed_hi)) {
        std::mt19937_64 rng(seed);
        World w;
        const uint32_t n_lists = 4;
        std::vector<RawEdge> raw;
        for (uint32_t i = 0; i < 10 * n_users; i++)
            raw.push_back(random_edge(rng, n_users, n_lists));
        if (dense)
            for (uint32_t a = 1; a <= n_users; a++)
                for (uint32_t b = 1; b <= n_users; b++)
                    if (rng() % 4 != 0)
                        raw.push_back(RawEdge{a, b, kInsert, kRelFollow});
        w.commit(raw, 1);
        ItemFilter filter;
        for (int round = 0; round < 200; round++) {
            uint32_t v = uint32_t(rng() % (n_users + 1));  // 0: no viewer
            std::vector<PageItem> items(1 + rng() % (dense ? 60 : 300));
            for (PageItem &pi : items) {
                AuthorItem &it = pi.item;
                it = AuthorItem{};
                it.author = 1 + uint32_t(rng() % (n_users + 2));  // and uids of no account
                it.reposter = rng() % 3 == 0 ? 1 + uint32_t(rng() % n_users) : 0;
                if (rng() % 2 == 0) {
                    it.parent = 1 + uint32_t(rng() % n_users);
                    it.root = rng() % 2 ? it.parent : 1 + uint32_t(rng() % n_users);
                }
                it.attrs = (rng() % 4 == 0 ? kAttrQuote : 0) | uint32_t(rng() % 4) << kAttrMediaShift;
            }
            TimelineFilter f;
            f.viewer = v;
            f.moderate = rng() % 4 != 0;
            f.replies = Replies(rng() % 3);
            f.reposts = rng() % 3 != 0;
            f.quotes = rng() % 3 != 0;
            f.author = rng() % 2 ? AuthorFilter::kPostsWithReplies : AuthorFilter(rng() % 5);
            auto rel = [&](uint32_t x) {
                uint16_t m = w.model(v, x, n_lists);
                return v == 0 ? uint16_t(m & kInactiveBit) : m;
            };
            // The items in up to three batches of one read (prepare's
            // `more`: the relations of accounts named by an earlier batch
            // are kept, those of new ones read).
            size_t cut1 = rng() % (items.size() + 1), cut2 = rng() % (items.size() + 1);
            if (cut1 > cut2)
                std::swap(cut1, cut2);
            const size_t bounds[] = {0, cut1, cut2, items.size()};
            for (int b = 0; b < 3; b++) {
                const size_t lo = bounds[b], hi = bounds[b + 1];
                ASSERT_EQ(filter.prepare(w.env, f, items.data() + lo, hi - lo, b > 0), Read::kOk);
                for (size_t i = lo; i < hi; i++) {
                    const AuthorItem &t = items[i].item;
                    bool repost = t.reposter != 0, reply = t.parent != 0;
                    bool keep = true;
                    if (f.moderate && ((rel(t.author) & kHiddenMask) ||
                                       (repost && (rel(t.reposter) & kHiddenMask)) ||
                                       (reply && ((rel(t.parent) & kBlockedMask) ||
                                                  (rel(t.root) & kBlockedMask)))))
                        keep = false;
                    if (!f.reposts && repost)
                        keep = false;
                    if (!f.quotes && (t.attrs & kAttrQuote))
                        keep = false;
                    if (f.replies != Replies::kAll && reply && !repost) {
                        auto in_src = [&](uint32_t x) {
                            return x == t.author || x == v || (rel(x) & kFollowing);
                        };
                        if (f.replies == Replies::kNone || !in_src(t.parent) || !in_src(t.root))
                            keep = false;
                    }
                    switch (f.author) {  // get_author_feed's filter
                        case AuthorFilter::kPostsWithReplies: break;
                        case AuthorFilter::kPostsNoReplies: keep = keep && (repost || !reply); break;
                        case AuthorFilter::kPostsWithMedia:
                        case AuthorFilter::kPostsWithVideo:
                            keep = keep && !repost &&
                                   media_of(t.attrs) == (f.author == AuthorFilter::kPostsWithMedia
                                                              ? kMediaImages
                                                              : kMediaVideo);
                            break;
                        case AuthorFilter::kPostsAndAuthorThreads:
                            keep = keep && (repost || !reply || t.root == t.author);
                            break;
                    }
                    ASSERT_EQ(filter.keep(f, i - lo), keep)
                        << "seed " << seed << " round " << round << " viewer " << v << " author "
                        << t.author << " reposter " << t.reposter << " parent " << t.parent;
                }
            }
        }
    }
}

TEST(ModerationRead, ItemFilterMatchesTheRules) { item_filter_matches_the_rules(11, 14, 40, false); }

TEST(ModerationRead, ItemFilterMatchesTheRulesBigFollowSets) {
    item_filter_matches_the_rules(21, 23, 400, true);
}

// Large lists (Roaring bitmaps) and many subscriptions.
TEST(ModerationRead, LargeLists) {
    World w;
    std::vector<RawEdge> raw;
    for (uint32_t s = 1; s <= 100000; s += 1 + s % 3)
        raw.push_back(RawEdge{1, s, kInsert, kRelListItem});
    for (uint32_t s = 5; s <= 20000; s += 7)
        raw.push_back(RawEdge{2, s, kInsert, kRelListItem});
    raw.push_back(RawEdge{10, 1, kInsert, kRelListBlock});
    raw.push_back(RawEdge{10, 2, kInsert, kRelListMute});
    raw.push_back(RawEdge{77, 1, kInsert, kRelListBlock});
    w.commit(raw, 1);
    std::vector<uint32_t> xs = {1, 2, 3, 5, 12, 77, 19999, 99999, 100000};
    std::vector<uint16_t> bits(xs.size());
    ModerationReader reader;
    ASSERT_EQ(reader.relations(w.env, 10, xs.data(), xs.size(), kAllRelations, bits.data()),
              Read::kOk);
    for (size_t i = 0; i < xs.size(); i++)
        EXPECT_EQ(bits[i], w.model(10, xs[i], 2)) << "x " << xs[i];
}

}  // namespace
}  // namespace dp::test
