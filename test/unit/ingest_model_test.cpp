// The batch model (ingest_model.hpp) against the reference (ingest_ref.hpp):
// random event streams over a small universe, cut into random batches, each
// loaded, run and written back the glue's way, must leave the tables
// exactly as applying every event to the reference; and replaying a suffix
// of a stream must change nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "ingest_ref.hpp"

namespace ing {
namespace {

using test::Db;

constexpr Uid kActors = 5;

// Text the changes point into: static, so that every view stays valid.
const std::vector<std::string> &pool(const char *prefix, int n) {
    static std::map<std::string, std::vector<std::string>> pools;
    auto &v = pools[prefix];
    if (v.empty())
        for (int i = 0; i < n; i++)
            v.push_back(std::string(prefix) + std::to_string(i));
    return v;
}

// A random event stream over 5 actors, a few rkeys per collection, a few
// posts and lists: duplicates, deletes before creates, reposts before
// posts, list items before lists, self-follows, duplicate follow records,
// deletes of unknown records and DIDs, post and list updates, account flips.
//
// With `valid`, the stream is one atproto repositories could produce (the
// stream a replay test needs): a create names a record that does not live in
// its repository (new, or deleted before), an update or a delete one that
// does (or, for a delete, one from before the stream), and no event comes
// twice. Otherwise anything goes, as in a stream the model must still
// follow exactly.
struct Gen {
    std::mt19937 rng;
    bool valid = false;
    bool recreate = true;  // valid: may a deleted record be created again,
                           // a repost or graph record move by an update?
    // valid: (collection, repo, rkey) → live in its repository?
    std::map<std::tuple<int, Uid, std::string_view>, bool> live;

    explicit Gen(uint32_t seed, bool valid_stream = false) : rng(seed), valid(valid_stream) {}

    uint32_t below(uint32_t n) { return rng() % n; }
    bool chance(uint32_t pct) { return below(100) < pct; }
    Uid uid() { return 1 + below(kActors); }
    std::string_view pick(const std::vector<std::string> &v) { return v[below(uint32_t(v.size()))]; }

    CommitOp op() {
        uint32_t r = below(100);
        return r < 55 ? CommitOp::kCreate : r < 88 ? CommitOp::kDelete : CommitOp::kUpdate;
    }

    // Makes c's operation one its repository allows (valid streams only);
    // false if none fits c's rkey.
    bool allow(Change &c) {
        auto key = std::make_tuple(int(c.coll), c.repo, c.rkey);
        auto it = live.find(key);
        bool is_live = it != live.end() && it->second;
        bool seen = it != live.end();
        bool moves = c.coll != Collection::kPost && c.coll != Collection::kList;
        if (c.op == CommitOp::kCreate && is_live)
            c.op = chance(50) && (recreate || !moves) ? CommitOp::kUpdate : CommitOp::kDelete;
        if (c.op == CommitOp::kUpdate && is_live && moves && !recreate)
            c.op = CommitOp::kDelete;
        else if (c.op == CommitOp::kUpdate && !is_live)
            c.op = CommitOp::kCreate;
        else if (c.op == CommitOp::kDelete && !is_live && seen)
            c.op = CommitOp::kCreate;  // deleted already: it can only come back
        if (c.op == CommitOp::kCreate && seen && !is_live && !recreate)
            return false;  // TID rkeys are never used twice
        if ((c.coll == Collection::kListItem || c.coll == Collection::kListBlock) && c.op != CommitOp::kDelete &&
            !recreate) {
            auto l = live.find(std::make_tuple(int(Collection::kList), c.target, c.target_rkey));
            if (l != live.end() && !l->second)
                return false;  // a deleted list is hardly ever named again
        }
        live[key] = c.op != CommitOp::kDelete;
        return true;
    }

    Change next() {
        for (;;) {
            Change c = draw();
            if (!valid || c.account || c.repo == 0 || allow(c))
                return c;
        }
    }

    Change draw() {
        Change c;
        c.repo = uid();
        c.created_at = below(30);  // ties are common
        uint32_t kind = below(100);
        if (kind < 4) {
            c.account = true;
            c.active = chance(50);
            // NULL, the empty text (stored as it is) or a word.
            c.status = chance(30) ? Text() : chance(15) ? Text("") : Text(pick(pool("st", 2)));
            return c;
        }
        c.op = op();
        if (c.op == CommitOp::kDelete && chance(5) && !valid)
            c.repo = 0;  // a DID the glue does not know
        static const Collection kColls[] = {Collection::kFollow,   Collection::kBlock,    Collection::kPost,
                                            Collection::kPost,     Collection::kRepost,   Collection::kRepost,
                                            Collection::kList,     Collection::kListItem, Collection::kListBlock};
        c.coll = kColls[below(9)];
        switch (c.coll) {
            case Collection::kFollow:
            case Collection::kBlock:
                c.rkey = pick(pool("g", 4));
                c.subject = uid();
                break;
            case Collection::kPost:
                c.rkey = pick(pool("p", 3));
                c.cid = pick(pool("pc", 3));
                if (chance(40)) {
                    c.reply_root = uid();
                    c.reply_parent = uid();
                }
                c.quote = chance(30);
                c.media = Media(below(4));
                break;
            case Collection::kRepost:
                c.rkey = pick(pool("r", 4));
                c.cid = pick(pool("rc", 3));
                c.target = uid();
                c.target_rkey = pick(pool("p", 3));
                break;
            case Collection::kList:
                c.rkey = pick(pool("l", 2));
                c.purpose = chance(25) ? Text() : chance(15) ? Text("") : Text(pick(pool("purpose", 2)));
                break;
            case Collection::kListItem:
            case Collection::kListBlock:
                c.rkey = pick(pool("i", 3));
                c.target = c.coll == Collection::kListItem && chance(80) ? c.repo : uid();
                c.target_rkey = pick(pool("l", 2));
                c.subject = uid();
                break;
            case Collection::kOther:
                break;
        }
        return c;
    }

    std::vector<Change> stream(size_t n) {
        std::vector<Change> v;
        for (size_t i = 0; i < n; i++) {
            // Some events come twice, at once or later (at-least-once delivery).
            if (!valid && !v.empty() && chance(8))
                v.push_back(v[below(uint32_t(v.size()))]);
            else
                v.push_back(next());
        }
        return v;
    }

    // Actors, and a few rows written with plain SQL before the stream:
    // edges without records, posts and lists the stream will touch.
    void seed(Db &db) {
        for (Uid u = 1; u <= kActors; u++)
            db.actors[u] = Db::Actor{true, std::nullopt};
        for (int i = 0; i < 3; i++)
            if (chance(50))
                db.edges(chance(50) ? Collection::kFollow : Collection::kBlock)[{uid(), uid()}] = 100 + i;
        if (chance(30)) {
            Uid author = uid();
            std::string_view rkey = pick(pool("p", 3));
            db.posts[db.next_item++] =
                Db::Post{author, 200, std::string(rkey), std::string("seedcid"), 0, 0, false, Media::kNone};
            live[std::make_tuple(int(Collection::kPost), author, rkey)] = true;
        }
    }
};

// Applies `changes` cut into random batches.
void apply_in_batches(Db &db, const std::vector<Change> &changes, Gen &g, test::BatchStats *stats) {
    for (size_t i = 0; i < changes.size();) {
        size_t n = 1 + g.below(g.chance(20) ? 3 : 40);
        n = std::min(n, changes.size() - i);
        test::apply_batch(db, changes.data() + i, n, stats);
        if (::testing::Test::HasFatalFailure())
            return;
        i += n;
    }
}

void apply_reference(Db &db, const std::vector<Change> &changes) {
    for (const Change &c : changes)
        test::ref_apply(db, c);
}

// Does the stream, from `from` on, delete a record and later create one
// with the same key (or a stub of a deleted list, or move a record by an
// update and change it again)? The case a replay may not leave as it found.
bool recreates(const std::vector<Change> &v, size_t from) {
    std::set<std::tuple<int, Uid, std::string_view>> deleted;
    for (size_t i = from; i < v.size(); i++) {
        const Change &c = v[i];
        if (c.account || c.repo == 0)
            continue;
        auto key = std::make_tuple(int(c.coll), c.repo, c.rkey);
        if (c.op == CommitOp::kDelete) {
            deleted.insert(key);
            continue;
        }
        if (deleted.count(key))
            return true;
        // An update that moves a repost, follow, block or list entry to
        // another subject is a delete and a create: changed again, it may
        // come back with a new id or created_at.
        if (c.op == CommitOp::kUpdate && c.coll != Collection::kPost && c.coll != Collection::kList)
            deleted.insert(key);
        if ((c.coll == Collection::kListItem || c.coll == Collection::kListBlock) &&
            deleted.count(std::make_tuple(int(Collection::kList), c.target, c.target_rkey)))
            return true;
    }
    return false;
}

std::string describe(const Db &a, const Db &b) {
    std::string s;
    auto cmp = [&](const char *name, bool eq) {
        if (!eq)
            s += std::string(" ") + name;
    };
    cmp("actors", a.actors == b.actors);
    cmp("follows", a.follows == b.follows);
    cmp("blocks", a.blocks == b.blocks);
    cmp("records", a.records == b.records);
    cmp("posts", a.posts == b.posts);
    cmp("reposts", a.reposts == b.reposts);
    cmp("pending", a.pending == b.pending);
    cmp("lists", a.lists == b.lists);
    cmp("list_items", a.list_items == b.list_items);
    cmp("list_blocks", a.list_blocks == b.list_blocks);
    return "tables that differ:" + s;
}

TEST(IngestModel, BatchesEqualTheReference) {
    auto t0 = std::chrono::steady_clock::now();
    test::BatchStats stats;
    size_t events = 0;
    for (uint32_t seed = 1; seed <= 3000; seed++) {
        Gen g(seed, seed % 2 == 0);
        Db ref, db;
        g.seed(ref);
        db = ref;
        std::vector<Change> changes = g.stream(20 + g.below(120));
        events += changes.size();
        apply_reference(ref, changes);
        apply_in_batches(db, changes, g, &stats);
        ASSERT_FALSE(HasFatalFailure()) << "seed " << seed;
        ASSERT_TRUE(db.same_tables(ref)) << "seed " << seed << ": " << describe(db, ref);
        ASSERT_EQ(db.next_item, ref.next_item) << "seed " << seed;
        ASSERT_EQ(db.next_list, ref.next_list) << "seed " << seed;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ model    ] %zu events in %zu batches: %.2f runs per batch (at most %zu); %.2f s\n", events,
                stats.batches, double(stats.runs) / double(stats.batches), stats.max_runs, s);
}

TEST(IngestModel, ReplayingASuffixChangesNothing) {
    size_t identical = 0, recreated = 0;
    for (uint32_t seed = 1; seed <= 3000; seed++) {
        Gen g(seed * 7919u, true);
        g.recreate = seed % 10 == 0;
        Db ref;
        g.seed(ref);
        std::vector<Change> changes = g.stream(20 + g.below(100));
        apply_reference(ref, changes);
        size_t from = g.below(uint32_t(changes.size()));
        std::vector<Change> suffix(changes.begin() + long(from), changes.end());
        // The model replays as the reference does...
        Db ref_again = ref, db = ref;
        apply_reference(ref_again, suffix);
        apply_in_batches(db, suffix, g, nullptr);
        ASSERT_FALSE(HasFatalFailure()) << "seed " << seed;
        ASSERT_TRUE(db.same_tables(ref_again)) << "seed " << seed << ": " << describe(db, ref_again);
        // ... and the replay changed nothing, unless the suffix deletes a
        // record and creates it again.
        if (recreates(changes, from)) {
            recreated++;
            continue;
        }
        ASSERT_TRUE(ref_again.same_tables(ref)) << "seed " << seed << " from " << from << ": "
                                                << describe(ref_again, ref);
        identical++;
    }
    std::printf("[ model    ] replays: %zu left every table identical; %zu re-created a record (not compared)\n",
                identical, recreated);
}

}  // namespace
}  // namespace ing
