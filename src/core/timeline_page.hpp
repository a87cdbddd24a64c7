// One page of a timeline, merged from copies of rings: the viewer's feed
// ring (fanned-out items, filtered by whom the viewer follows now) and the
// author rings of the large accounts the viewer follows (never fanned out).
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

// Does the viewer follow uid (or is it the viewer)?
using KeepFn = bool (*)(void *ctx, uint32_t uid);

// Appends to out the newest items with key < before, at most lim, in
// descending key order: feed items whose source passes keep(), and the
// authors' items, an item present in several sources once.
Page merge_page(const Source<FeedItem> &feed, KeepFn keep, void *ctx,
                const Source<AuthorItem> *authors, size_t n_authors, ItemKey before, size_t lim,
                std::vector<FeedItem> *out);

}  // namespace dp
