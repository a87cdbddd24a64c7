#include "set_read.hpp"

#include <cstring>

#include <algorithm>
#include <vector>

#include <roaring/containers/containers.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dp {

bool sorted_contains(const uint32_t *v, uint32_t n, uint32_t x) {
    const uint32_t *p = std::lower_bound(v, v + n, x);
    return p != v + n && *p == x;
}

// The first index >= from whose element is >= x: galloping (1, 2, 4 ...
// elements ahead), then a binary search in the last step.
template <typename T>
static uint32_t gallop(const T *v, uint32_t n, uint32_t from, T x) {
    if (from >= n || v[from] >= x)
        return from;
    uint32_t step = 1, lo = from, hi = from + 1;
    while (hi < n && v[hi] < x) {
        lo = hi;
        step <<= 1;
        hi = lo + step;
    }
    if (hi > n)
        hi = n;
    return uint32_t(std::lower_bound(v + lo + 1, v + hi, x) - v);
}

uint32_t gallop_lower_bound(const uint32_t *v, uint32_t n, uint32_t from, uint32_t x) {
    return gallop(v, n, from, x);
}

static uint32_t gallop16(const uint16_t *v, uint32_t n, uint32_t from, uint16_t x) {
    return gallop(v, n, from, x);
}

// ---------------------------------------------------------------- BaseCursor

void BaseCursor::init(const BaseHdr *h, const roaring_bitmap_t *view) {
    h_ = h;
    view_ = view;
    valid_ = false;
}

void BaseCursor::load() {
    switch (h_->fmt) {
        case kFmtArray32:
            valid_ = i_ < h_->n;
            if (valid_)
                value_ = array32_data(h_)[i_];
            break;
        case kFmtPacked16:
            valid_ = i_ < h_->n;
            if (valid_) {
                const uint16_t *ends = packed16_ends(h_);
                while (i_ >= ends[k_])
                    k_++;
                value_ = (uint32_t(packed16_keys(h_)[k_]) << 16) | packed16_lows(h_)[i_];
            }
            break;
        default:
            valid_ = it_.has_value;
            value_ = it_.current_value;
            break;
    }
}

void BaseCursor::seek(uint32_t x) {
    if (h_ == nullptr) {
        valid_ = false;
        return;
    }
    switch (h_->fmt) {
        case kFmtArray32: {
            const uint32_t *v = array32_data(h_);
            i_ = uint32_t(std::lower_bound(v, v + h_->n, x) - v);
            break;
        }
        case kFmtPacked16: {
            const uint16_t *keys = packed16_keys(h_);
            const uint16_t *ends = packed16_ends(h_);
            const uint16_t hi = uint16_t(x >> 16), lo = uint16_t(x);
            k_ = uint32_t(std::lower_bound(keys, keys + h_->nkeys, hi) - keys);
            if (k_ == h_->nkeys) {
                i_ = h_->n;
            } else {
                uint32_t start = k_ == 0 ? 0 : ends[k_ - 1];
                if (keys[k_] == hi) {
                    const uint16_t *lows = packed16_lows(h_);
                    i_ = uint32_t(std::lower_bound(lows + start, lows + ends[k_], lo) - lows);
                } else {
                    i_ = start;
                }
            }
            break;
        }
        default:
            roaring_init_iterator(view_, &it_);
            if (x > 0)
                roaring_move_uint32_iterator_equalorlarger(&it_, x);
            break;
    }
    load();
}

void BaseCursor::next() {
    if (h_->fmt == kFmtRoaring)
        roaring_advance_uint32_iterator(&it_);
    else
        i_++;
    load();
}

// ------------------------------------------------ searches of uint16 arrays

// Is x in the sorted array v[0..n)? Branchless lower bound: the loop runs
// log2(n) times whatever the data, with conditional moves, no mispredictions.
static inline bool contains_branchless(const uint16_t *v, uint32_t n, uint16_t x) {
    if (n == 0)
        return false;
    const uint16_t *base = v;
    while (n > 1) {
        uint32_t half = n / 2;
        base = base[half] <= x ? base + half : base;
        n -= half;
    }
    return *base == x;
}

// Is x among the 64 values at v? A flat comparison of all of them (SIMD
// where there is some): no chain of dependent loads, as a search has.
static inline bool contains_window64(const uint16_t *v, uint16_t x) {
#if defined(__SSE2__)
    const __m128i needle = _mm_set1_epi16(short(x));
    __m128i any = _mm_setzero_si128();
    for (int i = 0; i < 64; i += 8)
        any = _mm_or_si128(any, _mm_cmpeq_epi16(
                                    _mm_loadu_si128(reinterpret_cast<const __m128i *>(v + i)), needle));
    return _mm_movemask_epi8(any) != 0;
#else
    bool hit = false;
    for (int i = 0; i < 64; i++)
        hit |= v[i] == x;
    return hit;
#endif
}

// Is x in the sorted array v[0..n)? For big arrays of roughly uniform
// values (the low halves of uids in a container), interpolation first:
// the guess lands within a few dozen slots, and only that window is
// searched, which touches 3-4 cache lines instead of a binary search's 8.
static inline bool contains_interpolated(const uint16_t *v, uint32_t n, uint16_t x) {
    if (n < 128)
        return contains_branchless(v, n, x);
    uint32_t first = v[0], last = v[n - 1];
    if (x < first || x > last)
        return false;
    uint32_t pos = uint32_t(uint64_t(x - first) * (n - 1) / (last - first + 1));
    uint32_t lo = pos >= 32 ? pos - 32 : 0;
    if (lo + 64 > n)
        lo = n - 64;
    if (v[lo] <= x && x <= v[lo + 63])
        return contains_window64(v + lo, x);
    return contains_branchless(v, n, x);
}

// The run of a run container that may hold x: the last run starting at or
// below x, found by galloping on from `from` (a run at or below the one
// before, for ascending probes); 0 when x is below every run.
static inline uint32_t run_at_or_below(const rle16_t *runs, uint32_t n, uint32_t from, uint16_t x) {
    uint32_t lo = from, step = 1;
    while (lo + step < n && runs[lo + step].value <= x) {
        lo += step;
        step <<= 1;
    }
    uint32_t hi = std::min(lo + step, n);  // runs[hi].value > x, or hi == n
    const rle16_t *first_above = std::upper_bound(
        runs + lo + 1, runs + hi, x, [](uint16_t v, const rle16_t &r) { return v < r.value; });
    return uint32_t(first_above - runs) - 1;
}

// ----------------------------------------------------------------- BaseProbe

void BaseProbe::init(const BaseHdr *h, const roaring_bitmap_t *view) {
    h_ = h;
    view_ = view;
    pos_ = 0;
    low_group_ = UINT32_MAX;
    low_ = 0;
}

bool BaseProbe::contains(uint32_t x) {
    if (h_ == nullptr)
        return false;
    switch (h_->fmt) {
        case kFmtArray32: {
            const uint32_t *v = array32_data(h_);
            pos_ = gallop_lower_bound(v, h_->n, pos_, x);
            return pos_ < h_->n && v[pos_] == x;
        }
        case kFmtPacked16: {
            const uint16_t *keys = packed16_keys(h_);
            pos_ = gallop16(keys, h_->nkeys, pos_, uint16_t(x >> 16));
            if (pos_ == h_->nkeys || keys[pos_] != uint16_t(x >> 16))
                return false;
            const uint16_t *ends = packed16_ends(h_);
            const uint16_t *lows = packed16_lows(h_);
            uint32_t start = pos_ == 0 ? 0 : ends[pos_ - 1], end = ends[pos_];
            if (end - start >= 128)
                return contains_interpolated(lows + start, end - start, uint16_t(x));
            // A small group: go on from the last probe's place in it, as a
            // merge would (a binary search per probe costs a chain of
            // dependent loads each time).
            if (low_group_ != pos_) {
                low_group_ = pos_;
                low_ = start;
            }
            low_ = gallop16(lows, end, low_, uint16_t(x));
            return low_ < end && lows[low_] == uint16_t(x);
        }
        default: {
            const roaring_array_t &ra = view_->high_low_container;
            pos_ = gallop16(ra.keys, uint32_t(ra.size), pos_, uint16_t(x >> 16));
            if (pos_ == uint32_t(ra.size) || ra.keys[pos_] != uint16_t(x >> 16))
                return false;
            // A dense group (a big list's members, a celebrity's followers)
            // is a bitset: one bit test, without CRoaring's dispatch call.
            if (ra.typecodes[pos_] == BITSET_CONTAINER_TYPE_CODE)
                return bitset_container_get(
                    static_cast<const bitset_container_t *>(ra.containers[pos_]), uint16_t(x));
            // A sparser group (a smaller list's members) is a sorted array:
            // interpolation, as for Packed16's big groups, instead of
            // CRoaring's binary search (a dozen dependent cache misses).
            if (ra.typecodes[pos_] == ARRAY_CONTAINER_TYPE_CODE) {
                auto *a = static_cast<const array_container_t *>(ra.containers[pos_]);
                return contains_interpolated(a->array, uint32_t(a->cardinality), uint16_t(x));
            }
            // Runs (a list of consecutive accounts): go on from the last
            // probe's run in the group, as for Packed16's small groups.
            if (ra.typecodes[pos_] == RUN_CONTAINER_TYPE_CODE) {
                auto *r = static_cast<const run_container_t *>(ra.containers[pos_]);
                if (r->n_runs == 0)
                    return false;
                if (low_group_ != pos_) {
                    low_group_ = pos_;
                    low_ = 0;
                }
                low_ = run_at_or_below(r->runs, uint32_t(r->n_runs), low_, uint16_t(x));
                const rle16_t &run = r->runs[low_];
                return run.value <= uint16_t(x) && uint16_t(x) - run.value <= run.length;
            }
            return container_contains(ra.containers[pos_], uint16_t(x), ra.typecodes[pos_]);
        }
    }
}

// ------------------------------------------------------------------- SetView

SetView::SetView(const Arena &arena, SetRef ref, RoaringViews *views) {
    if (ref.base != kNoRef && ref.base != kInvalidRef) {
        base_ = arena.at<BaseHdr>(ref.base);
        if (base_->fmt == kFmtRoaring) {
            view_ = views->get(base_);
            ok_ = view_ != nullptr;
        }
    }
    if (ref.delta != kNoRef)
        delta_ = arena.at<DeltaHdr>(ref.delta);
}

uint32_t SetView::size() const {
    uint32_t n = base_ ? base_->n : 0;
    if (delta_)
        n += delta_->n_add - delta_->n_del;
    return n;
}

bool SetView::contains(uint32_t x) const {
    if (delta_) {
        if (sorted_contains(delta_->adds(), delta_->n_add, x))
            return true;
        if (sorted_contains(delta_->dels(), delta_->n_del, x))
            return false;
    }
    BaseProbe p;
    p.init(base_, view_);
    return p.contains(x);
}

size_t SetView::list(uint32_t after, size_t lim, uint32_t *out) const {
    if (lim == 0 || after == UINT32_MAX)
        return 0;
    // The whole of a set without a delta (a fan-out's followers): in bulk.
    if (delta_ == nullptr && after == 0 && base_ != nullptr && lim >= base_->n) {
        if (base_->fmt == kFmtArray32) {
            std::memcpy(out, array32_data(base_), size_t(base_->n) * 4);
            return base_->n;
        }
        if (base_->fmt == kFmtRoaring && view_ != nullptr) {
            roaring_bitmap_to_uint32_array(view_, out);
            return base_->n;
        }
    }
    BaseCursor c;
    c.init(base_, view_);
    c.seek(after + 1);
    const uint32_t *adds = delta_ ? delta_->adds() : nullptr;
    const uint32_t *dels = delta_ ? delta_->dels() : nullptr;
    uint32_t na = delta_ ? delta_->n_add : 0, nd = delta_ ? delta_->n_del : 0;
    uint32_t ai = na ? gallop_lower_bound(adds, na, 0, after + 1) : 0;
    uint32_t di = nd ? gallop_lower_bound(dels, nd, 0, after + 1) : 0;
    size_t k = 0;
    while (k < lim) {
        if (c.valid() && (ai == na || c.value() < adds[ai])) {
            uint32_t x = c.value();
            c.next();
            while (di < nd && dels[di] < x)
                di++;
            if (di < nd && dels[di] == x)
                continue;
            out[k++] = x;
        } else if (ai < na) {
            out[k++] = adds[ai++];
        } else {
            break;
        }
    }
    return k;
}

// ------------------------------------------------------ SetView::members

namespace {

// The probes xs[i..j) share the high half `key`; marks in[] for those whose
// low half a sorted uint16 array (a Packed16 group, a Roaring array
// container) holds. Big arrays by interpolation, small ones by galloping on
// from the probe before (both as BaseProbe does one probe at a time).
void group_array16(const uint16_t *v, uint32_t nv, const uint32_t *xs, size_t i, size_t j,
                   uint8_t *in) {
    if (nv >= 128) {
        for (; i < j; i++)
            in[i] = contains_interpolated(v, nv, uint16_t(xs[i]));
        return;
    }
    uint32_t pos = 0;
    for (; i < j; i++) {
        pos = gallop16(v, nv, pos, uint16_t(xs[i]));
        in[i] = pos < nv && v[pos] == uint16_t(xs[i]);
    }
}

// The same for a Roaring container of any kind.
void group_container(const void *c, uint8_t type, const uint32_t *xs, size_t i, size_t j,
                     uint8_t *in) {
    c = container_unwrap_shared(c, &type);
    switch (type) {
        case BITSET_CONTAINER_TYPE_CODE: {
            const uint64_t *words = static_cast<const bitset_container_t *>(c)->array;
            for (; i < j; i++) {
                uint16_t low = uint16_t(xs[i]);
                in[i] = (words[low >> 6] >> (low & 63)) & 1;
            }
            return;
        }
        case ARRAY_CONTAINER_TYPE_CODE: {
            auto *a = static_cast<const array_container_t *>(c);
            group_array16(a->array, uint32_t(a->cardinality), xs, i, j, in);
            return;
        }
        case RUN_CONTAINER_TYPE_CODE: {
            auto *r = static_cast<const run_container_t *>(c);
            uint32_t at = 0;
            for (; i < j; i++) {
                in[i] = 0;
                if (r->n_runs == 0)
                    continue;
                uint16_t low = uint16_t(xs[i]);
                at = run_at_or_below(r->runs, uint32_t(r->n_runs), at, low);
                const rle16_t &run = r->runs[at];
                in[i] = run.value <= low && low - run.value <= run.length;
            }
            return;
        }
        default:
            for (; i < j; i++)
                in[i] = container_contains(c, uint16_t(xs[i]), type);
            return;
    }
}

// The end of the run of probes from i that share xs[i]'s high half.
inline size_t group_end(const uint32_t *xs, size_t n, size_t i) {
    const uint32_t high = xs[i] >> 16;
    size_t j = i + 1;
    while (j < n && xs[j] >> 16 == high)
        j++;
    return j;
}

}  // namespace

void SetView::members(const uint32_t *xs, size_t n, uint8_t *in) const {
    if (base_ == nullptr || base_->n == 0) {
        std::memset(in, 0, n);
    } else if (base_->fmt == kFmtArray32) {
        const uint32_t *v = array32_data(base_);
        uint32_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            pos = gallop_lower_bound(v, base_->n, pos, xs[i]);
            in[i] = pos < base_->n && v[pos] == xs[i];
        }
    } else if (base_->fmt == kFmtPacked16) {
        const uint16_t *keys = packed16_keys(base_), *ends = packed16_ends(base_),
                       *lows = packed16_lows(base_);
        uint32_t k = 0;
        for (size_t i = 0, j; i < n; i = j) {
            j = group_end(xs, n, i);
            k = gallop16(keys, base_->nkeys, k, uint16_t(xs[i] >> 16));
            if (k == base_->nkeys || keys[k] != uint16_t(xs[i] >> 16)) {
                std::memset(in + i, 0, j - i);
                continue;
            }
            uint32_t start = k == 0 ? 0 : ends[k - 1];
            group_array16(lows + start, ends[k] - start, xs, i, j, in);
        }
    } else {
        const roaring_array_t &ra = view_->high_low_container;
        uint32_t k = 0;
        for (size_t i = 0, j; i < n; i = j) {
            j = group_end(xs, n, i);
            k = gallop16(ra.keys, uint32_t(ra.size), k, uint16_t(xs[i] >> 16));
            if (k == uint32_t(ra.size) || ra.keys[k] != uint16_t(xs[i] >> 16)) {
                std::memset(in + i, 0, j - i);
                continue;
            }
            group_container(ra.containers[k], ra.typecodes[k], xs, i, j, in);
        }
    }
    if (delta_ == nullptr)
        return;
    // The delta over the base: a remove takes a uid out, an add puts it in.
    const uint32_t *adds = delta_->adds(), *dels = delta_->dels();
    const uint32_t na = delta_->n_add, nd = delta_->n_del;
    uint32_t ai = 0, di = 0;
    for (size_t i = 0; i < n; i++) {
        if (nd != 0) {
            di = gallop_lower_bound(dels, nd, di, xs[i]);
            if (di < nd && dels[di] == xs[i])
                in[i] = 0;
        }
        if (na != 0) {
            ai = gallop_lower_bound(adds, na, ai, xs[i]);
            if (ai < na && adds[ai] == xs[i])
                in[i] = 1;
        }
    }
}

// ------------------------------------------------------------------ SetProbe

SetProbe::SetProbe(const SetView &s) : s_(s) { base_.init(s.base(), s.view()); }

bool SetProbe::contains(uint32_t x) {
    const DeltaHdr *d = s_.delta();
    if (d != nullptr) {
        if (d->n_add) {
            ai_ = gallop_lower_bound(d->adds(), d->n_add, ai_, x);
            if (ai_ < d->n_add && d->adds()[ai_] == x)
                return true;
        }
        if (d->n_del) {
            di_ = gallop_lower_bound(d->dels(), d->n_del, di_, x);
            if (di_ < d->n_del && d->dels()[di_] == x)
                return false;
        }
    }
    return base_.contains(x);
}

// ------------------------------------------------------------- intersections

// Sets above this size with Roaring bases are intersected by CRoaring itself.
constexpr uint32_t kRoaringAndMin = 4096;

static bool both_large_roaring(const SetView &a, const SetView &b) {
    return a.is_roaring() && b.is_roaring() && a.size() >= kRoaringAndMin &&
           b.size() >= kRoaringAndMin;
}

// One 16-bit group of the large side of an intersection: a CRoaring
// container, or (large Packed16 bases) the group's low halves dressed as an
// array container that borrows our memory.
struct LargeGroup {
    const void *cont;
    uint8_t type;
    array_container_t arr;  // the container itself when type is ARRAY
};

// Resolves the groups of a Roaring bitmap, keys in ascending order.
class RoaringGroups {
  public:
    explicit RoaringGroups(const roaring_bitmap_t *bm) : ra_(bm->high_low_container) {}
    bool find(uint16_t key, LargeGroup *g) {
        const uint32_t nc = uint32_t(ra_.size);
        pos_ = gallop16(ra_.keys, nc, pos_, key);
        if (pos_ == nc || ra_.keys[pos_] != key)
            return false;
        g->type = ra_.typecodes[pos_];
        g->cont = container_unwrap_shared(ra_.containers[pos_], &g->type);
        if (g->type == ARRAY_CONTAINER_TYPE_CODE)
            g->arr = *static_cast<const array_container_t *>(g->cont);
        return true;
    }

  private:
    const roaring_array_t &ra_;
    uint32_t pos_ = 0;
};

// Resolves the groups of a Packed16 base, keys in ascending order.
class Packed16Groups {
  public:
    explicit Packed16Groups(const BaseHdr *h)
        : keys_(packed16_keys(h)), ends_(packed16_ends(h)), lows_(packed16_lows(h)), nk_(h->nkeys) {}
    bool find(uint16_t key, LargeGroup *g) {
        pos_ = gallop16(keys_, nk_, pos_, key);
        if (pos_ == nk_ || keys_[pos_] != key)
            return false;
        uint32_t start = pos_ == 0 ? 0 : ends_[pos_ - 1];
        int32_t n = int32_t(ends_[pos_] - start);
        g->type = ARRAY_CONTAINER_TYPE_CODE;
        g->arr = array_container_t{n, n, const_cast<uint16_t *>(lows_ + start)};
        g->cont = nullptr;
        return true;
    }

  private:
    const uint16_t *keys_, *ends_, *lows_;
    uint32_t nk_, pos_ = 0;
};

// |base ∩ large| where base is an Array32 or Packed16 block and large is
// resolved group by group (RoaringGroups, Packed16Groups): one intersection
// per 16-bit group of the base, instead of a membership test per uid.
template <typename Groups>
static uint64_t count_groups_vs(const BaseHdr *base, Groups &large) {
    uint64_t c = 0;

    // Groups are resolved a batch at a time, and the first levels of each
    // array's search are prefetched before any is searched: in a sparse uid
    // space every group is a different container, and their cache misses
    // then overlap.
    constexpr int kBatch = 32;
    struct Pending {
        LargeGroup g;
        const uint16_t *lows;
        uint32_t n;
    } batch[kBatch];
    int nb = 0;
    auto run_batch = [&]() {
        for (int i = 0; i < nb; i++) {
            const Pending &p = batch[i];
            if (p.g.type == ARRAY_CONTAINER_TYPE_CODE &&
                uint64_t(p.n) * 16 <= uint64_t(p.g.arr.cardinality)) {
                // Few uids against a big array (a viewer's follows against
                // a popular account's followers): an interpolated,
                // branchless search each beats the skewed intersection's
                // mispredicted galloping.
                const uint16_t *a = p.g.arr.array;
                uint32_t card = uint32_t(p.g.arr.cardinality);
                for (uint32_t k = 0; k < p.n; k++)
                    c += contains_interpolated(a, card, p.lows[k]);
            } else {
                array_container_t ac{int32_t(p.n), int32_t(p.n), const_cast<uint16_t *>(p.lows)};
                const void *other = p.g.type == ARRAY_CONTAINER_TYPE_CODE ? &p.g.arr : p.g.cont;
                c += uint64_t(container_and_cardinality(&ac, ARRAY_CONTAINER_TYPE_CODE, other,
                                                        p.g.type));
            }
        }
        nb = 0;
    };
    auto group = [&](uint16_t key, const uint16_t *lows, uint32_t n) {
        Pending &p = batch[nb];
        if (!large.find(key, &p.g))
            return;
        if (p.g.type == ARRAY_CONTAINER_TYPE_CODE) {
            const uint16_t *a = p.g.arr.array;
            uint32_t card = uint32_t(p.g.arr.cardinality);
            // The ends (for interpolation) and the likely window.
            __builtin_prefetch(a);
            __builtin_prefetch(a + card - 1);
            if (n == 1 && card > 1 && lows[0] >= a[0] && lows[0] <= a[card - 1])
                __builtin_prefetch(a + uint64_t(lows[0] - a[0]) * (card - 1) /
                                           (a[card - 1] - a[0] + 1));
        }
        p.lows = lows;
        p.n = n;
        if (++nb == kBatch)
            run_batch();
    };
    if (base->fmt == kFmtPacked16) {
        const uint16_t *keys = packed16_keys(base), *ends = packed16_ends(base);
        const uint16_t *lows = packed16_lows(base);
        uint32_t start = 0;
        for (uint32_t g = 0; g < base->nkeys; g++) {
            group(keys[g], lows + start, ends[g] - start);
            start = ends[g];
        }
        run_batch();
        return c;
    }
    // Array32: regroup into low halves, a bounded chunk at a time (the
    // cardinality of a group is the sum over its chunks). The chunks must
    // outlive the batch that points into them.
    constexpr uint32_t kChunk = 1024;
    uint16_t buf[kChunk];
    uint32_t used = 0;
    const uint32_t *v = array32_data(base);
    uint32_t i = 0;
    while (i < base->n) {
        if (used == kChunk) {
            run_batch();
            used = 0;
        }
        uint16_t key = uint16_t(v[i] >> 16);
        uint32_t start = used;
        while (i < base->n && uint16_t(v[i] >> 16) == key && used < kChunk)
            buf[used++] = uint16_t(v[i++]);
        group(key, buf + start, used - start);
    }
    run_batch();
    return c;
}

// Count of uids in the sorted list v (n of them) that `in` contains.
template <typename Pred>
static uint64_t count_if_sorted(const uint32_t *v, uint32_t n, Pred in) {
    uint64_t c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += in(v[i]) ? 1 : 0;
    return c;
}

static uint64_t count_large(const SetView &a, const SetView &b) {
    // With A = Ab - Ad + Aa and B = Bb - Bd + Ba (adds disjoint from the base,
    // removes inside it):
    // |A∩B| = |Ab∩Bb| - |Ad∩Bb| - |Ab∩Bd| + |Ad∩Bd| + |(Ab-Ad)∩Ba| + |Aa∩B|
    static const uint32_t kNone[1] = {0};
    const DeltaHdr *da = a.delta(), *db = b.delta();
    const uint32_t *aa = da ? da->adds() : kNone, *ad = da ? da->dels() : kNone;
    const uint32_t *ba = db ? db->adds() : kNone, *bd = db ? db->dels() : kNone;
    uint32_t naa = da ? da->n_add : 0, nad = da ? da->n_del : 0;
    uint32_t nba = db ? db->n_add : 0, nbd = db ? db->n_del : 0;

    int64_t c = int64_t(roaring_bitmap_and_cardinality(a.view(), b.view()));
    BaseProbe pb, pa;
    pb.init(b.base(), b.view());
    c -= int64_t(count_if_sorted(ad, nad, [&](uint32_t x) { return pb.contains(x); }));
    pa.init(a.base(), a.view());
    c -= int64_t(count_if_sorted(bd, nbd, [&](uint32_t x) { return pa.contains(x); }));
    c += int64_t(count_if_sorted(ad, nad, [&](uint32_t x) { return sorted_contains(bd, nbd, x); }));
    BaseProbe pa2;
    pa2.init(a.base(), a.view());
    c += int64_t(count_if_sorted(ba, nba, [&](uint32_t x) {
        return pa2.contains(x) && !sorted_contains(ad, nad, x);
    }));
    SetProbe pbs(b);
    c += int64_t(count_if_sorted(aa, naa, [&](uint32_t x) { return pbs.contains(x); }));
    return uint64_t(c);
}

// |S ∩ L| for a small set S without a delta and a large L whose base is
// Roaring or Packed16: |S ∩ Lb| - |S ∩ Ld| + |S ∩ La|, the first group by
// group.
static uint64_t count_small_vs_grouped(const SetView &small, const SetView &large) {
    uint64_t c;
    if (large.is_roaring()) {
        RoaringGroups g(large.view());
        c = count_groups_vs(small.base(), g);
    } else {
        Packed16Groups g(large.base());
        c = count_groups_vs(small.base(), g);
    }
    if (const DeltaHdr *d = large.delta()) {
        BaseProbe p;
        p.init(small.base(), nullptr);
        c -= count_if_sorted(d->dels(), d->n_del, [&](uint32_t x) { return p.contains(x); });
        BaseProbe q;
        q.init(small.base(), nullptr);
        c += count_if_sorted(d->adds(), d->n_add, [&](uint32_t x) { return q.contains(x); });
    }
    return c;
}

uint64_t intersect_count(const SetView &a, const SetView &b) {
    if (a.size() == 0 || b.size() == 0)
        return 0;
    if (both_large_roaring(a, b))
        return count_large(a, b);
    const SetView &small = a.size() <= b.size() ? a : b;
    const SetView &large = a.size() <= b.size() ? b : a;
    const BaseHdr *lb = large.base();
    if (lb != nullptr && (lb->fmt == kFmtRoaring || lb->fmt == kFmtPacked16) &&
        small.delta() == nullptr && small.base() != nullptr && small.base()->fmt != kFmtRoaring)
        return count_small_vs_grouped(small, large);
    SetProbe probe(large);
    uint64_t c = 0;
    small.for_each([&](uint32_t x) {
        c += probe.contains(x) ? 1 : 0;
        return true;
    });
    return c;
}

// Both large and Roaring: let CRoaring intersect the bases, then correct for
// the deltas while merging in ascending order.
static size_t list_large(const SetView &a, const SetView &b, uint32_t after, size_t lim,
                         uint32_t *out) {
    roaring_bitmap_t *r = roaring_bitmap_and(a.view(), b.view());
    if (r == nullptr)
        return 0;
    std::vector<uint32_t> extra;
    const DeltaHdr *da = a.delta(), *db = b.delta();
    if (da)
        for (uint32_t i = 0; i < da->n_add; i++)
            if (da->adds()[i] > after && b.contains(da->adds()[i]))
                extra.push_back(da->adds()[i]);
    if (db)
        for (uint32_t i = 0; i < db->n_add; i++)
            if (db->adds()[i] > after && a.contains(db->adds()[i]))
                extra.push_back(db->adds()[i]);
    std::sort(extra.begin(), extra.end());
    extra.erase(std::unique(extra.begin(), extra.end()), extra.end());

    roaring_uint32_iterator_t it;
    roaring_init_iterator(r, &it);
    if (after < UINT32_MAX)
        roaring_move_uint32_iterator_equalorlarger(&it, after + 1);
    else
        it.has_value = false;
    size_t k = 0, e = 0;
    while (k < lim) {
        bool base_ok = it.has_value;
        if (base_ok && (e == extra.size() || it.current_value < extra[e])) {
            uint32_t x = it.current_value;
            roaring_advance_uint32_iterator(&it);
            if (da && sorted_contains(da->dels(), da->n_del, x))
                continue;
            if (db && sorted_contains(db->dels(), db->n_del, x))
                continue;
            out[k++] = x;
        } else if (e < extra.size()) {
            out[k++] = extra[e++];
        } else {
            break;
        }
    }
    roaring_bitmap_free(r);
    return k;
}

size_t intersect_list(const SetView &a, const SetView &b, uint32_t after, size_t lim,
                      uint32_t *out) {
    if (lim == 0 || a.size() == 0 || b.size() == 0 || after == UINT32_MAX)
        return 0;
    if (both_large_roaring(a, b))
        return list_large(a, b, after, lim, out);
    const SetView &small = a.size() <= b.size() ? a : b;
    const SetView &large = a.size() <= b.size() ? b : a;
    SetProbe probe(large);
    size_t k = 0;
    small.for_each([&](uint32_t x) {
        if (x > after && probe.contains(x))
            out[k++] = x;
        return k < lim;
    });
    return k;
}

}  // namespace dp
