// The page merge (timeline_page.hpp), a template over the author sources.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <algorithm>
#include <vector>

namespace dp {

template <typename AuthorSource>
Page merge_page(const Source<FeedItem> &feed, const AuthorSource *authors, size_t n_authors,
                ItemKey before, size_t lim, std::vector<PageItem> *out) {
    ItemKey horizon = feed.horizon;
    for (size_t a = 0; a < n_authors; a++)
        if (horizon < authors[a].horizon_key())
            horizon = authors[a].horizon_key();
    if (lim == 0)
        return Page::kExact;
    if (before <= horizon)
        return Page::kNeedsTables;
    if (n_authors == 0) {
        // The feed ring alone (no celebrity followed): its items in order,
        // written in place (push_back was an outlined call per item).
        size_t pos = feed.end_below(before), taken = 0;
        const size_t base = out->size(), want = std::min(lim, pos);
        out->resize(base + want);
        PageItem *const dst = out->data() + base;
        for (; taken < want; taken++, pos--) {
            if (feed.items[pos - 1].key() <= horizon) {
                out->resize(base + taken);
                return Page::kNeedsTables;
            }
            dst[taken] = page_item_of(feed.items[pos - 1]);
        }
        return taken == lim || horizon == kMinKey ? Page::kExact : Page::kNeedsTables;
    }

    // A max-heap of the sources by their next (newest remaining) item below
    // `before`. Sources: -1 the feed, 0.. the author rings. On equal keys
    // (an item fanned out before its author became a celebrity) an author
    // ring's copy comes first: it carries the repost's details.
    struct Cur {
        ItemKey key;
        int src;
        size_t pos;  // one past the source's next item
    };
    auto less = [](const Cur &a, const Cur &b) {
        return a.key < b.key || (a.key == b.key && a.src < 0 && b.src >= 0);
    };
    constexpr size_t kInline = 64;
    Cur inline_heap[kInline + 1];
    std::vector<Cur> big;
    Cur *heap = inline_heap;
    if (n_authors + 1 > kInline) {
        big.resize(n_authors + 1);
        heap = big.data();
    }
    size_t n = 0;
    auto key_at = [&](int src, size_t pos) {
        return src < 0 ? feed.items[pos - 1].key() : authors[src].at(pos - 1).key();
    };
    size_t fpos = feed.end_below(before);
    if (fpos > 0)
        heap[n++] = Cur{key_at(-1, fpos), -1, fpos};
    for (size_t a = 0; a < n_authors; a++) {
        size_t p = authors[a].end_below(before);
        if (p > 0)
            heap[n++] = Cur{key_at(int(a), p), int(a), p};
    }
    std::make_heap(heap, heap + n, less);

    size_t taken = 0;
    bool have_last = false;
    ItemKey last{};
    while (taken < lim && n > 0) {
        std::pop_heap(heap, heap + n, less);
        Cur c = heap[n - 1];
        n--;
        if (c.key <= horizon)
            return Page::kNeedsTables;  // an item older than a source's horizon
        if (!(have_last && c.key == last)) {  // the same item in two sources: once
            out->push_back(c.src < 0 ? page_item_of(feed.items[c.pos - 1])
                                     : PageItem{authors[c.src].at(c.pos - 1), true});
            taken++;
            last = c.key;
            have_last = true;
        }
        if (--c.pos > 0) {
            c.key = key_at(c.src, c.pos);
            heap[n++] = c;
            std::push_heap(heap, heap + n, less);
        }
    }
    if (taken == lim)
        return Page::kExact;
    // The sources ran out: exact only if they hold everything there is.
    return horizon == kMinKey ? Page::kExact : Page::kNeedsTables;
}

}  // namespace dp
