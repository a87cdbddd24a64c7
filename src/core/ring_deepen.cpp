#include "ring_deepen.hpp"

namespace dp {

Deepen author_ring_deepen(const Arena &arena, Ref *ref, const AuthorItem *older, size_t n,
                          ItemKey bound, uint32_t cap) {
    if (!held(*ref))
        return Deepen::kNothing;
    AuthorRing ring(arena.at<RingHdr>(*ref));
    ItemKey h = ring.horizon();
    // Only what lies between the new bound and the horizon is new.
    size_t first = 0;
    while (first < n && older[first].key() <= bound)
        first++;
    size_t last = first;
    while (last < n && older[last].key() <= h)
        last++;
    if (!(bound < h) || ring.size() >= cap)
        return Deepen::kNothing;
    // At capacity, the newest of them; the horizon is the newest left out.
    size_t take = last - first, room = cap - ring.size();
    ItemKey horizon = bound;
    if (take > room) {
        first = last - room;
        horizon = older[first - 1].key();
        take = room;
    }
    if (take == 0) {
        // No item there: the ring was complete down to the bound already.
        if (horizon == kMinKey && ring.size() == 0) {
            ring_free<AuthorItem>(arena, ref);  // no item at all (kNoRef)
            return Deepen::kDeeper;
        }
        ring.hdr()->horizon = horizon;
        ring.hdr()->flags = (ring.hdr()->flags & ~kRingAged) | kRingDeep;
        return Deepen::kDeeper;
    }
    uint32_t want = ring_cap_for<AuthorItem>(uint32_t(ring.size() + take), cap);
    Ref r = arena.alloc(AuthorRing::bytes(want));
    if (r == kNoRef)
        return Deepen::kNoMem;
    RingHdr *nh = arena.at<RingHdr>(r);
    AuthorRing::init(nh, want, horizon);
    // The older items, then the ring's own (all above h): ascending.
    AuthorRing out(nh);
    nh->n = uint32_t(take + ring.size());
    for (size_t i = 0; i < take; i++)
        out.at(uint32_t(i)) = older[first + i];
    for (uint32_t i = 0; i < ring.size(); i++)
        out.at(uint32_t(take + i)) = ring.at(i);
    nh->flags = (ring.hdr()->flags & ~kRingAged) | kRingDeep;
    nh->fanned_until = ring.hdr()->fanned_until;
    arena.free(*ref, AuthorRing::bytes(ring.cap()));
    *ref = r;
    return Deepen::kDeeper;
}

}  // namespace dp
