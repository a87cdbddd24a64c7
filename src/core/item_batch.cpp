#include "item_batch.hpp"

#include <algorithm>

namespace dp {

namespace {

bool same_place(const AuthorItem &a, const AuthorItem &b) {
    return item_src(a) == item_src(b) && a.key() == b.key();
}

}  // namespace

NettedItems net_item_changes(const RawItem *raw, size_t n) {
    NettedItems out;
    // Changes before the last TRUNCATE of their kind are void.
    size_t from[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        if (raw[i].op == kItemTruncate && raw[i].kind < 2) {
            out.truncated[raw[i].kind] = true;
            from[raw[i].kind] = i + 1;
        }
    // Group by (kind, id), statement order within a group.
    std::vector<uint32_t> order;
    order.reserve(n);
    for (size_t i = 0; i < n; i++)
        if (raw[i].op != kItemTruncate && raw[i].kind < 2 && i >= from[raw[i].kind])
            order.push_back(uint32_t(i));
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        if (raw[a].kind != raw[b].kind)
            return raw[a].kind < raw[b].kind;
        if (raw[a].item.id != raw[b].item.id)
            return raw[a].item.id < raw[b].item.id;
        return a < b;
    });
    out.changes.reserve(order.size());
    auto emit = [&](const RawItem &r) {
        out.changes.push_back(ItemChange{r.item, item_src(r.item), r.op, r.kind});
    };
    for (size_t i = 0; i < order.size();) {
        size_t j = i + 1;
        while (j < order.size() && raw[order[j]].kind == raw[order[i]].kind &&
               raw[order[j]].item.id == raw[order[i]].item.id)
            j++;
        const RawItem &first = raw[order[i]], &last = raw[order[j - 1]];
        bool replaced = last.op == kInsert && same_place(first.item, last.item);
        if (first.op == kDelete && !replaced)
            emit(first);
        if (last.op == kInsert) {
            emit(last);
            if (first.op == kDelete && item_src(first.item) != item_src(last.item))
                out.changes.back().moved_from = item_src(first.item);
        }
        i = j;
    }
    std::sort(out.changes.begin(), out.changes.end(), [](const ItemChange &a, const ItemChange &b) {
        if (a.stripe() != b.stripe())
            return a.stripe() < b.stripe();
        if (a.src != b.src)
            return a.src < b.src;
        // A source's deletions before its insertions (author_apply.hpp:
        // a delete of another version must not meet this commit's new one).
        if (a.op != b.op)
            return a.op < b.op;
        return a.item.key() < b.item.key();
    });
    return out;
}

}  // namespace dp
