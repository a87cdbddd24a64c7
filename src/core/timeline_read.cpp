#include "timeline_read.hpp"

#include <algorithm>
#include <new>

#include "ring_ops.hpp"
#include "ring_peek.hpp"
#include "set_read.hpp"
#include "stripe_guard.hpp"

namespace dp {


ReadResult TimelineReader::timeline(const IndexEnv &env, uint32_t viewer, ItemKey before,
                                    size_t lim, const TimelineFilter &filter,
                                    std::vector<AuthorItem> *out, FeedSource source) noexcept {
    source_ = source;
    aged_.clear();
    feed_horizon_hit_ = false;
    prefix_exact_ = false;
    rest_rings_.clear();
    rest_sources_.clear();
    rest_horizons_.clear();
    try {
        return timeline_inner(env, viewer, before, lim, filter, out);
    } catch (const std::bad_alloc &) {
        out->clear();
        prefix_exact_ = false;
        rest_rings_.clear();
        rest_sources_.clear();
        rest_horizons_.clear();
        return ReadResult::kUnknown;
    }
}

// The candidates to cut next for a page under a filter that still needs
// `missing` items: most filters drop nothing, so the first cut takes lim
// (as an unfiltered page does); the next ones twice what is missing, and
// at least a few.
size_t next_cap(size_t missing) { return std::max<size_t>(missing * 2, 16); }

// The exclusive bound of what the tables must give below a horizon h for a
// page below `before`: the keys <= h, which are the keys < (h.ts, h.id,
// h.rank + 1), or those below `before` when the cursor is lower.
ItemKey cut_at_horizon(ItemKey before, ItemKey h) {
    return before <= h ? before : ItemKey{h.ts, h.id, h.rank + 1};
}

// The filter a cut hint was counted for: 0 for none (an unfiltered page
// takes lim candidates), else a byte.
uint32_t cut_hint_sig(const TimelineFilter &f) {
    if (!f.active())
        return 0;
    return 1 + (uint32_t(f.moderate) | uint32_t(f.replies) << 1 | uint32_t(f.reposts) << 3 |
                uint32_t(f.quotes) << 4 | uint32_t(f.author) << 5);
}

ReadResult TimelineReader::timeline_inner(const IndexEnv &env, uint32_t viewer, ItemKey before,
                                          size_t lim, const TimelineFilter &filter,
                                          std::vector<AuthorItem> *out) {
    out->clear();
    if (lim == 0)
        return ReadResult::kOk;
    first_batch_ = true;
    hint_sig_ = source_ == FeedSource::kRing ? cut_hint_sig(filter) : 0;
    hint_read_ = false;
    examined_ = 0;
    // Each cut goes on below the last candidate of the one before: a read
    // that a commit's apply overlapped is discarded by the caller, so the
    // cuts together show one state of the index.
    for (size_t cap = lim;; cap = next_cap(lim - out->size())) {
        bool more = false;
        ReadResult r = timeline_cut(env, viewer, before, lim, cap, filter, out, &more);
        if (r != ReadResult::kOk || !more) {
            if (r == ReadResult::kOk && out->size() == lim && hint_read_)
                store_cut_hint(env, viewer, lim);
            return r;
        }
        before = page_.back().item.key();
    }
}

// Candidates per 16 items of the page, rounded up (at most 255): a first
// cut of lim * q / 16 candidates, and a few more when the filter drops
// some, holds the page as the last one needed it.
void TimelineReader::read_cut_hint(uint32_t flags, size_t lim, size_t *cap) {
    hint_bits_ = flags & kCutHintMask;
    uint32_t q = (flags >> kCutHintShift) & 0xFF;
    if (q > 16 && (flags >> kCutSigShift & 0xFF) == hint_sig_)
        *cap = std::max(*cap, lim * q / 16 + 4);
}

void TimelineReader::store_cut_hint(const IndexEnv &env, uint32_t viewer, size_t lim) {
    uint32_t q = uint32_t(std::min<size_t>((16 * examined_ + lim - 1) / lim, 255));
    uint32_t old_q = hint_bits_ >> kCutHintShift & 0xFF, old_sig = hint_bits_ >> kCutSigShift;
    if (old_sig == hint_sig_ && q <= old_q && q + 2 >= old_q)
        return;  // the usual case (the hint held, and not by much more): no lock taken
    uint32_t bits = hint_sig_ << kCutSigShift | q << kCutHintShift;
    StripeGuard g(env, stripe_of(viewer), false);
    DirEntry *e = env.dir->find(viewer);
    if (e == nullptr || e->feed != hint_ring_ || !held(e->feed))
        return;  // the ring was rebuilt or evicted since
    uint32_t *flags = &env.arena->at<RingHdr>(e->feed)->flags;
    uint32_t old = __atomic_load_n(flags, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(flags, &old, (old & ~kCutHintMask) | bits, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

ReadResult TimelineReader::timeline_cut(const IndexEnv &env, uint32_t viewer, ItemKey before,
                                        size_t lim, size_t cap, const TimelineFilter &filter,
                                        std::vector<AuthorItem> *out, bool *more) {
    *more = false;
    feed_.clear();
    ReadResult r = copy_feed(env, viewer, before, lim, &cap);
    if (r != ReadResult::kOk)
        return r;
    r = open_celebs(env);
    if (r != ReadResult::kOk)
        return r;
    page_.clear();
    page_.reserve(std::min<size_t>(cap, feed_.size() + size_t(env.author_cap) * celeb_rings_.size()));
    Page p = merge_page(Source<FeedItem>{feed_.data(), feed_.size(), feed_horizon_},
                        celeb_rings_.data(), celeb_rings_.size(), before, cap, &page_);
    if (p != Page::kExact && source_ == FeedSource::kRing) {
        // Did the feed ring's horizon cut it (and not an author ring's)?
        ItemKey authors = kMinKey;
        for (const PeekedRing &r : celeb_rings_)
            if (authors < r.horizon())
                authors = r.horizon();
        feed_horizon_hit_ = authors < feed_horizon_;
    }
    if (!filter.active()) {
        if (!resolve(env))
            return unresolved();
        out->reserve(page_.size());
        for (const PageItem &pi : page_)
            out->push_back(pi.item);
        if (p != Page::kExact)
            return horizon_cut(env, before, lim, filter, out);
        return ReadResult::kOk;
    }
    // page_ holds the newest candidates, exactly, down to where the
    // sources end or reach a horizon (p == kNeedsTables), or cap of them.
    if (!resolve(env))
        return unresolved();
    r = keep_filtered(env, filter, lim, out);
    if (r != ReadResult::kOk || out->size() == lim)
        return r;
    if (p != Page::kExact)
        return horizon_cut(env, before, lim, filter, out);  // goes on below a horizon
    *more = page_.size() == cap;      // else the sources hold nothing more: a short page
    return ReadResult::kOk;
}

// The page reaches below a horizon: merge_page stopped at the highest
// horizon of its sources, so page_ held every candidate above it and *out
// holds what the filter kept of them. With author rings alone (kFanIn)
// that prefix is exact, and the rest is below the cut (prefix_exact()):
// the keys at or below the highest horizon, and below `before` (when the
// cursor is at or below that horizon, the prefix is empty).
ReadResult TimelineReader::horizon_cut(const IndexEnv &env, ItemKey before, size_t lim,
                                       const TimelineFilter &filter,
                                       std::vector<AuthorItem> *out) {
    ItemKey h = kMinKey;
    for (const PeekedRing &r : celeb_rings_)
        if (h < r.horizon())
            h = r.horizon();
    if (source_ == FeedSource::kFanIn && !(h == kMinKey)) {
        tables_cut_ = cut_at_horizon(before, h);
        if (rest_in_rings(env, lim - out->size(), filter) == ReadResult::kOk) {
            prefix_exact_ = true;
            return ReadResult::kHorizon;
        }
    }
    out->clear();
    rest_rings_.clear();
    rest_sources_.clear();
    rest_horizons_.clear();
    return ReadResult::kHorizon;
}

// The rest of a page below tables_cut_, split by source: the complete
// rings' newest items that the filter keeps (need at most), merged here
// as the page's first items were; the other sources are left to the
// tables (rest_sources_).
ReadResult TimelineReader::rest_in_rings(const IndexEnv &env, size_t need,
                                         const TimelineFilter &filter) {
    rest_rings_.clear();
    rest_sources_.clear();
    rest_horizons_.clear();
    complete_.clear();
    for (size_t i = 0; i < celeb_rings_.size(); i++) {
        if (celeb_rings_[i].horizon() == kMinKey) {
            complete_.push_back(celeb_rings_[i]);
        } else {
            rest_sources_.push_back(celeb_uids_[i]);
            rest_horizons_.push_back(celeb_rings_[i].horizon());
        }
    }
    ItemKey before = tables_cut_;
    for (size_t cap = need; rest_rings_.size() < need && !complete_.empty();
         cap = next_cap(need - rest_rings_.size())) {
        page_.clear();
        // Every source is complete: the merge is exact however far it goes.
        merge_page(Source<FeedItem>{}, complete_.data(), complete_.size(), before, cap, &page_);
        if (!filter.active()) {
            for (const PageItem &pi : page_)
                if (rest_rings_.size() < need)
                    rest_rings_.push_back(pi.item);
        } else {
            ReadResult r = keep_filtered(env, filter, need, &rest_rings_);
            if (r != ReadResult::kOk)
                return r;
        }
        if (page_.size() < cap)
            break;  // the complete rings hold nothing more below the cut
        before = page_.back().item.key();
    }
    return ReadResult::kOk;
}

ReadResult TimelineReader::filter_rest(const IndexEnv &env, const TimelineFilter &filter,
                                       AuthorItem *rows, size_t *n) noexcept {
    if (!filter.active() || *n == 0)
        return ReadResult::kOk;
    try {
        page_.clear();
        for (size_t i = 0; i < *n; i++)
            page_.push_back(PageItem{rows[i], true});
        if (prepare_batch(env, filter) != Read::kOk)
            return ReadResult::kUnknown;
    } catch (const std::bad_alloc &) {
        return ReadResult::kUnknown;
    }
    size_t j = 0;
    for (size_t i = 0; i < *n; i++)
        if (filter_.keep(filter, i))
            rows[j++] = rows[i];
    *n = j;
    return ReadResult::kOk;
}

Read TimelineReader::prepare_batch(const IndexEnv &env, const TimelineFilter &filter) {
    bool more = !first_batch_;
    first_batch_ = false;
    return filter_.prepare(env, filter, page_.data(), page_.size(), more);
}

ReadResult TimelineReader::keep_filtered(const IndexEnv &env, const TimelineFilter &filter,
                                         size_t lim, std::vector<AuthorItem> *out) {
    if (prepare_batch(env, filter) != Read::kOk)
        return ReadResult::kUnknown;
    for (size_t i = 0; i < page_.size(); i++) {
        if (out->size() == lim)
            break;
        examined_++;
        if (filter_.keep(filter, i))
            out->push_back(page_[i].item);
    }
    return ReadResult::kOk;
}

// Under the viewer's stripe lock: the feed ring's candidates (*cap of
// them, more on a filtered page's first cut when the ring's hint says the
// filter needs more), and the celebrities the viewer follows.
ReadResult TimelineReader::copy_feed(const IndexEnv &env, uint32_t viewer, ItemKey before,
                                     size_t lim, size_t *cap) {
    celebs_.clear();
    feed_horizon_ = kMinKey;
    StripeGuard g(env, stripe_of(viewer), false);
    if (env.dir->lost(viewer))
        return ReadResult::kUnknown;
    DirEntry *e = env.dir->find(viewer);
    if (e == nullptr)
        return ReadResult::kOk;  // follows no one, has no items: an empty timeline
    if (source_ == FeedSource::kFanIn)
        return list_followed(env, viewer, e);
    if (e->set[kOut].invalid() || e->feed == kInvalidRef)
        return ReadResult::kUnknown;
    if (e->feed == kNoRef) {
        if (e->set[kOut].empty() && e->author == kNoRef)
            return ReadResult::kOk;  // empty, and nothing to build
        return ReadResult::kNoRing;
    }
    RingHdr *h = env.arena->at<RingHdr>(e->feed);
    uint32_t flags = __atomic_load_n(&h->flags, __ATOMIC_RELAXED);
    if (!(flags & kRingReferenced))
        __atomic_fetch_or(&h->flags, kRingReferenced, __ATOMIC_RELAXED);
    if (hint_sig_ != 0 && !hint_read_) {
        hint_read_ = true;
        hint_ring_ = e->feed;
        read_cut_hint(flags, lim, cap);
    }
    FeedRing ring(h);
    feed_horizon_ = ring.horizon();
    // Copies hold at most cap items per source: no cut needs more.
    size_t copy_cap = std::min<size_t>(*cap, env.feed_cap + env.author_cap + 1);
    feed_.reserve(copy_cap);
    copy_below(ring, before, copy_cap, &feed_);
    SetRef cs;
    {
        CelebGuard cg(env, false);
        cs = *env.celebs;
        if (cs.empty())
            return ReadResult::kOk;
        if (cs.invalid())
            return ReadResult::kUnknown;
        SetView out(*env.arena, e->set[kOut], env.views);
        SetView celebs(*env.arena, cs, env.views);
        if (!out.ok() || !celebs.ok())
            return ReadResult::kUnknown;
        size_t n = std::min(out.size(), celebs.size());
        celebs_.resize(n);
        n = intersect_list(out, celebs, 0, n, celebs_.data());
        celebs_.resize(n);
    }
    // The viewer's own items are in their own feed ring.
    celebs_.erase(std::remove(celebs_.begin(), celebs_.end(), viewer), celebs_.end());
    return ReadResult::kOk;
}

// kFanIn (viewer's stripe lock held): the sources are the author rings of
// the viewer and of everyone they follow, as a feed ring built now would
// hold them, and the celebrities too.
ReadResult TimelineReader::list_followed(const IndexEnv &env, uint32_t viewer,
                                         const DirEntry *e) {
    if (e->set[kOut].invalid())
        return ReadResult::kUnknown;
    SetView out(*env.arena, e->set[kOut], env.views);
    if (!out.ok())
        return ReadResult::kUnknown;
    celebs_.reserve(out.size() + 1);
    celebs_.push_back(viewer);
    out.for_each([&](uint32_t x) {
        if (x != viewer)
            celebs_.push_back(x);
        return true;
    });
    return ReadResult::kOk;
}

void TimelineReader::deepen(const IndexEnv &env, uint32_t viewer) noexcept {
    StripeGuard g(env, stripe_of(viewer), false);
    DirEntry *e = env.dir->find(viewer);
    if (e == nullptr || !held(e->feed))
        return;
    RingHdr *h = env.arena->at<RingHdr>(e->feed);
    int64_t d = __atomic_load_n(&h->depth, __ATOMIC_RELAXED);
    int64_t want = std::min<int64_t>(std::max<int64_t>(d, h->cap) * 2, env.feed_cap);
    if (want > d)
        __atomic_store_n(&h->depth, want, __ATOMIC_RELAXED);
}

// Each celebrity's author ring, viewed in place without its stripe lock
// (PeekedRing): author rings change only while a commit is applied, and the
// caller discards a read that one overlapped. The merge reads only the few
// items the page needs.
ReadResult TimelineReader::open_celebs(const IndexEnv &env) {
    celeb_rings_.clear();
    celeb_uids_.clear();
    aged_.clear();
    for (uint32_t c : celebs_) {
        if (env.dir->lost(c))
            return ReadResult::kUnknown;
        DirEntry *e = env.dir->find(c);
        Ref ref = e == nullptr ? kNoRef : __atomic_load_n(&e->author, __ATOMIC_RELAXED);
        if (ref == kNoRef)
            continue;  // no items
        PeekedRing ring;
        if (!ring.open(*env.arena, ref, env.author_cap))
            return ReadResult::kUnknown;
        celeb_rings_.push_back(ring);
        celeb_uids_.push_back(c);
        if (ring.aged())
            aged_.push_back(c);
    }
    return ReadResult::kOk;
}

void TimelineReader::touch_aged(const IndexEnv &env) noexcept {
    for (uint32_t uid : aged_) {
        StripeGuard g(env, stripe_of(uid), false);
        DirEntry *e = env.dir->find(uid);
        if (e != nullptr && held(e->author))
            __atomic_fetch_and(&env.arena->at<RingHdr>(e->author)->flags, ~kRingAged,
                               __ATOMIC_RELAXED);
    }
    aged_.clear();
}

// Reposts from the feed ring: their post and its author, from the
// reposter's author ring (read without its lock, as above). False if one is
// no longer there.
//
// Each repost costs three loads that depend on each other and miss the
// caches (the reposter's directory entry, its ring's header, the ring's
// newest items); done one repost after another they add up to most of a
// page read. So each step is issued for every repost of the page before
// the next step begins, and the misses of different reposts overlap.
// A repost in the feed ring whose reposter's author ring no longer holds
// it (ring_max_age trimmed it since it was fanned out): the page is read
// from the author rings instead (kFanIn: feed_horizon_hit), which end at
// their horizons and leave the rest to the tables.
ReadResult TimelineReader::unresolved() {
    if (source_ == FeedSource::kRing)
        feed_horizon_hit_ = true;
    return ReadResult::kHorizon;
}

bool TimelineReader::resolve(const IndexEnv &env) {
    resolve_rings_.clear();
    for (const PageItem &pi : page_)
        if (!pi.resolved)
            env.dir->prefetch(pi.item.reposter);
    for (const PageItem &pi : page_) {
        if (pi.resolved)
            continue;
        const DirEntry *e = env.dir->find(pi.item.reposter);
        Ref ref = e == nullptr ? kNoRef : __atomic_load_n(&e->author, __ATOMIC_RELAXED);
        if (ref != kNoRef && ref != kInvalidRef && env.arena->contains(ref, sizeof(RingHdr)))
            __builtin_prefetch(env.arena->at<RingHdr>(ref));
        resolve_rings_.push_back(ref);
    }
    // resolve_rings_ holds a Ref per unresolved item, in page order; the
    // rings are opened (headers now arriving) and their newest items
    // prefetched, then searched.
    resolve_open_.clear();
    for (Ref ref : resolve_rings_) {
        PeekedRing ring;
        if (!ring.open(*env.arena, ref, env.author_cap))
            return false;
        ring.prefetch_newest();
        resolve_open_.push_back(ring);
    }
    size_t k = 0;
    for (PageItem &pi : page_) {
        if (pi.resolved)
            continue;
        const PeekedRing &ring = resolve_open_[k++];
        uint32_t i = ring.lower_bound_from_end(pi.item.key());
        if (i == ring.size() || !(ring.at(i).key() == pi.item.key()) ||
            ring.at(i).reposter != pi.item.reposter)
            return false;
        pi.item = ring.at(i);
        pi.resolved = true;
    }
    return true;
}

ReadResult TimelineReader::author_feed(const IndexEnv &env, uint32_t author, ItemKey before,
                                       size_t lim, const TimelineFilter &filter,
                                       std::vector<AuthorItem> *out) noexcept {
    out->clear();
    prefix_exact_ = false;
    rest_rings_.clear();
    rest_sources_.clear();
    rest_horizons_.clear();
    if (lim == 0)
        return ReadResult::kOk;
    try {
        return author_feed_inner(env, author, before, lim, filter, out);
    } catch (const std::bad_alloc &) {
        out->clear();
        prefix_exact_ = false;
        rest_sources_.clear();
        rest_horizons_.clear();
        return ReadResult::kUnknown;
    }
}

ReadResult TimelineReader::author_feed_inner(const IndexEnv &env, uint32_t author,
                                             ItemKey before, size_t lim,
                                             const TimelineFilter &filter,
                                             std::vector<AuthorItem> *out) {
    out->clear();
    first_batch_ = true;
    for (size_t cap = lim;; cap = next_cap(lim - out->size())) {
        size_t copy_cap = std::min<size_t>(cap, env.author_cap + 1);
        std::vector<AuthorItem> &items = own_items_;
        items.clear();
        items.reserve(copy_cap);
        ItemKey horizon;
        {
            StripeGuard g(env, stripe_of(author), false);
            if (env.dir->lost(author))
                return ReadResult::kUnknown;
            DirEntry *e = env.dir->find(author);
            if (e == nullptr || e->author == kNoRef)
                return ReadResult::kOk;  // no items
            if (e->author == kInvalidRef)
                return ReadResult::kUnknown;
            AuthorRing ring(env.arena->at<RingHdr>(e->author));
            horizon = ring.horizon();
            if (ring.hdr()->flags & kRingAged)  // read: the sweep keeps it (touch_aged)
                __atomic_fetch_and(&ring.hdr()->flags, ~kRingAged, __ATOMIC_RELAXED);
            copy_below(ring, before, copy_cap, &items);
        }
        // Newest first: the candidates, exact down to the oldest copied
        // (or to the horizon when the ring ran out).
        bool ran_out = items.size() < copy_cap;
        page_.clear();
        for (auto it = items.rbegin(); it != items.rend(); ++it)
            page_.push_back(PageItem{*it, true});
        if (!filter.active()) {
            for (const PageItem &pi : page_)
                if (out->size() < lim)
                    out->push_back(pi.item);
        } else {
            ReadResult r = keep_filtered(env, filter, lim, out);
            if (r != ReadResult::kOk)
                return r;
        }
        if (out->size() == lim)
            return ReadResult::kOk;
        if (ran_out) {
            if (horizon == kMinKey)
                return ReadResult::kOk;
            // The ring held every item above its horizon: *out is the
            // page's exact prefix, and the rest is the author's items at
            // or below the horizon (and below `before`), from the tables.
            tables_cut_ = cut_at_horizon(before, horizon);
            rest_sources_.assign(1, author);
            rest_horizons_.assign(1, horizon);
            prefix_exact_ = true;
            return ReadResult::kHorizon;
        }
        before = page_.back().item.key();
    }
}

}  // namespace dp
