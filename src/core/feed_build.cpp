#include "feed_build.hpp"

#include <algorithm>
#include <new>

#include "set_read.hpp"

namespace dp {

namespace {

const AuthorItem &item_at(const RingHdr *h, int64_t i) {
    return AuthorRing(const_cast<RingHdr *>(h)).at(uint32_t(i));
}

// Adds uid's author ring as a source; false if its items are not held.
bool add_source(const IndexEnv &env, uint32_t uid, FeedBuildScratch *s) {
    if (env.dir->lost(uid))
        return false;
    DirEntry *e = env.dir->find(uid);
    if (e == nullptr || e->author == kNoRef)
        return true;  // no items
    if (e->author == kInvalidRef)
        return false;
    const RingHdr *h = env.arena->at<RingHdr>(e->author);
    if (h->n > 0 || !(h->horizon == kMinKey))
        s->srcs.push_back(FeedBuildScratch::Src{h, int64_t(h->n) - 1});
    return true;
}

FeedBuild collect(const IndexEnv &env, uint32_t viewer, DirEntry *ve, FeedBuildScratch *s) {
    if (!add_source(env, viewer, s))
        return FeedBuild::kUnknown;
    if (ve->set[kOut].invalid())
        return FeedBuild::kUnknown;
    SetView out(*env.arena, ve->set[kOut], env.views);
    if (!out.ok())
        return FeedBuild::kUnknown;
    SetView celebs;
    bool have_celebs = !env.celebs->empty() && !env.celebs->invalid();
    if (have_celebs) {
        celebs = SetView(*env.arena, *env.celebs, env.views);
        if (!celebs.ok())
            return FeedBuild::kUnknown;
    }
    SetProbe is_celeb(celebs);
    bool ok = true;
    out.for_each([&](uint32_t x) {
        if (x != viewer && !(have_celebs && is_celeb.contains(x)))
            ok = add_source(env, x, s);
        return ok;
    });
    return ok ? FeedBuild::kBuilt : FeedBuild::kUnknown;
}

// Merges the sources newest first into s->items, at most cap; returns the
// horizon of the result.
ItemKey merge(FeedBuildScratch *s, uint32_t cap) {
    ItemKey horizon = kMinKey;
    for (const auto &src : s->srcs)
        if (horizon < src.ring->horizon)
            horizon = src.ring->horizon;
    auto newest = [](const FeedBuildScratch::Src &a) { return item_at(a.ring, a.pos).key(); };
    // A max-heap of the sources by their next newest item.
    auto less = [&](const FeedBuildScratch::Src &a, const FeedBuildScratch::Src &b) {
        return newest(a) < newest(b);
    };
    auto &h = s->srcs;
    h.erase(std::remove_if(h.begin(), h.end(), [](const auto &x) { return x.pos < 0; }), h.end());
    std::make_heap(h.begin(), h.end(), less);
    while (!h.empty()) {
        std::pop_heap(h.begin(), h.end(), less);
        auto &top = h.back();
        const AuthorItem &it = item_at(top.ring, top.pos);
        if (it.key() <= horizon)
            break;  // below some source's horizon: not kept
        if (s->items.size() == cap) {
            horizon = it.key();  // the newest item that does not fit
            break;
        }
        if (s->items.empty() || !(s->items.back().key() == it.key()))
            s->items.push_back(feed_item_of(it));
        if (--top.pos >= 0)
            std::push_heap(h.begin(), h.end(), less);
        else
            h.pop_back();
    }
    return horizon;
}

}  // namespace

namespace {

// A new feed ring for ve, `depth` items deep, in place of none.
FeedBuild build_at(const IndexEnv &env, uint32_t viewer, DirEntry *ve, uint32_t depth,
                   FeedBuildScratch *s) {
    if (ve->set[kOut].empty() && ve->author == kNoRef)
        return FeedBuild::kNone;
    try {
        s->srcs.clear();
        s->items.clear();
        FeedBuild r = collect(env, viewer, ve, s);
        if (r != FeedBuild::kBuilt)
            return r;
        s->items.reserve(depth);
        ItemKey horizon = merge(s, depth);
        uint32_t n = uint32_t(s->items.size());
        // Room for some fan-out before the first growth.
        uint32_t cap = ring_cap_for<FeedItem>(std::min(n + n / 4 + 4, depth), depth);
        Ref r2 = env.arena->alloc(FeedRing::bytes(cap));
        if (r2 == kNoRef)
            return FeedBuild::kNoMem;
        RingHdr *h = env.arena->at<RingHdr>(r2);
        FeedRing::init(h, cap, horizon);
        FeedRing ring(h);
        for (uint32_t i = 0; i < n; i++)
            ring.at(i) = s->items[n - 1 - i];
        h->n = n;
        h->flags = kRingReferenced;
        h->depth = depth;
        ve->feed = r2;
        return FeedBuild::kBuilt;
    } catch (const std::bad_alloc &) {
        return FeedBuild::kNoMem;
    }
}

}  // namespace

FeedBuild build_feed(const IndexEnv &env, uint32_t viewer, FeedBuildScratch *s) {
    if (env.dir->lost(viewer))
        return FeedBuild::kUnknown;
    DirEntry *ve = env.dir->find(viewer);
    if (ve == nullptr)
        return FeedBuild::kNone;
    if (ve->feed != kNoRef)
        return ve->feed == kInvalidRef ? FeedBuild::kUnknown : FeedBuild::kBuilt;
    return build_at(env, viewer, ve, feed_first_depth(env.feed_cap), s);
}

uint32_t feed_regrow_depth(const RingHdr *h, uint32_t feed_cap) {
    if (h->horizon == kMinKey)
        return 0;  // complete: nothing older exists
    // What deepen() already allowed, else twice what the ring holds.
    uint64_t want = std::max<uint64_t>(feed_depth(h, feed_cap), uint64_t(h->n) * 2);
    uint32_t depth = uint32_t(std::min<uint64_t>(want, feed_cap));
    return depth > h->n ? depth : 0;
}

FeedBuild regrow_feed(const IndexEnv &env, uint32_t viewer, FeedBuildScratch *s) {
    if (env.dir->lost(viewer))
        return FeedBuild::kUnknown;
    DirEntry *ve = env.dir->find(viewer);
    if (ve == nullptr)
        return FeedBuild::kNone;
    if (ve->feed == kInvalidRef)
        return FeedBuild::kUnknown;
    if (ve->feed == kNoRef)
        return build_at(env, viewer, ve, feed_first_depth(env.feed_cap), s);
    uint32_t depth = feed_regrow_depth(env.arena->at<RingHdr>(ve->feed), env.feed_cap);
    if (depth == 0)
        return FeedBuild::kNone;
    // The new ring is merged from the same sources as the old one was, as
    // they are now (every stripe lock is held): it replaces the old ring
    // whole, and the old one goes only once the new one exists.
    Ref old = ve->feed;
    ve->feed = kNoRef;
    FeedBuild r = build_at(env, viewer, ve, depth, s);
    if (r != FeedBuild::kBuilt) {
        ve->feed = old;
        return r;
    }
    ring_free<FeedItem>(*env.arena, &old);
    return FeedBuild::kBuilt;
}

}  // namespace dp
