// The timeline functions' answers from the tables: the reference query of
// DESIGN.md (sql_text.hpp), exactly, for pages the index cannot answer
// (warming up, deeper than the rings, memory pressure, the transaction's own
// writes). Its one addition, a repost before a post with the same
// (sort_at, item_id), orders what the reference query leaves unordered the
// way the index does (ItemKey's rank).
#include "commit.hpp"
#include "direct_rows.hpp"
#include "fallback.hpp"
#include "gate.hpp"
#include "owner.hpp"
#include "sql_text.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
}

namespace dpg {

namespace {

// [author_feed][filtered]
SPIPlanPtr plans[2][2];

SPIPlanPtr plan_for(bool author_feed, bool filtered) {
    SPIPlanPtr &p = plans[author_feed ? 1 : 0][filtered ? 1 : 0];
    if (p == nullptr) {
        Oid types[7] = {INT4OID, INT4OID, TIMESTAMPTZOID, INT8OID, TEXTOID,
                        author_feed ? Oid(INT4OID) : Oid(BOOLOID), BOOLOID};
        const char *sql = author_feed ? (filtered ? sql::author_feed_page_filtered()
                                                  : sql::author_feed_page())
                                      : (filtered ? sql::timeline_page_filtered()
                                                  : sql::timeline_page());
        int nargs = !filtered ? 4 : author_feed ? 6 : 7;
        // Custom plans: the cursor condition folds away per call.
        SPIPlanPtr np = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_CUSTOM_PLAN);
        if (np == nullptr)
            elog(ERROR, "dataplane: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        SPI_keepplan(np);
        p = np;
    }
    return p;
}

// The last SPI query's rows (item_id, post_id, author, reposter, sort_at)
// into store; ends the SPI connection.
void store_rows(Tuplestorestate *store, TupleDesc desc) {
    for (uint64 i = 0; i < SPI_processed; i++) {
        Datum v[5];
        bool n[5];
        heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, v, n);
        tuplestore_putvalues(store, desc, v, n);
    }
    SPI_finish();
}

// timeline_rest's plans, [a 0.2.0 schema] (its columns differ).
SPIPlanPtr rest_plans[2];

SPIPlanPtr rest_plan() {
    SPIPlanPtr &p = rest_plans[moderation_schema() ? 1 : 0];
    if (p == nullptr) {
        Oid types[6] = {INT4ARRAYOID, INT4OID, TIMESTAMPTZOID, INT8OID, TIMESTAMPTZOID, INT8OID};
        // A generic plan: its shape (each source's index, in order, as
        // deep as the page) is the same for every viewer and cut.
        SPIPlanPtr np =
            SPI_prepare_cursor(sql::timeline_rest(), 6, types, CURSOR_OPT_GENERIC_PLAN);
        if (np == nullptr)
            elog(ERROR, "dataplane: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        SPI_keepplan(np);
        p = np;
    }
    return p;
}

// The exclusive (sort_at, item_id) bound of the items of one rank (1 post,
// 2 repost) below the cut (an exclusive key): just above the cut's (ts,
// id) if an item of that rank with that (ts, id) is below the cut, else
// the cut's (ts, id). False: no bound (the cut is above every (ts, id)).
bool rank_bound(RestCut cut, uint32 rank, int64 *ts, int64 *id) {
    *ts = cut.ts;
    *id = cut.id;
    if (rank >= cut.rank)
        return true;
    if (cut.id != PG_INT64_MAX) {
        *id = cut.id + 1;
        return true;
    }
    if (cut.ts == PG_INT64_MAX)
        return false;
    *ts = cut.ts + 1;
    *id = PG_INT64_MIN;
    return true;
}

// A row of timeline_rest as an AuthorItem.
dp::AuthorItem rest_item(HeapTuple t, TupleDesc d) {
    bool isnull;
    auto i64 = [&](int col) { return DatumGetInt64(SPI_getbinval(t, d, col, &isnull)); };
    auto u32 = [&](int col) { return uint32(DatumGetInt32(SPI_getbinval(t, d, col, &isnull))); };
    return dp::AuthorItem{DatumGetTimestampTz(SPI_getbinval(t, d, 5, &isnull)),
                          i64(1), i64(2), u32(3), u32(4), u32(6), u32(7), u32(8)};
}

// By source, then posts before reposts, then newest first: the order in
// which each source's two branches of timeline_rest can be counted.
int by_branch(const void *x, const void *y) {
    const auto *a = static_cast<const dp::AuthorItem *>(x);
    const auto *b = static_cast<const dp::AuthorItem *>(y);
    uint32 sa = dp::item_src(*a), sb = dp::item_src(*b);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if ((a->reposter != 0) != (b->reposter != 0))
        return a->reposter == 0 ? -1 : 1;
    dp::ItemKey ka = a->key(), kb = b->key();
    return kb < ka ? -1 : ka < kb ? 1 : 0;
}

int newest_first(const void *x, const void *y) {
    dp::ItemKey ka = static_cast<const dp::AuthorItem *>(x)->key();
    dp::ItemKey kb = static_cast<const dp::AuthorItem *>(y)->key();
    return kb < ka ? -1 : ka < kb ? 1 : 0;
}

// Calls f(oldest) with the oldest row of each source's branch (rows
// sorted by_branch) that returned all `per` rows it could: it may hold
// more below.
template <typename F>
void for_each_full_branch(const dp::AuthorItem *rows, size_t n, int32 per, F f) {
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && dp::item_src(rows[j]) == dp::item_src(rows[i]) &&
               (rows[j].reposter != 0) == (rows[i].reposter != 0))
            j++;
        if (j - i >= size_t(per))
            f(rows[j - 1]);
        i = j;
    }
}

// The key below which the rows of one timeline_rest run may miss items:
// the oldest row of each full branch, the highest of them; kMinKey when no
// branch was full (the rows are every item below the cut). Sorts the rows
// by_branch.
dp::ItemKey rows_complete_above(dp::AuthorItem *rows, size_t n, int32 per) {
    qsort(rows, n, sizeof(dp::AuthorItem), by_branch);
    dp::ItemKey b = dp::kMinKey;
    for_each_full_branch(rows, n, per, [&](const dp::AuthorItem &oldest) {
        if (b < oldest.key())
            b = oldest.key();
    });
    return b;
}

// What the runs of sql_page_rest covered (RestCover): each run's rows
// (sorted by_branch) are every item of each source below the run's cut
// and down to where its branches may have more; a run that is not the last
// keeps only what lies at or above the next run's cut (the next run reads
// the rest again), the last one all it read.
class Covered {
  public:
    Covered(RestCover *cover, size_t n_sources, MemoryContext cxt)
        : cover_(cover), n_sources_(n_sources), cxt_(cxt) {
        if (cover_ != nullptr)
            *cover_ = RestCover{nullptr, 0, nullptr, false};
    }
    // This run's rows, before the filter changes them.
    void run(const dp::AuthorItem *rows, size_t m) {
        if (cover_ == nullptr)
            return;
        run_ = static_cast<dp::AuthorItem *>(alloc(sizeof(dp::AuthorItem) * (m + 1)));
        memcpy(run_, rows, sizeof(dp::AuthorItem) * m);
        n_run_ = m;
    }
    // More runs follow, below `below`.
    void next_run(dp::ItemKey below) {
        if (cover_ == nullptr)
            return;
        for (size_t i = 0; i < n_run_; i++)
            if (!(run_[i].key() < below))
                add(run_[i]);
        pfree(run_);
        run_ = nullptr;
    }
    // The last run, which read at most `per` of each source's branches.
    void last_run(const uint32 *sources, int32 per) {
        if (cover_ == nullptr)
            return;
        for (size_t i = 0; i < n_run_; i++)
            add(run_[i]);
        // A branch that gave all `per` rows may have more below its
        // oldest: the source is covered down to just below that row (a
        // post with the same (ts, id) as a repost is a different item).
        // The full branches' bounds, in source order (run_ is by_branch);
        // then each source's, the higher of its two.
        size_t n_full = 0;
        auto *full = static_cast<dp::AuthorItem *>(alloc(sizeof(dp::AuthorItem) * (n_run_ + 1)));
        for_each_full_branch(run_, n_run_, per,
                             [&](const dp::AuthorItem &oldest) { full[n_full++] = oldest; });
        cover_->bound = static_cast<dp::ItemKey *>(alloc(sizeof(dp::ItemKey) * (n_sources_ + 1)));
        for (size_t s = 0; s < n_sources_; s++) {
            dp::ItemKey b = dp::kMinKey;
            auto [f, end] = dp::items_of_src(full, n_full, sources[s]);
            for (; f < end; f++) {
                dp::ItemKey k = f->key();
                k.rank--;
                if (b < k)
                    b = k;
            }
            cover_->bound[s] = b;
        }
        pfree(full);
        pfree(run_);
        run_ = nullptr;
        n_run_ = 0;
        last_ = true;
    }
    // The page's rest is one state with the index: the cover is too.
    void finish() {
        if (cover_ == nullptr || !last_)
            return;
        qsort(cover_->rows, cover_->n, sizeof(dp::AuthorItem), by_source_ascending);
        cover_->valid = true;
    }

  private:
    // In the caller's context: SPI's goes with SPI_finish.
    void *alloc(size_t bytes) { return MemoryContextAlloc(cxt_, bytes); }
    void add(const dp::AuthorItem &it) {
        if (cover_->n == room_) {
            room_ = room_ == 0 ? 64 : room_ * 2;
            cover_->rows = static_cast<dp::AuthorItem *>(
                cover_->rows == nullptr ? alloc(sizeof(dp::AuthorItem) * room_)
                                        : repalloc(cover_->rows, sizeof(dp::AuthorItem) * room_));
        }
        cover_->rows[cover_->n++] = it;
    }
    static int by_source_ascending(const void *x, const void *y) {
        const auto *a = static_cast<const dp::AuthorItem *>(x);
        const auto *b = static_cast<const dp::AuthorItem *>(y);
        uint32 sa = dp::item_src(*a), sb = dp::item_src(*b);
        if (sa != sb)
            return sa < sb ? -1 : 1;
        dp::ItemKey ka = a->key(), kb = b->key();
        return ka < kb ? -1 : kb < ka ? 1 : 0;
    }
    RestCover *cover_;
    size_t n_sources_;
    MemoryContext cxt_;
    dp::AuthorItem *run_ = nullptr;
    size_t n_run_ = 0, room_ = 0;
    bool last_ = false;
};
DP_PG_FRAME(Covered);

}  // namespace

bool sql_page_rest(RestCut cut, int32 n, uint64 started, const dp::AuthorItem *mem, size_t n_mem,
                   const uint32 *sources, size_t n_sources, RestFilter keep,
                   Tuplestorestate *store, TupleDesc desc, RestCover *cover) {
    MemoryContext outer = CurrentMemoryContext;
    Covered covered(cover, n_sources, outer);
    Datum *uids = static_cast<Datum *>(palloc(sizeof(Datum) * (n_sources + 1)));
    for (size_t i = 0; i < n_sources; i++)
        uids[i] = Int32GetDatum(int32(sources[i]));
    ArrayType *src = construct_array(uids, int(n_sources), INT4OID, sizeof(int32), true,
                                     TYPALIGN_INT);
    // What the filter kept, over all runs, and its room.
    size_t n_kept = 0, room = size_t(Min(n, 1024)) + 16;  // n may be 2^31 - 1
    dp::AuthorItem *kept = static_cast<dp::AuthorItem *>(palloc(sizeof(dp::AuthorItem) * room));
    // A new snapshot, as a new READ COMMITTED statement takes; it must show
    // the commits the index showed, no more and no fewer. Commits are
    // applied after they become visible, so every commit the index had
    // applied is visible now; the fence then waits out any visible commit
    // still to be applied, and if one was applied since the index was read,
    // the two parts would show different states. The same holds for the
    // relations the filter reads from the index, checked at the end.
    PushActiveSnapshot(GetLatestSnapshot());
    if (!fence_visible_commits() || applied_since(started)) {
        PopActiveSnapshot();
        return false;
    }
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    // Each run reads at most `per` posts and `per` reposts of each source
    // below the cut, unfiltered, and the filter keeps what the page shows.
    // Rows at or above the highest key where a source's branch may have
    // more (rows_complete_above) are every item there; when they and the
    // rings' part above it are not the n the page needs, the next run goes
    // on below that key, twice as deep.
    // The first run reads about twice the page's share of each source
    // (the page needs n items of all of them together, not n of each:
    // reading n of each of a thousand followees would read a thousand
    // times the page), at least a few; skewed sources take a run or two
    // more.
    bool ok = true;
    int32 first = n_sources <= 2 ? n : int32(Min(int64(n), Max(int64(8), 2 * int64(n) / int64(n_sources) + 1)));
    for (int32 per = first;; per = per < (1 << 20) ? per * 2 : per) {
        int64 pts, pid, rts, rid;
        if (!rank_bound(cut, 1, &pts, &pid) || !rank_bound(cut, 2, &rts, &rid))
            break;  // no item is below such a cut: never so in practice
        Datum values[6] = {PointerGetDatum(src), Int32GetDatum(per), TimestampTzGetDatum(pts),
                           Int64GetDatum(pid), TimestampTzGetDatum(rts), Int64GetDatum(rid)};
        run_as_tables_owner([&]() noexcept {
            // Each source's newest items in its index's order, never a
            // bitmap of all of them (a prolific source has thousands)
            // sorted after: the generic plan's estimates cannot tell.
            // Undone with the pinned search_path's level.
            (void) set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION,
                                     GUC_ACTION_SAVE, true, 0, false);
            int rc = SPI_execute_plan(rest_plan(), values, nullptr, true, 0);
            if (rc != SPI_OK_SELECT)
                elog(ERROR, "dataplane: fallback query failed: %s", SPI_result_code_string(rc));
        });
        size_t m = size_t(SPI_processed);
        dp::AuthorItem *rows =
            static_cast<dp::AuthorItem *>(MemoryContextAlloc(outer, sizeof(dp::AuthorItem) * (m + 1)));
        for (size_t i = 0; i < m; i++)
            rows[i] = rest_item(SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
        SPI_freetuptable(SPI_tuptable);
        dp::ItemKey below = rows_complete_above(rows, m, per);
        covered.run(rows, m);
        size_t k = 0;
        for (size_t i = 0; i < m; i++)
            if (!(rows[i].key() < below))
                rows[k++] = rows[i];
        if (!keep(rows, &k)) {
            ok = false;
            break;
        }
        if (n_kept + k > room) {
            room = (n_kept + k) * 2;
            kept = static_cast<dp::AuthorItem *>(repalloc(kept, sizeof(dp::AuthorItem) * room));
        }
        memcpy(kept + n_kept, rows, sizeof(dp::AuthorItem) * k);
        n_kept += k;
        pfree(rows);
        size_t mem_above = 0;  // mem is newest first
        while (mem_above < n_mem && !(mem[mem_above].key() < below))
            mem_above++;
        if (below == dp::kMinKey || n_kept + mem_above >= size_t(n)) {
            covered.last_run(sources, per);
            break;
        }
        covered.next_run(below);
        cut = RestCut{below.ts, below.id, below.rank};
    }
    SPI_finish();
    PopActiveSnapshot();
    if (!ok || applied_since(started))
        return false;
    covered.finish();
    // Both parts newest first, and different items (each item is in one
    // source): merged, the newest n.
    qsort(kept, n_kept, sizeof(dp::AuthorItem), newest_first);
    PageRows out(store, desc);
    size_t i = 0, j = 0;
    for (int32 c = 0; c < n && (i < n_kept || j < n_mem); c++) {
        const dp::AuthorItem &it =
            j == n_mem || (i < n_kept && mem[j].key() < kept[i].key()) ? kept[i++] : mem[j++];
        out.put(it);
    }
    return true;
}

void sql_page(bool author_feed, const PageArgs &a, Tuplestorestate *store, TupleDesc desc) {
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    Datum values[7] = {Int32GetDatum(a.uid),   Int32GetDatum(a.lim), TimestampTzGetDatum(a.before_ts),
                       Int64GetDatum(a.before_id), a.extra[0], a.extra[1], a.extra[2]};
    char nulls[8] = {' ', a.unlimited ? 'n' : ' ', a.has_ts ? ' ' : 'n', a.has_id ? ' ' : 'n',
                     a.extra_null[0] ? 'n' : ' ', a.extra_null[1] ? 'n' : ' ',
                     a.extra_null[2] ? 'n' : ' ', 0};
    // A new snapshot, as a new READ COMMITTED statement takes.
    PushActiveSnapshot(GetLatestSnapshot());
    run_as_tables_owner([&]() noexcept {
        SPIPlanPtr plan = plan_for(author_feed, a.filtered);
        int rc = SPI_execute_plan(plan, values, nulls, true, 0);
        if (rc != SPI_OK_SELECT)
            elog(ERROR, "dataplane: fallback query failed: %s", SPI_result_code_string(rc));
    });
    PopActiveSnapshot();
    store_rows(store, desc);
}

}  // namespace dpg
