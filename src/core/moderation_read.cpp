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
    const ModDirectory *d = side == kMembers ? env.list_dir : env.mod_dir;
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

}  // namespace

Read ModerationReader::relations(const IndexEnv &env, uint32_t viewer, const uint32_t *xs,
                                 size_t n, uint16_t want, uint16_t *bits) noexcept {
    try {
        return relations_inner(env, viewer, xs, n, want, bits);
    } catch (const std::bad_alloc &) {
        return Read::kUnknown;
    }
}

Read ModerationReader::relations_inner(const IndexEnv &env, uint32_t viewer, const uint32_t *xs,
                                       size_t n, uint16_t want, uint16_t *bits) {
    std::fill(bits, bits + n, uint16_t(0));
    if (n == 0)
        return Read::kOk;
    list_block_.clear();
    list_mute_.clear();
    if (valid_id(viewer)) {
        if (viewer_sets(env, viewer, xs, n, want, bits) != Read::kOk)
            return Read::kUnknown;
        if ((want & kBlockingByList) &&
            lists_hold(env, list_block_, kBlockingByList, xs, n, bits) != Read::kOk)
            return Read::kUnknown;
        if ((want & kMutingByList) &&
            lists_hold(env, list_mute_, kMutingByList, xs, n, bits) != Read::kOk)
            return Read::kUnknown;
    }
    if (want & (kBlockedBy | kBlockedByList | kInactiveBit)) {
        if (others_sets(env, viewer, xs, n, want, bits) != Read::kOk)
            return Read::kUnknown;
        if ((want & kBlockedByList) && others_lists(env, viewer, bits) != Read::kOk)
            return Read::kUnknown;
    }
    return Read::kOk;
}

// Under the viewer's stripe lock: its follows both ways, blocks and mutes
// of each x, and a copy of the lists it subscribes to.
Read ModerationReader::viewer_sets(const IndexEnv &env, uint32_t viewer, const uint32_t *xs,
                                   size_t n, uint16_t want, uint16_t *bits) {
    struct Own {
        uint8_t side;
        uint16_t bit;
    };
    static constexpr Own kOwn[] = {{kOut, kFollowing}, {kIn, kFollowedBy}, {kBlock, kBlocking},
                                   {kMute, kMuting}};
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
        for (size_t i = 0; i < n; i++)
            if (valid_id(xs[i]) && v.contains(xs[i]))
                bits[i] |= o.bit;
    }
    SetRef lb, lm;
    if ((want & kBlockingByList) &&
        (!set_of(env, viewer, kListBlock, &lb) || !copy_set(env, lb, &list_block_)))
        return Read::kUnknown;
    if ((want & kMutingByList) &&
        (!set_of(env, viewer, kListMute, &lm) || !copy_set(env, lm, &list_mute_)))
        return Read::kUnknown;
    return Read::kOk;
}

// For each list (under its stripe lock): which x are members.
Read ModerationReader::lists_hold(const IndexEnv &env, const std::vector<uint32_t> &lists,
                                  uint16_t bit, const uint32_t *xs, size_t n, uint16_t *bits) {
    for (uint32_t l : lists) {
        StripeGuard g(env, stripe_of(l), false);
        SetRef ref;
        if (!set_of(env, l, kMembers, &ref))
            return Read::kUnknown;
        if (ref.empty())
            continue;
        SetView v(*env.arena, ref, env.views);
        if (!v.ok())
            return Read::kUnknown;
        for (size_t i = 0; i < n; i++)
            if (!(bits[i] & bit) && valid_id(xs[i]) && v.contains(xs[i]))
                bits[i] |= bit;
    }
    return Read::kOk;
}

// Is the set present, read without its lock (a hint: see others_sets)?
bool peek_nonempty(const SetRef &r) {
    return __atomic_load_n(&r.base, __ATOMIC_RELAXED) != kNoRef ||
           __atomic_load_n(&r.delta, __ATOMIC_RELAXED) != kNoRef;
}

// Each x's own sets: is x inactive, does x block the viewer, and (noted for
// others_lists) the lists x list-blocks.
//
// Most accounts have none of these sets, and a page names a hundred of
// them in as many stripes: so a first pass looks at each x's entry without
// its stripe lock, only to see which sets exist (an inactive account's set
// is {1}: that it exists says all). Reading the set refs unlocked is sound
// because the whole read is discarded when a commit's apply overlapped it
// (the caller's contract, at the top of moderation_read.hpp): with no apply
// running, nothing changes them. Only the x with a block or list-block set
// to look into are read again under their stripe lock, one lock per stripe.
Read ModerationReader::others_sets(const IndexEnv &env, uint32_t viewer, const uint32_t *xs,
                                   size_t n, uint16_t want, uint16_t *bits) {
    order_.clear();
    pending_.clear();
    if (env.mod_dir == nullptr)
        return Read::kOk;  // no moderation sets kept
    bool look = valid_id(viewer) && (want & (kBlockedBy | kBlockedByList));
    for (size_t i = 0; i < n; i++) {
        uint32_t x = xs[i];
        if (!valid_id(x))
            continue;
        if (env.mod_dir->lost(x))
            return Read::kUnknown;
        const ModEntry *e = env.mod_dir->find(x);
        if (e == nullptr)
            continue;  // no moderation sets at all
        const SetRef &inactive = e->set[slot_of(kInactive)];
        if ((want & kInactiveBit) && peek_nonempty(inactive)) {
            if (__atomic_load_n(&inactive.base, __ATOMIC_RELAXED) == kInvalidRef)
                return Read::kUnknown;
            bits[i] |= kInactiveBit;
        }
        if (look && (peek_nonempty(e->set[slot_of(kBlock)]) ||
                     peek_nonempty(e->set[slot_of(kListBlock)])))
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
            uint32_t k = order_[i], x = xs[k];
            const ModEntry *e = env.mod_dir->find(x);
            if (e == nullptr)
                continue;
            const SetRef &blocks = e->set[slot_of(kBlock)];
            const SetRef &list_blocks = e->set[slot_of(kListBlock)];
            if ((want & kBlockedBy) && !blocks.empty()) {
                if (blocks.invalid())
                    return Read::kUnknown;
                SetView v(*env.arena, blocks, env.views);
                if (!v.ok())
                    return Read::kUnknown;
                if (v.contains(viewer))
                    bits[k] |= kBlockedBy;
            }
            if ((want & kBlockedByList) && !list_blocks.empty()) {
                if (list_blocks.invalid())
                    return Read::kUnknown;
                lists.clear();
                if (!copy_set(env, list_blocks, &lists))
                    return Read::kUnknown;
                for (uint32_t l : lists)
                    pending_.push_back(Pending{l, k});
            }
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
