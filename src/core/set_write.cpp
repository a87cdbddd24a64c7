#include "set_write.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include <roaring/roaring.h>

#include "set_read.hpp"

namespace dp {

namespace {

using Vec = std::vector<uint32_t>;

// memcpy of an empty vector passes a null source: undefined, so skip it.
void copy_u32(uint32_t *dst, const Vec &v) {
    if (!v.empty())
        std::memcpy(dst, v.data(), v.size() * 4);
}

uint32_t count_groups(const uint32_t *v, size_t n) {
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || (v[i] >> 16) != (v[i - 1] >> 16))
            k++;
    return k;
}

Status write_array32(const Arena &arena, const uint32_t *v, uint32_t n, Ref *out) {
    Ref r = arena.alloc(array32_bytes(n));
    if (r == kNoRef)
        return Status::kNoMem;
    auto *h = arena.at<BaseHdr>(r);
    *h = BaseHdr{kFmtArray32, 0, 0, n};
    std::memcpy(h + 1, v, size_t(n) * 4);
    *out = r;
    return Status::kOk;
}

Status write_packed16(const Arena &arena, const uint32_t *v, uint32_t n, uint32_t k, Ref *out) {
    Ref r = arena.alloc(packed16_bytes(k, n));
    if (r == kNoRef)
        return Status::kNoMem;
    auto *h = arena.at<BaseHdr>(r);
    *h = BaseHdr{kFmtPacked16, 0, uint16_t(k), n};
    auto *keys = const_cast<uint16_t *>(packed16_keys(h));
    auto *ends = const_cast<uint16_t *>(packed16_ends(h));
    auto *lows = const_cast<uint16_t *>(packed16_lows(h));
    uint32_t g = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && (v[i] >> 16) != (v[i - 1] >> 16)) {
            ends[g] = uint16_t(i);
            g++;
        }
        keys[g] = uint16_t(v[i] >> 16);
        lows[i] = uint16_t(v[i]);
    }
    ends[g] = uint16_t(n);
    *out = r;
    return Status::kOk;
}

// Writes `bm` frozen if that is smaller than `best_small` bytes; *written
// tells whether it did.
Status write_roaring_if_smaller(const Arena &arena, roaring_bitmap_t *bm, uint32_t n,
                                size_t best_small, Ref *out, bool *written) {
    *written = false;
    roaring_bitmap_run_optimize(bm);
    size_t frozen = roaring_bitmap_frozen_size_in_bytes(bm);
    size_t bytes = sizeof(RoaringHdr) + frozen + 24;  // 24: room to align to 32
    if (bytes >= best_small || bytes > UINT32_MAX)
        return Status::kOk;
    Ref r = arena.alloc(bytes);
    if (r == kNoRef)
        return Status::kNoMem;
    auto *h = arena.at<RoaringHdr>(r);
    uintptr_t start = reinterpret_cast<uintptr_t>(h);
    uintptr_t data = (start + sizeof(RoaringHdr) + 31) & ~uintptr_t(31);
    h->h = BaseHdr{kFmtRoaring, 0, 0, n};
    h->frozen_len = uint32_t(frozen);
    h->data_off = uint32_t(data - start);
    h->serial = arena.next_serial();
    h->block_size = uint32_t(bytes);
    h->pad = 0;
    roaring_bitmap_frozen_serialize(bm, reinterpret_cast<char *>(data));
    *out = r;
    *written = true;
    return Status::kOk;
}

Status build_base(const Arena &arena, const uint32_t *v, size_t n, Ref *out) {
    *out = kNoRef;
    if (n == 0)
        return Status::kOk;
    uint32_t k = count_groups(v, n);
    size_t best = array32_bytes(uint32_t(n));
    bool packed = n <= kPacked16Max && packed16_bytes(k, uint32_t(n)) < best;
    if (packed)
        best = packed16_bytes(k, uint32_t(n));
    if (n >= kRoaringMin) {
        roaring_bitmap_t *bm = roaring_bitmap_of_ptr(n, v);
        if (bm == nullptr)
            return Status::kNoMem;
        bool written;
        Status s = write_roaring_if_smaller(arena, bm, uint32_t(n), best, out, &written);
        roaring_bitmap_free(bm);
        if (s != Status::kOk || written)
            return s;
    }
    return packed ? write_packed16(arena, v, uint32_t(n), k, out)
                  : write_array32(arena, v, uint32_t(n), out);
}

void free_base(const Arena &arena, Ref base) {
    if (base != kNoRef && base != kInvalidRef)
        arena.free(base, base_block_bytes(arena.at<BaseHdr>(base)));
}

void free_delta(const Arena &arena, Ref delta) {
    if (delta != kNoRef)
        arena.free(delta, delta_bytes(arena.at<DeltaHdr>(delta)->cap));
}

// out = (a ∪ ins) − del, all sorted.
void merge_changes(const uint32_t *a, size_t na, const uint32_t *ins, size_t n_ins,
                   const uint32_t *del, size_t n_del, Vec *out) {
    out->clear();
    out->reserve(na + n_ins);
    size_t i = 0, j = 0, d = 0;
    while (i < na || j < n_ins) {
        uint32_t x;
        if (j == n_ins || (i < na && a[i] < ins[j])) {
            x = a[i++];
        } else if (i == na || ins[j] < a[i]) {
            x = ins[j++];
        } else {
            x = a[i++];
            j++;
        }
        while (d < n_del && del[d] < x)
            d++;
        if (d < n_del && del[d] == x)
            continue;
        out->push_back(x);
    }
}

void materialize(const SetView &s, Vec *out) {
    out->clear();
    out->reserve(s.size());
    s.for_each([&](uint32_t x) {
        out->push_back(x);
        return true;
    });
}

// Replaces the whole set by a new base holding view ∪ ins − del.
Status rewrite(const Arena &arena, SetRef *ref, const SetView &view, const uint32_t *ins,
               size_t n_ins, const uint32_t *del, size_t n_del, WriteStats *st) {
    Vec cur, next;
    materialize(view, &cur);
    merge_changes(cur.data(), cur.size(), ins, n_ins, del, n_del, &next);
    Ref base;
    if (build_base(arena, next.data(), next.size(), &base) != Status::kOk)
        return Status::kNoMem;
    if (ref->delta != kNoRef)
        st->compactions++;
    free_base(arena, ref->base);
    free_delta(arena, ref->delta);
    st->card += int64_t(next.size()) - int64_t(cur.size());
    *ref = SetRef{base, kNoRef};
    return Status::kOk;
}

// Folds the changes into the delta when they fit; *fits says whether they did.
Status apply_to_delta(const Arena &arena, SetRef *ref, const SetView &view, const uint32_t *ins,
                      size_t n_ins, const uint32_t *del, size_t n_del, WriteStats *st,
                      bool *fits) {
    *fits = false;
    const DeltaHdr *d = view.delta();
    const uint32_t *adds = d ? d->adds() : nullptr, *dels = d ? d->dels() : nullptr;
    uint32_t na = d ? d->n_add : 0, nd = d ? d->n_del : 0;
    BaseProbe base;
    base.init(view.base(), view.view());

    // New adds: old adds − del, plus inserted uids in neither base nor adds.
    // New removes: old removes − ins, plus deleted uids in the base.
    Vec add_in, del_in, un_add, un_del;
    for (size_t i = 0; i < n_ins; i++) {
        uint32_t x = ins[i];
        if (sorted_contains(dels, nd, x))
            un_del.push_back(x);
        else if (!sorted_contains(adds, na, x) && !base.contains(x))
            add_in.push_back(x);
    }
    BaseProbe base2;
    base2.init(view.base(), view.view());
    for (size_t i = 0; i < n_del; i++) {
        uint32_t x = del[i];
        if (sorted_contains(adds, na, x))
            un_add.push_back(x);
        else if (!sorted_contains(dels, nd, x) && base2.contains(x))
            del_in.push_back(x);
    }
    Vec new_adds, new_dels;
    merge_changes(adds, na, add_in.data(), add_in.size(), un_add.data(), un_add.size(), &new_adds);
    merge_changes(dels, nd, del_in.data(), del_in.size(), un_del.data(), un_del.size(), &new_dels);

    uint32_t cap = d ? d->cap : delta_cap_for(view.size());
    if (new_adds.size() + new_dels.size() > cap)
        return Status::kOk;
    Ref dref = ref->delta;
    if (dref == kNoRef) {
        dref = arena.alloc(delta_bytes(cap));
        if (dref == kNoRef)
            return Status::kNoMem;
        *arena.at<DeltaHdr>(dref) = DeltaHdr{cap, 0, 0, 0};
    }
    auto *w = arena.at<DeltaHdr>(dref);
    copy_u32(w->slots(), new_adds);
    copy_u32(w->slots() + cap - new_dels.size(), new_dels);
    st->card += int64_t(add_in.size()) + int64_t(un_del.size()) - int64_t(un_add.size()) -
                int64_t(del_in.size());
    w->n_add = uint32_t(new_adds.size());
    w->n_del = uint32_t(new_dels.size());
    ref->delta = dref;
    *fits = true;
    return Status::kOk;
}

}  // namespace

Status set_build_base(const Arena &arena, const uint32_t *v, size_t n, Ref *out,
                      WriteStats *st) {
    try {
        Status s = build_base(arena, v, n, out);
        if (s == Status::kOk)
            st->card += int64_t(n);
        return s;
    } catch (const std::bad_alloc &) {
        return Status::kNoMem;
    }
}

void set_free(const Arena &arena, SetRef *ref, WriteStats *st) {
    if (ref->invalid())
        return;
    if (!ref->empty()) {
        uint32_t n = 0;
        if (ref->base != kNoRef)
            n += arena.at<BaseHdr>(ref->base)->n;
        if (ref->delta != kNoRef) {
            const auto *d = arena.at<DeltaHdr>(ref->delta);
            n += d->n_add - (ref->base != kNoRef ? d->n_del : 0);
        }
        st->card -= int64_t(n);
    }
    free_base(arena, ref->base);
    free_delta(arena, ref->delta);
    *ref = SetRef{};
}

Status set_apply(const Arena &arena, SetRef *ref, const uint32_t *ins, size_t n_ins,
                 const uint32_t *del, size_t n_del, RoaringViews *views, WriteStats *st) {
    if (ref->invalid() || (n_ins == 0 && n_del == 0))
        return Status::kOk;
    try {
        SetView view(arena, *ref, views);
        if (!view.ok())
            return Status::kNoMem;
        if (ref->delta == kNoRef && view.size() <= kCowMax)
            return rewrite(arena, ref, view, ins, n_ins, del, n_del, st);
        if (n_ins + n_del <= delta_cap_for(view.size())) {
            bool fits;
            Status s = apply_to_delta(arena, ref, view, ins, n_ins, del, n_del, st, &fits);
            if (s != Status::kOk || fits)
                return s;
        }
        return rewrite(arena, ref, view, ins, n_ins, del, n_del, st);
    } catch (const std::bad_alloc &) {
        return Status::kNoMem;
    }
}

Status set_journal(const Arena &arena, SetRef *ref, const uint32_t *ins, size_t n_ins,
                   const uint32_t *del, size_t n_del, WriteStats *st) {
    if (ref->invalid() || (n_ins == 0 && n_del == 0))
        return Status::kOk;
    try {
        const DeltaHdr *d = ref->delta != kNoRef ? arena.at<DeltaHdr>(ref->delta) : nullptr;
        const uint32_t *adds = d ? d->adds() : nullptr, *dels = d ? d->dels() : nullptr;
        uint32_t na = d ? d->n_add : 0, nd = d ? d->n_del : 0;
        Vec new_adds, new_dels;
        merge_changes(adds, na, ins, n_ins, del, n_del, &new_adds);
        merge_changes(dels, nd, del, n_del, ins, n_ins, &new_dels);
        size_t need = new_adds.size() + new_dels.size();
        Ref dref = ref->delta;
        uint32_t cap = d ? d->cap : 0;
        if (need > cap) {
            uint32_t ncap = std::max<uint32_t>(16, cap);
            while (ncap < need)
                ncap *= 2;
            dref = arena.alloc(delta_bytes(ncap));
            if (dref == kNoRef)
                return Status::kNoMem;
            *arena.at<DeltaHdr>(dref) = DeltaHdr{ncap, 0, 0, 0};
            cap = ncap;
        }
        auto *w = arena.at<DeltaHdr>(dref);
        copy_u32(w->slots(), new_adds);
        copy_u32(w->slots() + cap - new_dels.size(), new_dels);
        st->card += int64_t(new_adds.size()) - int64_t(na);
        w->n_add = uint32_t(new_adds.size());
        w->n_del = uint32_t(new_dels.size());
        if (dref != ref->delta) {
            free_delta(arena, ref->delta);
            ref->delta = dref;
        }
        return Status::kOk;
    } catch (const std::bad_alloc &) {
        return Status::kNoMem;
    }
}

Status set_install(const Arena &arena, SetRef *ref, const uint32_t *scanned, size_t n,
                   WriteStats *st) {
    if (ref->invalid())
        return Status::kOk;
    try {
        const DeltaHdr *d = ref->delta != kNoRef ? arena.at<DeltaHdr>(ref->delta) : nullptr;
        Vec merged;
        uint32_t na = 0;
        if (d != nullptr) {
            na = d->n_add;
            merge_changes(scanned, n, d->adds(), d->n_add, d->dels(), d->n_del, &merged);
        }
        const uint32_t *v = d ? merged.data() : scanned;
        size_t nv = d ? merged.size() : n;
        Ref base;
        if (build_base(arena, v, nv, &base) != Status::kOk)
            return Status::kNoMem;
        free_base(arena, ref->base);
        free_delta(arena, ref->delta);
        st->card += int64_t(nv) - int64_t(na);
        *ref = SetRef{base, kNoRef};
        return Status::kOk;
    } catch (const std::bad_alloc &) {
        return Status::kNoMem;
    }
}

size_t set_bytes(const Arena &arena, SetRef ref) {
    size_t b = 0;
    if (ref.base != kNoRef && ref.base != kInvalidRef)
        b += base_block_bytes(arena.at<BaseHdr>(ref.base));
    if (ref.delta != kNoRef)
        b += delta_bytes(arena.at<DeltaHdr>(ref.delta)->cap);
    return b;
}

}  // namespace dp
