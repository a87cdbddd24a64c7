// Reading a uid set in place: size, membership, ascending iteration, and
// intersections. Nothing here allocates in the arena or writes to it; the
// caller holds the set's stripe lock (shared) for as long as a view lives.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

#include <roaring/roaring.h>

#include "arena.hpp"
#include "roaring_views.hpp"
#include "set_layout.hpp"

namespace dp {

// Ascending cursor over a base block (any format).
class BaseCursor {
  public:
    void init(const BaseHdr *h, const roaring_bitmap_t *view);
    void seek(uint32_t x);  // first element >= x
    void next();
    bool valid() const { return valid_; }
    uint32_t value() const { return value_; }

  private:
    void load();
    const BaseHdr *h_ = nullptr;
    const roaring_bitmap_t *view_ = nullptr;
    uint32_t i_ = 0;  // Array32 / Packed16: index of the current uid
    uint32_t k_ = 0;  // Packed16: index of the current group
    roaring_uint32_iterator_t it_{};
    bool valid_ = false;
    uint32_t value_ = 0;
};

// Membership tests over a base block for non-decreasing probe values: each
// format keeps its position, so a run of probes costs a merge, not a search
// per probe.
class BaseProbe {
  public:
    void init(const BaseHdr *h, const roaring_bitmap_t *view);
    bool contains(uint32_t x);

  private:
    const BaseHdr *h_ = nullptr;
    const roaring_bitmap_t *view_ = nullptr;
    uint32_t pos_ = 0;  // Array32: index; Packed16/Roaring: group index
    uint32_t low_group_ = UINT32_MAX;  // Packed16: the small group low_ is in; Roaring: the run group
    uint32_t low_ = 0;                 // ... and the last probe's low (or run) there
};

// A read-only view of one set: base plus delta.
class SetView {
  public:
    SetView() = default;
    SetView(const Arena &arena, SetRef ref, RoaringViews *views);

    // False when a Roaring base could not be viewed; then nothing else may
    // be called and the caller must answer from the tables.
    bool ok() const { return ok_; }
    uint32_t size() const;
    bool contains(uint32_t x) const;
    // in[i] = whether xs[i] is a member, for non-decreasing xs[0..n): one
    // pass that finds each 16-bit group once and tests its probes in a row
    // (SetProbe finds the group again at every probe, through a call and a
    // dispatch on the format: most of what a moderated page's probes cost).
    void members(const uint32_t *xs, size_t n, uint8_t *in) const;
    // Writes the ascending uids > after, at most lim of them; returns how many.
    size_t list(uint32_t after, size_t lim, uint32_t *out) const;
    // Calls f(uid) in ascending order until it returns false.
    template <typename F>
    void for_each(F &&f) const;

    const BaseHdr *base() const { return base_; }
    const DeltaHdr *delta() const { return delta_; }
    const roaring_bitmap_t *view() const { return view_; }
    bool is_roaring() const { return base_ != nullptr && base_->fmt == kFmtRoaring; }

  private:
    const BaseHdr *base_ = nullptr;
    const DeltaHdr *delta_ = nullptr;
    const roaring_bitmap_t *view_ = nullptr;
    bool ok_ = true;
};

// Membership of non-decreasing values in a SetView.
class SetProbe {
  public:
    explicit SetProbe(const SetView &s);
    bool contains(uint32_t x);

  private:
    const SetView &s_;
    BaseProbe base_;
    uint32_t ai_ = 0, di_ = 0;  // positions in adds and removes
};

// |a ∩ b|
uint64_t intersect_count(const SetView &a, const SetView &b);
// The ascending uids of a ∩ b that are > after, at most lim; returns how many.
size_t intersect_list(const SetView &a, const SetView &b, uint32_t after, size_t lim,
                      uint32_t *out);

// Helpers over sorted uint32 arrays, shared with the writer.
bool sorted_contains(const uint32_t *v, uint32_t n, uint32_t x);
// Index of the first element >= x in v[from, n), galloping from `from`.
uint32_t gallop_lower_bound(const uint32_t *v, uint32_t n, uint32_t from, uint32_t x);

template <typename F>
void SetView::for_each(F &&f) const {
    if (delta_ == nullptr && base_ != nullptr && base_->fmt != kFmtRoaring) {
        // A base alone in an array format (every set up to kCowMax, most
        // others between compactions): walked in place, without the
        // cursor's per-uid dispatch on the format (a tenth of a moderated
        // page's time went to it).
        if (base_->fmt == kFmtArray32) {
            const uint32_t *v = array32_data(base_);
            for (uint32_t i = 0; i < base_->n; i++)
                if (!f(v[i]))
                    return;
            return;
        }
        const uint16_t *keys = packed16_keys(base_), *ends = packed16_ends(base_),
                       *lows = packed16_lows(base_);
        uint32_t i = 0;
        for (uint32_t k = 0; k < base_->nkeys; k++) {
            uint32_t high = uint32_t(keys[k]) << 16;
            for (; i < ends[k]; i++)
                if (!f(high | lows[i]))
                    return;
        }
        return;
    }
    BaseCursor c;
    c.init(base_, view_);
    c.seek(0);
    const uint32_t *adds = delta_ ? delta_->adds() : nullptr;
    const uint32_t *dels = delta_ ? delta_->dels() : nullptr;
    uint32_t na = delta_ ? delta_->n_add : 0, nd = delta_ ? delta_->n_del : 0;
    uint32_t ai = 0, di = 0;
    for (;;) {
        bool from_base;
        uint32_t x;
        if (c.valid() && (ai == na || c.value() < adds[ai])) {
            x = c.value();
            from_base = true;
        } else if (ai < na) {
            x = adds[ai];
            from_base = false;
        } else {
            return;
        }
        if (from_base) {
            c.next();
            while (di < nd && dels[di] < x)
                di++;
            if (di < nd && dels[di] == x)
                continue;
        } else {
            ai++;
        }
        if (!f(x))
            return;
    }
}

}  // namespace dp
