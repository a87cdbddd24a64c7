// The timeline write and read paths against the contract, in one process:
// random transactions (follows, unfollows, posts, reposts, deletions with
// their cascades, updates that move an item, truncates, actor deletions)
// commit against a model of the tables, and are applied to the index step
// by step with their commit LSN, several at once in random interleavings,
// as concurrent commit callbacks may run. Feed rings are built and evicted
// at random moments, also while commits are half applied. Whenever no
// commit is pending, timelines and author feeds read from the index must be
// exactly the reference query of DESIGN.md evaluated on the model (or
// decline, for pages beyond the rings' horizons). With moderation, blocks,
// mutes and inactive accounts change in the same transactions, posts are
// replies and quotes, and filtered pages (the viewer's blocks and mutes,
// the replies / reposts / quotes switches, the author feed's filters) must
// be DESIGN.md's second-part reference query on the model, each read twice
// (the second with the first cut sized by the first's hint).
//
// The lock callbacks check the lock order every caller must keep: stripes
// ascending, the celebrity lock last, nothing taken twice.
#include <gtest/gtest.h>

#include <algorithm>
#include <bitset>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "commit_apply.hpp"
#include "edge_batch.hpp"
#include "feed_build.hpp"
#include "item_batch.hpp"
#include "ring_ops.hpp"
#include "set_read.hpp"
#include "test_util.hpp"
#include "timeline_read.hpp"

namespace dp {
namespace {

using test::DirTopHolder;
using test::seeds;
using test::TestArena;

// ------------------------------------------------------------ the model

struct Post {
    uint32_t author;
    int64_t ts;
    uint32_t parent = 0, root = 0;  // reply authors (0: not a reply)
    uint32_t attrs = 0;             // kAttrQuote | media << kAttrMediaShift
};
struct Repost {
    uint32_t reposter;
    int64_t post_id;
    int64_t ts;
};

struct Model {
    std::set<std::pair<uint32_t, uint32_t>> follows;
    std::map<int64_t, Post> posts;
    std::map<int64_t, Repost> reposts;
    std::set<std::pair<uint32_t, uint32_t>> blocks, mutes;  // (blocker, blocked), (muter, muted)
    std::set<uint32_t> inactive;

    AuthorItem post_item(int64_t id) const {
        const Post &p = posts.at(id);
        return AuthorItem{p.ts, id, id, p.author, 0, p.parent, p.root, p.attrs};
    }
    AuthorItem repost_item(int64_t id) const {
        const Repost &r = reposts.at(id);
        const Post &p = posts.at(r.post_id);
        return AuthorItem{r.ts, id, r.post_id, p.author, r.reposter, p.parent, p.root, p.attrs};
    }

    // DESIGN.md's second part: does the page show t (viewer f.viewer,
    // moderated when f.moderate)?
    bool shows(const TimelineFilter &f, const AuthorItem &t) const {
        uint32_t v = f.viewer;
        auto blocked = [&](uint32_t x) { return blocks.count({v, x}) || blocks.count({x, v}); };
        auto hidden = [&](uint32_t x) {
            return blocked(x) || mutes.count({v, x}) || inactive.count(x);
        };
        bool repost = t.reposter != 0, reply = t.parent != 0;
        if (f.moderate && (hidden(t.author) || (repost && hidden(t.reposter)) ||
                           (reply && (blocked(t.parent) || blocked(t.root)))))
            return false;
        if (!f.reposts && repost)
            return false;
        if (!f.quotes && (t.attrs & kAttrQuote))
            return false;
        if (f.replies != Replies::kAll && reply && !repost) {
            auto in_src = [&](uint32_t x) { return x == t.author || x == v || follows.count({v, x}); };
            if (f.replies == Replies::kNone || !in_src(t.parent) || !in_src(t.root))
                return false;
        }
        // The author feed's filter, as the reference query's conditions.
        const AuthorFilter a = f.author;
        const uint32_t media = media_of(t.attrs);
        return (a != AuthorFilter::kPostsNoReplies || repost || !reply) &&
               (a != AuthorFilter::kPostsWithMedia || (!repost && media == kMediaImages)) &&
               (a != AuthorFilter::kPostsWithVideo || (!repost && media == kMediaVideo)) &&
               (a != AuthorFilter::kPostsAndAuthorThreads || repost || !reply || t.root == t.author);
    }
    std::vector<AuthorItem> filtered(const std::vector<AuthorItem> &all, const TimelineFilter &f,
                                     size_t lim) const {
        std::vector<AuthorItem> out;
        for (const AuthorItem &t : all)
            if (out.size() < lim && shows(f, t))
                out.push_back(t);
        return out;
    }

    // The reference query: items of src, key < before, newest lim.
    std::vector<AuthorItem> page(const std::set<uint32_t> &src, ItemKey before, size_t lim) const {
        std::vector<AuthorItem> all;
        for (const auto &[id, p] : posts)
            if (src.count(p.author))
                all.push_back(post_item(id));
        for (const auto &[id, r] : reposts)
            if (src.count(r.reposter))
                all.push_back(repost_item(id));
        std::sort(all.begin(), all.end(),
                  [](const AuthorItem &a, const AuthorItem &b) { return b.key() < a.key(); });
        std::vector<AuthorItem> out;
        for (const auto &it : all)
            if (it.key() < before && out.size() < lim)
                out.push_back(it);
        return out;
    }
    std::set<uint32_t> sources(uint32_t v) const {
        std::set<uint32_t> src{v};
        for (const auto &[a, b] : follows)
            if (a == v)
                src.insert(b);
        return src;
    }
    std::vector<AuthorItem> timeline(uint32_t v, ItemKey before, size_t lim) const {
        return page(sources(v), before, lim);
    }
    std::vector<AuthorItem> author_feed(uint32_t a, ItemKey before, size_t lim) const {
        return page({a}, before, lim);
    }
};

// ------------------------------------------------- the host, single process

struct Txn;

// The core's host (host.hpp) in one process: memory from a TestArena, the
// lock discipline checked, and the pending-key filter of every announced
// transaction, with the one being applied.
struct SimHost final : Host {
    TestArena ta;
    Arena arena;
    DirTopHolder top, mods, lists;
    Directory dir{arena, top.top};
    ModDirectory mod_dir{arena, mods.top};
    ModDirectory list_dir{arena, lists.top};
    RoaringViews views;
    std::vector<LwwTable> edge_lww = std::vector<LwwTable>(kStripes);
    std::vector<ItemLwwTable> item_lww = std::vector<ItemLwwTable>(kStripes);
    SetRef celebs;
    uint64_t unfollows_started = 0, unfollows_finished = 0;
    uint32_t edge_pending[kStripes][kBuckets] = {};
    uint32_t item_pending[kItemBuckets] = {};
    uint32_t item_generations[kItemGenerations] = {};
    IndexEnv env;
    Txn *applying = nullptr;

    // Lock discipline.
    std::vector<uint32_t> held;
    bool celeb_held = false;
    bool all_held = false;  // a feed build holds every stripe

    SimHost(uint32_t author_cap, uint32_t feed_cap, uint64_t fanout_limit) {
        arena = ta.arena;
        arena.host = this;
        env.arena = &arena;
        env.dir = &dir;
        env.mod_dir = &mod_dir;
        env.list_dir = &list_dir;
        env.views = &views;
        env.edge_lww = edge_lww.data();
        env.item_lww = item_lww.data();
        env.celebs = &celebs;
        env.unfollows_started = &unfollows_started;
        env.unfollows_finished = &unfollows_finished;
        env.author_cap = author_cap;
        env.feed_cap = feed_cap;
        env.fanout_limit = fanout_limit;
        held.reserve(kStripes);  // lock() is noexcept: it must not allocate
    }
    virtual ~SimHost() = default;

    // The arena never throws (a DSA area answers "full"): keep injected
    // failures out of the TestArena's bookkeeping.
    uint64_t alloc(size_t size) noexcept override {
        test::NewFailure::pause();
        uint64_t off = ta.alloc(size);
        test::NewFailure::resume();
        return off;
    }
    void free(uint64_t off, size_t size) noexcept override {
        test::NewFailure::pause();
        ta.free(off, size);
        test::NewFailure::resume();
    }
    void lock(uint32_t s, bool) noexcept override {
        EXPECT_FALSE(celeb_held) << "stripe lock taken under the celebrity lock";
        EXPECT_FALSE(all_held);
        EXPECT_TRUE(held.empty() || held.back() < s) << "stripe " << s << " out of order";
        held.push_back(s);
    }
    void unlock(uint32_t s) noexcept override {
        auto it = std::find(held.begin(), held.end(), s);
        EXPECT_TRUE(it != held.end());
        if (it != held.end())
            held.erase(it);
    }
    void lock_celebs(bool) noexcept override {
        EXPECT_FALSE(celeb_held);
        celeb_held = true;
    }
    void unlock_celebs() noexcept override { celeb_held = false; }
    bool edge_others_pending(uint32_t o, uint32_t x, uint8_t sd) noexcept override;
    bool edge_any_pending(uint32_t o, uint32_t x, uint8_t sd) noexcept override {
        return edge_pending[stripe_of(o)][bucket_of(o, x, sd)] > 0;
    }
    bool item_others_pending(uint32_t b) noexcept override;
    bool item_any_pending(uint32_t b) noexcept override { return item_pending[b] > 0; }
    void item_changed(uint32_t slot) noexcept override { item_generations[slot]++; }
    uint32_t item_generation(uint32_t slot) noexcept override { return item_generations[slot]; }
    void edge_stripe_released(uint32_t s) noexcept override;

    bool quiet() const { return held.empty() && !celeb_held; }
};

// One committed transaction, being applied.
struct Txn {
    SimHost *h = nullptr;
    std::vector<RawEdge> raw_edges;  // op kTruncate = 2 for a TRUNCATE
    std::vector<RawItem> raw_items;
    CommitWork work;
    CommitApply apply;
    std::bitset<kStripes * kBuckets> edge_bits;
    std::bitset<kItemBuckets> item_bits;
    bool exclusive = false;  // a TRUNCATE: applied alone

    void prepare(uint64_t lsn) {
        work.clear();
        work.lsn = lsn;
        work.edges = net_side_changes(raw_edges.data(), raw_edges.size(), &work.truncated);
        work.items = net_item_changes(raw_items.data(), raw_items.size());
        work.index();
        for (const auto &c : work.edges)
            edge_bits.set(c.stripe() * kBuckets + c.bucket());
        for (const auto &c : work.items.changes)
            item_bits.set(item_bucket(c.item.id, c.kind));
        // PRE_COMMIT: announce.
        for (size_t b = 0; b < edge_bits.size(); b++)
            if (edge_bits.test(b))
                h->edge_pending[b / kBuckets][b % kBuckets]++;
        for (size_t b = 0; b < item_bits.size(); b++)
            if (item_bits.test(b))
                h->item_pending[b]++;
        apply.begin(&work);
    }
    // COMMIT: one step; true once done (and the bits withdrawn).
    bool step() {
        h->applying = this;
        bool more = apply.step(h->env);
        h->applying = nullptr;
        if (more)
            return false;
        for (uint32_t s = 0; s < kStripes; s++)
            release_stripe(s);
        for (size_t b = 0; b < item_bits.size(); b++)
            if (item_bits.test(b)) {
                h->item_pending[b]--;
                item_bits.reset(b);
            }
        return true;
    }
    void release_stripe(uint32_t s) {
        for (uint32_t b = 0; b < kBuckets; b++)
            if (edge_bits.test(s * kBuckets + b)) {
                h->edge_pending[s][b]--;
                edge_bits.reset(s * kBuckets + b);
            }
    }
};

bool SimHost::edge_others_pending(uint32_t o, uint32_t x, uint8_t sd) noexcept {
    uint32_t s = stripe_of(o), b = bucket_of(o, x, sd);
    bool mine = applying != nullptr && applying->edge_bits.test(s * kBuckets + b);
    return edge_pending[s][b] > (mine ? 1u : 0u);
}

bool SimHost::item_others_pending(uint32_t b) noexcept {
    bool mine = applying != nullptr && applying->item_bits.test(b);
    return item_pending[b] > (mine ? 1u : 0u);
}

void SimHost::edge_stripe_released(uint32_t s) noexcept {
    if (applying != nullptr)
        applying->release_stripe(s);
}

// ----------------------------------------------------------- the driver

struct Params {
    uint32_t users;
    uint32_t author_cap, feed_cap;
    uint64_t fanout_limit;
    int steps;
    uint64_t seed;
    bool expect_no_fallback;  // capacities large enough for every page
    size_t arena_limit = SIZE_MAX;
    bool moderation = false;  // blocks, mutes, inactive accounts, replies; filtered pages
};

class Sim {
  public:
    explicit Sim(const Params &p)
        : p_(p), host_(p.author_cap, p.feed_cap, p.fanout_limit), rng_(p.seed) {
        host_.ta.limit = p.arena_limit;
    }

    void run() {
        for (int step = 0; step < p_.steps && !::testing::Test::HasFatalFailure(); step++) {
            int r = int(rng_() % 100);
            if (r < 30 && pending_.size() < max_pending_ && !(pending_.size() == 1 && pending_[0]->exclusive))
                commit_new();
            else if (r < 75 && !pending_.empty())
                step_pending();
            else if (r < 82)
                build_random_feed();
            else if (r < 85)
                evict_random();
            else if (pending_.empty())
                check_reads();
        }
        while (!pending_.empty() && !::testing::Test::HasFatalFailure())
            step_pending();
        check_reads();
        check_all();
    }

    uint64_t fallbacks = 0, exact = 0, builds = 0, nomem_builds = 0, fanin_reads = 0, regrows = 0;
    uint64_t partial_reads = 0;  // kHorizon with an exact prefix, checked with the rest
    uint64_t split_rests = 0;    // ... whose rest came partly from complete rings
    uint64_t filtered_exact = 0, filtered_partial = 0;  // filtered pages checked
    TimelineStats totals;
    void report() const {
        printf("  seed %llu: exact %llu, fallbacks %llu, builds %llu, fan-out %llu, backfills %llu, "
               "promotions %llu, stale %llu, feeds dropped %llu, rings lost %llu, no-mem builds %llu, fan-in reads %llu, regrown rings %llu, filtered %llu + %llu\n",
               (unsigned long long) p_.seed, (unsigned long long) exact, (unsigned long long) fallbacks,
               (unsigned long long) builds, (unsigned long long) totals.fanout,
               (unsigned long long) totals.backfills, (unsigned long long) totals.promotions,
               (unsigned long long) totals.items_stale, (unsigned long long) totals.feeds_dropped,
               (unsigned long long) totals.rings_lost, (unsigned long long) nomem_builds,
               (unsigned long long) fanin_reads, (unsigned long long) regrows,
               (unsigned long long) filtered_exact, (unsigned long long) filtered_partial);
    }

  private:
    uint32_t user() { return 1 + uint32_t(rng_() % p_.users); }
    int64_t ts() {
        // A moving clock with some items from the past, and ties.
        clock_ += int64_t(rng_() % 3);
        return rng_() % 8 == 0 ? clock_ - int64_t(rng_() % 200) : clock_;
    }

    // ---------------------------------------------------- transactions

    void op(Txn &t) {
        if (p_.moderation && rng_() % 6 == 0) {
            moderation_op(t);
            return;
        }
        int r = int(rng_() % 100);
        Model &m = model_;
        if (r < 28) {  // follow (popular accounts more often)
            uint32_t a = user(), b = rng_() % 2 ? 1 + uint32_t(rng_() % 4) : user();
            if (rng_() % 20 != 0 && a == b)
                return;
            if (m.follows.insert({a, b}).second)
                t.raw_edges.push_back(RawEdge{a, b, kInsert});
        } else if (r < 40) {  // unfollow
            if (m.follows.empty())
                return;
            auto it = std::next(m.follows.begin(), long(rng_() % m.follows.size()));
            t.raw_edges.push_back(RawEdge{it->first, it->second, kDelete});
            m.follows.erase(it);
        } else if (r < 70) {  // post
            int64_t id = next_id_++;
            uint32_t a = rng_() % 3 ? 1 + uint32_t(rng_() % 4) : user();
            m.posts[id] = Post{a, ts()};
            if (p_.moderation) {
                Post &p = m.posts[id];
                if (rng_() % 3 == 0) {  // a reply: sometimes in the author's own thread
                    p.parent = rng_() % 3 == 0 ? a : user();
                    p.root = rng_() % 2 ? p.parent : rng_() % 2 ? a : user();
                }
                p.attrs = uint32_t(rng_() % 4 == 0) | uint32_t(rng_() % 4) << kAttrMediaShift;
            }
            t.raw_items.push_back(RawItem{m.post_item(id), kInsert, kPost});
        } else if (r < 78) {  // delete a post, and its reposts with it
            if (m.posts.empty())
                return;
            auto it = std::next(m.posts.begin(), long(rng_() % m.posts.size()));
            delete_post(t, it->first);
        } else if (r < 88) {  // repost
            if (m.posts.empty())
                return;
            int64_t pid = std::next(m.posts.begin(), long(rng_() % m.posts.size()))->first;
            uint32_t r2 = user();
            for (const auto &[id, rp] : m.reposts)
                if (rp.reposter == r2 && rp.post_id == pid)
                    return;  // unique (reposter, post_id)
            int64_t id = next_id_++;
            m.reposts[id] = Repost{r2, pid, ts()};
            t.raw_items.push_back(RawItem{m.repost_item(id), kInsert, kRepost});
        } else if (r < 92) {  // delete a repost
            if (m.reposts.empty())
                return;
            auto it = std::next(m.reposts.begin(), long(rng_() % m.reposts.size()));
            t.raw_items.push_back(RawItem{m.repost_item(it->first), kDelete, kRepost});
            m.reposts.erase(it);
        } else if (r < 95) {  // UPDATE post: a new created_at, sometimes a new author
            if (m.posts.empty())
                return;
            int64_t id = std::next(m.posts.begin(), long(rng_() % m.posts.size()))->first;
            std::vector<int64_t> deps;
            for (const auto &[rid, rp] : m.reposts)
                if (rp.post_id == id)
                    deps.push_back(rid);
            t.raw_items.push_back(RawItem{m.post_item(id), kDelete, kPost});
            m.posts[id].ts = ts();
            if (rng_() % 2)  // often between popular accounts, whom many follow
                m.posts[id].author = rng_() % 2 ? 1 + uint32_t(rng_() % 4) : user();
            if (rng_() % 3 == 0)
                m.posts[id].ts = t.raw_items.back().item.ts;  // same time: same key
            t.raw_items.push_back(RawItem{m.post_item(id), kInsert, kPost});
            // The capture re-queues the post's reposts with its new author.
            for (int64_t rid : deps) {
                AuthorItem old = m.repost_item(rid);
                old.author = 0;
                t.raw_items.push_back(RawItem{old, kDelete, kRepost});
                t.raw_items.push_back(RawItem{m.repost_item(rid), kInsert, kRepost});
            }
        } else if (r < 97) {  // UPDATE repost: repost another post
            if (m.reposts.empty() || m.posts.empty())
                return;
            int64_t id = std::next(m.reposts.begin(), long(rng_() % m.reposts.size()))->first;
            int64_t pid = std::next(m.posts.begin(), long(rng_() % m.posts.size()))->first;
            for (const auto &[rid, rp] : m.reposts)
                if (rp.reposter == m.reposts[id].reposter && rp.post_id == pid)
                    return;
            t.raw_items.push_back(RawItem{m.repost_item(id), kDelete, kRepost});
            m.reposts[id].post_id = pid;
            t.raw_items.push_back(RawItem{m.repost_item(id), kInsert, kRepost});
        } else if (r < 99) {  // delete an actor: every row that references it
            delete_actor(t, user());
        } else if (pending_.empty()) {  // TRUNCATE repost, or follow
            // TRUNCATE waits for every transaction on its table to end (and
            // their commit callbacks run before their locks go), and later
            // ones wait for it: it never overlaps another apply.
            t.exclusive = true;
            if (rng_() % 2) {
                m.reposts.clear();
                t.raw_items.push_back(RawItem{AuthorItem{}, kItemTruncate, kRepost});
            } else {
                m.follows.clear();
                t.raw_edges.push_back(RawEdge{0, 0, 2});
            }
        }
    }

    // A block or unblock, a mute or unmute, an account (de)activated.
    void moderation_op(Txn &t) {
        Model &m = model_;
        uint32_t a = user(), b = rng_() % 2 ? 1 + uint32_t(rng_() % 4) : user();
        int r = int(rng_() % 10);
        if (r < 4 || r >= 8) {
            bool block = r < 4;
            auto &rows = block ? m.blocks : m.mutes;
            uint8_t rel = block ? kRelBlock : kRelMute;
            if (a == b)
                return;
            if (rows.insert({a, b}).second) {
                t.raw_edges.push_back(RawEdge{a, b, kInsert, rel});
            } else {
                rows.erase({a, b});
                t.raw_edges.push_back(RawEdge{a, b, kDelete, rel});
            }
        } else if (m.inactive.insert(a).second) {
            t.raw_edges.push_back(RawEdge{a, 1, kInsert, kRelInactive});
        } else {
            m.inactive.erase(a);
            t.raw_edges.push_back(RawEdge{a, 1, kDelete, kRelInactive});
        }
    }

    void delete_post(Txn &t, int64_t id) {
        Model &m = model_;
        for (auto it = m.reposts.begin(); it != m.reposts.end();) {
            if (it->second.post_id == id) {
                t.raw_items.push_back(RawItem{m.repost_item(it->first), kDelete, kRepost});
                it = m.reposts.erase(it);
            } else {
                ++it;
            }
        }
        t.raw_items.push_back(RawItem{m.post_item(id), kDelete, kPost});
        m.posts.erase(id);
    }

    void delete_actor(Txn &t, uint32_t u) {
        Model &m = model_;
        // The actor's blocks and mutes go with it (ON DELETE CASCADE), and
        // with its row, its place in the inactive accounts.
        for (auto *rows : {&m.blocks, &m.mutes})
            for (auto it = rows->begin(); it != rows->end();) {
                if (it->first == u || it->second == u) {
                    t.raw_edges.push_back(RawEdge{it->first, it->second, kDelete,
                                                  rows == &m.blocks ? kRelBlock : kRelMute});
                    it = rows->erase(it);
                } else {
                    ++it;
                }
            }
        if (m.inactive.erase(u))
            t.raw_edges.push_back(RawEdge{u, 1, kDelete, kRelInactive});
        for (auto it = m.follows.begin(); it != m.follows.end();) {
            if (it->first == u || it->second == u) {
                t.raw_edges.push_back(RawEdge{it->first, it->second, kDelete});
                it = m.follows.erase(it);
            } else {
                ++it;
            }
        }
        for (auto it = m.reposts.begin(); it != m.reposts.end();) {
            if (it->second.reposter == u) {
                t.raw_items.push_back(RawItem{m.repost_item(it->first), kDelete, kRepost});
                it = m.reposts.erase(it);
            } else {
                ++it;
            }
        }
        std::vector<int64_t> mine;
        for (const auto &[id, p] : m.posts)
            if (p.author == u)
                mine.push_back(id);
        for (int64_t id : mine)
            delete_post(t, id);
    }

    void commit_new() {
        auto t = std::make_unique<Txn>();
        t->h = &host_;
        int n = rng_() % 10 == 0 ? 12 : 1 + int(rng_() % 3);
        for (int i = 0; i < n && !t->exclusive; i++)
            op(*t);
        t->prepare(++lsn_);
        trace_commit(*t);
        pending_.push_back(std::move(t));
    }

    void step_pending() {
        size_t i = rng_() % pending_.size();
        bool done = pending_[i]->step();
        trace_rings(done ? "applied" : "a step of", pending_[i]->work.lsn);
        if (done) {
            const TimelineStats &st = pending_[i]->apply.stats();
            ASSERT_EQ(st.out_of_memory, 0u);
            totals.fanout += st.fanout;
            totals.backfills += st.backfills;
            totals.promotions += st.promotions;
            totals.items_stale += st.items_stale;
            totals.feeds_dropped += st.feeds_dropped;
            totals.rings_lost += st.rings_lost;
            totals.lost_leaves += st.lost_leaves;
            pending_.erase(pending_.begin() + long(i));
        }
        ASSERT_TRUE(host_.quiet());
    }

    // --------------------------------------------------------- readers

    FeedBuild build(uint32_t v) {
        host_.all_held = true;
        host_.celeb_held = true;
        FeedBuild r = build_feed(host_.env, v, &scratch_);
        trace_rings("build", v);
        nomem_builds += r == FeedBuild::kNoMem;
        host_.all_held = false;
        host_.celeb_held = false;
        builds++;
        return r;
    }

    void build_random_feed() { build(user()); }

    void evict_random() {
        uint64_t n = 0;
        uint32_t s = uint32_t(rng_() % kStripes);
        host_.lock(s, true);
        sweep_feeds(host_.arena, host_.dir, s, 0, UINT32_MAX, rng_() % 2 ? UINT64_MAX : 100, &n);
        if (n > 0)
            trace_rings("eviction in stripe", s);
        host_.unlock(s);
    }

    static void expect_same(const std::vector<AuthorItem> &got, const std::vector<AuthorItem> &want,
                            const char *what, uint32_t who) {
        auto dump = [](const std::vector<AuthorItem> &v) {
            std::string s;
            for (const auto &x : v)
                s += " (" + std::to_string(x.ts) + "," + std::to_string(x.id) + " p" +
                     std::to_string(x.post_id) + " a" + std::to_string(x.author) + " r" +
                     std::to_string(x.reposter) + ")";
            return s;
        };
        ASSERT_EQ(got.size(), want.size()) << what << " of " << who << "\n got:" << dump(got)
                                           << "\nwant:" << dump(want);
        for (size_t i = 0; i < got.size(); i++) {
            ASSERT_EQ(got[i].ts, want[i].ts) << what << " of " << who << " row " << i
                                             << "\n got:" << dump(got) << "\nwant:" << dump(want);
            ASSERT_EQ(got[i].id, want[i].id) << what << " of " << who << " row " << i;
            ASSERT_EQ(got[i].post_id, want[i].post_id) << what << " of " << who << " row " << i;
            ASSERT_EQ(got[i].author, want[i].author) << what << " of " << who << " row " << i;
            ASSERT_EQ(got[i].reposter, want[i].reposter) << what << " of " << who << " row " << i;
        }
    }

    void check_page(uint32_t v, ItemKey before, size_t lim, bool first_page) {
        std::vector<AuthorItem> got;
        // As src/pg reads: from the feed ring; without one (not admitted),
        // merged from the author rings; below the ring's horizon, the same.
        // A quarter of the reads go straight to the author rings.
        FeedSource src = rng_() % 4 == 0 ? FeedSource::kFanIn : FeedSource::kRing;
        ReadResult r = reader_.timeline(host_.env, v, before, lim, &got, src);
        ASSERT_TRUE(host_.quiet());
        bool limited = p_.arena_limit != SIZE_MAX;
        if (r == ReadResult::kNoRing && rng_() % 2 == 0) {
            fanin_reads++;
            r = reader_.timeline(host_.env, v, before, lim, &got, FeedSource::kFanIn);
            ASSERT_NE(int(r), int(ReadResult::kNoRing));
        } else if (r == ReadResult::kNoRing) {
            FeedBuild b = build(v);
            if (limited && (b == FeedBuild::kNoMem || b == FeedBuild::kUnknown))
                return;
            ASSERT_TRUE(b == FeedBuild::kBuilt) << int(b);
            r = reader_.timeline(host_.env, v, before, lim, &got);
            ASSERT_NE(int(r), int(ReadResult::kNoRing));
        }
        if (r == ReadResult::kHorizon && src == FeedSource::kRing && reader_.feed_horizon_hit() &&
            rng_() % 2 == 0) {
            // As src/pg does when memory has room: the ring built again
            // deeper, then read again.
            host_.all_held = host_.celeb_held = true;
            FeedBuild b = regrow_feed(host_.env, v, &scratch_);
            host_.all_held = host_.celeb_held = false;
            if (b == FeedBuild::kBuilt) {
                regrows++;
                r = reader_.timeline(host_.env, v, before, lim, &got);
            } else if (!limited) {
                ASSERT_EQ(int(b), int(FeedBuild::kNone));
            }
        }
        if (r == ReadResult::kHorizon && src == FeedSource::kRing && reader_.feed_horizon_hit()) {
            reader_.deepen(host_.env, v);
            fanin_reads++;
            r = reader_.timeline(host_.env, v, before, lim, &got, FeedSource::kFanIn);
        }
        if (r == ReadResult::kHorizon && reader_.prefix_exact()) {
            partial_reads++;
            bool added = false;
            add_rest(&got, before, lim, TimelineFilter(), &added);
            ASSERT_TRUE(added);
            expect_same(got, model_.timeline(v, before, lim), "timeline, prefix and rest", v);
        }
        if (r == ReadResult::kOk) {
            exact++;
            expect_same(got, model_.timeline(v, before, lim), "timeline", v);
        } else {
            fallbacks++;
            if (!limited) {
                ASSERT_EQ(int(r), int(ReadResult::kHorizon));
            }
            if (p_.expect_no_fallback && first_page)
                FAIL() << "timeline of " << v << " fell back";
        }
        r = reader_.author_feed(host_.env, v, before, lim, &got);
        if (r == ReadResult::kOk)
            expect_same(got, model_.author_feed(v, before, lim), "author feed", v);
        else if (p_.expect_no_fallback)
            FAIL() << "author feed of " << v << " fell back";
        if (p_.moderation)
            check_filtered(v, before, lim);
    }

    TimelineFilter random_filter(uint32_t v) {
        TimelineFilter f;
        f.viewer = v;
        f.moderate = rng_() % 4 != 0;
        f.replies = Replies(rng_() % 3);
        f.reposts = rng_() % 4 != 0;
        f.quotes = rng_() % 4 != 0;
        return f;
    }

    // As src/pg completes a page whose first items are exact (kHorizon,
    // prefix_exact): the prefix from the author rings, the rest below the
    // cut from the complete rings (already filtered) and, for the other
    // sources, from the tables (the model's rows, through filter_rest),
    // merged: the newest lim - got->size(). *added stays false when the
    // index cannot filter the tables' rows (a set given up under a memory
    // limit: src/pg reads the whole page from the tables).
    void add_rest(std::vector<AuthorItem> *got, ItemKey before, size_t lim, const TimelineFilter &f,
                  bool *added) {
        *added = false;
        ASSERT_LT(got->size(), lim);
        ASSERT_TRUE(reader_.tables_cut() <= before);
        size_t need = lim - got->size();
        const std::vector<AuthorItem> &mem = reader_.rest_from_rings();
        ASSERT_LE(mem.size(), need);
        std::set<uint32_t> srcs(reader_.rest_from_tables().begin(),
                                reader_.rest_from_tables().end());
        ASSERT_EQ(srcs.size(), reader_.rest_from_tables().size());
        if (!mem.empty())
            split_rests++;
        for (const AuthorItem &x : mem) {
            ASSERT_TRUE(x.key() < reader_.tables_cut());
            ASSERT_EQ(srcs.count(item_src(x)), 0u);
        }
        std::vector<AuthorItem> rows = model_.page(srcs, reader_.tables_cut(), SIZE_MAX);
        size_t n = rows.size();
        if (reader_.filter_rest(host_.env, f, rows.data(), &n) != ReadResult::kOk) {
            ASSERT_NE(p_.arena_limit, SIZE_MAX) << "filter_rest declined without a memory limit";
            return;
        }
        rows.resize(n);
        std::vector<AuthorItem> rest(mem.begin(), mem.end());
        rest.insert(rest.end(), rows.begin(), rows.end());
        std::sort(rest.begin(), rest.end(),
                  [](const AuthorItem &a, const AuthorItem &b) { return b.key() < a.key(); });
        if (rest.size() > need)
            rest.resize(need);
        for (const AuthorItem &x : *got)
            ASSERT_TRUE(reader_.tables_cut() < x.key());
        got->insert(got->end(), rest.begin(), rest.end());
        *added = true;
    }

    // A filtered timeline page of v, read twice (the second read's first
    // cut is sized by the hint the first left in the feed ring), and v's
    // author feed as another viewer sees it, against the model.
    void check_filtered(uint32_t v, ItemKey before, size_t lim) {
        TimelineFilter f = random_filter(v);
        std::vector<AuthorItem> want =
            model_.filtered(model_.page(model_.sources(v), before, SIZE_MAX), f, lim);
        std::vector<AuthorItem> got;
        FeedSource src = rng_() % 4 == 0 ? FeedSource::kFanIn : FeedSource::kRing;
        for (int k = 0; k < 2 && !::testing::Test::HasFatalFailure(); k++) {
            ReadResult r = reader_.timeline(host_.env, v, before, lim, f, &got, src);
            ASSERT_TRUE(host_.quiet());
            if (r == ReadResult::kNoRing || (r == ReadResult::kHorizon && src == FeedSource::kRing &&
                                              reader_.feed_horizon_hit()))
                r = reader_.timeline(host_.env, v, before, lim, f, &got, FeedSource::kFanIn);
            if (r == ReadResult::kHorizon && reader_.prefix_exact()) {
                bool added = false;
                add_rest(&got, before, lim, f, &added);
                if (!added)
                    continue;
                filtered_partial++;
                expect_same(got, want, "filtered timeline, prefix and rest", v);
            } else if (r == ReadResult::kOk) {
                filtered_exact++;
                expect_same(got, want, "filtered timeline", v);
            }
        }
        TimelineFilter af = random_filter(rng_() % 4 == 0 ? 0 : user());
        af.moderate = af.viewer != 0 && af.moderate;
        af.replies = Replies::kAll;
        af.reposts = af.quotes = true;
        af.author = AuthorFilter(rng_() % 5);
        want = model_.filtered(model_.author_feed(v, before, SIZE_MAX), af, lim);
        ReadResult r = reader_.author_feed(host_.env, v, before, lim, af, &got);
        if (r == ReadResult::kHorizon && reader_.prefix_exact()) {
            bool added = false;
            add_rest(&got, before, lim, af, &added);
            if (added)
                expect_same(got, want, "filtered author feed, prefix and rest", v);
        } else if (r == ReadResult::kOk) {
            expect_same(got, want, "filtered author feed", v);
        }
    }

    // ------------------------------------------------------- tracing

    // SIM_TRACE=ITEM SIM_UID=USER (with SIM_SEEDS=N): the commits that
    // change item ITEM (or a repost of it) or USER's follows, blocks and
    // mutes, and the copies of ITEM in USER's author and feed rings after
    // every step, build and eviction: what a failing seed needs to be read.
    const int64_t trace_item_ = getenv("SIM_TRACE") ? atoll(getenv("SIM_TRACE")) : -1;
    const uint32_t trace_uid_ = getenv("SIM_UID") ? uint32_t(atol(getenv("SIM_UID"))) : 0;

    void trace_commit(const Txn &t) const {
        if (trace_item_ < 0)
            return;
        for (const RawEdge &e : t.raw_edges)
            if (e.follower == trace_uid_ || e.followee == trace_uid_)
                printf("TRACE %llu: edge %u -> %u op %d rel %d\n", (unsigned long long) lsn_,
                       e.follower, e.followee, e.op, e.rel);
        for (const ItemChange &c : t.work.items.changes)
            if (c.item.id == trace_item_ || c.item.post_id == trace_item_)
                printf("TRACE %llu: op %d kind %d (%lld, %lld) post %lld author %u reposter %u\n",
                       (unsigned long long) lsn_, c.op, c.kind, (long long) c.item.ts,
                       (long long) c.item.id, (long long) c.item.post_id, c.item.author,
                       c.item.reposter);
    }

    void trace_rings(const char *what, uint64_t arg) {
        if (trace_item_ < 0)
            return;
        std::string out;
        if (const DirEntry *e = host_.dir.get(trace_uid_)) {
            if (held(e->author)) {
                AuthorRing r(host_.arena.at<RingHdr>(e->author));
                for (uint32_t i = 0; i < r.size(); i++)
                    if (r.at(i).id == trace_item_)
                        out += " author ring (" + std::to_string(r.at(i).ts) + ")";
            }
            if (held(e->feed)) {
                FeedRing r(host_.arena.at<RingHdr>(e->feed));
                for (uint32_t i = 0; i < r.size(); i++)
                    if (r.at(i).id == trace_item_)
                        out += " feed ring (" + std::to_string(r.at(i).ts) + " from " +
                               std::to_string(r.at(i).src) + ")";
            }
        }
        printf("TRACE %s %llu:%s\n", what, (unsigned long long) arg, out.c_str());
    }

    void check_reads() {
        for (int k = 0; k < 6 && !::testing::Test::HasFatalFailure(); k++) {
            uint32_t v = user();
            size_t lim = rng_() % 10 == 0 ? 1000 : rng_() % 12;
            check_page(v, kMaxKey, lim, true);
            // The next page, from the last item of the first.
            std::vector<AuthorItem> first = model_.timeline(v, kMaxKey, lim);
            if (!first.empty())
                check_page(v, first.back().key(), 1 + rng_() % 8, false);
            // A cursor between items, and one with a tie on created_at.
            check_page(v, ItemKey{clock_ - int64_t(rng_() % 100), int64_t(rng_() % next_id_)},
                       1 + rng_() % 8, false);
        }
    }

    // Every user, every page size: the final state.
    void check_all() {
        for (uint32_t v = 1; v <= p_.users && !::testing::Test::HasFatalFailure(); v++)
            for (size_t lim : {size_t(1), size_t(5), size_t(40), size_t(10000)})
                check_page(v, kMaxKey, lim, true);
    }

    Params p_;
    SimHost host_;
    std::mt19937_64 rng_;
    Model model_;
    std::vector<std::unique_ptr<Txn>> pending_;
    uint64_t lsn_ = 0;
    size_t max_pending_ = getenv("SIM_SERIAL") ? 1 : 4;
    int64_t clock_ = 1000;
    int64_t next_id_ = 1;
    FeedBuildScratch scratch_;
    TimelineReader reader_;
};

TEST(TimelineSim, LargeRingsNeverFallBack) {
    for (uint64_t seed : seeds(1, 30)) {
        if (HasFatalFailure())
            break;
        Sim sim(Params{60, 100000, 100000, 1000000, 8000, seed, true});
        sim.run();
        sim.report();
        EXPECT_GT(sim.exact, 100u);
    }
}

// With blocks, mutes, inactive accounts, replies and quotes: filtered
// timelines and author feeds against DESIGN.md's second part.
TEST(TimelineSim, FilteredPagesMatchTheModel) {
    for (uint64_t seed : seeds(1, 4)) {
        if (HasFatalFailure())
            break;
        Params p{40, 100000, 100000, 1000000, 6000, seed, true};
        p.moderation = true;
        Sim sim(p);
        sim.run();
        sim.report();
        EXPECT_GT(sim.filtered_exact, 200u);
    }
}

TEST(TimelineSim, FilteredPagesTinyRings) {
    for (uint64_t seed : seeds(1, 6)) {
        if (HasFatalFailure())
            break;
        Params p{40, 1 + uint32_t(seed % 5), 1 + uint32_t(seed % 7), seed % 4, 6000, seed, false};
        p.moderation = true;
        Sim sim(p);
        sim.run();
        sim.report();
        EXPECT_GT(sim.filtered_exact + sim.filtered_partial, 20u);
    }
}

TEST(TimelineSim, FilteredPagesFullArena) {
    for (uint64_t seed : seeds(40, 45)) {
        if (HasFatalFailure())
            break;
        Params p{150, 50, 40, 5, 5000, seed, false};
        p.arena_limit = size_t(100000 + (seed - 40) * 8000);
        p.moderation = true;
        Sim sim(p);
        sim.run();
        sim.report();
        EXPECT_GT(sim.filtered_exact + sim.filtered_partial, 10u);
    }
}

TEST(TimelineSim, TinyRingsAndCelebrities) {
    for (uint64_t seed : seeds(1, 10)) {
        if (HasFatalFailure())
            break;
        Sim sim(Params{40, 1 + uint32_t(seed % 5), 1 + uint32_t(seed % 7), seed % 4, 8000, seed, false});
        sim.run();
        sim.report();
        EXPECT_GT(sim.exact, 10u);
    }
}

TEST(TimelineSim, FullArenaStaysExact) {
    // Rings, sets and leaves are given up as the arena fills: whatever the
    // index still answers must be exact.
    for (uint64_t seed : seeds(40, 45)) {
        if (HasFatalFailure())
            break;
        Params p{150, 50, 40, 5, 5000, seed, false};
        p.arena_limit = size_t(100000 + (seed - 40) * 8000);
        Sim sim(p);
        sim.run();
        sim.report();
        EXPECT_GT(sim.exact, 10u);
    }
}

// Seeds that each found a race: commits applied out of commit order
// (lww.hpp), or a feed ring built or promoted between two steps of one.
// An UPDATE's new version overtaken by an older commit's; an author ring's
// register that made an older commit skip its feed rings; one source's
// register that made it skip another source's; a stale change whose
// deletion was never fanned out, or whose insertion was; a follow's
// backfill that kept the feed ring's older copy; a ring built between the
// two sides of a follow; a follow that overtook an unfollow of the same
// account; an account promoted to celebrity between two steps; an older
// insertion over a newer copy of the same key from another source; an
// older insertion after an unfollow, a newer deletion and a follow again;
// a ring built between the two sides of a follow that kept a deleted item.
TEST(TimelineSim, SeedsThatFoundRaces) {
    auto large = [](uint64_t seed) { return Params{60, 100000, 100000, 1000000, 8000, seed, true}; };
    auto filtered = [](uint64_t seed) {
        Params p{40, 100000, 100000, 1000000, 6000, seed, true};
        p.moderation = true;
        return p;
    };
    auto full_arena = [](uint64_t seed) {
        Params p{150, 50, 40, 5, 5000, seed, false};
        p.arena_limit = size_t(100000 + (seed - 40) * 8000);
        p.moderation = true;
        return p;
    };
    auto full_arena_plain = [](uint64_t seed) {
        Params p{150, 50, 40, 5, 5000, seed, false};
        p.arena_limit = size_t(100000 + (seed - 40) * 8000);
        return p;
    };
    std::vector<Params> runs;
    for (uint64_t seed : {19, 28, 125, 153, 172, 622, 901, 1685})
        runs.push_back(large(seed));
    for (uint64_t seed : {70, 88, 156, 208, 443, 455, 1193})
        runs.push_back(filtered(seed));
    for (uint64_t seed : {64, 427, 1206})
        runs.push_back(full_arena(seed));
    runs.push_back(full_arena_plain(3983));
    for (const Params &p : runs) {
        Sim sim(p);
        sim.run();
        ASSERT_FALSE(HasFatalFailure()) << "seed " << p.seed;
    }
}

TEST(TimelineSim, MidSizeRingsManyUsers) {
    for (uint64_t seed : seeds(20, 23)) {
        if (HasFatalFailure())
            break;
        Sim sim(Params{200, 30, 20, 6, 6000, seed, false});
        sim.run();
        sim.report();
        EXPECT_GT(sim.exact, 100u);
        EXPECT_GT(sim.fallbacks + sim.exact, sim.exact);  // some pages reach past a horizon
        EXPECT_GT(sim.partial_reads, 0u);  // and some of those had their prefix checked
        EXPECT_GT(sim.split_rests, 0u);
    }
}

}  // namespace
}  // namespace dp

namespace dp {
namespace {

// An UPDATE moves post 10 from author 3 to author 2; viewer 1 follows both.
// The netted changes are ordered by the source's stripe: the insertion for
// 2 reaches 1's feed ring before the deletion for 3, which must not remove
// the new version.
TEST(TimelineFanout, UpdateToAnAuthorInALowerStripe) {
    SimHost h(1000, 800, 1000);
    auto apply = [&](std::vector<RawEdge> edges, std::vector<RawItem> items, uint64_t lsn) {
        Txn t;
        t.h = &h;
        t.raw_edges = std::move(edges);
        t.raw_items = std::move(items);
        t.prepare(lsn);
        while (!t.step()) {
        }
    };
    apply({RawEdge{1, 2, kInsert}, RawEdge{1, 3, kInsert}},
          {RawItem{AuthorItem{100, 10, 10, 3, 0}, kInsert, kPost}}, 1);
    FeedBuildScratch scratch;
    h.all_held = h.celeb_held = true;
    ASSERT_EQ(int(build_feed(h.env, 1, &scratch)), int(FeedBuild::kBuilt));
    h.all_held = h.celeb_held = false;
    apply({}, {RawItem{AuthorItem{100, 10, 10, 3, 0}, kDelete, kPost},
               RawItem{AuthorItem{100, 10, 10, 2, 0}, kInsert, kPost}}, 2);
    TimelineReader r;
    std::vector<AuthorItem> page;
    ASSERT_EQ(int(r.timeline(h.env, 1, kMaxKey, 10, &page)), int(ReadResult::kOk));
    ASSERT_EQ(page.size(), 1u);
    EXPECT_EQ(page[0].id, 10);
    EXPECT_EQ(page[0].author, 2u);
}

// A viewer who pages below their first ring (feed_first_depth items): the
// ring is built again twice as deep, holds the newest items of the same
// sources, and answers the deep page that reached its horizon; at
// feed_capacity it cannot go deeper.
TEST(TimelineFanout, RegrowAFeedRingDeeper) {
    SimHost h(1000, 800, 1000);
    Txn t;
    t.h = &h;
    for (uint32_t a = 2; a <= 4; a++)
        t.raw_edges.push_back(RawEdge{1, a, kInsert});
    for (int64_t i = 1; i <= 600; i++)
        t.raw_items.push_back(
            RawItem{AuthorItem{1000 + i, i, i, uint32_t(2 + i % 3), 0}, kInsert, kPost});
    t.prepare(1);
    while (!t.step()) {
    }
    FeedBuildScratch scratch;
    h.all_held = h.celeb_held = true;
    ASSERT_EQ(int(build_feed(h.env, 1, &scratch)), int(FeedBuild::kBuilt));
    h.all_held = h.celeb_held = false;
    uint32_t first = feed_first_depth(800);
    const RingHdr *ring = h.arena.at<RingHdr>(h.dir.find(1)->feed);
    ASSERT_EQ(ring->n, first);
    TimelineReader r;
    std::vector<AuthorItem> page;
    // The third page of 50: items 101..150 from the newest, below the ring.
    ItemKey cursor{1000 + 600 - 99, 600 - 99};
    ASSERT_EQ(int(r.timeline(h.env, 1, cursor, 50, &page)), int(ReadResult::kHorizon));
    ASSERT_TRUE(r.feed_horizon_hit());
    EXPECT_EQ(feed_regrow_depth(ring, 800), 2 * first);
    h.all_held = h.celeb_held = true;
    ASSERT_EQ(int(regrow_feed(h.env, 1, &scratch)), int(FeedBuild::kBuilt));
    h.all_held = h.celeb_held = false;
    ring = h.arena.at<RingHdr>(h.dir.find(1)->feed);
    EXPECT_EQ(ring->n, 2 * first);
    ASSERT_EQ(int(r.timeline(h.env, 1, cursor, 50, &page)), int(ReadResult::kOk));
    ASSERT_EQ(page.size(), 50u);
    for (size_t i = 0; i < page.size(); i++)
        EXPECT_EQ(page[i].id, 600 - 100 - int64_t(i));
    // Regrown up to feed_capacity (800 > the 600 items: then complete).
    for (int k = 0; k < 4; k++) {
        h.all_held = h.celeb_held = true;
        FeedBuild b = regrow_feed(h.env, 1, &scratch);
        h.all_held = h.celeb_held = false;
        if (b == FeedBuild::kNone)
            break;
        ASSERT_EQ(int(b), int(FeedBuild::kBuilt));
    }
    ring = h.arena.at<RingHdr>(h.dir.find(1)->feed);
    EXPECT_EQ(ring->n, 600u);
    EXPECT_TRUE(ring->horizon == kMinKey);
    EXPECT_EQ(feed_regrow_depth(ring, 800), 0u);
    // The oldest page: items 20 down to 1.
    ASSERT_EQ(int(r.timeline(h.env, 1, ItemKey{1021, 0}, 50, &page)), int(ReadResult::kOk));
    EXPECT_EQ(page.size(), 20u);
}

// A whole commit (follows, unfollows, posts, reposts, deletions, fan-out
// to feed rings, backfills) applied while process memory runs out at its
// nth allocation, for every n: nothing escapes apply_all (the server calls
// it in a commit callback, where an exception would abort the backend), no
// lock stays held, the unfollow bookkeeping balances, and a commit
// reported whole is one that either met no failure or degraded exactly
// where the core catches it.
TEST(CommitApplyFaults, EveryAllocationMayFail) {
    auto world = [](SimHost &h) {
        auto apply = [&](std::vector<RawEdge> edges, std::vector<RawItem> items, uint64_t lsn) {
            Txn t;
            t.h = &h;
            t.raw_edges = std::move(edges);
            t.raw_items = std::move(items);
            t.prepare(lsn);
            while (!t.step()) {
            }
        };
        std::vector<RawEdge> follows;
        std::vector<RawItem> posts;
        for (uint32_t v = 1; v <= 40; v++)
            for (uint32_t a = 50; a < 60; a++)
                if ((v + a) % 3 != 0)
                    follows.push_back(RawEdge{v, a, kInsert});
        for (int64_t i = 0; i < 60; i++)
            posts.push_back(RawItem{AuthorItem{100 + i, 1000 + i, 1000 + i, uint32_t(50 + i % 10), 0},
                                    kInsert, kPost});
        apply(follows, posts, 1);
        FeedBuildScratch scratch;
        h.all_held = h.celeb_held = true;
        for (uint32_t v = 1; v <= 40; v++)
            build_feed(h.env, v, &scratch);
        h.all_held = h.celeb_held = false;
    };
    long n = 1;
    for (;; n++) {
        SimHost h(64, 64, 1000);
        world(h);
        Txn t;
        t.h = &h;
        for (uint32_t v = 1; v <= 40; v += 3) {
            t.raw_edges.push_back(RawEdge{v, 50 + v % 10, kDelete});
            t.raw_edges.push_back(RawEdge{v, 61, kInsert});
        }
        for (int64_t i = 0; i < 30; i++)
            t.raw_items.push_back(RawItem{AuthorItem{200 + i, 2000 + i, 2000 + i,
                                                     uint32_t(50 + i % 12), 0},
                                          kInsert, kPost});
        for (int64_t i = 0; i < 10; i++)
            t.raw_items.push_back(RawItem{AuthorItem{300 + i, 3000 + i, 1000 + i, uint32_t(50 + i % 10),
                                                     uint32_t(1 + i)},
                                          kInsert, kRepost});
        t.raw_items.push_back(RawItem{AuthorItem{105, 1005, 1005, 55, 0}, kDelete, kPost});
        t.prepare(2);
        h.applying = &t;
        bool ok, fired;
        {
            test::NewFailureScope f(n);
            ok = t.apply.apply_all(h.env, &t.work);
            fired = test::NewFailure::fired();
        }
        h.applying = nullptr;
        EXPECT_TRUE(h.quiet()) << "a lock is still held after failure " << n;
        EXPECT_EQ(h.unfollows_started, h.unfollows_finished) << "failure " << n;
        EXPECT_TRUE(ok || fired) << "failure " << n;
        EXPECT_EQ(t.apply.stats().out_of_memory > 0, !ok) << "failure " << n;
        if (HasFailure() || !fired)
            break;
    }
    EXPECT_GT(n, 20) << "the commit should allocate at many points";
}

}  // namespace
}  // namespace dp
