#include "ring_ops.hpp"

#include <algorithm>
#include <new>

namespace dp {

uint64_t clear_rings(const Arena &arena, const Directory &dir, uint32_t stripe, bool authors) {
    uint64_t n = 0;
    for_each_in_stripe(dir, stripe, 0, UINT32_MAX, [&](uint32_t, DirEntry *e) {
        if (held(e->feed)) {
            ring_free<FeedItem>(arena, &e->feed);
            n++;
        }
        e->feed = kNoRef;
        if (authors) {
            if (held(e->author))
                ring_free<AuthorItem>(arena, &e->author);
            e->author = kNoRef;
        }
    });
    return n;
}

void erase_kind(const Arena &arena, const Directory &dir, uint32_t stripe, uint8_t kind) {
    for_each_in_stripe(dir, stripe, 0, UINT32_MAX, [&](uint32_t, DirEntry *e) {
        if (held(e->author)) {
            AuthorRing r(arena.at<RingHdr>(e->author));
            r.erase_if([&](const AuthorItem &it) { return (it.reposter != 0) == (kind == kRepost); });
            if (r.size() == 0 && r.horizon() == kMinKey)
                ring_free<AuthorItem>(arena, &e->author);
        }
        if (held(e->feed)) {
            FeedRing r(arena.at<RingHdr>(e->feed));
            r.erase_if([&](const FeedItem &it) {
                return ((it.flags & kItemRepost) != 0) == (kind == kRepost);
            });
        }
    });
}

void feed_erase_sources(const Arena &arena, Ref ref, uint32_t owner, const uint32_t *gone,
                        size_t n) {
    if (!held(ref) || n == 0)
        return;
    FeedRing r(arena.at<RingHdr>(ref));
    r.erase_if([&](const FeedItem &it) {
        return it.src != owner && std::binary_search(gone, gone + n, it.src);
    });
}

bool feed_backfill(const Arena &arena, Ref *feed, Ref author, uint32_t cap) {
    FeedRing f(arena.at<RingHdr>(*feed));
    AuthorRing a(arena.at<RingHdr>(author));
    ItemKey horizon = f.horizon() < a.horizon() ? a.horizon() : f.horizon();
    std::vector<FeedItem> merged;
    try {
        merged.reserve(std::min<size_t>(cap, size_t(f.size()) + a.size()));
    } catch (const std::bad_alloc &) {
        return false;
    }
    // Newest first, both rings walked down from their newest item.
    int64_t i = int64_t(f.size()) - 1, j = int64_t(a.size()) - 1;
    while (i >= 0 || j >= 0) {
        bool from_f;
        if (i < 0)
            from_f = false;
        else if (j < 0)
            from_f = true;
        else
            from_f = a.at(uint32_t(j)).key() < f.at(uint32_t(i)).key();
        ItemKey k = from_f ? f.at(uint32_t(i)).key() : a.at(uint32_t(j)).key();
        if (k <= horizon)
            break;  // nothing below the horizon is kept
        if (merged.size() == cap) {
            horizon = k;  // the newest item that does not fit
            break;
        }
        // The same key in both: the author ring's version. It is at least
        // as new (a commit changes the author ring before it fans out), and
        // when it is from another source (an UPDATE moved the item, keeping
        // its created_at) the feed ring's copy is about to be deleted by a
        // fan-out planned before this follow, which spares another source's.
        if (from_f) {
            merged.push_back(f.at(uint32_t(i)));
            i--;
        } else {
            merged.push_back(feed_item_of(a.at(uint32_t(j))));
            if (i >= 0 && f.at(uint32_t(i)).key() == k)
                i--;
            j--;
        }
    }
    // Write back oldest first, into a bigger block when it helps.
    uint32_t want = uint32_t(merged.size());
    if (want > f.cap()) {
        uint32_t c = ring_cap_for<FeedItem>(want, cap);
        Ref r = arena.alloc(FeedRing::bytes(c));
        if (r != kNoRef) {
            RingHdr old = *f.hdr();
            ring_free<FeedItem>(arena, feed);
            *feed = r;
            FeedRing::init(arena.at<RingHdr>(r), c, horizon);
            arena.at<RingHdr>(r)->flags = old.flags;
            arena.at<RingHdr>(r)->depth = old.depth;
        } else {
            // No room to grow: keep the newest that fit.
            horizon = merged[f.cap()].key();
            merged.resize(f.cap());
        }
    }
    RingHdr *h = arena.at<RingHdr>(*feed);
    FeedRing out(h);
    h->head = 0;
    h->n = uint32_t(merged.size());
    h->horizon = horizon;
    for (size_t k = 0; k < merged.size(); k++)
        out.at(uint32_t(k)) = merged[merged.size() - 1 - k];
    return true;
}

uint64_t trim_stripe(const Arena &arena, const Directory &dir, uint32_t stripe, AgeBound bound) {
    uint64_t freed = 0;
    if (bound.none())
        return 0;
    for_each_in_stripe(dir, stripe, 0, UINT32_MAX, [&](uint32_t, DirEntry *e) {
        freed += ring_trim<AuthorItem>(arena, &e->author, bound);
    });
    return freed;
}

uint64_t sweep_feeds(const Arena &arena, const Directory &dir, uint32_t stripe, uint32_t lo,
                     uint32_t hi, uint64_t goal, uint64_t *evicted, const FreqSketch *sketch,
                     uint64_t *victim_freq) {
    uint64_t freed = 0;
    for_each_in_stripe(dir, stripe, lo, hi, [&](uint32_t uid, DirEntry *e) {
        if (freed >= goal || !held(e->feed))
            return;
        RingHdr *h = arena.at<RingHdr>(e->feed);
        uint32_t flags = __atomic_load_n(&h->flags, __ATOMIC_RELAXED);
        if (flags & kRingReferenced) {
            __atomic_store_n(&h->flags, flags & ~kRingReferenced, __ATOMIC_RELAXED);
            return;
        }
        freed += FeedRing::bytes(h->cap);
        ring_free<FeedItem>(arena, &e->feed);
        (*evicted)++;
        if (sketch != nullptr)
            *victim_freq += sketch->estimate(uid);
    });
    return freed;
}

}  // namespace dp

namespace dp {

void census_stripe(const Arena &arena, const Directory &dir, uint32_t stripe, RingCensus *c,
                   size_t (*rounded)(size_t)) {
    auto r = [&](size_t b) { return rounded ? rounded(b) : b; };
    for_each_in_stripe(dir, stripe, 0, UINT32_MAX, [&](uint32_t, DirEntry *e) {
        for (const SetRef &ref : e->set) {
            if (ref.invalid())
                continue;
            if (ref.base != kNoRef)
                c->set_bytes += r(base_block_bytes(arena.at<BaseHdr>(ref.base)));
            if (ref.delta != kNoRef)
                c->set_bytes += r(delta_bytes(arena.at<DeltaHdr>(ref.delta)->cap));
        }
        if (e->feed != kNoRef && e->feed != kInvalidRef) {
            const RingHdr *h = arena.at<RingHdr>(e->feed);
            c->feed_rings++;
            c->feed_items += h->n;
            c->feed_bytes += r(FeedRing::bytes(h->cap));
        }
        if (e->author == kInvalidRef) {
            c->lost_rings++;
        } else if (e->author != kNoRef) {
            const RingHdr *h = arena.at<RingHdr>(e->author);
            c->author_rings++;
            c->author_items += h->n;
            c->author_bytes += r(AuthorRing::bytes(h->cap));
        }
    });
}

}  // namespace dp
