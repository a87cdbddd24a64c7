// The ingest end to end, the glue's way without PostgreSQL: Jetstream lines
// parsed in place in one padded buffer, their DIDs interned, resolved into
// Changes (ingest_change.hpp), and applied as one batch.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ingest_change.hpp"
#include "ingest_ref.hpp"

namespace ing {
namespace {

using test::Db;

struct Actors {
    std::map<std::string, Uid, std::less<>> uid;
    Db *db = nullptr;

    Uid intern(std::string_view did) {
        auto it = uid.find(did);
        if (it != uid.end())
            return it->second;
        Uid u = Uid(uid.size() + 1);
        uid.emplace(std::string(did), u);
        db->actors[u] = Db::Actor{true, std::nullopt};
        return u;
    }
    static Uid lookup(void *ctx, std::string_view did) {
        auto *a = static_cast<Actors *>(ctx);
        auto it = a->uid.find(did);
        return it == a->uid.end() ? 0 : it->second;
    }
};

const std::string A = "did:plc:alice";
const std::string B = "did:plc:bob";
const std::string C = "did:plc:carol";

std::string ev(const std::string &did, int64_t t, const std::string &op, const std::string &coll,
               const std::string &rkey, const std::string &record = "") {
    std::string s = "{\"did\":\"" + did + "\",\"time_us\":" + std::to_string(t) +
                    ",\"kind\":\"commit\",\"commit\":{\"rev\":\"x\",\"operation\":\"" + op +
                    "\",\"collection\":\"app.bsky." + coll + "\",\"rkey\":\"" + rkey + "\"";
    if (!record.empty())
        s += ",\"record\":" + record + ",\"cid\":\"bafyc" + rkey + "\"";
    return s + "}}";
}

std::string uri(const std::string &did, const std::string &coll, const std::string &rkey) {
    return "at://" + did + "/app.bsky." + coll + "/" + rkey;
}

TEST(IngestPipeline, LinesToTables) {
    std::vector<std::string> lines = {
        ev(B, 1, "create", "feed.repost", "rp1",
           "{\"subject\":{\"cid\":\"x\",\"uri\":\"" + uri(A, "feed.post", "p1") + "\"},\"createdAt\":\"2024-01-01T00:00:00Z\"}"),
        ev(A, 2, "create", "feed.post", "p1",
           "{\"createdAt\":\"2024-01-01T00:00:00Z\",\"embed\":{\"$type\":\"app.bsky.embed.images\"},\"text\":\"hi\"}"),
        ev(C, 3, "create", "feed.post", "p2",
           "{\"reply\":{\"parent\":{\"uri\":\"" + uri(A, "feed.post", "p1") + "\"},\"root\":{\"uri\":\"" +
               uri(A, "feed.post", "p1") + "\"}},\"text\":\"re\"}"),
        ev(A, 4, "create", "feed.like", "lk", "{\"subject\":{}}"),
        "",
        "{not json",
        ev(A, 5, "create", "graph.follow", "f1", "{\"subject\":\"" + B + "\"}"),
        ev(A, 6, "create", "graph.follow", "f2", "{\"subject\":\"" + B + "\"}"),
        ev(A, 7, "delete", "graph.follow", "f1"),
        ev(C, 8, "create", "graph.listitem", "li", "{\"list\":\"" + uri(C, "graph.list", "L") + "\",\"subject\":\"" + A + "\"}"),
        ev(B, 9, "create", "graph.listblock", "lb", "{\"subject\":\"" + uri(C, "graph.list", "L") + "\"}"),
        ev(C, 10, "create", "graph.list", "L", "{\"purpose\":\"app.bsky.graph.defs#modlist\"}"),
        ev("did:plc:nobody", 11, "delete", "graph.block", "b"),
        "{\"did\":\"" + B + "\",\"time_us\":12,\"kind\":\"account\",\"account\":{\"active\":false,\"status\":\"deactivated\"}}",
    };
    std::string buf;
    for (const auto &l : lines)
        buf += l + "\n";
    size_t len = buf.size();
    buf.append(kJsonPadding, '\0');

    Db db;
    Actors actors;
    actors.db = &db;
    JetstreamParser parser;
    std::vector<JetstreamEvent> events;
    size_t pos = 0, unreadable = 0, skipped = 0;
    int64_t cursor = -1;
    std::string_view line;
    while (next_line(buf.data(), len, &pos, &line)) {
        JetstreamEvent e;
        parser.parse(line.data(), line.size(), size_t(buf.data() + buf.size() - line.data()), &e);
        if (e.verdict == Verdict::kUnreadable) {
            unreadable++;
            continue;
        }
        cursor = std::max(cursor, e.time_us);
        if (e.verdict == Verdict::kSkip) {
            skipped++;
            continue;
        }
        std::string_view dids[kMaxEventDids];
        for (size_t i = 0, n = dids_to_intern(e, dids); i < n; i++)
            actors.intern(dids[i]);
        events.push_back(e);
    }
    EXPECT_EQ(unreadable, 1u);
    EXPECT_EQ(skipped, 1u);
    EXPECT_EQ(cursor, 12);
    EXPECT_EQ(actors.uid.size(), 3u);  // "did:plc:nobody" deletes only: not interned
    std::vector<Change> changes;
    for (const JetstreamEvent &e : events)
        changes.push_back(to_change(e, e.time_us, &Actors::lookup, &actors));
    test::apply_batch(db, changes.data(), changes.size());
    ASSERT_FALSE(::testing::Test::HasFatalFailure());

    Uid a = actors.uid[A], b = actors.uid[B], c = actors.uid[C];
    ASSERT_EQ(db.posts.size(), 2u);
    int64_t p1 = *test::ref_post(db, a, "p1");
    EXPECT_EQ(db.posts[p1].media, Media::kImages);
    EXPECT_EQ(db.posts[p1].cid, "bafycp1");
    int64_t p2 = *test::ref_post(db, c, "p2");
    EXPECT_EQ(db.posts[p2].root, a);
    EXPECT_EQ(db.posts[p2].parent, a);
    ASSERT_EQ(db.reposts.size(), 1u);  // held aside, then promoted
    EXPECT_EQ(db.reposts.begin()->second.post_id, p1);
    EXPECT_EQ(db.reposts.begin()->second.reposter, b);
    EXPECT_EQ(db.follows.size(), 1u);
    EXPECT_EQ(db.follows.at({a, b}), 6);  // f1 went: the time of f2, the record left
    ASSERT_EQ(db.lists.size(), 1u);
    int64_t l = db.lists.begin()->first;
    EXPECT_EQ(db.lists[l].purpose, "modlist");  // the stub filled in
    EXPECT_TRUE(db.list_items.count({l, a}));
    EXPECT_TRUE(db.list_blocks.count({l, b}));
    EXPECT_FALSE(db.actors[b].active);
    EXPECT_EQ(db.actors[b].status, "deactivated");

    // The same lines again change nothing.
    Db before = db;
    test::apply_batch(db, changes.data(), changes.size());
    EXPECT_TRUE(db.same_tables(before));
}

TEST(IngestPipeline, DidsToIntern) {
    JetstreamEvent e;
    e.verdict = Verdict::kApply;
    e.kind = EventKind::kCommit;
    e.did = "did:x:a";
    e.op = CommitOp::kDelete;
    e.collection = Collection::kFollow;
    std::string_view out[kMaxEventDids];
    EXPECT_EQ(dids_to_intern(e, out), 0u);
    e.op = CommitOp::kCreate;
    e.subject = "did:x:b";
    ASSERT_EQ(dids_to_intern(e, out), 2u);
    EXPECT_EQ(out[1], "did:x:b");
    e.collection = Collection::kList;
    EXPECT_EQ(dids_to_intern(e, out), 1u);
    e.collection = Collection::kPost;
    EXPECT_EQ(dids_to_intern(e, out), 1u);
    e.reply_root = "did:x:r";
    e.reply_parent = "did:x:p";
    EXPECT_EQ(dids_to_intern(e, out), 3u);
    e.verdict = Verdict::kSkip;
    EXPECT_EQ(dids_to_intern(e, out), 0u);
}

}  // namespace
}  // namespace ing
