// The filters of a timeline or author-feed page (DESIGN.md, "Timeline
// semantics, second part"), applied to items as they are cut from the
// rings: blocks and mutes of the viewer (directly or through lists) and
// inactive accounts, replies under blocked parents or roots, and the
// replies / reposts / quotes switches; for author feeds, the feed filter.
//
// ItemFilter::prepare reads, for one batch of candidate items, the
// relations of the viewer to every account they name (moderation_read.hpp);
// keep() then decides each item. Items must be resolved (a repost's post,
// author and attributes known).
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>
#include <vector>

#include "moderation_read.hpp"
#include "ring.hpp"
#include "timeline_page.hpp"

namespace dp {

// `replies`: all, followed (a reply shows when its parent's and its root's
// authors are the viewer, someone the viewer follows, or the replier), or
// none (also what a NULL asks for).
enum class Replies : uint8_t { kAll, kFollowed, kNone };

// get_author_feed's `filter`.
enum class AuthorFilter : uint8_t {
    kPostsWithReplies,       // everything
    kPostsNoReplies,         // drops the author's own replies; reposts stay
    kPostsWithMedia,         // only posts (no reposts) with images
    kPostsWithVideo,         // only posts (no reposts) with video
    kPostsAndAuthorThreads,  // drops replies whose root author is not the author
};

struct TimelineFilter {
    bool moderate = false;  // apply the viewer's hidden and blocked rules
    uint32_t viewer = 0;    // whose (0: no account, nothing hidden but inactive accounts)
    Replies replies = Replies::kAll;
    bool reposts = true;
    bool quotes = true;
    AuthorFilter author = AuthorFilter::kPostsWithReplies;

    // Does the filter drop anything an unfiltered page would show?
    bool active() const {
        return moderate || replies != Replies::kAll || !reposts || !quotes ||
               author != AuthorFilter::kPostsWithReplies;
    }
};

class ItemFilter {
  public:
    // Reads what keep() needs for these items; kUnknown when the index
    // does not hold it exactly (the caller asks the tables). With `more`,
    // the items are the next batch of the same read (the same viewer,
    // filter and state of the index): the relations already read are kept,
    // and only those of accounts new in this batch are read.
    // The items must stay in place until the last keep() of the batch.
    Read prepare(const IndexEnv &env, const TimelineFilter &f, const PageItem *items, size_t n,
                 bool more = false);
    // Whether the page shows items[i] of the batch last prepared (with the
    // same filter).
    bool keep(const TimelineFilter &f, size_t i) const;

  private:
    // The slot holding uid's index + 1, or the free slot where it goes.
    size_t probe(uint32_t uid) const;
    uint16_t bits_at(uint32_t ref) const { return ref != 0 ? bits_[ref - 1] : 0; }
    // Sizes slots_ for `extra` more accounts, rehashing those held.
    void reserve(size_t extra);

    ModerationReader reader_;
    // The accounts the items name, distinct, in the order first named, and
    // their relations; slots_ finds a uid's index (open addressing, linear
    // probing, a power of two more than the accounts held plus four slots a
    // new candidate; a slot holds index + 1, 0 when free; empty when
    // prepare read no relations).
    // Lookups are four per item, made once (prepare's, then refs_): a hash
    // beats sorting and a binary search. (ing::FlatMap, flat_table.hpp, is
    // the project's general table; this one is sized for each page and
    // dropped with it, where FlatMap keeps and clears slot by slot the
    // capacity of the largest page ever seen.)
    std::vector<uint32_t> uids_;
    std::vector<uint16_t> bits_;
    std::vector<uint16_t> asked_;  // the relations read of each (bits_ may hold more)
    // Accounts of earlier batches this one needs the follow bit of.
    std::vector<uint32_t> again_, again_uids_;
    std::vector<uint16_t> again_bits_;
    // The batch last prepared, and for each of its items the index + 1 in
    // uids_ (0: none) of its author, reposter, parent and root (so that
    // keep() needs no lookups; not filled when the filter reads no
    // relations).
    const PageItem *items_ = nullptr;
    std::vector<uint32_t> refs_;
    std::vector<uint32_t> slots_;
    uint32_t shift_ = 32;  // 32 - log2(slots_.size())
};

}  // namespace dp
