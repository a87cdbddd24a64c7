#include "author_apply.hpp"

#include <algorithm>
#include <new>
#include <vector>

namespace dp {

namespace {

bool install(const Arena &arena, Ref *ref, const AuthorItem *scanned, size_t n, ItemKey horizon,
             uint32_t cap);

void give_up(const Arena &arena, Ref *ref, ItemResult *r) {
    if (*ref != kNoRef && *ref != kInvalidRef)
        ring_free<AuthorItem>(arena, ref);
    *ref = kInvalidRef;
    r->lost_rings++;
}

// Normal mode: the ring is the truth above its horizon.
bool apply_one(const ItemApply &a, Ref *ref, const ItemChange &c) {
    if (c.op == kInsert) {
        Insert res = ring_insert(*a.arena, ref, c.item, a.author_cap);
        return !(res == Insert::kBelowHorizon && *ref == kNoRef);  // no ring at all
    }
    if (*ref == kNoRef)
        return true;
    AuthorRing ring(a.arena->at<RingHdr>(*ref));
    ring.erase(c.item.key());
    if (ring.size() == 0 && ring.horizon() == kMinKey)
        ring_free<AuthorItem>(*a.arena, ref);  // nothing left, nothing missing
    return true;
}

// Journal mode: record the change for the build's install.
bool journal_one(const ItemApply &a, Ref *ref, const ItemChange &c) {
    AuthorItem entry = c.item;
    if (c.op == kDelete)
        entry.author = 0;  // a tombstone
    if (*ref != kNoRef)
        AuthorRing(a.arena->at<RingHdr>(*ref)).erase(entry.key());
    Insert res = ring_insert(*a.arena, ref, entry, kJournalCap);
    return !(res == Insert::kBelowHorizon && *ref == kNoRef);
}

}  // namespace

void apply_author_rings(const ItemApply &a, const ItemChange *v, size_t n, bool *applied_out,
                        ItemResult *r) {
    auto needed = [&](const ItemLwwKey &k) {
        return a.any_pending(a.ctx, a.stripe, item_bucket(k.id, uint8_t(k.kind)));
    };
    if (a.lww->n)
        a.lww->prune(needed);
    for (size_t i = 0; i < n; i++) {
        const ItemChange &c = v[i];
        applied_out[i] = false;
        if (c.src == 0 || c.src >= (uint32_t(1) << 31))
            continue;
        ItemLwwKey key{c.item.id, c.kind, 0};
        if (a.lww->n && a.lww->newer(key, a.lsn)) {
            r->stale++;
            continue;
        }
        applied_out[i] = true;
        DirEntry *e = a.dir->get(c.src);
        if (e == nullptr) {
            if (!a.dir->lost(c.src)) {
                a.dir->mark_lost(c.src);
                r->lost_leaves++;
            }
            continue;
        }
        Ref *ref = &e->author;
        if (*ref == kInvalidRef)
            continue;
        bool ok = a.journal(a.ctx, c.src) ? journal_one(a, ref, c) : apply_one(a, ref, c);
        if (!ok) {
            give_up(*a.arena, ref, r);
            continue;
        }
        r->applied++;
        if (a.others_pending(a.ctx, a.stripe, item_bucket(c.item.id, c.kind)) &&
            !a.lww->record(key, a.lsn, needed))
            give_up(*a.arena, ref, r);
    }
}

bool author_ring_install(const Arena &arena, Ref *ref, const AuthorItem *scanned, size_t n,
                         ItemKey horizon, uint32_t cap) {
    if (*ref == kInvalidRef)
        return true;  // lost during the build: stays lost until the next one
    try {
        return install(arena, ref, scanned, n, horizon, cap);
    } catch (const std::bad_alloc &) {
        if (*ref != kNoRef && *ref != kInvalidRef)
            ring_free<AuthorItem>(arena, ref);
        *ref = kInvalidRef;
        return false;
    }
}

namespace {

bool install(const Arena &arena, Ref *ref, const AuthorItem *scanned, size_t n, ItemKey horizon,
             uint32_t cap) {
    // The journal's entries, oldest first.
    std::vector<AuthorItem> journal;
    if (*ref != kNoRef) {
        AuthorRing j(arena.at<RingHdr>(*ref));
        journal.reserve(j.size());
        for (uint32_t i = 0; i < j.size(); i++)
            journal.push_back(j.at(i));
        ring_free<AuthorItem>(arena, ref);
    }
    if (n == 0 && journal.empty() && horizon == kMinKey)
        return true;  // no items at all
    uint32_t want = uint32_t(std::min<size_t>(cap, std::max<size_t>(1, n + journal.size())));
    Ref r = arena.alloc(AuthorRing::bytes(want));
    if (r == kNoRef) {
        *ref = kInvalidRef;
        return false;
    }
    AuthorRing::init(arena.at<RingHdr>(r), want, horizon);
    AuthorRing ring(arena.at<RingHdr>(r));
    for (size_t i = 0; i < n; i++)
        ring.insert(scanned[i]);
    for (const AuthorItem &it : journal) {
        if (is_tombstone(it))
            ring.erase(it.key());
        else
            ring.insert(it);
    }
    *ref = r;
    return true;
}

}  // namespace

void author_ring_clear(const Arena &arena, Ref *ref) {
    if (*ref != kNoRef && *ref != kInvalidRef)
        ring_free<AuthorItem>(arena, ref);
    *ref = kNoRef;
}

}  // namespace dp
