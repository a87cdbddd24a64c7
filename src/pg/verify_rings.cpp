// dataplane.verify(), rings: every author ring must hold exactly its
// source's items above its horizon; every feed ring must hold only items
// of the viewer's timeline, and every timeline item above its horizon
// whose source is not a celebrity (celebrities' items are merged at read
// time; those fanned out before the promotion may stay).
#include "index_host.hpp"
#include "entry.hpp"
#include "ring_ops.hpp"
#include "set_read.hpp"
#include "spi_stream.hpp"
#include "sql_text.hpp"
#include "verify.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/timestamp.h"
}

namespace dpg {

namespace {

void report_item(Report *r, const char *problem, uint32 uid, const char *ring, int64 id) {
    char detail[96];
    snprintf(detail, sizeof(detail), "%s ring: item %lld", ring, (long long) id);
    report(r, problem, uid, 0, detail);
}

struct RingCopy {
    dp::AuthorItem *items;  // ascending (author rings)
    dp::FeedItem *feed;     // ascending (feed rings)
    uint32 n;
    dp::ItemKey horizon;
    bool held;
};
DP_PG_FRAME(RingCopy);

// Copies uid's author ring (or feed ring) under its stripe lock.
RingCopy copy_ring(uint32 uid, bool feed) {
    RingCopy c{nullptr, nullptr, 0, dp::kMinKey, false};
    const dp::IndexEnv &env = index_env();
    uint32 s = dp::stripe_of(uid);
    LWLockAcquire(stripe_lock(s), LW_SHARED);
    dp::DirEntry *e = env.dir->find(uid);
    dp::Ref ref = e == nullptr ? dp::kNoRef : feed ? e->feed : e->author;
    if (ref != dp::kNoRef && ref != dp::kInvalidRef) {
        dp::RingHdr *h = env.arena->at<dp::RingHdr>(ref);
        c.n = h->n;
        c.horizon = h->horizon;
        c.held = true;
        // Allocation under an LWLock: palloc may only fail by raising an
        // error, and the abort releases LWLocks.
        if (feed) {
            dp::FeedRing ring(h);
            c.feed = static_cast<dp::FeedItem *>(palloc(sizeof(dp::FeedItem) * (c.n + 1)));
            for (uint32 i = 0; i < c.n; i++)
                c.feed[i] = ring.at(i);
        } else {
            dp::AuthorRing ring(h);
            c.items = static_cast<dp::AuthorItem *>(palloc(sizeof(dp::AuthorItem) * (c.n + 1)));
            for (uint32 i = 0; i < c.n; i++)
                c.items[i] = ring.at(i);
        }
    } else if (ref == dp::kInvalidRef || env.dir->lost(uid)) {
        c.held = false;
        c.n = UINT32_MAX;  // not held: skipped
    }
    LWLockRelease(stripe_lock(s));
    return c;
}

// Streams every item by source, oldest first (sql::items_by_source).
class ItemStream : public SpiStream {
  public:
    void open() { SpiStream::open(sql::items_by_source(false), true); }
    uint32 src() const { return uid(1); }
    dp::AuthorItem item() const { return SpiStream::item(2); }
};
DP_PG_FRAME(ItemStream);

bool same_item(const dp::AuthorItem &a, const dp::AuthorItem &b) {
    return a.ts == b.ts && a.id == b.id && a.post_id == b.post_id && a.author == b.author &&
           a.reposter == b.reposter && a.parent == b.parent && a.root == b.root &&
           a.attrs == b.attrs;
}

// The next uid >= from that has an author ring (or a feed ring), held or not.
uint32 next_with_ring(uint32 from, bool feed) {
    const dp::IndexEnv &env = index_env();
    uint32 end = env.dir->uid_end();
    for (uint32 uid = Max(from, 1u); uid < end; uid++) {
        dp::DirEntry *e = env.dir->find(uid);
        if (e == nullptr) {
            if (env.dir->lost(uid))
                return uid;
            uid = (((uid >> dp::kLeafBits) + 1) << dp::kLeafBits) - 1;
            continue;
        }
        if ((feed ? e->feed : e->author) != dp::kNoRef)
            return uid;
    }
    return UINT32_MAX;
}

void compare_author(Report *r, uint32 uid, ItemStream *rows) {
    RingCopy c = copy_ring(uid, false);
    if (c.n == UINT32_MAX) {
        r->skipped++;
        rows->skip_uid(1, uid);
        return;
    }
    uint32 k = 0;
    while (rows->valid() && rows->src() == uid) {
        dp::AuthorItem it = rows->item();
        rows->next();
        if (!(c.horizon < it.key()))
            continue;  // below the horizon: the ring need not hold it
        while (k < c.n && c.items[k].key() < it.key())
            report_item(r, "extra", uid, "author", c.items[k++].id);
        if (k < c.n && c.items[k].key() == it.key()) {
            if (!same_item(c.items[k], it))
                report_item(r, "differs", uid, "author", it.id);
            k++;
        } else {
            report_item(r, "missing", uid, "author", it.id);
        }
    }
    while (k < c.n)
        report_item(r, "extra", uid, "author", c.items[k++].id);
    if (c.items != nullptr)
        pfree(c.items);
}

void verify_author_rings(Report *r) {
    ItemStream rows;
    rows.open();
    uint32 uid = next_with_ring(1, false);
    for (;;) {
        uint32 next_row = rows.valid() ? rows.src() : UINT32_MAX;
        uint32 cur = Min(uid, next_row);
        if (cur == UINT32_MAX)
            break;
        compare_author(r, cur, &rows);
        if (uid == cur)
            uid = next_with_ring(cur + 1, false);
        CHECK_FOR_INTERRUPTS();
    }
    rows.close();
}

// The celebrity set, ascending.
uint32 *copy_celebs(size_t *n) {
    const dp::IndexEnv &env = index_env();
    *n = 0;
    LWLockAcquire(celeb_lock(), LW_SHARED);
    dp::SetRef cs = *env.celebs;
    uint32 *v = nullptr;
    if (!cs.empty() && !cs.invalid()) {
        dp::SetView view(*env.arena, cs, env.views);
        if (view.ok()) {
            v = static_cast<uint32 *>(palloc(sizeof(uint32) * (view.size() + 1)));
            *n = view.list(0, view.size(), v);
        }
    }
    LWLockRelease(celeb_lock());
    return v;
}

void compare_feed(Report *r, uint32 viewer, SPIPlanPtr plan, const uint32 *celebs,
                  size_t n_celebs) {
    RingCopy c = copy_ring(viewer, true);
    if (!c.held)
        return;
    Datum args[4] = {Int32GetDatum(int32(viewer)), TimestampTzGetDatum(c.horizon.ts),
                     Int64GetDatum(c.horizon.id), Int32GetDatum(int32(c.horizon.rank))};
    if (SPI_execute_plan(plan, args, nullptr, true, 0) != SPI_OK_SELECT)
        elog(ERROR, "dataplane: verify could not read the timeline of %u", viewer);
    uint32 k = 0;
    for (uint64 i = 0; i < SPI_processed; i++) {
        bool isnull;
        HeapTuple t = SPI_tuptable->vals[i];
        TupleDesc d = SPI_tuptable->tupdesc;
        dp::ItemKey key{DatumGetInt64(SPI_getbinval(t, d, 1, &isnull)),
                        DatumGetInt64(SPI_getbinval(t, d, 2, &isnull)),
                        uint32(DatumGetInt32(SPI_getbinval(t, d, 4, &isnull)))};
        uint32 src = uint32(DatumGetInt32(SPI_getbinval(t, d, 3, &isnull)));
        uint32 parent = uint32(DatumGetInt32(SPI_getbinval(t, d, 5, &isnull)));
        uint32 root = uint32(DatumGetInt32(SPI_getbinval(t, d, 6, &isnull)));
        uint32 attrs = uint32(DatumGetInt32(SPI_getbinval(t, d, 7, &isnull)));
        while (k < c.n && c.feed[k].key() < key)
            report_item(r, "extra", viewer, "feed", c.feed[k++].id);
        if (k < c.n && c.feed[k].key() == key) {
            const dp::FeedItem &f = c.feed[k];
            if (f.src != src || f.parent != parent || f.root != root || f.attrs() != attrs)
                report_item(r, "differs", viewer, "feed", key.id);
            k++;
        } else if (src == viewer || !std::binary_search(celebs, celebs + n_celebs, src)) {
            report_item(r, "missing", viewer, "feed", key.id);
        }
    }
    while (k < c.n)
        report_item(r, "extra", viewer, "feed", c.feed[k++].id);
    SPI_freetuptable(SPI_tuptable);
    if (c.feed != nullptr)
        pfree(c.feed);
}

void verify_feed_rings(Report *r) {
    size_t n_celebs;
    uint32 *celebs = copy_celebs(&n_celebs);
    Oid types[4] = {INT4OID, TIMESTAMPTZOID, INT8OID, INT4OID};
    SPIPlanPtr plan = SPI_prepare(sql::timeline_above(), 4, types);
    if (plan == nullptr)
        elog(ERROR, "dataplane: verify could not plan the timeline query");
    for (uint32 uid = next_with_ring(1, true); uid != UINT32_MAX; uid = next_with_ring(uid + 1, true)) {
        compare_feed(r, uid, plan, celebs, n_celebs);
        CHECK_FOR_INTERRUPTS();
    }
}

}  // namespace

void verify_rings(Report *r) {
    verify_author_rings(r);
    verify_feed_rings(r);
}

}  // namespace dpg
