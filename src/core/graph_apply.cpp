#include "graph_apply.hpp"

#include <new>
#include <vector>

#include "index_env.hpp"
#include "set_write.hpp"
#include "side_sets.hpp"

namespace dp {

namespace {

void invalidate(const Arena &arena, SetRef *ref, ApplyResult *r, int side) {
    WriteStats st;
    set_free(arena, ref, &st);
    r->card[side] += st.card;
    *ref = SetRef{kInvalidRef, kNoRef};
    r->invalidated++;
}

// Records in the stripe's register the changes v[0..n) that another
// pending commit may also change (they passed the staleness check), so that
// an older commit applied later skips them. Also for changes that reach no
// set (an invalid set, a lost leaf, a stripe a build has emptied): a build
// that comes later reads them in its snapshot, and the older commit's
// change, journaled, must not undo them there. False if the register is
// full.
bool record_pending(const StripeApply &a, const SideChange *v, size_t n) {
    Host &host = *a.arena->host;
    auto needed = [&](uint32_t o, uint32_t x, uint8_t sd) { return host.edge_any_pending(o, x, sd); };
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        if (!host.edge_others_pending(v[i].owner, v[i].other, v[i].side))
            continue;
        // (A stale change's key is held at its newer LSN: record keeps it.)
        ok = a.lww->record(v[i].owner, v[i].other, v[i].side, a.lsn, needed) && ok;
    }
    return ok;
}

// Applies the changes v[0..n) that share one owner and side.
void apply_group(const StripeApply &a, const SideChange *v, size_t n, ApplyResult *r,
                 std::vector<uint32_t> *ins, std::vector<uint32_t> *del) {
    const uint32_t owner = v[0].owner;
    const uint8_t side = v[0].side;
    if (owner == 0 || owner >= (uint32_t(1) << 31) || side >= kNumSides)
        return;  // not a uid or list id the index keeps: no set to change
    SideSets sets(a.dir, a.mod_dir, a.list_dir, side);
    if (!sets.kept())
        return;
    ins->clear();
    del->clear();
    for (size_t i = 0; i < n; i++) {
        if (a.lww->n && a.lww->newer(owner, v[i].other, side, a.lsn)) {
            r->stale++;
            continue;
        }
        (v[i].op == kInsert ? ins : del)->push_back(v[i].other);
    }
    if (ins->empty() && del->empty())
        return;
    SetRef *ref = sets.get(owner);
    if (ref == nullptr) {
        if (!sets.lost(owner)) {
            sets.mark_lost(owner);
            r->lost_leaves++;
        }
        record_pending(a, v, n);
        return;
    }
    if (ref->invalid()) {
        record_pending(a, v, n);
        return;
    }
    WriteStats st;
    Host &host = *a.arena->host;
    bool journal = set_journal(host, owner, side);
    Status s = journal ? set_journal(*a.arena, ref, ins->data(), ins->size(), del->data(),
                                     del->size(), &st)
                       : set_apply(*a.arena, ref, ins->data(), ins->size(), del->data(),
                                   del->size(), a.views, &st);
    r->card[side] += st.card;
    r->compactions += st.compactions;
    bool ok = s == Status::kOk;
    if (!ok)
        invalidate(*a.arena, ref, r, side);
    if (!record_pending(a, v, n) && ok) {
        invalidate(*a.arena, ref, r, side);  // cannot order it: the set is given up
        ok = false;
    }
    if (a.observer != nullptr && !journal)
        a.observer->applied(owner, side, ins->data(), ins->size(), del->data(), del->size(), ok);
}

}  // namespace

void skip_stripe(const StripeApply &a, const SideChange *v, size_t n) {
    // (A full register here has no set to give up: the build that emptied
    // the stripe installs what it read. 512 overlapping keys pending in one
    // stripe at once are not known to happen.)
    record_pending(a, v, n);
}

void apply_stripe(const StripeApply &a, const SideChange *v, size_t n, ApplyResult *r) {
    if (a.lww->n)
        a.lww->prune([&](uint32_t o, uint32_t x, uint8_t sd) {
            return a.arena->host->edge_any_pending(o, x, sd);
        });
    try {
        std::vector<uint32_t> ins, del;
        size_t i = 0;
        while (i < n) {
            size_t j = i + 1;
            while (j < n && v[j].owner == v[i].owner && v[j].side == v[i].side)
                j++;
            apply_group(a, v + i, j - i, r, &ins, &del);
            i = j;
        }
    } catch (const std::bad_alloc &) {
        // Out of process memory for the scratch lists: the sets this
        // transaction touched in the stripe may now be stale. An owner with
        // no leaf yet has no set to invalidate: its leaf is marked lost.
        for (size_t i = 0; i < n; i++) {
            uint8_t side = v[i].side;
            if (side >= kNumSides)
                continue;
            SideSets sets(a.dir, a.mod_dir, a.list_dir, side);
            if (!sets.kept())
                continue;
            if (SetRef *ref = sets.find(v[i].owner)) {
                if (!ref->invalid())
                    invalidate(*a.arena, ref, r, side);
            } else if (!sets.lost(v[i].owner) && v[i].owner != 0 &&
                       v[i].owner < (uint32_t(1) << 31)) {
                sets.mark_lost(v[i].owner);
                r->lost_leaves++;
            }
        }
    }
}

namespace {

// Frees, in every entry of `stripe` in dir, the sets of the slots whose
// side is in `sides` (side_of_slot maps a slot to its side).
template <typename Entry, typename SideOfSlot>
void clear_dir_stripe(const Arena &arena, const DirectoryT<Entry> &dir, uint32_t stripe,
                      uint32_t sides, uint32_t n_slots, SideOfSlot side_of_slot, ApplyResult *r) {
    uint32_t end = dir.uid_end();
    for (uint32_t uid = stripe == 0 ? kStripes : stripe; uid < end; uid += kStripes) {
        Entry *e = dir.find(uid);
        if (e == nullptr) {
            // Skip to the next leaf: none of this one's owners have sets.
            uint32_t next_leaf = ((uid >> kLeafBits) + 1) << kLeafBits;
            uint32_t k = (next_leaf + kStripes - 1 - stripe) / kStripes;
            uid = k * kStripes + stripe - kStripes;
            continue;
        }
        for (uint32_t slot = 0; slot < n_slots; slot++) {
            uint8_t side = side_of_slot(slot);
            if (!(sides & (1u << side)))
                continue;
            WriteStats st;
            SetRef *ref = &e->set[slot];
            if (ref->invalid()) {
                *ref = SetRef{};
                r->revalidated++;
            } else {
                set_free(arena, ref, &st);
            }
            r->card[side] += st.card;
        }
    }
}

}  // namespace

void clear_stripe(const Arena &arena, const Directory &dir, const ModDirectory *mod_dir,
                  const ModDirectory *list_dir, uint32_t stripe, uint32_t sides, ApplyResult *r) {
    constexpr uint32_t kFollowSides = 1u << kOut | 1u << kIn;
    constexpr uint32_t kModSides = (1u << kMembers) - (1u << kBlock);
    constexpr uint32_t kListSides = (1u << kNumSides) - (1u << kMembers);
    if (sides & kFollowSides)
        clear_dir_stripe(arena, dir, stripe, sides, 2, [](uint32_t slot) { return uint8_t(slot); },
                         r);
    if (mod_dir != nullptr && (sides & kModSides))
        clear_dir_stripe(arena, *mod_dir, stripe, sides, kModSlots,
                         [](uint32_t slot) { return uint8_t(kBlock + slot); }, r);
    if (list_dir != nullptr && (sides & kListSides))
        clear_dir_stripe(arena, *list_dir, stripe, sides, kListSlots,
                         [](uint32_t slot) { return uint8_t(kMembers + slot); }, r);
}

}  // namespace dp
