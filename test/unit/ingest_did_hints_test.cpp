// DidHints (src/ingest/did_hints.hpp) and hash_text (flat_table.hpp): hints
// kept and replaced, their text copied, the bound, and a text hash that
// spreads short keys.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "did_hints.hpp"

namespace {

std::string did(size_t i) { return "did:plc:" + std::to_string(1000000 + i) + "abcdefghijklmnop"; }

TEST(IngestDidHints, KeepsCopiesAndReplaces) {
    ing::DidHints h;
    EXPECT_EQ(h.find(did(1)), 0u);
    {
        std::string text = did(1);
        h.note(text, 7);
        text.assign(text.size(), 'x');  // the hint holds its own copy
    }
    EXPECT_EQ(h.find(did(1)), 7u);
    h.note(did(1), 9);  // a newer uid replaces the hint
    EXPECT_EQ(h.find(did(1)), 9u);
    EXPECT_EQ(h.size(), 1u);
    EXPECT_EQ(h.find(did(2)), 0u);
    EXPECT_EQ(h.find(""), 0u);
}

TEST(IngestDidHints, ManyAcrossBlocksThenEmptiedWhenFull) {
    ing::DidHints h;
    const size_t n = ing::DidHints::kMaxEntries;
    for (size_t i = 0; i < n; i++)
        h.note(did(i), uint32_t(i + 1));
    ASSERT_EQ(h.size(), n);
    for (size_t i = 0; i < n; i += 997)
        ASSERT_EQ(h.find(did(i)), uint32_t(i + 1)) << i;
    // One more: the hints start again, with it alone.
    h.note(did(n), 5);
    EXPECT_EQ(h.size(), 1u);
    EXPECT_EQ(h.find(did(n)), 5u);
    EXPECT_EQ(h.find(did(0)), 0u);
    // A DID longer than a block is not kept; the others still are.
    h.note(std::string((size_t(1) << 20) + 1, 'd'), 3);
    EXPECT_EQ(h.size(), 1u);
}

TEST(IngestDidHints, TextHashSpreads) {
    // Keys that differ in one byte anywhere, of every length up to 40: no
    // two equal hashes, and the high bits (the tables' slots) spread.
    std::set<uint64_t> seen;
    std::map<uint64_t, int> top;
    size_t keys = 0;
    for (size_t len = 0; len <= 40; len++)
        for (size_t at = 0; at < (len == 0 ? 1 : len); at++)
            for (int c = 0; c < 64; c++) {
                std::string s(len, 'a');
                if (len > 0)
                    s[at] = char('0' + c);
                uint64_t x = ing::hash_text(s);
                seen.insert(x);
                top[x >> 58]++;
                keys++;
            }
    std::set<std::string> distinct;
    for (size_t len = 0; len <= 40; len++)
        for (size_t at = 0; at < (len == 0 ? 1 : len); at++)
            for (int c = 0; c < 64; c++) {
                std::string s(len, 'a');
                if (len > 0)
                    s[at] = char('0' + c);
                distinct.insert(s);
            }
    EXPECT_EQ(seen.size(), distinct.size());
    EXPECT_EQ(top.size(), 64u);  // every value of the top 6 bits
    for (const auto &[bucket, n] : top)
        EXPECT_LT(n, int(3 * keys / 64)) << bucket;
    EXPECT_EQ(ing::hash_text("did:plc:abc"), ing::hash_text(std::string("did:plc:abc")));
}

}  // namespace
