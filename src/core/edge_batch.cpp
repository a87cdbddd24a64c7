#include "edge_batch.hpp"

#include <algorithm>

namespace dp {

namespace {

struct Keyed {
    uint64_t hi;   // stripe, owner
    uint64_t lo;   // side, other
    uint32_t seq;  // position in statement order
    uint8_t op;
};

Keyed make(uint32_t owner, uint8_t side, uint32_t other, uint32_t seq, uint8_t op) {
    return Keyed{uint64_t(stripe_of(owner)) << 32 | owner, uint64_t(side) << 32 | other, seq, op};
}

}  // namespace

std::vector<SideChange> net_side_changes(const RawEdge *raw, size_t n) {
    std::vector<Keyed> k;
    k.reserve(2 * n);
    for (size_t i = 0; i < n; i++) {
        k.push_back(make(raw[i].follower, kOut, raw[i].followee, uint32_t(i), raw[i].op));
        k.push_back(make(raw[i].followee, kIn, raw[i].follower, uint32_t(i), raw[i].op));
    }
    std::sort(k.begin(), k.end(), [](const Keyed &a, const Keyed &b) {
        if (a.hi != b.hi)
            return a.hi < b.hi;
        if (a.lo != b.lo)
            return a.lo < b.lo;
        return a.seq < b.seq;
    });
    std::vector<SideChange> out;
    out.reserve(k.size());
    for (size_t i = 0; i < k.size(); i++) {
        if (i + 1 < k.size() && k[i + 1].hi == k[i].hi && k[i + 1].lo == k[i].lo)
            continue;  // a later change to the same edge wins
        out.push_back(SideChange{uint32_t(k[i].hi), uint32_t(k[i].lo), uint8_t(k[i].lo >> 32),
                                 k[i].op});
    }
    return out;
}

}  // namespace dp
