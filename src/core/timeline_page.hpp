// One page of a timeline, merged from copies of rings: the viewer's feed
// ring (fanned-out items) and the author rings of the celebrities the
// viewer follows (never fanned out).
//
// The page is exact when every item it shows is above every source's
// horizon: then nothing older than the last item shown, and newer than the
// cursor, can be missing. Otherwise the caller answers from the tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ring.hpp"

namespace dp {

// Items in ascending key order, as copied out of a ring, with its horizon.
template <typename Item>
struct Source {
    const Item *items = nullptr;
    size_t n = 0;
    ItemKey horizon = kMinKey;
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
    return PageItem{AuthorItem{f.ts, f.id, f.id, f.src, 0}, true};
}

// Appends to out the newest items with key < before, at most lim, in
// descending key order, an item present in several sources once.
Page merge_page(const Source<FeedItem> &feed, const Source<AuthorItem> *authors, size_t n_authors,
                ItemKey before, size_t lim, std::vector<PageItem> *out);

}  // namespace dp
