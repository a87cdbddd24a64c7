#include "item_batch.hpp"

#include <algorithm>

namespace dp {

std::vector<ItemChange> net_item_changes(const RawItem *raw, size_t n) {
    // Last change per (kind, id): sort positions by (kind, id, position).
    std::vector<uint32_t> order(n);
    for (size_t i = 0; i < n; i++)
        order[i] = uint32_t(i);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        if (raw[a].kind != raw[b].kind)
            return raw[a].kind < raw[b].kind;
        if (raw[a].item.id != raw[b].item.id)
            return raw[a].item.id < raw[b].item.id;
        return a < b;
    });
    std::vector<ItemChange> out;
    out.reserve(n);
    for (size_t i = 0; i < n; i++) {
        const RawItem &r = raw[order[i]];
        if (i + 1 < n && raw[order[i + 1]].kind == r.kind && raw[order[i + 1]].item.id == r.item.id) {
            // A later change wins; but an item whose source changed (an
            // UPDATE of the author or reposter) must also leave its old ring:
            // keep the earlier change if it is a deletion from another source.
            const RawItem &next = raw[order[i + 1]];
            if (!(r.op == kDelete && item_src(r.item) != item_src(next.item)))
                continue;
        }
        out.push_back(ItemChange{r.item, item_src(r.item), r.op, r.kind});
    }
    std::sort(out.begin(), out.end(), [](const ItemChange &a, const ItemChange &b) {
        if (a.stripe() != b.stripe())
            return a.stripe() < b.stripe();
        if (a.src != b.src)
            return a.src < b.src;
        if (!(a.item.key() == b.item.key()))
            return a.item.key() < b.item.key();
        return a.op < b.op;  // a deletion before an insertion of the same key
    });
    return out;
}

std::vector<size_t> item_stripe_starts(const std::vector<ItemChange> &v) {
    std::vector<size_t> starts(kStripes + 1, v.size());
    size_t i = 0;
    for (uint32_t s = 0; s < kStripes; s++) {
        while (i < v.size() && v[i].stripe() < s)
            i++;
        starts[s] = i;
    }
    return starts;
}

}  // namespace dp
