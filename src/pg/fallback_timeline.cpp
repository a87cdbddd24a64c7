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

SPIPlanPtr plans[2];

SPIPlanPtr plan_for(bool author_feed) {
    SPIPlanPtr &p = plans[author_feed ? 1 : 0];
    if (p == nullptr) {
        Oid types[4] = {INT4OID, INT4OID, TIMESTAMPTZOID, INT8OID};
        // Custom plans: the cursor condition folds away per call.
        SPIPlanPtr np = SPI_prepare_cursor(author_feed ? sql::author_feed_page()
                                                       : sql::timeline_page(),
                                           4, types, CURSOR_OPT_CUSTOM_PLAN);
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
    Datum values[4] = {Int32GetDatum(a.uid), Int32GetDatum(a.lim), TimestampTzGetDatum(a.before_ts),
                       Int64GetDatum(a.before_id)};
    char nulls[5] = {' ', a.unlimited ? 'n' : ' ', a.has_ts ? ' ' : 'n', a.has_id ? ' ' : 'n', 0};
    // A new snapshot, as a new READ COMMITTED statement takes.
    PushActiveSnapshot(GetLatestSnapshot());
    run_as_tables_owner([&]() noexcept {
        SPIPlanPtr plan = plan_for(author_feed);
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
