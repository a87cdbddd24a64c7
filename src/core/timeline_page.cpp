#include "timeline_page.hpp"

#include <algorithm>

namespace dp {

namespace {

// Index one past the last item with key < before, in an ascending array.
template <typename Item>
size_t end_below(const Item *v, size_t n, ItemKey before) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].key() < before)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

}  // namespace

Page merge_page(const Source<FeedItem> &feed, KeepFn keep, void *ctx,
                const Source<AuthorItem> *authors, size_t n_authors, ItemKey before, size_t lim,
                std::vector<FeedItem> *out) {
    ItemKey horizon = feed.horizon;
    for (size_t a = 0; a < n_authors; a++)
        if (horizon < authors[a].horizon)
            horizon = authors[a].horizon;

    // Cursors walk each source downward from just below `before`.
    size_t fpos = end_below(feed.items, feed.n, before);
    std::vector<size_t> apos(n_authors);
    for (size_t a = 0; a < n_authors; a++)
        apos[a] = end_below(authors[a].items, authors[a].n, before);

    size_t taken = 0;
    bool have_last = false;
    ItemKey last{};
    while (taken < lim) {
        // The newest remaining candidate over all sources.
        bool found = false;
        ItemKey best{};
        int from = -1;  // -1: the feed
        while (fpos > 0 && !keep(ctx, feed.items[fpos - 1].src))
            fpos--;
        if (fpos > 0) {
            best = feed.items[fpos - 1].key();
            found = true;
        }
        for (size_t a = 0; a < n_authors; a++)
            if (apos[a] > 0) {
                ItemKey k = authors[a].items[apos[a] - 1].key();
                if (!found || best < k) {
                    best = k;
                    from = int(a);
                    found = true;
                }
            }
        if (!found)
            break;
        FeedItem item = from < 0 ? feed.items[fpos - 1]
                                 : feed_item_of(authors[from].items[apos[from] - 1]);
        // Step every source past this key: the same item may sit in several.
        if (fpos > 0 && feed.items[fpos - 1].key() == best)
            fpos--;
        for (size_t a = 0; a < n_authors; a++)
            if (apos[a] > 0 && authors[a].items[apos[a] - 1].key() == best)
                apos[a]--;
        out->push_back(item);
        taken++;
        last = best;
        have_last = true;
    }
    if (taken == lim)
        return (!have_last || horizon < last) ? Page::kExact : Page::kNeedsTables;
    // The sources ran out: exact only if they hold everything there is.
    return horizon == kMinKey ? Page::kExact : Page::kNeedsTables;
}

}  // namespace dp
