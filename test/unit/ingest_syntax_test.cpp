// The atproto syntax checks (atproto_syntax.hpp) and the createdAt
// date-time check (rfc3339.hpp).
#include <gtest/gtest.h>

#include <string>

#include "atproto_syntax.hpp"
#include "rfc3339.hpp"

namespace ing {
namespace {

TEST(IngestSyntax, Dids) {
    EXPECT_TRUE(is_did("did:plc:z72i7hdynmk6r22z27h6tvur"));
    EXPECT_TRUE(is_did("did:web:example.com"));
    EXPECT_TRUE(is_did("did:web:localhost%3A8080"));
    EXPECT_TRUE(is_did("did:method:a:b:c"));
    EXPECT_TRUE(is_did("did:x:A.b_c-D%20e"));
    EXPECT_FALSE(is_did(""));
    EXPECT_FALSE(is_did("did:"));
    EXPECT_FALSE(is_did("did:plc"));
    EXPECT_FALSE(is_did("did:plc:"));
    EXPECT_FALSE(is_did("did::abc"));
    EXPECT_FALSE(is_did("did:PLC:abc"));    // method lowercase
    EXPECT_FALSE(is_did("did:pl1:abc"));    // method letters only
    EXPECT_FALSE(is_did("DID:plc:abc"));
    EXPECT_FALSE(is_did("did:plc:abc:"));   // ends with ':'
    EXPECT_FALSE(is_did("did:plc:abc%"));   // ends with '%'
    EXPECT_FALSE(is_did("did:plc:a/b"));
    EXPECT_FALSE(is_did("did:plc:a b"));
    EXPECT_FALSE(is_did("did:plc:a#b"));
    EXPECT_FALSE(is_did("did:plc:a?b"));
    EXPECT_FALSE(is_did("did:plc:\xc3\xa9t\xc3\xa9"));  // UTF-8 é
    EXPECT_FALSE(is_did(std::string_view("did:plc:a\0b", 11)));
    EXPECT_FALSE(is_did(" did:plc:abc"));
    std::string long_did = "did:plc:" + std::string(kMaxDidLength - 8, 'a');
    EXPECT_TRUE(is_did(long_did));
    EXPECT_FALSE(is_did(long_did + "a"));
}

TEST(IngestSyntax, RecordKeys) {
    EXPECT_TRUE(is_rkey("3l3qo2vutsw2b"));
    EXPECT_TRUE(is_rkey("self"));
    EXPECT_TRUE(is_rkey("a"));
    EXPECT_TRUE(is_rkey("..."));
    EXPECT_TRUE(is_rkey("A.b_c~d:e-f"));
    EXPECT_FALSE(is_rkey(""));
    EXPECT_FALSE(is_rkey("."));
    EXPECT_FALSE(is_rkey(".."));
    EXPECT_FALSE(is_rkey("a/b"));
    EXPECT_FALSE(is_rkey("a b"));
    EXPECT_FALSE(is_rkey("a%20"));
    EXPECT_FALSE(is_rkey("a#b"));
    EXPECT_FALSE(is_rkey("\xc3\xa9"));
    EXPECT_TRUE(is_rkey(std::string(kMaxRkeyLength, 'k')));
    EXPECT_FALSE(is_rkey(std::string(kMaxRkeyLength + 1, 'k')));
}

TEST(IngestSyntax, Nsids) {
    EXPECT_TRUE(is_nsid("app.bsky.feed.post"));
    EXPECT_TRUE(is_nsid("com.example.fooBar"));
    EXPECT_TRUE(is_nsid("com.exa-mple.x1"));
    EXPECT_FALSE(is_nsid("app.bsky"));         // two segments: no name
    EXPECT_FALSE(is_nsid("feed"));
    EXPECT_FALSE(is_nsid("app..post"));
    EXPECT_FALSE(is_nsid("app.bsky.feed."));
    EXPECT_FALSE(is_nsid("app.bsky.feed.1post"));
    EXPECT_FALSE(is_nsid("app.bsky.feed.po-st"));
    EXPECT_FALSE(is_nsid("1app.bsky.post"));
    EXPECT_FALSE(is_nsid("app.-bsky.post"));
    EXPECT_FALSE(is_nsid("app.bsky.feed.post#x"));
}

TEST(IngestSyntax, RecordUris) {
    RecordUri u;
    ASSERT_TRUE(parse_record_uri("at://did:plc:abc/app.bsky.feed.post/3k44", &u));
    EXPECT_EQ(u.did, "did:plc:abc");
    EXPECT_EQ(u.collection, "app.bsky.feed.post");
    EXPECT_EQ(u.rkey, "3k44");
    RecordUri untouched{"x", "y", "z"};
    u = untouched;
    EXPECT_FALSE(parse_record_uri("at://alice.bsky.social/app.bsky.feed.post/3k44", &u));  // handle
    EXPECT_EQ(u.did, "x");
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc/app.bsky.feed.post", &u));
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc/app.bsky.feed.post/", &u));
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc/app.bsky.feed.post/a/b", &u));
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc/app.bsky.feed.post/a?x=1", &u));
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc/app.bsky.feed.post/a#frag", &u));
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc//a", &u));
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc/bad/a", &u));
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc/app.bsky.feed.post/..", &u));
    EXPECT_FALSE(parse_record_uri("http://did:plc:abc/app.bsky.feed.post/a", &u));
    EXPECT_FALSE(parse_record_uri("AT://did:plc:abc/app.bsky.feed.post/a", &u));
    EXPECT_FALSE(parse_record_uri("at://did:plc:abc:/app.bsky.feed.post/a", &u));
    EXPECT_FALSE(parse_record_uri("", &u));
    EXPECT_EQ(u.rkey, "z");
}

DateTimeFields dt(const char *s, bool *ok) {
    DateTimeFields f;
    *ok = parse_rfc3339(s, &f);
    return f;
}

TEST(IngestRfc3339, ReadsTheFields) {
    bool ok;
    DateTimeFields f = dt("2024-09-09T19:46:02.102Z", &ok);
    ASSERT_TRUE(ok);
    EXPECT_EQ(f.year, 2024);
    EXPECT_EQ(f.month, 9);
    EXPECT_EQ(f.day, 9);
    EXPECT_EQ(f.hour, 19);
    EXPECT_EQ(f.minute, 46);
    EXPECT_EQ(f.second, 2);
    EXPECT_EQ(f.fraction, "102");
    EXPECT_TRUE(f.utc);
    EXPECT_EQ(f.offset_minutes, 0);
    f = dt("2024-09-09t19:46:02-05:30", &ok);
    ASSERT_TRUE(ok);
    EXPECT_FALSE(f.utc);
    EXPECT_EQ(f.offset_minutes, -330);
    EXPECT_EQ(f.fraction, "");
    f = dt("0001-01-01T00:00:00z", &ok);
    ASSERT_TRUE(ok);
    EXPECT_TRUE(f.utc);
    f = dt("2024-01-01T00:00:00+15:59", &ok);
    ASSERT_TRUE(ok);
    EXPECT_EQ(f.offset_minutes, 959);
    EXPECT_TRUE(parse_rfc3339("2024-01-01T00:00:00-00:00", nullptr));
}

TEST(IngestRfc3339, RefusesOtherShapes) {
    for (const char *s : {"", "2024-09-09", "2024-09-09T19:46:02", "2024-09-09T19:46:02.102",
                          "2024-09-09 19:46:02Z", "2024-09-09T19:46Z", "2024-9-09T19:46:02Z",
                          "24-09-09T19:46:02Z", "+2024-09-09T19:46:02Z", "2024-09-09T19:46:02.Z",
                          "2024-09-09T19:46:02,5Z", "2024-09-09T19:46:02+0530", "2024-09-09T19:46:02+05",
                          "2024-09-09T19:46:02+05:30:00", "2024-09-09T19:46:02ZZ", "2024-09-09T19:46:02Z ",
                          " 2024-09-09T19:46:02Z", "2024-09-09T19:46:02UTC", "2024-09-09T19:46:02GMT",
                          "2024-09-09X19:46:02Z", "2024/09/09T19:46:02Z", "2024-09-09T19-46-02Z",
                          "\xd9\xa2\xd9\xa0\xd9\xa2\xd9\xa4-09-09T19:46:02Z",  // Arabic-Indic digits
                          "2024-09-09T19:46:02.1\xc2\xb2Z"})
        EXPECT_FALSE(parse_rfc3339(s, nullptr)) << s;
    EXPECT_FALSE(parse_rfc3339(std::string_view("2024-09-09T19:46:02Z\0", 21), nullptr));
}

// The ranges PostgreSQL 15's timestamptz input enforces (measured): what
// passes here must not make it raise an error.
TEST(IngestRfc3339, RefusesWhatPostgresRefuses) {
    for (const char *s : {"0000-01-01T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
                          "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z",
                          "2024-01-32T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-01T23:60:00Z",
                          "2024-01-01T25:00:00Z", "2024-01-01T23:59:60.5Z", "2024-01-01T24:00:00.1Z",
                          "2024-01-01T24:00:01Z", "2024-01-01T24:01:00Z", "2024-01-01T00:00:61Z",
                          "2024-01-01T00:00:00+16:00", "2024-01-01T00:00:00+23:59",
                          "2024-01-01T00:00:00+05:60"})
        EXPECT_FALSE(parse_rfc3339(s, nullptr)) << s;
    for (const char *s : {"2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2024-01-01T24:00:00Z",
                          "2024-01-01T24:00:00.000Z", "2024-01-01T23:59:60Z", "2024-01-01T23:59:60.00Z",
                          "9999-12-31T23:59:59.9999999Z", "2024-01-01T00:00:00-15:59",
                          "2024-04-30T00:00:00Z"})
        EXPECT_TRUE(parse_rfc3339(s, nullptr)) << s;
    // The longest fractions PostgreSQL 15 reads (measured: 128 digits
    // before Z, 123 before an offset), and one digit more.
    auto frac = [](size_t digits, const char *offset) {
        return "2024-01-01T00:00:00." + std::string(digits, '1') + offset;
    };
    EXPECT_TRUE(parse_rfc3339(frac(128, "Z"), nullptr));
    EXPECT_TRUE(parse_rfc3339(frac(128, "z"), nullptr));
    EXPECT_FALSE(parse_rfc3339(frac(129, "Z"), nullptr));
    EXPECT_TRUE(parse_rfc3339(frac(123, "+05:30"), nullptr));
    EXPECT_FALSE(parse_rfc3339(frac(124, "-00:00"), nullptr));
    EXPECT_TRUE(parse_rfc3339(frac(40, "Z"), nullptr));
}

}  // namespace
}  // namespace ing
