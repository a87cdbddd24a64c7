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

std::vector<SideChange> net_side_changes(const RawEdge *raw, size_t n, uint32_t *truncated) {
    // Where each relation was last truncated: changes before are void.
    size_t from[kNumRels] = {};
    uint32_t sides = 0;
    for (size_t i = 0; i < n; i++)
        if (raw[i].op == kTruncate && raw[i].rel < kNumRels) {
            from[raw[i].rel] = i + 1;
            sides |= truncated_sides(raw[i].rel);
        }
    if (truncated != nullptr)
        *truncated = sides;
    std::vector<Keyed> k;
    k.reserve(2 * n);
    for (size_t i = 0; i < n; i++) {
        const RawEdge &e = raw[i];
        if (e.op == kTruncate || e.rel >= kNumRels || i < from[e.rel])
            continue;
        k.push_back(make(e.follower, owner_side(e.rel), e.followee, uint32_t(i), e.op));
        uint8_t rev = reverse_side(e.rel);
        if (rev < kNumSides)
            k.push_back(make(e.followee, rev, e.follower, uint32_t(i), e.op));
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
