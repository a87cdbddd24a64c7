// Reading a page of a timeline or an author feed from the index.
//
// get_timeline(v): under v's stripe lock (shared), the page's candidates
// are copied from v's feed ring, and the celebrities v follows are found by
// intersecting v's follow set with the celebrity set; then, one stripe at a
// time, each celebrity's newest items are copied from its author ring; the
// copies are merged, and reposts that came from the feed ring get their
// post and its author from the reposter's author ring.
//
// Only the first step takes a lock (the viewer's stripe, shared: the feed
// ring and the follow set). Author rings are read without their locks,
// bounds-checked: they change only while a commit is applied, so the caller
// must discard a read that any commit's apply overlapped (src/pg retries
// it; the counters applies_started / applies_finished tell). That also
// makes the read as a whole one state of the index. Nothing here throws:
// scratch allocations that fail answer kUnknown, and the caller asks the
// tables.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>
#include <vector>

#include "index_env.hpp"
#include "ring.hpp"
#include "ring_peek.hpp"
#include "timeline_filter.hpp"
#include "timeline_page.hpp"

namespace dp {

enum class ReadResult {
    kOk,       // out holds the exact page
    kNoRing,   // the viewer has no feed ring yet: build one, or read with kFanIn
    kHorizon,  // the page reaches below what the rings hold
    kUnknown,  // a ring or set it needs is not held (memory limit)
};

// Where a timeline's fanned-out items come from.
enum class FeedSource {
    kRing,   // the viewer's feed ring (kNoRing if there is none)
    kFanIn,  // no ring: the author rings of the viewer and of every account
             // they follow, merged at read time as celebrities' are. Exact
             // above the highest of those rings' horizons; costs a ring
             // lookup per followee, where a ring read costs one.
};

class TimelineReader {
  public:
    // The page of v's timeline with key < before, at most lim items,
    // newest first: of the items filter keeps (timeline_filter.hpp). A
    // filter that drops items makes the read cut more candidates from the
    // rings until lim are kept, the rings end (the page is then exact, or
    // reaches below a horizon: kHorizon), never a short page.
    ReadResult timeline(const IndexEnv &env, uint32_t viewer, ItemKey before, size_t lim,
                        const TimelineFilter &filter, std::vector<AuthorItem> *out,
                        FeedSource source = FeedSource::kRing) noexcept;
    ReadResult timeline(const IndexEnv &env, uint32_t viewer, ItemKey before, size_t lim,
                        std::vector<AuthorItem> *out,
                        FeedSource source = FeedSource::kRing) noexcept {
        return timeline(env, viewer, before, lim, TimelineFilter(), out, source);
    }
    // Lets v's feed ring grow deeper (twice, up to feed_capacity): a page
    // below its horizon was read (viewer's stripe lock, shared, inside).
    void deepen(const IndexEnv &env, uint32_t viewer) noexcept;
    // The same for one author's own posts and reposts.
    ReadResult author_feed(const IndexEnv &env, uint32_t author, ItemKey before, size_t lim,
                           const TimelineFilter &filter, std::vector<AuthorItem> *out) noexcept;
    ReadResult author_feed(const IndexEnv &env, uint32_t author, ItemKey before, size_t lim,
                           std::vector<AuthorItem> *out) noexcept {
        return author_feed(env, author, before, lim, TimelineFilter(), out);
    }

    // Clears the sweep's mark (kRingAged) on the deep author rings the last
    // timeline read opened: they are read, the sweep keeps them. Takes each
    // one's stripe lock, shared: call it holding none.
    void touch_aged(const IndexEnv &env) noexcept;
    // Author rings merged by the last timeline read: the celebrities the
    // viewer follows, or (kFanIn) everyone they follow and themselves.
    size_t last_merged() const { return celebs_.size(); }
    // Whether the last kRing read that answered kHorizon was cut by the
    // feed ring's own horizon (the author rings may go deeper: kFanIn).
    bool feed_horizon_hit() const { return feed_horizon_hit_; }
    // After a kFanIn read, or an author feed's, that answered kHorizon:
    // whether *out then holds
    // the page's first items exactly (newest first, fewer than lim), so
    // that the rest of the page is the newest lim - out->size() items the
    // filter keeps with key < tables_cut() (an exclusive bound whose rank
    // may exceed kRankHigh), which the caller reads from the tables.
    // (The sources were all author rings, each complete above its own
    // horizon; the cut is the highest of those horizons.)
    bool prefix_exact() const { return prefix_exact_; }
    ItemKey tables_cut() const { return tables_cut_; }
    // ... and how the rest splits: the sources whose author ring is
    // complete (no horizon) hold all their items below the cut in memory,
    // so rest_from_rings() is already the newest of them the filter keeps
    // (at most lim - out->size(), newest first); only the sources in
    // rest_from_tables() (rings with a horizon) are read from the tables
    // below the cut. The rest is the newest lim - out->size() of the two
    // together (no item is in both: each item is in one source's ring).
    const std::vector<AuthorItem> &rest_from_rings() const { return rest_rings_; }
    const std::vector<uint32_t> &rest_from_tables() const { return rest_sources_; }
    // ... and their rings' horizons when they were read (the rows the
    // tables give of a source below the cut and down to its horizon can
    // deepen its ring: ring_deepen.hpp).
    const std::vector<ItemKey> &rest_horizons() const { return rest_horizons_; }
    // Keeps, of the rows the caller read from the tables for that rest,
    // those the filter keeps (in place, in their order; *n becomes their
    // count), with the relations of the same read: kUnknown when the index
    // cannot say. The caller checks that no commit was applied since the
    // read began, as for the page's first items.
    ReadResult filter_rest(const IndexEnv &env, const TimelineFilter &filter, AuthorItem *rows,
                           size_t *n) noexcept;

  private:
    ReadResult timeline_inner(const IndexEnv &env, uint32_t viewer, ItemKey before, size_t lim,
                              const TimelineFilter &filter, std::vector<AuthorItem> *out);
    FeedSource source_ = FeedSource::kRing;
    bool feed_horizon_hit_ = false;
    bool prefix_exact_ = false;
    ItemKey tables_cut_ = kMinKey;
    // One attempt with `cap` candidates: kOk with *more when the sources
    // may hold further candidates (the caller tries again with more).
    ReadResult timeline_cut(const IndexEnv &env, uint32_t viewer, ItemKey before, size_t lim,
                            size_t cap, const TimelineFilter &filter, std::vector<AuthorItem> *out,
                            bool *more);
    ReadResult author_feed_inner(const IndexEnv &env, uint32_t author, ItemKey before,
                                 size_t lim, const TimelineFilter &filter,
                                 std::vector<AuthorItem> *out);
    ReadResult horizon_cut(const IndexEnv &env, ItemKey before, size_t lim,
                           const TimelineFilter &filter, std::vector<AuthorItem> *out);
    ReadResult rest_in_rings(const IndexEnv &env, size_t need, const TimelineFilter &filter);
    // Appends to out the items of page_ that filter keeps, up to lim.
    ReadResult keep_filtered(const IndexEnv &env, const TimelineFilter &filter, size_t lim,
                             std::vector<AuthorItem> *out);
    // Reads the relations page_'s items need. Each batch after a read's
    // first reuses the relations the batches before it read
    // (ItemFilter::prepare's `more`; first_batch_ says which).
    Read prepare_batch(const IndexEnv &env, const TimelineFilter &filter);
    bool first_batch_ = true;
    ReadResult copy_feed(const IndexEnv &env, uint32_t viewer, ItemKey before, size_t lim,
                         size_t *cap);
    // The first cut's size from the feed ring's hint (kCutHintMask), and
    // the hint's update after the page (store_cut_hint).
    void read_cut_hint(uint32_t flags, size_t lim, size_t *cap);
    void store_cut_hint(const IndexEnv &env, uint32_t viewer, size_t lim);
    uint32_t hint_sig_ = 0;      // the read's filter (0: no filter, no hint)
    bool hint_read_ = false;     // the first cut read the hint ...
    Ref hint_ring_ = kNoRef;     // ... of this feed ring
    uint32_t hint_bits_ = 0;     // ... and found these bits
    size_t examined_ = 0;        // candidates the filter looked at for the page
    ReadResult list_followed(const IndexEnv &env, uint32_t viewer, const DirEntry *e);
    ReadResult open_celebs(const IndexEnv &env);
    bool resolve(const IndexEnv &env);
    ReadResult unresolved();

    std::vector<FeedItem> feed_;
    ItemKey feed_horizon_ = kMinKey;
    std::vector<uint32_t> celebs_;
    std::vector<PeekedRing> celeb_rings_;
    std::vector<uint32_t> celeb_uids_;      // the source of each of celeb_rings_
    std::vector<uint32_t> aged_;            // ... those with kRingAged (touch_aged)
    std::vector<PeekedRing> complete_;      // horizon_cut: the rings without a horizon
    std::vector<AuthorItem> rest_rings_;    // ... their newest items below the cut
    std::vector<uint32_t> rest_sources_;    // ... and the sources read from the tables
    std::vector<ItemKey> rest_horizons_;    // ... and their horizons
    std::vector<AuthorItem> own_items_;  // author_feed's copy
    std::vector<PageItem> page_;
    std::vector<Ref> resolve_rings_;        // resolve(): each repost's author ring
    std::vector<PeekedRing> resolve_open_;  // ... and the ring opened
    ItemFilter filter_;
};

}  // namespace dp
