#include "author_apply.hpp"

#include <algorithm>
#include <new>
#include <vector>

namespace dp {

namespace {

// Normal mode: the ring is the truth above its horizon.
bool apply_one(const Arena &arena, Ref *ref, const ItemChange &c, uint32_t cap,
               bool any_version, AgeBound bound) {
    if (c.op == kInsert) {
        // Racing, the ring may hold a version an older commit put there
        // whose removal will be skipped as stale (this one is newer): at
        // this commit the item is this version only.
        if (any_version && *ref != kNoRef)
            AuthorRing(arena.at<RingHdr>(*ref)).erase_other_versions(c.item.key(), c.src);
        Insert res = ring_insert(arena, ref, c.item, cap, 4, true);
        if (res == Insert::kBelowHorizon && *ref == kNoRef)
            return false;  // no ring at all
        ring_trim<AuthorItem>(arena, ref, bound);
        return true;
    }
    if (*ref == kNoRef)
        return true;
    AuthorRing ring(arena.at<RingHdr>(*ref));
    if (!ring.erase(c.item.key()) && any_version) {
        uint32_t pos = ring.find_version(c.item.key(), c.src);
        if (pos < ring.size())
            ring.erase_at(pos);
    }
    if (ring.size() == 0 && ring.horizon() == kMinKey)
        ring_free<AuthorItem>(arena, ref);  // nothing left, nothing missing
    return true;
}

// Journal mode: record the change for the build's install.
bool journal_one(const Arena &arena, Ref *ref, const ItemChange &c) {
    AuthorItem entry = c.item;
    if (c.op == kDelete)
        entry.author = 0;  // a tombstone
    // A journal must not drop entries: grow it, or give it up.
    if (*ref != kNoRef && !AuthorRing(arena.at<RingHdr>(*ref)).find(entry.key()) &&
        !ring_make_room<AuthorItem>(arena, ref, kJournalCap))
        return false;
    Insert res = ring_insert(arena, ref, entry, kJournalCap, 4, true);
    return !(res == Insert::kBelowHorizon && *ref == kNoRef);
}

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
    if (n == 0 && horizon == kMinKey &&
        std::all_of(journal.begin(), journal.end(), is_tombstone))
        return true;  // no items at all
    // Nothing to hold above a horizon (every item older than the age
    // bound): a header alone.
    uint32_t want = n + journal.size() == 0
                        ? 0
                        : ring_cap_for<AuthorItem>(
                              uint32_t(std::min<size_t>(cap, std::max<size_t>(4, n + journal.size()))), cap);
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
            ring.upsert(it);
    }
    if (ring.size() == 0 && ring.horizon() == kMinKey) {
        ring_free<AuthorItem>(arena, &r);
        return true;
    }
    *ref = r;
    return true;
}

}  // namespace

bool author_ring_apply(const Arena &arena, Ref *ref, const ItemChange &c, uint32_t cap,
                       bool journal, bool any_version, AgeBound bound) {
    return journal ? journal_one(arena, ref, c)
                   : apply_one(arena, ref, c, cap, any_version, bound);
}

void author_ring_give_up(const Arena &arena, Ref *ref) {
    if (*ref != kNoRef && *ref != kInvalidRef)
        ring_free<AuthorItem>(arena, ref);
    *ref = kInvalidRef;
}

bool author_ring_install(const Arena &arena, Ref *ref, const AuthorItem *scanned, size_t n,
                         ItemKey horizon, uint32_t cap) {
    if (*ref == kInvalidRef)
        return true;  // lost during the build: stays lost until the next one
    try {
        return install(arena, ref, scanned, n, horizon, cap);
    } catch (const std::bad_alloc &) {
        author_ring_give_up(arena, ref);
        return false;
    }
}

}  // namespace dp
