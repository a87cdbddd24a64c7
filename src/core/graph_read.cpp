#include "graph_read.hpp"

#include <initializer_list>
#include <new>

#include "set_read.hpp"

namespace dp {

// The set of owner on side; false when the index cannot answer for it.
bool GraphReader::ref_of(uint32_t owner, Side side, SetRef *ref) const {
    if (side <= kIn) {
        if (dir_.lost(owner))
            return false;
        const DirEntry *e = dir_.find(owner);
        *ref = e ? e->set[side] : SetRef{};
        return !ref->invalid();
    }
    const ModDirectory *d = list_side(side) ? lists_ : mod_;
    if (d == nullptr || d->lost(owner))
        return false;
    const ModEntry *e = d->find(owner);
    *ref = e ? e->set[slot_of(side)] : SetRef{};
    return !ref->invalid();
}

// Runs f on the view of owner's set on side; kUnknown when the index cannot
// answer for it.
template <typename F>
Read GraphReader::with_view(uint32_t owner, Side side, F f) const {
    SetRef ref;
    if (!ref_of(owner, side, &ref))
        return Read::kUnknown;
    SetView v(arena_, ref, views_);
    if (!v.ok())
        return Read::kUnknown;
    f(v);
    return Read::kOk;
}

Read GraphReader::contains(uint32_t owner, Side side, uint32_t x, bool *out) const {
    return with_view(owner, side, [&](const SetView &v) { *out = v.contains(x); });
}

Read GraphReader::size(uint32_t owner, Side side, uint64_t *out) const {
    return with_view(owner, side, [&](const SetView &v) { *out = v.size(); });
}

Read GraphReader::list(uint32_t owner, Side side, uint32_t after, size_t lim, uint32_t *out,
                       size_t *n) const {
    return with_view(owner, side, [&](const SetView &v) { *n = v.list(after, lim, out); });
}

// A proof reads two sets whose directory entries and first lines are most
// likely not in the cache (a random viewer): their loads are started
// together, so that the two chains of misses overlap instead of queueing.
// False when the index cannot answer for either side.
bool GraphReader::proof_views(uint32_t viewer, uint32_t target, SetView *va, SetView *vb) const {
    dir_.prefetch(viewer);
    dir_.prefetch(target);
    SetRef a, b;
    if (!ref_of(viewer, kOut, &a) || !ref_of(target, kIn, &b))
        return false;
    for (Ref r : {a.base, b.base})
        if (r != kNoRef) {
            const char *p = arena_.at<char>(r);
            __builtin_prefetch(p);
            __builtin_prefetch(p + 64);
        }
    *va = SetView(arena_, a, views_);
    *vb = SetView(arena_, b, views_);
    return va->ok() && vb->ok();
}

// Runs f(viewer's following, target's followers); kUnknown if a set is not
// held or scratch memory runs out.
template <typename F>
Read GraphReader::with_proof_views(uint32_t viewer, uint32_t target, F f) const {
    SetView va, vb;
    if (!proof_views(viewer, target, &va, &vb))
        return Read::kUnknown;
    try {
        f(va, vb);
    } catch (const std::bad_alloc &) {
        return Read::kUnknown;
    }
    return Read::kOk;
}

Read GraphReader::proof_count(uint32_t viewer, uint32_t target, uint64_t *out) const {
    return with_proof_views(viewer, target, [&](const SetView &a, const SetView &b) {
        *out = intersect_count(a, b);
    });
}

Read GraphReader::proof_list(uint32_t viewer, uint32_t target, size_t lim, uint32_t *out,
                             size_t *n) const {
    return with_proof_views(viewer, target, [&](const SetView &a, const SetView &b) {
        *n = intersect_list(a, b, 0, lim, out);
    });
}

}  // namespace dp
