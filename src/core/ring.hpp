// Rings of feed items: the newest items of one author (author rings, full
// records) or of one viewer's timeline (feed rings, compact entries), kept
// sorted by their key (sort time, item id), with a horizon below which the
// ring is not complete.
//
// A ring holds every item that belongs in it whose key is above its
// horizon. It starts complete (horizon = kMinKey) when it was built from
// everything there is; dropping its oldest item to make room raises the
// horizon to that item's key. A read of keys above the horizon is exact; a
// read below it goes to the tables.
//
// Physically a ring is a circular buffer in one arena block, oldest item at
// `head`: appending a new newest item and dropping the oldest are O(1);
// items arriving out of order (a created_at in the past) are shifted into
// place. Rings grow by doubling up to their capacity; when the arena is
// full they stop growing and drop their oldest items instead, which costs
// depth, never exactness.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "arena.hpp"
#include "set_layout.hpp"

namespace dp {

// The sort key of a feed item: created_at in microseconds since the
// PostgreSQL epoch, then the item id, then its rank: a post and a repost
// may share an id and a created_at, and are then two items (the reference
// query returns both). Pages are in descending key order.
//
// Every int64 is a real created_at (-infinity and infinity are INT64_MIN
// and INT64_MAX) and a real id, so ts and id alone leave no room for a
// sentinel: the rank does. Real items have rank kRankPost or kRankRepost;
// kMinKey and kMaxKey lie strictly below and above every real key, and a
// cursor (ts, id) (rank kRankLow, the default) lies just below both items
// that can have that (ts, id), as the reference query's row comparison
// (sort_at, item_id) < (before_ts, before_id) wants.
constexpr uint32_t kRankLow = 0, kRankPost = 1, kRankRepost = 2, kRankHigh = 3;
struct ItemKey {
    int64_t ts;
    int64_t id;
    uint32_t rank = kRankLow;
};
inline bool operator<(ItemKey a, ItemKey b) {
    if (a.ts != b.ts)
        return a.ts < b.ts;
    if (a.id != b.id)
        return a.id < b.id;
    return a.rank < b.rank;
}
inline bool operator==(ItemKey a, ItemKey b) {
    return a.ts == b.ts && a.id == b.id && a.rank == b.rank;
}
inline bool operator<=(ItemKey a, ItemKey b) { return !(b < a); }
constexpr ItemKey kMinKey{std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min(),
                          kRankLow};
constexpr ItemKey kMaxKey{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(),
                          kRankHigh};

// What a timeline filter needs of a post (schema 0.2.0): whether it embeds
// a record (a quote), and the media it embeds (AuthorItem.attrs).
constexpr uint32_t kAttrQuote = 1;
constexpr uint32_t kAttrMediaShift = 1;
enum Media : uint32_t { kMediaNone = 0, kMediaImages = 1, kMediaVideo = 2, kMediaExternal = 3 };
inline uint32_t media_of(uint32_t attrs) { return (attrs >> kAttrMediaShift) & 3; }

// An author ring's entry: the whole feed item (48 bytes). A repost carries
// its post's author and filter attributes.
struct AuthorItem {
    int64_t ts;
    int64_t id;        // item id: the post's, or the repost's
    int64_t post_id;   // the post (itself, for a post)
    uint32_t author;   // the post's author
    uint32_t reposter; // 0 for a post
    uint32_t parent = 0;  // the post's reply parent's author (0: not a reply)
    uint32_t root = 0;    // its thread root's author (0: not a reply)
    uint32_t attrs = 0;   // kAttrQuote | media << kAttrMediaShift
    uint32_t pad = 0;
    ItemKey key() const { return ItemKey{ts, id, reposter ? kRankRepost : kRankPost}; }
};
static_assert(sizeof(AuthorItem) == 48, "AuthorItem layout");

// FeedItem.flags: the item is a repost (src is the reposter); above that
// bit, the post's attrs.
constexpr uint32_t kItemRepost = 1;
constexpr uint32_t kItemAttrShift = 1;

// A feed ring's entry (32 bytes): a repost's post and the post's author are
// read from the reposter's author ring when a page shows it.
struct FeedItem {
    int64_t ts;
    int64_t id;
    uint32_t src;         // the author of a post, the reposter of a repost
    uint32_t flags;       // kItemRepost | attrs << kItemAttrShift
    uint32_t parent = 0;  // as AuthorItem
    uint32_t root = 0;
    ItemKey key() const { return ItemKey{ts, id, (flags & kItemRepost) ? kRankRepost : kRankPost}; }
    uint32_t attrs() const { return flags >> kItemAttrShift; }
};
static_assert(sizeof(FeedItem) == 32, "FeedItem layout");


inline FeedItem feed_item_of(const AuthorItem &a) {
    return FeedItem{a.ts, a.id, a.reposter ? a.reposter : a.author,
                    (a.reposter ? kItemRepost : 0) | a.attrs << kItemAttrShift, a.parent, a.root};
}

// The source of an item: the reposter of a repost, else the author.
inline uint32_t item_src(const AuthorItem &it) { return it.reposter ? it.reposter : it.author; }
inline uint32_t item_src(const FeedItem &f) { return f.src; }

// Is x a version of k's item (same id and rank) from source src?
template <typename Item>
bool same_item(const Item &x, ItemKey k, uint32_t src) {
    ItemKey y = x.key();
    return y.id == k.id && y.rank == k.rank && item_src(x) == src;
}

struct RingHdr {
    uint32_t cap;          // slots allocated
    uint32_t n;            // items held
    uint32_t head;         // slot of the oldest item
    uint32_t flags;        // kRingReferenced
    ItemKey horizon;       // complete for keys above
    union {
        int64_t fanned_until;  // author rings: see below
        // Feed rings: the items the ring may grow to (at most
        // feed_capacity). A ring starts at the few pages most viewers read
        // and doubles when its viewer pages below it (TimelineReader::
        // deepen); until then a full ring drops its oldest item.
        int64_t depth;
    };
};
static_assert(sizeof(RingHdr) == 48, "RingHdr layout");

// Feed rings: set by every read, cleared by the eviction sweep (CLOCK): a
// ring the sweep finds unreferenced was not read since its last pass.
constexpr uint32_t kRingReferenced = 1;

// Feed rings: how many candidates the viewer's last filtered page needed
// (TimelineReader sizes the first cut of the next one by it, so that a
// viewer whose blocks, mutes or reply settings drop many items pays for
// one cut of the ring, not several): bits 8-15 hold the candidates per 16
// items of the page (0: no hint), bits 16-23 the filter they were counted
// for (cut_hint_sig). Written by readers, under the stripe lock shared, by
// compare-and-swap; only a hint (a lost or stale one costs a cut).
constexpr uint32_t kCutHintShift = 8;
constexpr uint32_t kCutSigShift = 16;
constexpr uint32_t kCutHintMask = 0xFFFFu << kCutHintShift;

// Author rings (ring_deepen.hpp): the ring took older items for a page
// (kRingDeep), and the eviction sweep has passed it since it was last read
// (kRingAged): CLOCK for those items. Readers that peek at a ring without
// its lock only read these; a read clears kRingAged under the stripe lock,
// shared (an atomic and), as feed rings' readers set kRingReferenced.
constexpr uint32_t kRingDeep = 2;
constexpr uint32_t kRingAged = 4;

// Author rings: items with created_at above fanned_until were never fanned
// out to followers' feed rings (the author is a celebrity since then), so
// deleting one needs no fan-out. kAllFanned: any item may have been.
constexpr int64_t kAllFanned = std::numeric_limits<int64_t>::max();
constexpr int64_t kNoneFanned = std::numeric_limits<int64_t>::min();

enum class Insert { kAdded, kPresent, kBelowHorizon };

// The first logical index in [lo, hi) of a ring (anything with at(i)) whose
// item's key is >= k, or hi: a binary search.
template <typename R>
uint32_t key_lower_bound(const R &ring, uint32_t lo, uint32_t hi, ItemKey k) {
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (ring.at(mid).key() < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

template <typename Item>
class Ring {
  public:
    static size_t bytes(uint32_t cap) { return sizeof(RingHdr) + size_t(cap) * sizeof(Item); }

    explicit Ring(RingHdr *h) : h_(h) {}
    RingHdr *hdr() const { return h_; }
    uint32_t size() const { return h_->n; }
    uint32_t cap() const { return h_->cap; }
    ItemKey horizon() const { return h_->horizon; }
    bool full() const { return h_->n == h_->cap; }

    // Logical index 0 is the oldest item.
    Item &at(uint32_t i) const {
        uint32_t slot = h_->head + i;  // head < cap and i < cap: no division needed
        return items()[slot >= h_->cap ? slot - h_->cap : slot];
    }
    const Item &newest() const { return at(h_->n - 1); }
    const Item &oldest() const { return at(0); }

    static void init(RingHdr *h, uint32_t cap, ItemKey horizon) {
        *h = RingHdr{cap, 0, 0, 0, horizon, {kAllFanned}};
    }

    // Starts loading the slots an insertion of a new newest item touches:
    // the newest, and the oldest (which a full ring drops and reuses).
    void prefetch_ends() const {
        if (h_->n == 0)
            return;
        __builtin_prefetch(&at(h_->n - 1), 1);
        __builtin_prefetch(&at(0), 1);
    }

    // The same from a header read without its lock (a hint for prefetching:
    // fields may be torn or stale, and nothing is dereferenced).
    static void prefetch_ends_hint(const RingHdr *h) {
        uint32_t n = __atomic_load_n(&h->n, __ATOMIC_RELAXED);
        uint32_t cap = __atomic_load_n(&h->cap, __ATOMIC_RELAXED);
        uint32_t head = __atomic_load_n(&h->head, __ATOMIC_RELAXED);
        if (n == 0 || n > cap || head >= cap)
            return;
        const Item *items = reinterpret_cast<const Item *>(h + 1);
        uint32_t newest = head + n - 1;
        __builtin_prefetch(&items[newest >= cap ? newest - cap : newest], 1);
        __builtin_prefetch(&items[head], 1);
    }

    // Logical index of the first item whose key is >= k (size() if none).
    uint32_t lower_bound(ItemKey k) const { return key_lower_bound(*this, 0, h_->n, k); }

    // The item with exactly key k, or nullptr.
    const Item *find(ItemKey k) const {
        uint32_t i = lower_bound(k);
        return i < h_->n && at(i).key() == k ? &at(i) : nullptr;
    }

    // Inserts in key order. A full ring drops its oldest item (or refuses
    // one older than all it holds), raising its horizon.
    Insert insert(const Item &it) {
        ItemKey k = it.key();
        if (k <= h_->horizon)
            return Insert::kBelowHorizon;
        uint32_t pos;
        if (h_->n == 0 || newest().key() < k) {
            pos = h_->n;  // the common case: a new newest item
        } else {
            pos = lower_bound(k);
            if (pos < h_->n && at(pos).key() == k)
                return Insert::kPresent;
        }
        if (full()) {
            if (pos == 0) {
                raise_horizon(k);
                return Insert::kBelowHorizon;
            }
            drop_oldest();
            pos--;
        }
        // Shift the newer items up by one slot, then place the item.
        for (uint32_t i = h_->n; i > pos; i--)
            at(i) = at(i - 1);
        h_->n++;
        at(pos) = it;
        return Insert::kAdded;
    }

    // Inserts, or replaces the item with the same key (a repost that now
    // reposts another post, a post with a new author in the same ring).
    Insert upsert(const Item &it) {
        if (h_->n > 0 && !(newest().key() < it.key())) {
            uint32_t pos = lower_bound(it.key());
            if (pos < h_->n && at(pos).key() == it.key()) {
                at(pos) = it;
                return Insert::kPresent;
            }
        }
        return insert(it);
    }

    // Removes the item with key k; false if absent.
    bool erase(ItemKey k) {
        uint32_t pos = lower_bound(k);
        if (pos == h_->n || !(at(pos).key() == k))
            return false;
        erase_at(pos);
        return true;
    }

    // Logical index of an item from source src with the id and rank of k,
    // whatever its created_at (another version of the same post or
    // repost), or size(): a scan, for the rare delete whose own version is
    // not there.
    uint32_t find_version(ItemKey k, uint32_t src) const {
        for (uint32_t i = 0; i < h_->n; i++)
            if (same_item(at(i), k, src))
                return i;
        return h_->n;
    }

    // Removes every other version of k's item from source src (same id
    // and rank, another created_at); returns how many. A scan, for the
    // rare racing insert.
    uint32_t erase_other_versions(ItemKey k, uint32_t src) {
        return erase_if([&](const Item &x) { return same_item(x, k, src) && !(x.key() == k); });
    }

    void erase_at(uint32_t pos) {
        for (uint32_t i = pos; i + 1 < h_->n; i++)
            at(i) = at(i + 1);
        h_->n--;
    }

    // Removes every item for which drop(item) is true; returns how many.
    template <typename Pred>
    uint32_t erase_if(Pred drop) {
        uint32_t j = 0, n = h_->n;
        for (uint32_t i = 0; i < n; i++) {
            if (drop(at(i)))
                continue;
            if (j != i)
                at(j) = at(i);
            j++;
        }
        h_->n = j;
        return n - j;
    }

    void drop_oldest() {
        raise_horizon(oldest().key());
        h_->head = h_->head + 1 == h_->cap ? 0 : h_->head + 1;
        h_->n--;
    }

    void raise_horizon(ItemKey k) {
        if (h_->horizon < k)
            h_->horizon = k;
    }

    // Copies the items, oldest first, into a block of a larger capacity.
    void copy_to(RingHdr *dst) const {
        Ring<Item> d(dst);
        for (uint32_t i = 0; i < h_->n; i++)
            d.items()[i] = at(i);
        dst->n = h_->n;
        dst->head = 0;
        dst->horizon = h_->horizon;
        dst->flags = h_->flags;
        dst->fanned_until = h_->fanned_until;
    }

  private:
    Item *items() const { return reinterpret_cast<Item *>(h_ + 1); }
    RingHdr *h_;
};

using AuthorRing = Ring<AuthorItem>;
using FeedRing = Ring<FeedItem>;

// The capacity to allocate for at least `want` items (at most max_cap): the
// most that fits a block of a few standard sizes (powers of two up to 8 kB,
// then whole 4 kB pages). Rings of every owner then share a handful of the
// allocator's size classes, so that the space one frees fits another: with
// arbitrary sizes, a small memory_limit would be lost to fragmentation.
template <typename Item>
uint32_t ring_cap_for(uint32_t want, uint32_t max_cap) {
    if (want >= max_cap)
        return max_cap;
    size_t need = Ring<Item>::bytes(want < 1 ? 1 : want);
    size_t block = 256;
    while (block < need && block < 8192)
        block *= 2;
    if (block < need)
        block = (need + 4095) & ~size_t(4095);
    size_t cap = (block - sizeof(RingHdr)) / sizeof(Item);
    return cap < max_cap ? uint32_t(cap) : max_cap;
}

// The next capacity for a full ring: about twice as many items.
template <typename Item>
uint32_t ring_grown_cap(uint32_t cap, uint32_t max_cap) {
    if (cap == 0)
        return ring_cap_for<Item>(1, max_cap);  // a ring trimmed to its header
    return ring_cap_for<Item>(cap * 2 > cap ? cap * 2 : max_cap, max_cap);
}

// Items a new feed ring is built with: the first two pages most viewers
// read (a 4 kB block at most). RingHdr::depth then grows as its viewer
// pages deeper; a page below the ring is merged from the author rings.
constexpr uint32_t kFeedFirstItems = 100;
inline uint32_t feed_first_depth(uint32_t feed_cap) {
    return ring_cap_for<FeedItem>(kFeedFirstItems, feed_cap);
}
// The items a feed ring may grow to now: its depth, within feed_cap.
inline uint32_t feed_depth(const RingHdr *h, uint32_t feed_cap) {
    int64_t d = __atomic_load_n(&h->depth, __ATOMIC_RELAXED);
    return d >= int64_t(feed_cap) ? feed_cap : d < 1 ? 1 : uint32_t(d);
}

// Inserts into the ring at *ref (creating it), growing it by doubling up to
// max_cap. When the arena cannot give a bigger block the ring keeps its
// size and drops its oldest items instead. Returns kBelowHorizon also when
// no ring could be created at all (*ref stays kNoRef): the caller must then
// mark the owner's items as not held.
template <typename Item>
Insert ring_insert(const Arena &arena, Ref *ref, const Item &it, uint32_t max_cap,
                   uint32_t first_cap = 4, bool replace = false) {
    if (*ref == kNoRef) {
        uint32_t cap = ring_cap_for<Item>(first_cap, max_cap);
        Ref r = arena.alloc(Ring<Item>::bytes(cap));
        if (r == kNoRef)
            return Insert::kBelowHorizon;
        Ring<Item>::init(arena.at<RingHdr>(r), cap, kMinKey);
        *ref = r;
    }
    Ring<Item> ring(arena.at<RingHdr>(*ref));
    if (ring.full() && ring.cap() < max_cap && ring.horizon() < it.key()) {
        uint32_t cap = ring_grown_cap<Item>(ring.cap(), max_cap);
        Ref r = arena.alloc(Ring<Item>::bytes(cap));
        if (r != kNoRef) {
            RingHdr *h = arena.at<RingHdr>(r);
            Ring<Item>::init(h, cap, kMinKey);
            ring.copy_to(h);
            arena.free(*ref, Ring<Item>::bytes(ring.cap()));
            *ref = r;
            ring = Ring<Item>(h);
        }
    }
    return replace ? ring.upsert(it) : ring.insert(it);
}

// Makes room for one more item without dropping any: grows a full ring
// (up to max_cap). False if it is full and cannot grow.
template <typename Item>
bool ring_make_room(const Arena &arena, Ref *ref, uint32_t max_cap) {
    if (*ref == kNoRef)
        return true;
    Ring<Item> ring(arena.at<RingHdr>(*ref));
    if (!ring.full())
        return true;
    if (ring.cap() >= max_cap)
        return false;
    uint32_t cap = ring_grown_cap<Item>(ring.cap(), max_cap);
    Ref r = arena.alloc(Ring<Item>::bytes(cap));
    if (r == kNoRef)
        return false;
    RingHdr *h = arena.at<RingHdr>(r);
    Ring<Item>::init(h, cap, kMinKey);
    ring.copy_to(h);
    arena.free(*ref, Ring<Item>::bytes(ring.cap()));
    *ref = r;
    return true;
}

// The key at or below which items are older than `cutoff` (a created_at
// in microseconds): every item with ts < cutoff has a key <= it.
inline ItemKey age_floor(int64_t cutoff) {
    if (cutoff == std::numeric_limits<int64_t>::min())
        return kMinKey;
    return ItemKey{cutoff - 1, std::numeric_limits<int64_t>::max(), kRankHigh};
}

// dataplane.ring_max_age and ring_keep_newest, for author rings: a ring
// keeps its newest `keep` items whatever their age, and beyond those drops
// the items with key <= floor (its horizon rises: pages below it are read
// from the tables). kMinKey: no bound by age.
struct AgeBound {
    ItemKey floor = kMinKey;
    uint32_t keep = 0;
    bool none() const { return floor == kMinKey; }
};

// Trims a ring to its bound. A ring left holding under a quarter of its
// slots moves to a smaller block, and one left empty to a block of its
// header alone (48 bytes: what an author who posted nothing recent costs,
// beside the directory). With keep 0 only the authors who posted recently
// hold items; with keep > 0 an author who posts rarely keeps a complete
// ring (a sparse timeline's pages stay in memory) at the cost of memory for
// every author who ever posted. Returns the bytes freed. Under the owner's
// stripe lock, exclusive.
template <typename Item>
uint64_t ring_trim(const Arena &arena, Ref *ref, AgeBound bound) {
    if (!held(*ref) || bound.none())
        return 0;
    Ring<Item> ring(arena.at<RingHdr>(*ref));
    if (ring.size() <= bound.keep || bound.floor < ring.oldest().key())
        return 0;  // the common case: nothing to drop
    while (ring.size() > bound.keep && ring.oldest().key() <= bound.floor)
        ring.drop_oldest();
    uint32_t cap = ring.size() == 0
                       ? 0
                       : ring_cap_for<Item>(std::max<uint32_t>(ring.size() * 2, 4), ring.cap());
    if (cap * 4 > ring.cap() && ring.size() > 0)
        return 0;
    if (cap >= ring.cap())
        return 0;
    Ref r = arena.alloc(Ring<Item>::bytes(cap));
    if (r == kNoRef)
        return 0;  // keeps its block: depth, never exactness
    RingHdr *h = arena.at<RingHdr>(r);
    Ring<Item>::init(h, cap, kMinKey);
    ring.copy_to(h);
    uint64_t freed = Ring<Item>::bytes(ring.cap()) - Ring<Item>::bytes(cap);
    arena.free(*ref, Ring<Item>::bytes(ring.cap()));
    *ref = r;
    return freed;
}

template <typename Item>
void ring_free(const Arena &arena, Ref *ref) {
    if (*ref != kNoRef)
        arena.free(*ref, Ring<Item>::bytes(arena.at<RingHdr>(*ref)->cap));
    *ref = kNoRef;
}

}  // namespace dp
