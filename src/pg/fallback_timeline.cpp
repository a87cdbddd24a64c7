// The timeline functions' answers from the tables: the reference query of
// DESIGN.md (sql_text.hpp), exactly, for pages the index cannot answer
// (warming up, deeper than the rings, memory pressure, the transaction's own
// writes). Its one addition, a repost before a post with the same
// (sort_at, item_id), orders what the reference query leaves unordered the
// way the index does (ItemKey's rank).
#include "fallback.hpp"
#include "owner.hpp"
#include "sql_text.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
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

}  // namespace

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
    for (uint64 i = 0; i < SPI_processed; i++) {
        Datum v[5];
        bool n[5];
        heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, v, n);
        tuplestore_putvalues(store, desc, v, n);
    }
    SPI_finish();
}

}  // namespace dpg
