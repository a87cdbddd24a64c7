// Netting post and repost changes (item_batch.hpp) and installing an author
// ring over a build's journal (author_apply.hpp).
#include <gtest/gtest.h>

#include "author_apply.hpp"
#include "item_batch.hpp"
#include "test_arena.hpp"

namespace dp {
namespace {

RawItem post(int64_t ts, int64_t id, uint32_t author, uint8_t op) {
    return RawItem{AuthorItem{ts, id, id, author, 0}, op, kPost};
}

TEST(ItemBatch, LastChangeWinsAndTheCommittedStateLeaves) {
    // An UPDATE that moves a post to another time: the old key must leave
    // the ring, the new one arrive.
    std::vector<RawItem> raw = {post(10, 1, 5, kDelete), post(20, 1, 5, kInsert)};
    NettedItems n = net_item_changes(raw.data(), raw.size());
    ASSERT_EQ(n.changes.size(), 2u);
    EXPECT_EQ(n.changes[0].op, kDelete);
    EXPECT_EQ(n.changes[0].item.ts, 10);
    EXPECT_EQ(n.changes[1].op, kInsert);
    EXPECT_EQ(n.changes[1].item.ts, 20);
    // Same key and source: one replacing insertion.
    raw = {post(10, 1, 5, kDelete), post(10, 1, 5, kInsert)};
    n = net_item_changes(raw.data(), raw.size());
    ASSERT_EQ(n.changes.size(), 1u);
    EXPECT_EQ(n.changes[0].op, kInsert);
    // Inserted and deleted in the same transaction: nothing.
    raw = {post(10, 2, 5, kInsert), post(10, 2, 5, kDelete)};
    EXPECT_TRUE(net_item_changes(raw.data(), raw.size()).changes.empty());
    // A new author: deletion from the old source's ring, insertion in the new.
    raw = {post(10, 3, 5, kDelete), post(10, 3, 6, kInsert), post(11, 3, 6, kDelete),
           post(12, 3, 7, kInsert)};
    n = net_item_changes(raw.data(), raw.size());
    ASSERT_EQ(n.changes.size(), 2u);
    EXPECT_EQ(n.changes[0].src, 5u);
    EXPECT_EQ(n.changes[0].op, kDelete);
    EXPECT_EQ(n.changes[1].src, 7u);
    EXPECT_EQ(n.changes[1].item.ts, 12);
    // The insertion knows the source it moves the item from; an UPDATE
    // within one source, or a new item, moves it from none.
    EXPECT_EQ(n.changes[0].moved_from, 0u);
    EXPECT_EQ(n.changes[1].moved_from, 5u);
    raw = {post(10, 4, 5, kDelete), post(20, 4, 5, kInsert), post(30, 8, 6, kInsert)};
    n = net_item_changes(raw.data(), raw.size());
    ASSERT_EQ(n.changes.size(), 3u);
    for (const auto &c : n.changes)
        EXPECT_EQ(c.moved_from, 0u);
}

TEST(ItemBatch, TruncateVoidsEarlierChangesOfItsKind) {
    std::vector<RawItem> raw = {
        post(1, 1, 5, kInsert),
        RawItem{AuthorItem{1, 2, 1, 5, 9}, kInsert, kRepost},
        RawItem{AuthorItem{}, kItemTruncate, kRepost},
        RawItem{AuthorItem{3, 3, 1, 5, 8}, kInsert, kRepost},
    };
    NettedItems n = net_item_changes(raw.data(), raw.size());
    EXPECT_FALSE(n.truncated[kPost]);
    EXPECT_TRUE(n.truncated[kRepost]);
    ASSERT_EQ(n.changes.size(), 2u);
    for (const auto &c : n.changes)
        EXPECT_TRUE(c.item.id == 1 || c.item.id == 3);
}

TEST(ItemBatch, OrderedByStripeSourceKey) {
    std::vector<RawItem> raw;
    for (int64_t i = 1; i <= 300; i++)
        raw.push_back(post(1000 - i, i, uint32_t(1 + (i * 37) % 500), kInsert));
    NettedItems n = net_item_changes(raw.data(), raw.size());
    ASSERT_EQ(n.changes.size(), 300u);
    for (size_t i = 1; i < n.changes.size(); i++) {
        const auto &a = n.changes[i - 1], &b = n.changes[i];
        ASSERT_TRUE(a.stripe() < b.stripe() || (a.stripe() == b.stripe() && a.src < b.src) ||
                    (a.src == b.src && a.item.key() < b.item.key()));
    }
    auto starts = stripe_starts(n.changes);
    for (uint32_t s = 0; s < kStripes; s++)
        for (size_t i = starts[s]; i < starts[s + 1]; i++)
            ASSERT_EQ(n.changes[i].stripe(), s);
}

TEST(ItemBatch, DeletionsBeforeInsertionsOfASource) {
    // An UPDATE to an earlier created_at: its deletion still comes first,
    // so that a deletion of another version never meets the new one.
    std::vector<RawItem> raw = {post(30, 1, 5, kDelete), post(20, 1, 5, kInsert),
                                post(25, 2, 5, kInsert)};
    NettedItems n = net_item_changes(raw.data(), raw.size());
    ASSERT_EQ(n.changes.size(), 3u);
    EXPECT_EQ(n.changes[0].op, kDelete);
    EXPECT_EQ(n.changes[1].item.ts, 20);  // then the insertions in key order
    EXPECT_EQ(n.changes[2].item.ts, 25);
}

// A change of post 11 by author 5, at created_at ts.
ItemChange post11(int64_t ts, uint8_t op) {
    return ItemChange{AuthorItem{ts, 11, 11, 5, 0}, 5, op, kPost};
}

TEST(AuthorApply, DeleteOvertakingAnUpdateRemovesTheOlderVersion) {
    // Commit 1 inserts post 11 at t=12 (applied); commit 2 moves it to t=15
    // (committed, not applied yet); commit 3 deletes it at t=15 and is
    // applied first. Commit 2 will be skipped as stale: commit 3's delete
    // must take the t=12 version out, or it stays forever.
    test::TestArena ta;
    Ref ref = kNoRef;
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, post11(12, kInsert), 1000, false));
    // Without a pending commit on the item, only the exact version goes.
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, post11(15, kDelete), 1000, false, false));
    EXPECT_EQ(AuthorRing(ta.arena.at<RingHdr>(ref)).size(), 1u);
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, post11(15, kDelete), 1000, false, true));
    EXPECT_EQ(ref, kNoRef);  // the t=12 version is gone, and the ring with it
}

TEST(AuthorApply, InsertOvertakingAnOlderCommitRemovesItsVersion) {
    // Commit 1 inserts post 11 at t=12 (applied); commit 2 deletes it
    // (committed, not applied yet); commit 3 inserts it again, at t=9 (an
    // explicit id), and is applied first. Commit 2 will be skipped as
    // stale: commit 3's racing insertion must take the t=12 version out.
    test::TestArena ta;
    Ref ref = kNoRef;
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, post11(12, kInsert), 1000, false));
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, post11(9, kInsert), 1000, false, true));
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r.at(0).ts, 9);
    // Not racing, an insertion leaves other versions alone (within one
    // commit the deletion of the old one comes first).
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, post11(12, kInsert), 1000, false));
    EXPECT_EQ(AuthorRing(ta.arena.at<RingHdr>(ref)).size(), 2u);
}

TEST(AuthorInstall, JournalReplaysOverTheScan) {
    test::TestArena ta;
    Ref ref = kNoRef;
    auto change = [](int64_t ts, int64_t id, uint8_t op) {
        return ItemChange{AuthorItem{ts, id, id, 5, 0}, 5, op, kPost};
    };
    // Commits during the build: a new post, a deletion of a scanned one,
    // and an insertion then deletion.
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, change(50, 9, kInsert), 1000, true));
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, change(20, 2, kDelete), 1000, true));
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, change(60, 10, kInsert), 1000, true));
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref, change(60, 10, kDelete), 1000, true));
    std::vector<AuthorItem> scanned = {{10, 1, 1, 5, 0}, {20, 2, 2, 5, 0}, {30, 3, 3, 5, 0}};
    ASSERT_TRUE(author_ring_install(ta.arena, &ref, scanned.data(), scanned.size(), kMinKey, 1000));
    AuthorRing r(ta.arena.at<RingHdr>(ref));
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r.at(0).id, 1);
    EXPECT_EQ(r.at(1).id, 3);
    EXPECT_EQ(r.at(2).id, 9);
    EXPECT_TRUE(r.horizon() == kMinKey);
    // A journal of deletions only, over nothing: no ring at all.
    Ref ref2 = kNoRef;
    ASSERT_TRUE(author_ring_apply(ta.arena, &ref2, change(5, 7, kDelete), 1000, true));
    ASSERT_TRUE(author_ring_install(ta.arena, &ref2, nullptr, 0, kMinKey, 1000));
    EXPECT_EQ(ref2, kNoRef);
}

TEST(AuthorInstall, FullArenaGivesTheRingUp) {
    test::TestArena ta;
    ta.limit = 64;
    Ref ref = kNoRef;
    std::vector<AuthorItem> scanned = {{10, 1, 1, 5, 0}, {20, 2, 2, 5, 0}};
    EXPECT_FALSE(author_ring_install(ta.arena, &ref, scanned.data(), scanned.size(), kMinKey, 1000));
    EXPECT_EQ(ref, kInvalidRef);
    EXPECT_EQ(ta.live_blocks(), 0u);
}

}  // namespace
}  // namespace dp
