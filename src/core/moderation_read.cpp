#include "moderation_read.hpp"

#include <algorithm>
#include <new>

#include "set_read.hpp"
#include "stripe_guard.hpp"

namespace dp {

namespace {

bool valid_id(uint32_t x) { return x != 0 && x < (uint32_t(1) << 31); }

// The set of owner on side, or false when the index does not hold it.
bool set_of(const IndexEnv &env, uint32_t owner, uint8_t side, SetRef *ref) {
    if (side <= kIn) {
        if (env.dir->lost(owner))
            return false;
        const DirEntry *e = env.dir->find(owner);
        *ref = e != nullptr ? e->set[side] : SetRef{};
        return !ref->invalid();
    }
    const ModDirectory *d = list_side(side) ? env.list_dir : env.mod_dir;
    if (d == nullptr || d->lost(owner))
        return false;
    const ModEntry *e = d->find(owner);
    *ref = e != nullptr ? e->set[slot_of(side)] : SetRef{};
    return !ref->invalid();
}

// The members of a set, appended to out.
bool copy_set(const IndexEnv &env, const SetRef &ref, std::vector<uint32_t> *out) {
    if (ref.empty())
        return true;
    SetView v(*env.arena, ref, env.views);
    if (!v.ok())
        return false;
    v.for_each([&](uint32_t x) {
        out->push_back(x);
        return true;
    });
    return true;
}

// The first k with v[k].uid >= x, or n (v ascending by uid). A template:
// the element type is private to ModerationReader.
template <typename P>
inline size_t lower_bound_uid(const P *v, size_t n, uint32_t x) {
    size_t lo = 0;
    while (n > 0) {
        size_t half = n / 2;
        if (v[lo + half].uid < x) {
            lo += half + 1;
            n -= half + 1;
        } else {
            n = half;
        }
    }
    return lo;
}

}  // namespace

// The bit of uid in seen_ (a multiplicative hash: uids that differ only in
// high bits, or by multiples of a power of two, spread as well).
inline uint32_t ModerationReader::seen_bit(uint32_t uid) {
    return (uid * 0x9E3779B1u) >> (32 - kSeenLog2);
}

// Sets bit for each x in the set v. A set not much larger than the page's
// accounts is walked, and each member looked for among the accounts only
// when seen_ says it may be one: a member in a row of misses costs a load
// and a well predicted branch (a merge of the two lists mispredicted one
// at nearly every step: a quarter of a microsecond a set). A larger set is
// asked about the x that still need the bit, in ascending order, in one
// batch (SetView::members).
void ModerationReader::probe_all(const SetView &v, uint16_t bit, uint16_t *bits) {
    // Raw pointers: the compiler would reload the vectors' at every store.
    const Probe *const sorted = sorted_.data();
    const size_t n = sorted_.size();
    if (n == 0)
        return;
    if (v.size() <= 4 * n) {
        const uint32_t last = sorted[n - 1].uid;
        const uint64_t *const seen = seen_;
        v.for_each([&](uint32_t x) {
            if (x > last)
                return false;
            uint32_t b = seen_bit(x);
            if (!((seen[b >> 6] >> (b & 63)) & 1))
                return true;
            for (size_t k = lower_bound_uid(sorted, n, x); k < n && sorted[k].uid == x; k++)
                bits[sorted[k].index] |= bit;
            return true;
        });
        return;
    }
    // The x that still need the bit, compacted without branches (a page's
    // accounts are asked by most of the sets).
    asked_uids_.resize(n);
    asked_at_.resize(n);
    uint32_t *const uids = asked_uids_.data(), *const at = asked_at_.data();
    const uint16_t *const wants = wants_;
    // (Without wants, every x asks: the mask is all ones.)
    const uint16_t *const asks = wants != nullptr ? wants : bits;
    const uint16_t all = wants != nullptr ? 0 : uint16_t(0xFFFF);
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        const uint32_t i = sorted[k].index;
        uids[m] = sorted[k].uid;
        at[m] = i;
        m += ((uint16_t(asks[i] | all) & ~bits[i]) & bit) != 0;
    }
    in_.resize(m);
    const uint8_t *const in = in_.data();
    v.members(uids, m, in_.data());
    for (size_t i = 0; i < m; i++)
        bits[at[i]] |= uint16_t(-uint16_t(in[i])) & bit;
}

Read ModerationReader::relations(const IndexEnv &env, uint32_t viewer, const uint32_t *xs,
                                 size_t n, uint16_t want, uint16_t *bits,
                                 const uint16_t *wants) noexcept {
    // probe_all reads wants_ during this call only: the caller's array is
    // not kept past it.
    wants_ = wants;
    Read r;
    try {
        r = relations_inner(env, viewer, xs, n, want, bits);
    } catch (const std::bad_alloc &) {
        r = Read::kUnknown;
    }
    wants_ = nullptr;
    return r;
}

Read ModerationReader::relations_inner(const IndexEnv &env, uint32_t viewer, const uint32_t *xs,
                                       size_t n, uint16_t want, uint16_t *bits) {
    std::fill(bits, bits + n, uint16_t(0));
    if (n == 0)
        return Read::kOk;
    list_block_.clear();
    list_mute_.clear();
    member_of_.clear();
    sorted_.resize(n);
    Probe *const sorted = sorted_.data();
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        sorted[m] = Probe{xs[i], uint32_t(i)};
        m += valid_id(xs[i]);
    }
    sorted_.resize(m);
    auto by_uid = [](const Probe &a, const Probe &b) { return a.uid < b.uid; };
    // relationships() passes its uids ascending already; a page's come as named.
    if (!std::is_sorted(sorted_.begin(), sorted_.end(), by_uid))
        std::sort(sorted_.begin(), sorted_.end(), by_uid);
    std::fill(std::begin(seen_), std::end(seen_), uint64_t(0));
    for (const Probe &q : sorted_) {
        uint32_t b = seen_bit(q.uid);
        seen_[b >> 6] |= uint64_t(1) << (b & 63);
    }
    if (valid_id(viewer)) {
        if (viewer_sets(env, viewer, want, bits) != Read::kOk)
            return Read::kUnknown;
        if ((want & kBlockingByList) &&
            lists_hold(env, list_block_, kMembers, kBlockingByList, bits) != Read::kOk)
            return Read::kUnknown;
        if ((want & kMutingByList) &&
            lists_hold(env, list_mute_, kMembers, kMutingByList, bits) != Read::kOk)
            return Read::kUnknown;
        if ((want & kBlockedByList) && blocked_by_lists(env, viewer, xs, n, bits) != Read::kOk)
            return Read::kUnknown;
    }
    if ((want & kInactiveBit) && inactive(env, bits) != Read::kOk)
        return Read::kUnknown;
    return Read::kOk;
}

// Under the viewer's stripe lock: its follows both ways, blocks both ways
// and mutes of each x, and copies of the lists it subscribes to and of the
// lists it is on.
Read ModerationReader::viewer_sets(const IndexEnv &env, uint32_t viewer, uint16_t want,
                                   uint16_t *bits) {
    struct Own {
        uint8_t side;
        uint16_t bit;
    };
    static constexpr Own kOwn[] = {{kOut, kFollowing},  {kIn, kFollowedBy}, {kBlock, kBlocking},
                                   {kBlockers, kBlockedBy}, {kMute, kMuting}};
    StripeGuard g(env, stripe_of(viewer), false);
    for (const Own &o : kOwn) {
        if (!(want & o.bit))
            continue;
        SetRef ref;
        if (!set_of(env, viewer, o.side, &ref))
            return Read::kUnknown;
        if (ref.empty())
            continue;
        SetView v(*env.arena, ref, env.views);
        if (!v.ok())
            return Read::kUnknown;
        probe_all(v, o.bit, bits);
    }
    struct Lists {
        uint8_t side;
        uint16_t bit;
        std::vector<uint32_t> *out;
    };
    const Lists kLists[] = {{kListBlock, kBlockingByList, &list_block_},
                            {kListMute, kMutingByList, &list_mute_},
                            {kMemberOf, kBlockedByList, &member_of_}};
    for (const Lists &l : kLists) {
        SetRef ref;
        if ((want & l.bit) && (!set_of(env, viewer, l.side, &ref) || !copy_set(env, ref, l.out)))
            return Read::kUnknown;
    }
    return Read::kOk;
}

// For each list (under its stripe lock): which x are in the list's set on
// side (its members, or who list-blocks it).
Read ModerationReader::lists_hold(const IndexEnv &env, const std::vector<uint32_t> &lists,
                                  uint8_t side, uint16_t bit, uint16_t *bits) {
    for (uint32_t l : lists) {
        StripeGuard g(env, stripe_of(l), false);
        SetRef ref;
        if (!set_of(env, l, side, &ref))
            return Read::kUnknown;
        if (ref.empty())
            continue;
        SetView v(*env.arena, ref, env.views);
        if (!v.ok())
            return Read::kUnknown;
        probe_all(v, bit, bits);
    }
    return Read::kOk;
}

// Which x are inactive: one set, under its owner's stripe lock.
Read ModerationReader::inactive(const IndexEnv &env, uint16_t *bits) {
    if (env.mod_dir == nullptr)
        return Read::kOk;  // no moderation sets kept
    StripeGuard g(env, stripe_of(kInactivesOwner), false);
    SetRef ref;
    if (!set_of(env, kInactivesOwner, kInactives, &ref))
        return Read::kUnknown;
    if (ref.empty())
        return Read::kOk;
    SetView v(*env.arena, ref, env.views);
    if (!v.ok())
        return Read::kUnknown;
    probe_all(v, kInactiveBit, bits);
    return Read::kOk;
}

// Does x list-block a list the viewer is on. Most viewers are on no list,
// or on a few: then each of those lists' blockers is probed for the x. A
// viewer on many lists (an account many curate) is answered from the x's
// side instead: the lists each x list-blocks, each checked for the viewer.
Read ModerationReader::blocked_by_lists(const IndexEnv &env, uint32_t viewer, const uint32_t *xs,
                                        size_t n, uint16_t *bits) {
    constexpr size_t kFewLists = 32;
    if (member_of_.empty())
        return Read::kOk;
    if (member_of_.size() <= kFewLists)
        return lists_hold(env, member_of_, kListBlockers, kBlockedByList, bits);
    if (others_list_blocks(env, xs, n) != Read::kOk)
        return Read::kUnknown;
    return others_lists(env, viewer, bits);
}

// Is the set present, read without its lock (a hint: see others_list_blocks)?
bool peek_nonempty(const SetRef &r) {
    return __atomic_load_n(&r.base, __ATOMIC_RELAXED) != kNoRef ||
           __atomic_load_n(&r.delta, __ATOMIC_RELAXED) != kNoRef;
}

// The lists each x list-blocks, noted (pending_) for others_lists.
//
// Most accounts list-block nothing, and a page names a hundred of them in
// as many stripes: so a first pass looks at each x's entry without its
// stripe lock, only to see which have such a set. Reading the set refs
// unlocked is sound because the whole read is discarded when a commit's
// apply overlapped it (the caller's contract, at the top of
// moderation_read.hpp): with no apply running, nothing changes them. Only
// the x with a set to look into are read again under their stripe lock,
// one lock per stripe.
Read ModerationReader::others_list_blocks(const IndexEnv &env, const uint32_t *xs, size_t n) {
    order_.clear();
    pending_.clear();
    if (env.mod_dir == nullptr)
        return Read::kOk;  // no moderation sets kept
    for (size_t i = 0; i < n; i++) {
        uint32_t x = xs[i];
        if (!valid_id(x))
            continue;
        if (env.mod_dir->lost(x))
            return Read::kUnknown;
        const ModEntry *e = env.mod_dir->find(x);
        if (e != nullptr && peek_nonempty(e->set[slot_of(kListBlock)]))
            order_.push_back(uint32_t(i));
    }
    std::sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
        uint32_t sa = stripe_of(xs[a]), sb = stripe_of(xs[b]);
        return sa != sb ? sa < sb : xs[a] < xs[b];
    });
    std::vector<uint32_t> lists;
    size_t i = 0;
    while (i < order_.size()) {
        uint32_t s = stripe_of(xs[order_[i]]);
        StripeGuard g(env, s, false);
        for (; i < order_.size() && stripe_of(xs[order_[i]]) == s; i++) {
            uint32_t k = order_[i];
            SetRef list_blocks;
            if (!set_of(env, xs[k], kListBlock, &list_blocks))
                return Read::kUnknown;
            lists.clear();
            if (!copy_set(env, list_blocks, &lists))
                return Read::kUnknown;
            for (uint32_t l : lists)
                pending_.push_back(Pending{l, k});
        }
    }
    return Read::kOk;
}

// Is the viewer on a list that x list-blocks: each list checked once,
// under its stripe lock.
Read ModerationReader::others_lists(const IndexEnv &env, uint32_t viewer, uint16_t *bits) {
    std::sort(pending_.begin(), pending_.end(), [](const Pending &a, const Pending &b) {
        uint32_t sa = stripe_of(a.list), sb = stripe_of(b.list);
        return sa != sb ? sa < sb : a.list < b.list;
    });
    size_t i = 0;
    while (i < pending_.size()) {
        uint32_t l = pending_[i].list;
        bool member = false;
        {
            StripeGuard g(env, stripe_of(l), false);
            SetRef ref;
            if (!set_of(env, l, kMembers, &ref))
                return Read::kUnknown;
            if (!ref.empty()) {
                SetView v(*env.arena, ref, env.views);
                if (!v.ok())
                    return Read::kUnknown;
                member = v.contains(viewer);
            }
        }
        for (; i < pending_.size() && pending_[i].list == l; i++)
            if (member)
                bits[pending_[i].index] |= kBlockedByList;
    }
    return Read::kOk;
}

}  // namespace dp
