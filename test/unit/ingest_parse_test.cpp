// Reading Jetstream v1 events (jetstream_parse.hpp): every event shape the
// index keeps, the validation rules, skipped events, malformed input, and
// the speed on a stream that is 70 % likes.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "jetstream_parse.hpp"

namespace ing {
namespace {

const std::string A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const std::string B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
const std::string C = "did:web:example.com";
const std::string kCid = "bafyreihkdfo6w2h2pxkrr7ovd2v5b6jhwb2swbavbqz3y4ppqfvs6kmfca";

// Parses one line given as a string, with padding after it, keeping the
// buffer alive as long as the event's views.
struct Parsed {
    JetstreamParser parser;
    std::string buf;
    JetstreamEvent ev;

    explicit Parsed(const std::string &line) { parse(line); }
    void parse(const std::string &line) {
        buf = line;
        buf.append(kJsonPadding, '\0');
        parser.parse(buf.data(), line.size(), buf.size(), &ev);
    }
};

std::string commit(const std::string &did, const std::string &op, const std::string &coll,
                   const std::string &rkey, const std::string &record = "", const std::string &cid = kCid) {
    std::string s = "{\"did\":\"" + did + "\",\"time_us\":1725911162329308,\"kind\":\"commit\",\"commit\":{"
                    "\"rev\":\"3l3qo2vutsw2b\",\"operation\":\"" + op + "\",\"collection\":\"" + coll +
                    "\",\"rkey\":\"" + rkey + "\"";
    if (!record.empty())
        s += ",\"record\":" + record + ",\"cid\":\"" + cid + "\"";
    return s + "}}";
}

std::string uri(const std::string &did, const std::string &coll, const std::string &rkey) {
    return "at://" + did + "/" + coll + "/" + rkey;
}

std::string post_uri(const std::string &did, const std::string &rkey) {
    return uri(did, "app.bsky.feed.post", rkey);
}

std::string sref(const std::string &u) { return "{\"cid\":\"" + kCid + "\",\"uri\":\"" + u + "\"}"; }

std::string post_record(const std::string &extra) {
    return "{\"$type\":\"app.bsky.feed.post\",\"createdAt\":\"2024-09-09T19:46:02.102Z\"" + extra +
           ",\"langs\":[\"en\"],\"text\":\"hello \\\"world\\\" \xe2\x9c\xa8\"}";
}

void expect_unreadable(const std::string &line) {
    Parsed p(line);
    EXPECT_EQ(p.ev.verdict, Verdict::kUnreadable) << line;
    EXPECT_NE(p.ev.reason, nullptr) << line;
}

TEST(IngestParse, Follow) {
    Parsed p(commit(A, "create", "app.bsky.graph.follow", "3l3qo2vutsw2b",
                    "{\"$type\":\"app.bsky.graph.follow\",\"createdAt\":\"2024-09-09T19:46:02.102Z\","
                    "\"subject\":\"" + B + "\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.kind, EventKind::kCommit);
    EXPECT_EQ(p.ev.did, A);
    EXPECT_EQ(p.ev.time_us, 1725911162329308);
    EXPECT_EQ(p.ev.op, CommitOp::kCreate);
    EXPECT_EQ(p.ev.collection, Collection::kFollow);
    EXPECT_EQ(p.ev.rkey, "3l3qo2vutsw2b");
    EXPECT_EQ(p.ev.subject, B);
    EXPECT_EQ(p.ev.created_at, "2024-09-09T19:46:02.102Z");
    EXPECT_TRUE(p.ev.cid.empty());  // not read for follows
    // Zero copies: the views point into the buffer.
    EXPECT_GE(p.ev.subject.data(), p.buf.data());
    EXPECT_LT(p.ev.subject.data(), p.buf.data() + p.buf.size());
    EXPECT_GE(p.ev.did.data(), p.buf.data());
    EXPECT_LT(p.ev.rkey.data(), p.buf.data() + p.buf.size());
}

TEST(IngestParse, BlockAndSelfFollow) {
    Parsed p(commit(A, "create", "app.bsky.graph.block", "k1",
                    "{\"$type\":\"app.bsky.graph.block\",\"subject\":\"" + C + "\",\"createdAt\":\"x\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.collection, Collection::kBlock);
    EXPECT_EQ(p.ev.subject, C);
    EXPECT_EQ(p.ev.created_at, "x");  // read as text; judged by parse_rfc3339
    p.parse(commit(A, "create", "app.bsky.graph.follow", "k1", "{\"subject\":\"" + A + "\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply);
    EXPECT_EQ(p.ev.subject, A);
    EXPECT_TRUE(p.ev.created_at.empty());
}

TEST(IngestParse, Deletes) {
    for (const char *coll : {"app.bsky.graph.follow", "app.bsky.graph.block", "app.bsky.feed.post",
                             "app.bsky.feed.repost", "app.bsky.graph.list", "app.bsky.graph.listitem",
                             "app.bsky.graph.listblock"}) {
        Parsed p(commit(A, "delete", coll, "3l3abc"));
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << coll << ": " << p.ev.reason;
        EXPECT_EQ(p.ev.op, CommitOp::kDelete);
        EXPECT_NE(p.ev.collection, Collection::kOther);
        EXPECT_EQ(p.ev.rkey, "3l3abc");
    }
    // A delete needs no record; a bad rkey is still unreadable.
    expect_unreadable(commit(A, "delete", "app.bsky.graph.follow", ".."));
    expect_unreadable(commit(A, "delete", "app.bsky.graph.follow", ""));
    expect_unreadable(commit(A, "remove", "app.bsky.graph.follow", "k"));
}

TEST(IngestParse, PostWithReplyAndRecordWithMedia) {
    std::string rec = post_record(
        ",\"embed\":{\"$type\":\"app.bsky.embed.recordWithMedia\",\"media\":{\"$type\":\"app.bsky.embed.images\","
        "\"images\":[{\"alt\":\"\",\"image\":{\"$type\":\"blob\",\"ref\":{\"$link\":\"bafk\"},\"size\":1}}]},"
        "\"record\":{\"$type\":\"app.bsky.embed.record\",\"record\":" + sref(post_uri(C, "3k9")) + "}},"
        "\"reply\":{\"parent\":" + sref(post_uri(B, "3kp")) + ",\"root\":" + sref(post_uri(C, "3kr")) + "}");
    Parsed p(commit(A, "create", "app.bsky.feed.post", "3l3qo2vutsw2b", rec));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.collection, Collection::kPost);
    EXPECT_EQ(p.ev.cid, kCid);
    EXPECT_EQ(p.ev.created_at, "2024-09-09T19:46:02.102Z");
    EXPECT_EQ(p.ev.reply_parent, B);
    EXPECT_EQ(p.ev.reply_root, C);
    EXPECT_TRUE(p.ev.quote);
    EXPECT_EQ(p.ev.media, Media::kImages);
}

TEST(IngestParse, PostEmbeds) {
    struct Case {
        std::string embed;
        bool quote;
        Media media;
    };
    std::vector<Case> cases = {
        {"", false, Media::kNone},
        {",\"embed\":null", false, Media::kNone},
        {",\"embed\":{\"$type\":\"app.bsky.embed.images\",\"images\":[]}", false, Media::kImages},
        {",\"embed\":{\"$type\":\"app.bsky.embed.video\",\"video\":{}}", false, Media::kVideo},
        {",\"embed\":{\"$type\":\"app.bsky.embed.external\",\"external\":{\"uri\":\"https://x\"}}", false,
         Media::kExternal},
        {",\"embed\":{\"$type\":\"app.bsky.embed.record\",\"record\":" + sref(post_uri(B, "r")) + "}", true,
         Media::kNone},
        {",\"embed\":{\"$type\":\"app.bsky.embed.recordWithMedia\",\"media\":{\"$type\":\"app.bsky.embed.video\"},"
         "\"record\":{}}", true, Media::kVideo},
        {",\"embed\":{\"$type\":\"app.bsky.embed.recordWithMedia\",\"media\":{\"$type\":\"app.bsky.embed.external\"}}",
         true, Media::kExternal},
        {",\"embed\":{\"$type\":\"app.bsky.embed.recordWithMedia\",\"record\":{}}", true, Media::kNone},
        {",\"embed\":{\"$type\":\"app.bsky.embed.recordWithMedia\",\"media\":{\"$type\":\"app.bsky.embed.record\"}}",
         true, Media::kNone},
        {",\"embed\":{\"$type\":\"app.bsky.embed.recordWithMedia\",\"media\":7}", true, Media::kNone},
        {",\"embed\":{\"$type\":\"com.example.embed\"}", false, Media::kNone},
        {",\"embed\":{\"images\":[]}", false, Media::kNone},
        {",\"embed\":{\"$type\":5}", false, Media::kNone},
        {",\"embed\":\"app.bsky.embed.images\"", false, Media::kNone},
        {",\"embed\":[1,2]", false, Media::kNone},
        // Nested: only the top-level $type and recordWithMedia's media count.
        {",\"embed\":{\"record\":{\"$type\":\"app.bsky.embed.images\"},\"$type\":\"app.bsky.embed.record\"}", true,
         Media::kNone},
        // Escaped text is unescaped.
        {",\"embed\":{\"$type\":\"app.bsky.embed.\\u0069mages\"}", false, Media::kImages},
    };
    for (const Case &c : cases) {
        Parsed p(commit(A, "create", "app.bsky.feed.post", "p", post_record(c.embed)));
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << c.embed << ": " << p.ev.reason;
        EXPECT_EQ(p.ev.quote, c.quote) << c.embed;
        EXPECT_EQ(p.ev.media, c.media) << c.embed;
        EXPECT_TRUE(p.ev.reply_root.empty());
        EXPECT_TRUE(p.ev.reply_parent.empty());
    }
}

TEST(IngestParse, PostReplies) {
    auto with_reply = [](const std::string &reply) {
        return commit(A, "update", "app.bsky.feed.post", "p", post_record(",\"reply\":" + reply));
    };
    Parsed p(with_reply("null"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply);
    EXPECT_EQ(p.ev.op, CommitOp::kUpdate);
    EXPECT_TRUE(p.ev.reply_root.empty());
    // Root and parent in either order, extra keys ignored.
    p.parse(with_reply("{\"root\":" + sref(post_uri(C, "r")) + ",\"x\":1,\"parent\":" + sref(post_uri(A, "q")) + "}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.reply_root, C);
    EXPECT_EQ(p.ev.reply_parent, A);
    // Both or neither.
    expect_unreadable(with_reply("{\"parent\":" + sref(post_uri(B, "q")) + "}"));
    expect_unreadable(with_reply("{\"root\":" + sref(post_uri(B, "q")) + "}"));
    expect_unreadable(with_reply("{}"));
    expect_unreadable(with_reply("[]"));
    expect_unreadable(with_reply("\"at://x\""));
    expect_unreadable(with_reply("{\"root\":" + sref(post_uri(C, "r")) + ",\"parent\":null}"));
    expect_unreadable(with_reply("{\"root\":" + sref(post_uri(C, "r")) + ",\"parent\":{\"cid\":\"x\"}}"));
    expect_unreadable(with_reply("{\"root\":" + sref(post_uri(C, "r")) + ",\"parent\":{\"uri\":5}}"));
    // Only DID authorities.
    expect_unreadable(with_reply("{\"root\":" + sref("at://alice.test/app.bsky.feed.post/r") +
                                 ",\"parent\":" + sref(post_uri(A, "q")) + "}"));
    expect_unreadable(with_reply("{\"root\":" + sref("at://did:plc:x/app.bsky.feed.post") +
                                 ",\"parent\":" + sref(post_uri(A, "q")) + "}"));
}

TEST(IngestParse, PostNeedsRecordAndCid) {
    expect_unreadable(commit(A, "create", "app.bsky.feed.post", "p"));
    expect_unreadable(commit(A, "create", "app.bsky.feed.post", "p", "[]"));
    expect_unreadable(commit(A, "create", "app.bsky.feed.post", "p", "\"text\""));
    std::string no_cid = commit(A, "create", "app.bsky.feed.post", "p", post_record(""));
    no_cid.replace(no_cid.find(",\"cid\""), 6 + 3 + kCid.size(), "");
    expect_unreadable(no_cid);
    std::string cid_number = commit(A, "create", "app.bsky.feed.post", "p", post_record(""));
    cid_number.replace(cid_number.find("\"" + kCid + "\""), kCid.size() + 2, "12");
    expect_unreadable(cid_number);
    std::string cid_null = commit(A, "create", "app.bsky.feed.post", "p", post_record(""));
    cid_null.replace(cid_null.find("\"" + kCid + "\""), kCid.size() + 2, "null");
    expect_unreadable(cid_null);
    // A NUL byte, which PostgreSQL's text cannot hold.
    expect_unreadable(commit(A, "create", "app.bsky.feed.post", "p", post_record(""), "bafy\\u0000rei"));
    expect_unreadable(commit(A, "create", "app.bsky.feed.repost", "r",
                             "{\"subject\":" + sref(post_uri(B, "x")) + "}", "\\u0000"));
    // createdAt of the wrong type is left empty, not an error.
    Parsed p(commit(A, "create", "app.bsky.feed.post", "p", "{\"createdAt\":12,\"text\":\"\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_TRUE(p.ev.created_at.empty());
}

// DESIGN.md: cid = commit.cid, a text column: any string is stored as it is.
TEST(IngestParse, AnyCidText) {
    const std::string long_cid(5000, 'b');
    for (const std::string &cid : {std::string(""), std::string("bafy rei"), std::string("x"), long_cid,
                                   std::string("caf\xc3\xa9 \xe2\x98\x83"), std::string("tab\\there"),
                                   std::string("\\u00e9t\\u00e9")}) {
        Parsed p(commit(A, "create", "app.bsky.feed.post", "p", post_record(""), cid));
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << cid << ": " << p.ev.reason;
        if (cid == "tab\\there")
            EXPECT_EQ(p.ev.cid, "tab\there");
        else if (cid == "\\u00e9t\\u00e9")
            EXPECT_EQ(p.ev.cid, "\xc3\xa9t\xc3\xa9");
        else
            EXPECT_EQ(p.ev.cid, cid);
        p.parse(commit(A, "update", "app.bsky.feed.repost", "r", "{\"subject\":" + sref(post_uri(B, "x")) + "}", cid));
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << cid << ": " << p.ev.reason;
    }
}

TEST(IngestParse, Repost) {
    Parsed p(commit(A, "create", "app.bsky.feed.repost", "3krp",
                    "{\"$type\":\"app.bsky.feed.repost\",\"createdAt\":\"2024-09-09T19:46:02Z\",\"subject\":" +
                        sref(post_uri(B, "3kpost")) + "}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.collection, Collection::kRepost);
    EXPECT_EQ(p.ev.target.did, B);
    EXPECT_EQ(p.ev.target.rkey, "3kpost");
    EXPECT_EQ(p.ev.cid, kCid);
    auto repost = [](const std::string &subject) {
        return commit(A, "create", "app.bsky.feed.repost", "3krp", "{\"subject\":" + subject + "}");
    };
    expect_unreadable(repost(sref(uri(B, "app.bsky.feed.like", "x"))));  // not a post
    expect_unreadable(repost(sref(uri(B, "app.bsky.feed.post", "x/y"))));
    expect_unreadable(repost(sref("at://bob.test/app.bsky.feed.post/x")));
    expect_unreadable(repost("\"" + post_uri(B, "x") + "\""));  // a string, not a strong ref
    expect_unreadable(repost("{\"cid\":\"x\"}"));
    expect_unreadable(repost("null"));
    expect_unreadable(commit(A, "create", "app.bsky.feed.repost", "3krp", "{}"));
}

TEST(IngestParse, Lists) {
    Parsed p(commit(A, "create", "app.bsky.graph.list", "3klist",
                    "{\"$type\":\"app.bsky.graph.list\",\"createdAt\":\"2024-09-09T19:46:02Z\",\"name\":\"n\","
                    "\"purpose\":\"app.bsky.graph.defs#modlist\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.collection, Collection::kList);
    EXPECT_EQ(p.ev.purpose, "modlist");
    p.parse(commit(A, "update", "app.bsky.graph.list", "3klist", "{\"purpose\":\"app.bsky.graph.defs#curatelist\"}"));
    EXPECT_EQ(p.ev.purpose, "curatelist");
    p.parse(commit(A, "create", "app.bsky.graph.list", "3klist", "{\"purpose\":\"referencelist\"}"));
    EXPECT_EQ(p.ev.purpose, "referencelist");
    // No purpose (missing, null, not a string): NULL.
    for (const char *none : {"{}", "{\"purpose\":null}", "{\"purpose\":3}", "{\"purpose\":[\"a#b\"]}"}) {
        p.parse(commit(A, "create", "app.bsky.graph.list", "3klist", none));
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << none;
        EXPECT_FALSE(p.ev.purpose) << none;
    }
    // Any other last segment is text, stored as it is: empty, with spaces,
    // long, not ASCII.
    const std::string long_word(3000, 'm');
    const std::pair<std::string, std::string> odd[] = {
        {"a#", ""}, {"", ""}, {"#", ""}, {"a#b c", "b c"}, {"a#b#c", "c"}, {"x#\\u00e9t\\u00e9", "\xc3\xa9t\xc3\xa9"},
        {"app.bsky.graph.defs#" + long_word, long_word}, {"a\\u0000b#modlist", "modlist"}, {"no hash", "no hash"}};
    for (const auto &[purpose, want] : odd) {
        p.parse(commit(A, "create", "app.bsky.graph.list", "3klist", "{\"purpose\":\"" + purpose + "\"}"));
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << purpose << ": " << p.ev.reason;
        ASSERT_TRUE(p.ev.purpose) << purpose;
        EXPECT_EQ(*p.ev.purpose, want) << purpose;
    }
    // A last segment with a NUL byte cannot be stored: unreadable.
    expect_unreadable(commit(A, "create", "app.bsky.graph.list", "3klist", "{\"purpose\":\"a#mod\\u0000list\"}"));
    expect_unreadable(commit(A, "update", "app.bsky.graph.list", "3klist", "{\"purpose\":\"\\u0000\"}"));
}

TEST(IngestParse, ListItemAndListBlock) {
    std::string list = uri(A, "app.bsky.graph.list", "3klist");
    Parsed p(commit(A, "create", "app.bsky.graph.listitem", "3kitem",
                    "{\"$type\":\"app.bsky.graph.listitem\",\"createdAt\":\"2024-09-09T19:46:02Z\",\"list\":\"" +
                        list + "\",\"subject\":\"" + B + "\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.collection, Collection::kListItem);
    EXPECT_EQ(p.ev.target.did, A);
    EXPECT_EQ(p.ev.target.rkey, "3klist");
    EXPECT_EQ(p.ev.subject, B);
    // Only a list's owner adds to it (as Bluesky's AppView): skipped.
    p.parse(commit(B, "create", "app.bsky.graph.listitem", "3kitem",
                   "{\"list\":\"" + list + "\",\"subject\":\"" + B + "\"}"));
    EXPECT_EQ(p.ev.verdict, Verdict::kSkip);
    expect_unreadable(commit(A, "create", "app.bsky.graph.listitem", "i",
                             "{\"list\":\"" + uri(A, "app.bsky.graph.follow", "x") + "\",\"subject\":\"" + B + "\"}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.listitem", "i", "{\"list\":\"" + list + "\"}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.listitem", "i",
                             "{\"list\":\"" + list + "\",\"subject\":\"bob.test\"}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.listitem", "i", "{\"subject\":\"" + B + "\"}"));

    std::string other = uri(C, "app.bsky.graph.list", "3kmod");
    p.parse(commit(A, "create", "app.bsky.graph.listblock", "3kblk",
                   "{\"$type\":\"app.bsky.graph.listblock\",\"createdAt\":\"2024-09-09T19:46:02Z\",\"subject\":\"" +
                       other + "\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.collection, Collection::kListBlock);
    EXPECT_EQ(p.ev.target.did, C);
    EXPECT_EQ(p.ev.target.rkey, "3kmod");
    expect_unreadable(commit(A, "create", "app.bsky.graph.listblock", "b",
                             "{\"subject\":\"" + post_uri(C, "x") + "\"}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.listblock", "b", "{\"subject\":" + sref(other) + "}"));
}

TEST(IngestParse, Account) {
    Parsed p("{\"did\":\"" + A + "\",\"time_us\":5,\"kind\":\"account\",\"account\":{\"active\":false,\"did\":\"" + A +
             "\",\"seq\":123,\"status\":\"takendown\",\"time\":\"2024-09-09T19:46:02.102Z\"}}");
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.kind, EventKind::kAccount);
    EXPECT_EQ(p.ev.did, A);
    EXPECT_EQ(p.ev.time_us, 5);
    EXPECT_FALSE(p.ev.active);
    EXPECT_EQ(p.ev.status, "takendown");
    p.parse("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\",\"account\":{\"active\":true,\"seq\":1}}");
    ASSERT_EQ(p.ev.verdict, Verdict::kApply);
    EXPECT_TRUE(p.ev.active);
    EXPECT_FALSE(p.ev.status);
    // Active: the status is dropped whatever it says (a NUL byte too).
    for (const char *st : {"\"x\"", "\"\"", "\"a\\u0000b\""}) {
        p.parse("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\",\"account\":{\"active\":true,\"status\":" +
                st + "}}");
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << st;
        EXPECT_FALSE(p.ev.status) << st;
    }
    // Inactive without a status (or one that is not a string): NULL status.
    for (const char *st : {"", ",\"status\":null", ",\"status\":7", ",\"status\":{\"a\":1}"}) {
        p.parse("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\",\"account\":{\"active\":false" +
                std::string(st) + "}}");
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << st;
        EXPECT_FALSE(p.ev.status) << st;
    }
    // Any string is the status, stored as it is.
    const std::string long_status(2000, 's');
    const std::pair<std::string, std::string> odd[] = {
        {"", ""}, {"on holiday", "on holiday"}, {"d\\u00e9sactiv\\u00e9", "d\xc3\xa9sactiv\xc3\xa9"},
        {"\xe2\x98\x83", "\xe2\x98\x83"}, {"line\\nbreak", "line\nbreak"}, {long_status, long_status}};
    for (const auto &[st, want] : odd) {
        p.parse("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\",\"account\":{\"active\":false,\"status\":\"" +
                st + "\"}}");
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << st << ": " << p.ev.reason;
        ASSERT_TRUE(p.ev.status) << st;
        EXPECT_EQ(*p.ev.status, want) << st;
    }
    // A NUL byte cannot be stored: unreadable.
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\",\"account\":{\"active\":false,"
                      "\"status\":\"de\\u0000leted\"}}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\",\"account\":{\"status\":\"x\"}}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\",\"account\":{\"active\":\"false\"}}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":6,\"kind\":\"account\",\"account\":[]}");
}

TEST(IngestParse, SkippedKindsAndCollections) {
    Parsed p("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":\"identity\",\"identity\":{\"did\":\"" + A +
             "\",\"handle\":\"a.test\",\"seq\":1,\"time\":\"x\"}}");
    EXPECT_EQ(p.ev.verdict, Verdict::kSkip);
    EXPECT_EQ(p.ev.kind, EventKind::kIdentity);
    EXPECT_EQ(p.ev.time_us, 7);  // skipped events are readable: the cursor moves
    p.parse("{\"did\":\"" + A + "\",\"time_us\":8,\"kind\":\"something-new\"}");
    EXPECT_EQ(p.ev.verdict, Verdict::kSkip);
    EXPECT_EQ(p.ev.kind, EventKind::kOther);
    for (const char *coll : {"app.bsky.feed.like", "app.bsky.actor.profile", "app.bsky.feed.threadgate",
                             "app.bsky.feed.postgate", "app.bsky.feed.posts", "app.bsky.feed.pos",
                             "com.example.thing", "app.bsky.graph.starterpack", "x"}) {
        p.parse(commit(A, "create", coll, "3k", "{\"subject\":{\"uri\":\"junk\"}}"));
        EXPECT_EQ(p.ev.verdict, Verdict::kSkip) << coll;
        EXPECT_EQ(p.ev.collection, Collection::kOther) << coll;
        EXPECT_EQ(p.ev.time_us, 1725911162329308);
    }
    // The record, operation and rkey of a skipped collection are never judged.
    p.parse("{\"did\":\"" + A + "\",\"time_us\":9,\"kind\":\"commit\",\"commit\":{\"operation\":7,"
            "\"collection\":\"app.bsky.feed.like\",\"rkey\":\"..\",\"record\":[1,2,\"x\"]}}");
    EXPECT_EQ(p.ev.verdict, Verdict::kSkip);
    p.parse("{\"did\":\"" + A + "\",\"time_us\":9,\"kind\":\"commit\",\"commit\":{"
            "\"collection\":\"app.bsky.feed.like\",\"record\":{\"subject\":{\"uri\":tru}}}}");
    EXPECT_EQ(p.ev.verdict, Verdict::kSkip);
}

TEST(IngestParse, Envelope) {
    expect_unreadable("");
    expect_unreadable("   ");
    expect_unreadable("[]");
    expect_unreadable("\"did\"");
    expect_unreadable("null");
    expect_unreadable("{}");
    expect_unreadable("{\"did\":\"" + A + "\",\"kind\":\"identity\"}");                    // no time_us
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":\"7\",\"kind\":\"identity\"}");  // string
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7.5,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":99999999999999999999,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":9223372036854775808,\"kind\":\"identity\"}");
    // Before PostgreSQL's first timestamp (4714-11-24 BC), and the least int64.
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":-210866803200000001,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":-9223372036854775808,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7}");                // no kind
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":1}");
    expect_unreadable("{\"time_us\":7,\"kind\":\"identity\"}");                // no did
    expect_unreadable("{\"did\":\"alice.test\",\"time_us\":7,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":null,\"time_us\":7,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":\"commit\"}");  // no commit
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":\"commit\",\"commit\":\"x\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":\"commit\",\"commit\":{\"operation\":\"create\"}}");
    // Keys in any order.
    Parsed p("{\"kind\":\"identity\",\"time_us\":7,\"did\":\"" + A + "\"}");
    EXPECT_EQ(p.ev.verdict, Verdict::kSkip);
    EXPECT_EQ(p.ev.time_us, 7);
    p.parse("{\"commit\":{\"record\":{\"subject\":\"" + B + "\"},\"rkey\":\"r\",\"collection\":"
            "\"app.bsky.graph.follow\",\"operation\":\"create\"},\"kind\":\"commit\",\"time_us\":0,\"did\":\"" + A + "\"}");
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.subject, B);
    EXPECT_EQ(p.ev.time_us, 0);
}

// DESIGN.md: the event time is 'epoch' + time_us microseconds. Every time_us
// that names a timestamptz is readable: 0, negative ones down to
// PostgreSQL's first timestamp, and up to the largest int64.
TEST(IngestParse, AnyTimeUsPostgreSQLCanStore) {
    for (int64_t t : {int64_t(0), int64_t(-1), int64_t(-7), int64_t(-1725911162329308), kMinTimeUs,
                      int64_t(INT64_MAX)}) {
        const std::string ts = std::to_string(t);
        Parsed p("{\"did\":\"" + A + "\",\"time_us\":" + ts + ",\"kind\":\"identity\"}");
        EXPECT_EQ(p.ev.verdict, Verdict::kSkip) << t;
        EXPECT_EQ(p.ev.time_us, t);
        p.parse("{\"did\":\"" + A + "\",\"time_us\":" + ts + ",\"kind\":\"commit\",\"commit\":{\"operation\":"
                "\"create\",\"collection\":\"app.bsky.graph.follow\",\"rkey\":\"r\",\"record\":{\"subject\":\"" + B + "\"}}}");
        ASSERT_EQ(p.ev.verdict, Verdict::kApply) << t << ": " << p.ev.reason;
        EXPECT_EQ(p.ev.time_us, t);
    }
    EXPECT_EQ(kMinTimeUs, -210866803200000000LL);  // 4714-11-24 00:00:00 BC UTC
}

TEST(IngestParse, MalformedJson) {
    std::string good = commit(A, "create", "app.bsky.graph.follow", "r", "{\"subject\":\"" + B + "\"}");
    // Truncated at every position: unreadable, never applied (DESIGN.md:
    // an event that cannot be read is skipped and counted).
    for (size_t n = 0; n < good.size(); n++) {
        Parsed p(good.substr(0, n));
        EXPECT_EQ(p.ev.verdict, Verdict::kUnreadable) << n << ": " << good.substr(0, n);
    }
    // The same for a post, whose record has fields the parser never reads.
    std::string post = commit(A, "create", "app.bsky.feed.post", "p1",
                              "{\"text\":\"hello\",\"langs\":[\"en\"],\"createdAt\":"
                              "\"2026-12-01T00:00:00Z\",\"facets\":[{\"index\":{\"byteStart\":0}}]}");
    ASSERT_EQ(Parsed(post).ev.verdict, Verdict::kApply);
    for (size_t n = 0; n < post.size(); n++)
        EXPECT_EQ(Parsed(post.substr(0, n)).ev.verdict, Verdict::kUnreadable) << n;
    // Text after the closing brace, and a syntax error in a field never read.
    expect_unreadable(good + "}");
    expect_unreadable(good + " x");
    expect_unreadable(good + "{}");
    EXPECT_EQ(Parsed(good + "  ").ev.verdict, Verdict::kApply);
    expect_unreadable(commit(A, "create", "app.bsky.feed.post", "p1",
                             "{\"text\":\"hi\",\"langs\":[\"en\"}"));
    expect_unreadable(commit(A, "create", "app.bsky.feed.post", "p1",
                             "{\"text\":\"hi\",\"labels\":tru}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", "r",
                             "{\"subject\":\"" + B + "\",\"via\":{\"uri\":1,}}"));
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":\"identity\"");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":\"" + A + "\" \"time_us\":7,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":07,\"kind\":\"identity\"}");
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":\"ident\xff\"}");  // bad UTF-8
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":\"x\\q\"}");       // bad escape
    expect_unreadable("{\"did\":\"" + A + "\",\"time_us\":7,\"kind\":\"identity}");
    expect_unreadable("{'did':'" + A + "'}");
    expect_unreadable("\xef\xbb\xbf{}");
    // A bad record of a kept collection.
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", "r", "{\"subject\":\"" + B + "\",}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", "r", "{\"subject\":tru}"));
}

TEST(IngestParse, DidsAndRkeysAreValidated) {
    std::string follow = "{\"subject\":\"" + B + "\"}";
    std::string long_did = "did:plc:" + std::string(2040, 'x');
    ASSERT_EQ(long_did.size(), 2048u);
    Parsed p(commit(long_did, "create", "app.bsky.graph.follow", "r", "{\"subject\":\"" + long_did + "\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.did.size(), 2048u);
    expect_unreadable(commit(long_did + "x", "create", "app.bsky.graph.follow", "r", follow));
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", "r", "{\"subject\":\"" + long_did + "x\"}"));
    expect_unreadable(commit("did:plc:abc:", "create", "app.bsky.graph.follow", "r", follow));
    expect_unreadable(commit("did:plc:\xc3\xa9", "create", "app.bsky.graph.follow", "r", follow));
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", "r", "{\"subject\":\"did:plc:a b\"}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", "r", "{\"subject\":\"did:plc:\\u0000\"}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", "r", "{\"subject\":[\"" + B + "\"]}"));
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", "a/b", follow));
    expect_unreadable(commit(A, "create", "app.bsky.graph.follow", std::string(513, 'k'), follow));
    p.parse(commit(A, "create", "app.bsky.graph.follow", std::string(512, 'k'), follow));
    EXPECT_EQ(p.ev.verdict, Verdict::kApply);
    // Escaped but valid: unescaped into the parser's text, kept until clear_text().
    p.parse(commit(A, "create", "app.bsky.graph.follow", "r\\u0031", "{\"subject\":\"did:plc:\\u0062ob\"}"));
    ASSERT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    EXPECT_EQ(p.ev.rkey, "r1");
    EXPECT_EQ(p.ev.subject, "did:plc:bob");
    // Unicode elsewhere is fine.
    p.parse(commit(A, "create", "app.bsky.feed.post", "p",
                   "{\"text\":\"\xf0\x9f\x98\x80 \\ud83d\\ude00 \xe6\x97\xa5\xe6\x9c\xac\",\"createdAt\":\"2024-01-01T00:00:00Z\"}"));
    EXPECT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
}

TEST(IngestParse, LinesWithoutPaddingAreCopied) {
    std::string line = commit(A, "create", "app.bsky.graph.follow", "r", "{\"subject\":\"" + B + "\"}");
    JetstreamParser parser;
    JetstreamEvent ev;
    std::vector<char> exact(line.begin(), line.end());  // no padding at all
    parser.parse(exact.data(), exact.size(), exact.size(), &ev);
    ASSERT_EQ(ev.verdict, Verdict::kApply) << ev.reason;
    EXPECT_EQ(ev.subject, B);
    EXPECT_FALSE(ev.subject.data() >= exact.data() && ev.subject.data() < exact.data() + exact.size());
}

TEST(IngestParse, LongLines) {
    // Longer than the parser's first buffers: they grow.
    std::string text(300000, 'w');
    Parsed p(commit(A, "create", "app.bsky.feed.post", "p",
                    "{\"createdAt\":\"2024-01-01T00:00:00Z\",\"text\":\"" + text + "\"}"));
    EXPECT_EQ(p.ev.verdict, Verdict::kApply) << p.ev.reason;
    std::string deep = commit(A, "create", "app.bsky.feed.post", "p",
                              "{\"createdAt\":\"x\",\"facets\":" + std::string(5000, '[') + std::string(5000, ']') + "}");
    p.parse(deep);
    EXPECT_EQ(p.ev.verdict, Verdict::kApply);  // deep, but never read: passed over
    // Nested deeper than the whole-line check goes: unreadable.
    p.parse(commit(A, "create", "app.bsky.feed.post", "p",
                   "{\"createdAt\":\"x\",\"facets\":" + std::string(70000, '[') +
                       std::string(70000, ']') + "}"));
    EXPECT_EQ(p.ev.verdict, Verdict::kUnreadable);
    p.parse(commit(A, "create", "app.bsky.feed.post", "p",
                   "{\"reply\":{\"parent\":" + std::string(5000, '[') + std::string(5000, ']') + "}}"));
    EXPECT_EQ(p.ev.verdict, Verdict::kUnreadable);
    // Longer than kMaxLineBytes: unreadable, not read.
    std::string huge = commit(A, "create", "app.bsky.feed.post", "p",
                              "{\"text\":\"" + std::string(kMaxLineBytes, 'w') + "\"}");
    p.parse(huge);
    EXPECT_EQ(p.ev.verdict, Verdict::kUnreadable);
    EXPECT_STREQ(p.ev.reason, "line too long");
    // And the parser still reads ordinary lines afterwards.
    p.parse(commit(A, "delete", "app.bsky.graph.follow", "r"));
    EXPECT_EQ(p.ev.verdict, Verdict::kApply);
}

TEST(IngestParse, SplitsLines) {
    std::string buf = "\n  \r\nfirst\r\n\t\nsecond\n\nthird";
    size_t pos = 0;
    std::string_view line;
    std::vector<std::string> got;
    while (next_line(buf.data(), buf.size(), &pos, &line))
        got.emplace_back(line);
    EXPECT_EQ(got, (std::vector<std::string>{"first", "second", "third"}));
    pos = 0;
    EXPECT_FALSE(next_line("", 0, &pos, &line));
    std::string blank = " \n\r\n";
    pos = 0;
    EXPECT_FALSE(next_line(blank.data(), blank.size(), &pos, &line));
    EXPECT_EQ(pos, blank.size());
}

TEST(IngestParse, EveryLineOfOnePaddedBuffer) {
    // The glue's way: one buffer, padded once; each line read in place.
    std::vector<std::string> lines;
    for (int i = 0; i < 50; i++)
        lines.push_back(commit(i % 2 ? A : B, "create", i % 3 ? "app.bsky.feed.like" : "app.bsky.graph.follow",
                               "r" + std::to_string(i), "{\"subject\":\"" + C + "\"}"));
    std::string buf;
    for (auto &l : lines)
        buf += l + "\n";
    buf.pop_back();  // the last line has no newline: the padding follows it
    size_t len = buf.size();
    buf.append(kJsonPadding, '\0');
    JetstreamParser parser;
    std::vector<JetstreamEvent> evs;
    size_t pos = 0;
    std::string_view line;
    while (next_line(buf.data(), len, &pos, &line)) {
        evs.emplace_back();
        parser.parse(line.data(), line.size(), buf.data() + buf.size() - line.data(), &evs.back());
    }
    ASSERT_EQ(evs.size(), lines.size());
    for (size_t i = 0; i < evs.size(); i++) {
        EXPECT_EQ(evs[i].verdict, i % 3 ? Verdict::kSkip : Verdict::kApply);
        if (evs[i].verdict == Verdict::kApply) {
            EXPECT_EQ(evs[i].rkey, "r" + std::to_string(i));
            EXPECT_TRUE(evs[i].rkey.data() > buf.data() && evs[i].rkey.data() < buf.data() + len);
        }
    }
}

// Prints the parse speed on a Jetstream-shaped mix: 70 % likes, then posts
// (a third of them replies, some quoting), reposts, follows, blocks,
// deletes. A print, not an assertion: the machine is shared.
TEST(IngestParse, SpeedOnALikeHeavyMix) {
    std::mt19937 rng(7);
    auto rnd = [&](const char *alpha, int n) {
        std::string s;
        for (int i = 0; i < n; i++)
            s += alpha[rng() % 32];
        return s;
    };
    const char *b32 = "abcdefghijklmnopqrstuvwxyz234567";
    auto did = [&] { return "did:plc:" + rnd(b32, 24); };
    auto tid = [&] { return "3l" + rnd(b32, 11); };
    auto cid = [&] { return "bafyrei" + rnd(b32, 52); };
    std::string buf;
    size_t n = 20000;
    for (size_t i = 0; i < n; i++) {
        unsigned r = rng() % 100;
        std::string line;
        std::string ts = "\"createdAt\":\"2024-09-09T19:46:02.102Z\"";
        if (r < 70) {
            line = commit(did(), "create", "app.bsky.feed.like", tid(),
                          "{\"$type\":\"app.bsky.feed.like\"," + ts + ",\"subject\":" +
                              sref(post_uri(did(), tid())) + "}", cid());
        } else if (r < 82) {
            std::string extra;
            if (r % 3 == 0)
                extra += ",\"reply\":{\"parent\":" + sref(post_uri(did(), tid())) + ",\"root\":" +
                         sref(post_uri(did(), tid())) + "}";
            if (r % 5 == 0)
                extra = ",\"embed\":{\"$type\":\"app.bsky.embed.record\",\"record\":" + sref(post_uri(did(), tid())) +
                        "}" + extra;
            line = commit(did(), "create", "app.bsky.feed.post", tid(),
                          "{\"$type\":\"app.bsky.feed.post\"," + ts + extra +
                              ",\"langs\":[\"en\"],\"text\":\"" + std::string(40 + rng() % 200, 'w') + "\"}", cid());
        } else if (r < 88) {
            line = commit(did(), "create", "app.bsky.feed.repost", tid(),
                          "{\"$type\":\"app.bsky.feed.repost\"," + ts + ",\"subject\":" + sref(post_uri(did(), tid())) +
                              "}", cid());
        } else if (r < 95) {
            line = commit(did(), "create", r < 93 ? "app.bsky.graph.follow" : "app.bsky.graph.block", tid(),
                          "{\"$type\":\"app.bsky.graph.follow\"," + ts + ",\"subject\":\"" + did() + "\"}", cid());
        } else {
            line = commit(did(), "delete", r < 98 ? "app.bsky.feed.like" : "app.bsky.graph.follow", tid());
        }
        buf += line + "\n";
    }
    size_t len = buf.size();
    buf.append(kJsonPadding, '\0');
    JetstreamParser parser;
    JetstreamEvent ev;
    size_t applied = 0, best_ns = ~size_t(0);
    for (int round = 0; round < 3; round++) {
        auto t0 = std::chrono::steady_clock::now();
        size_t pos = 0;
        std::string_view line;
        applied = 0;
        while (next_line(buf.data(), len, &pos, &line)) {
            parser.parse(line.data(), line.size(), buf.data() + buf.size() - line.data(), &ev);
            applied += ev.verdict == Verdict::kApply;
        }
        auto ns = size_t(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
        best_ns = std::min(best_ns, ns);
    }
    EXPECT_GT(applied, n / 5);
    std::printf("[ speed    ] Jetstream parse: %.0f ns/event (%zu events, %.0f bytes/event, 70 %% likes; best of 3)\n",
                double(best_ns) / n, n, double(len) / n);
}

}  // namespace
}  // namespace ing
