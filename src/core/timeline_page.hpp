// One page of a timeline, merged from copies of rings: the viewer's feed
// ring (fanned-out items) and the author rings of the celebrities the
// viewer follows (never fanned out).
//
// The page is exact when every item it shows is above every source's
// horizon: then nothing older than the last item shown, and newer than the
// cursor, can be missing. Otherwise the caller answers from the tables.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ring.hpp"

namespace dp {

// Items in ascending key order, as copied out of a ring, with its horizon.
// (merge_page also takes any type with the same four members for the
// author rings, such as a view of a ring in place.)
template <typename Item>
struct Source {
    const Item *items = nullptr;
    size_t n = 0;
    ItemKey horizon = kMinKey;

    size_t size() const { return n; }
    const Item &at(size_t i) const { return items[i]; }
    ItemKey horizon_key() const { return horizon; }
    // Index one past the last item with key < before.
    size_t end_below(ItemKey before) const {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (items[mid].key() < before)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
};

enum class Page { kExact, kNeedsTables };

// A page row. A repost that came from the feed ring knows its reposter but
// not its post: `resolved` is false until the caller looks it up in the
// reposter's author ring.
struct PageItem {
    AuthorItem item;
    bool resolved;
};

inline PageItem page_item_of(const FeedItem &f) {
    if (f.flags & kItemRepost)
        return PageItem{AuthorItem{f.ts, f.id, 0, 0, f.src}, false};
    return PageItem{AuthorItem{f.ts, f.id, f.id, f.src, 0, f.parent, f.root, f.attrs()}, true};
}

// Appends to out the newest items with key < before, at most lim, in
// descending key order, an item present in several sources once.
template <typename AuthorSource>
Page merge_page(const Source<FeedItem> &feed, const AuthorSource *authors, size_t n_authors,
                ItemKey before, size_t lim, std::vector<PageItem> *out);

}  // namespace dp

#include "timeline_page_impl.hpp"
