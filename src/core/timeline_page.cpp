#include "timeline_page.hpp"

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

Page merge_page(const Source<FeedItem> &feed, const Source<AuthorItem> *authors, size_t n_authors,
                ItemKey before, size_t lim, std::vector<PageItem> *out) {
    ItemKey horizon = feed.horizon;
    for (size_t a = 0; a < n_authors; a++)
        if (horizon < authors[a].horizon)
            horizon = authors[a].horizon;
    if (lim == 0)
        return Page::kExact;
    if (before <= horizon)
        return Page::kNeedsTables;

    // Cursors walk each source downward from just below `before`. Few
    // sources (the celebrities one follows): a linear scan per item.
    size_t fpos = end_below(feed.items, feed.n, before);
    constexpr size_t kInline = 32;
    size_t inline_pos[kInline];
    std::vector<size_t> heap_pos;
    size_t *apos = inline_pos;
    if (n_authors > kInline) {
        heap_pos.resize(n_authors);
        apos = heap_pos.data();
    }
    for (size_t a = 0; a < n_authors; a++)
        apos[a] = end_below(authors[a].items, authors[a].n, before);

    size_t taken = 0;
    while (taken < lim) {
        // The newest remaining candidate over all sources; on a tie an
        // author ring's copy wins (it carries the repost's details).
        bool found = fpos > 0;
        ItemKey best = found ? feed.items[fpos - 1].key() : kMinKey;
        int from = -1;  // -1: the feed
        for (size_t a = 0; a < n_authors; a++)
            if (apos[a] > 0) {
                ItemKey k = authors[a].items[apos[a] - 1].key();
                if (!found || best < k || (from < 0 && best == k)) {
                    best = k;
                    from = int(a);
                    found = true;
                }
            }
        if (!found)
            break;
        if (best <= horizon)
            return Page::kNeedsTables;  // an item older than a source's horizon
        out->push_back(from < 0 ? page_item_of(feed.items[fpos - 1])
                                : PageItem{authors[from].items[apos[from] - 1], true});
        // Step every source past this key: the same item may sit in several.
        if (fpos > 0 && feed.items[fpos - 1].key() == best)
            fpos--;
        for (size_t a = 0; a < n_authors; a++)
            if (apos[a] > 0 && authors[a].items[apos[a] - 1].key() == best)
                apos[a]--;
        taken++;
    }
    if (taken == lim)
        return Page::kExact;
    // The sources ran out: exact only if they hold everything there is.
    return horizon == kMinKey ? Page::kExact : Page::kNeedsTables;
}

}  // namespace dp
