// The ingest rules one by one (ingest_model.hpp), through the glue's way of
// applying a batch (ingest_ref.hpp), with the tables they must leave; and
// the loading protocol: which keys a batch loads, in how many runs, with
// how many ids.
#include <gtest/gtest.h>

#include <new>

#include "ingest_ref.hpp"
#include "test_util.hpp"

namespace ing {
namespace {

using test::Db;

Change follow(CommitOp op, Uid repo, const char *rkey, Uid subject, int64_t t = 10,
              Collection coll = Collection::kFollow) {
    Change c;
    c.op = op;
    c.coll = coll;
    c.repo = repo;
    c.rkey = rkey;
    c.subject = subject;
    c.created_at = t;
    return c;
}

Change post(CommitOp op, Uid author, const char *rkey, int64_t t = 10, const char *cid = "cid1") {
    Change c;
    c.op = op;
    c.coll = Collection::kPost;
    c.repo = author;
    c.rkey = rkey;
    c.cid = cid;
    c.created_at = t;
    return c;
}

Change repost(CommitOp op, Uid reposter, const char *rkey, Uid author, const char *post_rkey, int64_t t = 10) {
    Change c;
    c.op = op;
    c.coll = Collection::kRepost;
    c.repo = reposter;
    c.rkey = rkey;
    c.cid = "rcid";
    c.target = author;
    c.target_rkey = post_rkey;
    c.created_at = t;
    return c;
}

Change list(CommitOp op, Uid owner, const char *rkey, const char *purpose = "modlist") {
    Change c;
    c.op = op;
    c.coll = Collection::kList;
    c.repo = owner;
    c.rkey = rkey;
    c.purpose = purpose;
    return c;
}

Change entry(CommitOp op, Collection coll, Uid repo, const char *rkey, Uid owner, const char *list_rkey,
             Uid subject = 0, int64_t t = 10) {
    Change c;
    c.op = op;
    c.coll = coll;
    c.repo = repo;
    c.rkey = rkey;
    c.target = owner;
    c.target_rkey = list_rkey;
    c.subject = subject;
    c.created_at = t;
    return c;
}

// status nullptr: the event has none.
Change account(Uid uid, bool active, const char *status) {
    Change c;
    c.account = true;
    c.repo = uid;
    c.active = active;
    if (status != nullptr)
        c.status = status;
    return c;
}

const auto C = CommitOp::kCreate;
const auto U = CommitOp::kUpdate;
const auto D = CommitOp::kDelete;

// A database with actors 1..6, and the reference beside it.
struct Fixture {
    Db db, ref;
    Fixture() {
        for (Uid u = 1; u <= 6; u++)
            db.actors[u] = Db::Actor{true, std::nullopt};
        ref = db;
    }
    // Applies the events as one batch, and to the reference one by one.
    void batch(const std::vector<Change> &v) {
        test::apply_batch(db, v.data(), v.size());
        for (const Change &c : v)
            test::ref_apply(ref, c);
        ASSERT_TRUE(db.same_tables(ref));
    }
    // The same, one batch per event.
    void each(const std::vector<Change> &v) {
        for (const Change &c : v)
            batch({c});
    }
    int64_t post_id(Uid author, const char *rkey) { return test::ref_post(db, author, rkey).value_or(-1); }
};

TEST(IngestRules, FollowRecordsKeepTheEdge) {
    for (bool one_batch : {true, false}) {
        Fixture f;
        std::vector<Change> v = {
            follow(D, 1, "a", 0),      // delete before any create: nothing
            follow(C, 1, "a", 2, 50),  // the edge, at the record's time
            follow(C, 1, "a", 3, 60),  // the same record again (even with another subject): nothing
            follow(C, 1, "b", 2, 40),  // a second record of the edge: the edge keeps its time
            follow(C, 1, "s", 1, 70),  // a self-follow is an edge like any other
            follow(D, 1, "a", 0),      // one record left: the edge stays, at its time
        };
        one_batch ? f.batch(v) : f.each(v);
        ASSERT_EQ(f.db.follows.size(), 2u);
        EXPECT_EQ(f.db.follows.at({1, 2}), 40);
        EXPECT_EQ(f.db.follows.at({1, 1}), 70);
        EXPECT_EQ(f.db.records.size(), 2u);
        one_batch ? f.batch({follow(D, 1, "b", 0)}) : f.each({follow(D, 1, "b", 0)});
        EXPECT_FALSE(f.db.follows.count({1, 2}));  // with its last record
        EXPECT_EQ(f.db.records.size(), 1u);
    }
}

// An edge's time is that of one of its records: the first record's while
// it lives, whichever records come and go beside it.
TEST(IngestRules, EdgeTimeOfItsRecords) {
    for (bool one_batch : {true, false}) {
        Fixture f;
        std::vector<Change> v = {
            follow(C, 1, "a", 2, 50), follow(C, 1, "b", 2, 40), follow(C, 1, "c", 2, 60),
            follow(D, 1, "b", 0),  // not the record that set the time: kept
        };
        one_batch ? f.batch(v) : f.each(v);
        EXPECT_EQ(f.db.follows.at({1, 2}), 50);
        // The record that set it goes: the earliest of those left ("c").
        one_batch ? f.batch({follow(D, 1, "a", 0), follow(C, 1, "d", 2, 70)})
                  : f.each({follow(D, 1, "a", 0), follow(C, 1, "d", 2, 70)});
        EXPECT_EQ(f.db.follows.at({1, 2}), 60);
        // Moved to another subject by an update: the same.
        f.batch({follow(U, 1, "c", 3, 80)});
        EXPECT_EQ(f.db.follows.at({1, 2}), 70);
        EXPECT_EQ(f.db.follows.at({1, 3}), 80);
    }
    // A block row the same way.
    Fixture f;
    f.batch({follow(C, 1, "a", 2, 50, Collection::kBlock), follow(C, 1, "b", 2, 45, Collection::kBlock),
             follow(D, 1, "a", 0, 0, Collection::kBlock)});
    EXPECT_EQ(f.db.blocks.at({1, 2}), 45);
}

TEST(IngestRules, BlocksAreFollowsOfAnotherTable) {
    Fixture f;
    f.db.follows[{1, 2}] = 5;  // a follow written with SQL, no record
    f.ref = f.db;
    f.batch({follow(C, 1, "a", 2, 20, Collection::kBlock), follow(C, 1, "a", 3, 20, Collection::kFollow)});
    EXPECT_EQ(f.db.blocks.at({1, 2}), 20);
    EXPECT_EQ(f.db.follows.at({1, 2}), 5);  // the same rkey in another collection is another record
    EXPECT_EQ(f.db.follows.at({1, 3}), 20);
    // A record of an edge written with SQL: its delete takes the edge.
    f.batch({follow(C, 1, "b", 2, 30), follow(D, 1, "b", 0)});
    EXPECT_FALSE(f.db.follows.count({1, 2}));
}

TEST(IngestRules, GraphUpdates) {
    Fixture f;
    f.batch({follow(C, 1, "a", 2, 50), follow(C, 1, "b", 2, 40)});
    // The same subject: nothing changes (a replay of the update neither).
    f.batch({follow(U, 1, "a", 2, 99)});
    EXPECT_EQ(f.db.follows.at({1, 2}), 50);
    EXPECT_EQ(f.db.records.at({1, int(Collection::kFollow), "a"}).created_at, 50);
    // Another subject: a delete, then a create.
    f.batch({follow(U, 1, "a", 3, 70)});
    EXPECT_EQ(f.db.follows.at({1, 2}), 40);  // "b" still keeps it, at its time
    EXPECT_EQ(f.db.follows.at({1, 3}), 70);
    // An update of a record never seen creates it.
    f.batch({follow(U, 1, "c", 4, 80)});
    EXPECT_EQ(f.db.follows.at({1, 4}), 80);
}

TEST(IngestRules, PostsAndTheirUpdates) {
    Fixture f;
    Change p = post(C, 1, "p", 100, "cid1");
    p.reply_root = 2;
    p.reply_parent = 3;
    p.quote = true;
    p.media = Media::kImages;
    f.batch({post(D, 1, "p"), p});
    int64_t id = f.post_id(1, "p");
    const Db::Post &row = f.db.posts.at(id);
    EXPECT_EQ(row.created_at, 100);
    EXPECT_EQ(row.root, 2u);
    EXPECT_EQ(row.parent, 3u);
    EXPECT_TRUE(row.quote);
    EXPECT_EQ(row.media, Media::kImages);
    // An update replaces cid, reply authors, quote and media; keeps id and created_at.
    f.batch({post(U, 1, "p", 200, "cid2")});
    ASSERT_EQ(f.post_id(1, "p"), id);
    EXPECT_EQ(f.db.posts.at(id).created_at, 100);
    EXPECT_EQ(f.db.posts.at(id).cid, "cid2");
    EXPECT_EQ(f.db.posts.at(id).root, 0u);
    EXPECT_FALSE(f.db.posts.at(id).quote);
    EXPECT_EQ(f.db.posts.at(id).media, Media::kNone);
    // A create of a post that exists is an update too; an update of a post
    // not there is a create.
    f.batch({post(C, 1, "p", 300, "cid3"), post(U, 2, "q", 5)});
    EXPECT_EQ(f.post_id(1, "p"), id);
    EXPECT_EQ(f.db.posts.at(id).cid, "cid3");
    EXPECT_GT(f.post_id(2, "q"), id);
}

TEST(IngestRules, RepostsBeforeTheirPostArePromotedInOrder) {
    Fixture f;
    f.batch({
        repost(C, 3, "r1", 1, "p", 30),
        repost(C, 2, "r1", 1, "p", 20),
        repost(C, 2, "r2", 1, "p", 10),  // reposter 2's second record of the post, and earlier
        repost(C, 4, "r1", 1, "p", 20),
    });
    EXPECT_TRUE(f.db.reposts.empty());
    EXPECT_EQ(f.db.pending.size(), 4u);
    f.batch({post(C, 1, "p", 5)});
    int64_t pid = f.post_id(1, "p");
    // Promoted in (created_at, reposter, rkey) order: 2/r2 (10), 2/r1 stays
    // (2 has a row), 4/r1 (20), 3/r1 (30); each keeps its own time and cid.
    ASSERT_EQ(f.db.reposts.size(), 3u);
    std::vector<std::pair<Uid, std::string>> order;
    for (const auto &[id, r] : f.db.reposts) {
        EXPECT_EQ(r.post_id, pid);
        EXPECT_GT(id, pid);
        order.push_back({r.reposter, r.rkey});
    }
    EXPECT_EQ(order, (std::vector<std::pair<Uid, std::string>>{{2, "r2"}, {4, "r1"}, {3, "r1"}}));
    ASSERT_EQ(f.db.pending.size(), 1u);
    EXPECT_TRUE(f.db.pending.count({2, "r1"}));
    // The row's delete promotes the held-aside record of the same reposter and post.
    f.batch({repost(D, 2, "r2", 0, "")});
    ASSERT_FALSE(test::ref_repost(f.db, 2, "r2"));
    auto promoted = test::ref_repost(f.db, 2, "r1");
    ASSERT_TRUE(promoted);
    EXPECT_EQ(f.db.reposts.at(*promoted).created_at, 20);
    EXPECT_TRUE(f.db.pending.empty());
}

TEST(IngestRules, RepostCreateIsANoOpWhenKnownEitherWay) {
    Fixture f;
    f.batch({post(C, 1, "p"), repost(C, 2, "r", 1, "p", 10), repost(C, 2, "r", 1, "p", 99),
             repost(C, 3, "h", 1, "nope", 10), repost(C, 3, "h", 1, "p", 99)});
    ASSERT_EQ(f.db.reposts.size(), 1u);
    EXPECT_EQ(f.db.reposts.begin()->second.created_at, 10);
    ASSERT_EQ(f.db.pending.size(), 1u);
    EXPECT_EQ(f.db.pending.at({3, "h"}).subject_rkey, "nope");
    // Deletes of unknown reposts, and of a held-aside one.
    f.batch({repost(D, 5, "x", 0, ""), repost(D, 3, "h", 0, "")});
    EXPECT_TRUE(f.db.pending.empty());
    EXPECT_EQ(f.db.reposts.size(), 1u);
}

TEST(IngestRules, RepostUpdates) {
    Fixture f;
    f.batch({post(C, 1, "p"), post(C, 1, "q"), repost(C, 2, "r", 1, "p", 10)});
    int64_t id = *test::ref_repost(f.db, 2, "r");
    Change same = repost(U, 2, "r", 1, "p", 50);
    same.cid = "newcid";
    f.batch({same});
    ASSERT_EQ(*test::ref_repost(f.db, 2, "r"), id);  // of the same post: only the cid
    EXPECT_EQ(f.db.reposts.at(id).cid, "newcid");
    EXPECT_EQ(f.db.reposts.at(id).created_at, 10);
    f.batch({repost(U, 2, "r", 1, "q", 60)});  // another post: delete and create
    int64_t moved = *test::ref_repost(f.db, 2, "r");
    EXPECT_NE(moved, id);
    EXPECT_EQ(f.db.reposts.at(moved).post_id, f.post_id(1, "q"));
}

TEST(IngestRules, PostDeleteTakesItsReposts) {
    Fixture f;
    f.batch({post(C, 1, "p"), repost(C, 2, "r", 1, "p"), repost(C, 2, "dup", 1, "p"), repost(C, 3, "r", 1, "p"),
             repost(C, 4, "r", 1, "other")});
    EXPECT_EQ(f.db.reposts.size(), 2u);
    EXPECT_EQ(f.db.pending.size(), 2u);
    f.batch({post(D, 1, "p")});
    EXPECT_TRUE(f.db.posts.empty());
    EXPECT_TRUE(f.db.reposts.empty());
    ASSERT_EQ(f.db.pending.size(), 1u);  // of another post
    // Of a post never indexed, the held-aside reposts go too (a replay of
    // [repost, post delete] must not leave one behind).
    f.batch({post(D, 1, "other")});
    EXPECT_TRUE(f.db.pending.empty());
    // A post re-created later starts afresh.
    f.batch({post(C, 1, "p")});
    EXPECT_TRUE(f.db.reposts.empty());
}

TEST(IngestRules, ListsStubsAndPurposes) {
    Fixture f;
    // An item before its list: a stub (purpose NULL), then the list's record fills it in.
    f.batch({entry(C, Collection::kListItem, 1, "i1", 1, "L", 2)});
    ASSERT_EQ(f.db.lists.size(), 1u);
    int64_t lid = f.db.lists.begin()->first;
    EXPECT_FALSE(f.db.lists.at(lid).purpose);
    EXPECT_TRUE(f.db.list_items.count({lid, 2}));
    f.batch({list(C, 1, "L", "curatelist")});
    EXPECT_EQ(f.db.lists.at(lid).purpose, "curatelist");
    // A create of a list with a purpose: nothing; an update: the new purpose.
    f.batch({list(C, 1, "L", "modlist")});
    EXPECT_EQ(f.db.lists.at(lid).purpose, "curatelist");
    f.batch({list(U, 1, "L", "modlist")});
    EXPECT_EQ(f.db.lists.at(lid).purpose, "modlist");
    // A block of the list, items kept while a record of them remains.
    f.batch({entry(C, Collection::kListBlock, 3, "b1", 1, "L"), entry(C, Collection::kListBlock, 3, "b2", 1, "L"),
             entry(C, Collection::kListItem, 1, "i2", 1, "L", 2), entry(D, Collection::kListItem, 1, "i1", 0, "")});
    EXPECT_TRUE(f.db.list_items.count({lid, 2}));
    EXPECT_TRUE(f.db.list_blocks.count({lid, 3}));
    f.batch({entry(D, Collection::kListBlock, 3, "b1", 0, "")});
    EXPECT_TRUE(f.db.list_blocks.count({lid, 3}));
    f.batch({entry(D, Collection::kListBlock, 3, "b2", 0, "")});
    EXPECT_FALSE(f.db.list_blocks.count({lid, 3}));
    // The list's delete takes its items, blocks and records; a later
    // reference makes a new stub.
    f.batch({entry(C, Collection::kListBlock, 4, "b", 1, "L"), list(D, 1, "L")});
    EXPECT_TRUE(f.db.lists.empty());
    EXPECT_TRUE(f.db.list_items.empty());
    EXPECT_TRUE(f.db.list_blocks.empty());
    EXPECT_TRUE(f.db.records.empty());
    f.batch({entry(C, Collection::kListBlock, 4, "b", 1, "L"), list(D, 5, "nope")});
    ASSERT_EQ(f.db.lists.size(), 1u);
    EXPECT_NE(f.db.lists.begin()->first, lid);
}

TEST(IngestRules, ListPurposeIsAnyText) {
    Fixture f;
    // An empty last segment is text, not NULL: the list is no stub.
    f.batch({list(C, 1, "E", ""), list(C, 1, "O", "mod list ☃")});
    ASSERT_EQ(f.db.lists.size(), 2u);
    for (const auto &[id, l] : f.db.lists)
        EXPECT_EQ(l.purpose, l.rkey == "E" ? "" : "mod list ☃");
    // A create finds a list that is no stub: nothing; an update sets it.
    f.batch({list(C, 1, "E", "modlist")});
    EXPECT_EQ(f.db.lists.begin()->second.rkey == "E" ? f.db.lists.begin()->second.purpose
                                                      : std::next(f.db.lists.begin())->second.purpose,
              "");
    f.batch({list(U, 1, "E", "modlist"), list(U, 1, "O", "")});
    for (const auto &[id, l] : f.db.lists)
        EXPECT_EQ(l.purpose, l.rkey == "E" ? "modlist" : "");
}

TEST(IngestRules, AccountsAndUnknownDids) {
    Fixture f;
    f.batch({account(2, false, "takendown"), account(3, false, nullptr), account(9, false, "deleted"),
             account(4, false, ""), account(5, false, "on holiday (été)")});
    EXPECT_FALSE(f.db.actors.at(2).active);
    EXPECT_EQ(f.db.actors.at(2).status, "takendown");
    EXPECT_FALSE(f.db.actors.at(3).status);  // no status: NULL
    EXPECT_FALSE(f.db.actors.count(9));      // no actor: nothing to update
    // Any text is stored as it is, the empty one too (not NULL).
    EXPECT_EQ(f.db.actors.at(4).status, "");
    EXPECT_EQ(f.db.actors.at(5).status, "on holiday (été)");
    f.batch({account(2, true, "takendown")});
    EXPECT_TRUE(f.db.actors.at(2).active);
    EXPECT_FALSE(f.db.actors.at(2).status);  // active: NULL
    // Deletes by a DID the glue does not know (uid 0) are no-ops.
    f.batch({follow(D, 0, "a", 0), post(D, 0, "p"), list(D, 0, "l")});
}

// The loading protocol.

TEST(IngestProtocol, CreatesOfNewRecordsTakeOneRun) {
    std::vector<Change> v = {follow(C, 1, "a", 2), post(C, 1, "p"), repost(C, 2, "r", 1, "p"), list(C, 1, "L"),
                             entry(C, Collection::kListItem, 1, "i", 1, "L", 3)};
    Keys k = touched_keys(v.data(), v.size());
    EXPECT_EQ(k.records.size(), 2u);
    EXPECT_EQ(k.follows.size(), 0u);  // the edge depends on the record
    EXPECT_EQ(k.posts.size(), 1u);    // (1, p); the repost's is a dependent key
    EXPECT_EQ(k.pending_of.size(), 1u);
    EXPECT_EQ(k.reposts.size(), 1u);
    EXPECT_EQ(k.lists.size(), 1u);
    State st;  // an empty database
    st.mark_loaded(k);
    // No record, no repost: the follow's edge; (1, p) is loaded already.
    Keys dep = dependent_keys(v.data(), v.size(), st);
    EXPECT_EQ(dep.follows.size(), 1u);
    EXPECT_EQ(dep.posts.size(), 0u);
    EXPECT_EQ(dep.reposts_of.size(), 0u);  // the post is not there
    st.mark_loaded(dep);
    EXPECT_TRUE(dependent_keys(v.data(), v.size(), st).empty());
    IdDemand need = id_demand(v.data(), v.size(), st);
    EXPECT_EQ(need.items, 2u);
    EXPECT_EQ(need.lists, 2u);
    PrefetchedIds ids;
    ids.items = {7, 8};
    ids.lists = {3, 4};
    BatchRun run = apply(v.data(), v.size(), st, ids);
    ASSERT_TRUE(run.complete());
    EXPECT_EQ(ids.items_used, 2u);
    EXPECT_EQ(ids.lists_used, 1u);
    Diff d = diff(st, run);
    EXPECT_EQ(d.post_inserts.size(), 1u);
    EXPECT_EQ(d.post_inserts[0].id, 7);
    EXPECT_EQ(d.repost_inserts.size(), 1u);
    EXPECT_EQ(d.repost_inserts[0].post_id, 7);  // a post of this run: nothing more to load
    EXPECT_EQ(d.list_inserts.size(), 1u);
    EXPECT_EQ(d.list_item_inserts.size(), 1u);
    EXPECT_EQ(d.record_inserts.size(), 2u);
    EXPECT_EQ(d.follow_inserts.size(), 1u);
}

TEST(IngestProtocol, ADeleteLoadsTheRowOfItsRecord) {
    Db db;
    db.records[{1, int(Collection::kFollow), "a"}] = Db::Rec{2, kNoList, 5};
    db.follows[{1, 2}] = 5;
    std::vector<Change> v = {follow(D, 1, "a", 0)};
    State st;
    Keys k = touched_keys(v.data(), v.size());
    test::load(db, k, st);
    st.mark_loaded(k);
    PrefetchedIds ids;
    BatchRun run = apply(v.data(), v.size(), st, ids);
    ASSERT_FALSE(run.complete());
    // The record names the subject: the edge and the edge's other records.
    ASSERT_EQ(run.missing().follows.size(), 1u);
    EXPECT_EQ(run.missing().follows[0].to, 2u);
    ASSERT_EQ(run.missing().record_rows.size(), 1u);
    EXPECT_EQ(run.missing().record_rows[0].b, 2);
    test::load(db, run.missing(), st);
    st.mark_loaded(run.missing());
    BatchRun again = apply(v.data(), v.size(), st, ids);
    ASSERT_TRUE(again.complete());
    Diff d = diff(st, again);
    EXPECT_EQ(d.record_deletes.size(), 1u);
    EXPECT_EQ(d.follow_deletes.size(), 1u);
}

TEST(IngestProtocol, DependentKeysFollowTheLoadedRows) {
    Db db;
    db.records[{1, int(Collection::kFollow), "a"}] = Db::Rec{2, kNoList, 5};
    db.follows[{1, 2}] = 5;
    db.posts[7] = Db::Post{1, 5, "p", std::string("c"), 0, 0, false, Media::kNone};
    // A replayed follow create, a follow delete, a new repost of a post
    // that is there.
    std::vector<Change> v = {follow(C, 1, "a", 2), follow(D, 1, "a", 0), repost(C, 2, "r", 1, "p")};
    State st;
    Keys k = touched_keys(v.data(), v.size());
    test::load(db, k, st);
    st.mark_loaded(k);
    Keys dep = dependent_keys(v.data(), v.size(), st);
    // The deleted record's edge and the edge's other records (the replayed
    // create needs neither), and the repost's post.
    ASSERT_EQ(dep.follows.size(), 1u);
    EXPECT_EQ(dep.follows[0].to, 2u);
    EXPECT_EQ(dep.record_rows.size(), 1u);
    ASSERT_EQ(dep.posts.size(), 1u);
    EXPECT_TRUE(dep.reposts_of.empty());
    test::load(db, dep, st);
    st.mark_loaded(dep);
    // Then the reposter's repost of that post.
    Keys more = dependent_keys(v.data(), v.size(), st);
    ASSERT_EQ(more.reposts_of.size(), 1u);
    EXPECT_EQ(more.reposts_of[0].post_id, 7);
    test::load(db, more, st);
    st.mark_loaded(more);
    EXPECT_TRUE(dependent_keys(v.data(), v.size(), st).empty());
    PrefetchedIds ids;
    ids.items = {20};
    BatchRun run = apply(v.data(), v.size(), st, ids);
    ASSERT_TRUE(run.complete());
    Diff d = diff(st, run);
    EXPECT_EQ(d.record_deletes.size(), 1u);
    EXPECT_EQ(d.follow_deletes.size(), 1u);
    ASSERT_EQ(d.repost_inserts.size(), 1u);
    EXPECT_EQ(d.repost_inserts[0].post_id, 7);
}

TEST(IngestProtocol, TooFewIdsAreReported) {
    std::vector<Change> v = {post(C, 1, "p"), post(C, 1, "q")};
    State st;
    st.mark_loaded(touched_keys(v.data(), v.size()));
    PrefetchedIds ids;
    ids.items = {1};
    BatchRun run = apply(v.data(), v.size(), st, ids);
    EXPECT_TRUE(run.ids_exhausted());
    EXPECT_FALSE(run.complete());
    ids.items.push_back(2);
    ids.rewind();
    EXPECT_TRUE(apply(v.data(), v.size(), st, ids).complete());
}

// Out of memory anywhere in a run: std::bad_alloc, nothing else, nothing leaked.
TEST(IngestProtocol, AllocationFailuresThrowBadAlloc) {
    std::vector<Change> v = {follow(C, 1, "a", 2), post(C, 1, "p"), repost(C, 2, "r", 1, "p"), list(D, 1, "L"),
                             entry(C, Collection::kListItem, 1, "i", 1, "L", 3), follow(D, 1, "a", 0)};
    for (long nth = 1;; nth++) {
        bool threw = false;
        try {
            dp::test::NewFailureScope fail(nth);
            State st;
            Keys k = touched_keys(v.data(), v.size());
            st.mark_loaded(k);
            st.add_post(PostRow{5, 1, 1, "p", Text("c"), 0, 0, false, Media::kNone});
            PrefetchedIds ids;
            ids.items = {10, 11, 12};
            ids.lists = {20, 21};
            BatchRun run = apply(v.data(), v.size(), st, ids);
            Diff d = diff(st, run);
            EXPECT_FALSE(d.empty());
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        bool fired = dp::test::NewFailure::fired();
        ASSERT_EQ(threw, fired) << "allocation " << nth << ": a failure swallowed";
        if (!fired) {
            EXPECT_GT(nth, 50);
            break;
        }
    }
}

}  // namespace
}  // namespace ing
