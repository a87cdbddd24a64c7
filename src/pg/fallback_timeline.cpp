// The timeline functions' answers from the tables: the reference query of
// DESIGN.md (sql_text.hpp), exactly, for pages the index cannot answer
// (warming up, deeper than the rings, memory pressure, the transaction's own
// writes). Its one addition, a repost before a post with the same
// (sort_at, item_id), orders what the reference query leaves unordered the
// way the index does (ItemKey's rank).
#include "commit.hpp"
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

// timeline_rest's plans, [filtered].
SPIPlanPtr rest_plans[2];

SPIPlanPtr rest_plan_for(bool filtered) {
    SPIPlanPtr &p = rest_plans[filtered ? 1 : 0];
    if (p == nullptr) {
        Oid types[10] = {INT4OID, INT4OID, TIMESTAMPTZOID, INT8OID, TEXTOID,
                         BOOLOID, BOOLOID, TIMESTAMPTZOID, INT8OID, INT4ARRAYOID};
        // A generic plan: its shape (each source's index, in order, as
        // deep as the page) is the same for every viewer and cut.
        SPIPlanPtr np = SPI_prepare_cursor(sql::timeline_rest(filtered), 10, types,
                                           CURSOR_OPT_GENERIC_PLAN);
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

}  // namespace

bool sql_page_rest(const PageArgs &a, RestCut cut, int32 n, uint64 started,
                   const dp::AuthorItem *mem, size_t n_mem, const uint32 *sources,
                   size_t n_sources, Tuplestorestate *store, TupleDesc desc) {
    int64 pts, pid, rts, rid;
    if (!rank_bound(cut, 1, &pts, &pid) || !rank_bound(cut, 2, &rts, &rid))
        return false;  // no item is above such a cut: never so in practice
    Datum *uids = static_cast<Datum *>(palloc(sizeof(Datum) * (n_sources + 1)));
    for (size_t i = 0; i < n_sources; i++)
        uids[i] = Int32GetDatum(int32(sources[i]));
    ArrayType *src = construct_array(uids, int(n_sources), INT4OID, sizeof(int32), true,
                                     TYPALIGN_INT);
    Datum values[10] = {Int32GetDatum(a.uid),  Int32GetDatum(n),  TimestampTzGetDatum(pts),
                        Int64GetDatum(pid),    a.extra[0],        a.extra[1],
                        a.extra[2],            TimestampTzGetDatum(rts), Int64GetDatum(rid),
                        PointerGetDatum(src)};
    char nulls[11] = {' ', ' ', ' ', ' ', a.extra_null[0] ? 'n' : ' ', a.extra_null[1] ? 'n' : ' ',
                      a.extra_null[2] ? 'n' : ' ', ' ', ' ', ' ', 0};
    // A new snapshot, as a new READ COMMITTED statement takes; it must show
    // the commits the index showed, no more and no fewer. Commits are
    // applied after they become visible, so every commit the index had
    // applied is visible now; the fence then waits out any visible commit
    // still to be applied, and if one was applied since the index was read,
    // the two parts would show different states.
    PushActiveSnapshot(GetLatestSnapshot());
    if (!fence_visible_commits() || applied_since(started)) {
        PopActiveSnapshot();
        return false;
    }
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    run_as_tables_owner([&]() noexcept {
        // Each source's newest items in its index's order, never a bitmap
        // of all of them (a prolific source has thousands) sorted after:
        // the generic plan's estimates cannot tell. Undone with the
        // pinned search_path's level.
        (void) set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION,
                                 GUC_ACTION_SAVE, true, 0, false);
        SPIPlanPtr plan = rest_plan_for(a.filtered);
        int rc = SPI_execute_plan(plan, values, nulls, true, 0);
        if (rc != SPI_OK_SELECT)
            elog(ERROR, "dataplane: fallback query failed: %s", SPI_result_code_string(rc));
    });
    PopActiveSnapshot();
    // Both parts come newest first, and hold different items (each item is
    // in one source): merged, the newest n.
    uint64 i = 0;
    size_t j = 0;
    Datum v[5];
    bool nl[5];
    bool have_row = false;
    dp::ItemKey row_key = dp::kMinKey;
    for (int32 k = 0; k < n; k++) {
        if (!have_row && i < SPI_processed) {
            heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, v, nl);
            row_key = dp::ItemKey{DatumGetTimestampTz(v[4]), DatumGetInt64(v[0]),
                                  nl[3] ? dp::kRankPost : dp::kRankRepost};
            have_row = true;
        }
        if (have_row && (j == n_mem || mem[j].key() < row_key)) {
            tuplestore_putvalues(store, desc, v, nl);
            have_row = false;
            i++;
        } else if (j < n_mem) {
            const dp::AuthorItem &it = mem[j++];
            Datum mv[5] = {Int64GetDatum(it.id), Int64GetDatum(it.post_id),
                           Int32GetDatum(int32(it.author)), Int32GetDatum(int32(it.reposter)),
                           TimestampTzGetDatum(it.ts)};
            bool mn[5] = {false, false, false, it.reposter == 0, false};
            tuplestore_putvalues(store, desc, mv, mn);
        } else {
            break;
        }
    }
    SPI_finish();
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
