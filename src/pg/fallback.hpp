// The read functions' answers from the tables, for whenever the index cannot
// answer exactly: the same SQL a fan-in deployment runs, executed through
// SPI with the caller's snapshot.
#pragma once

#include "pg_prelude.hpp"

#include "entry.hpp"

namespace dpg {

bool sql_follows(int32 a, int32 b);
int64 sql_follower_count(int32 u);
int64 sql_following_count(int32 u);
int64 sql_proof_count(int32 viewer, int32 target);

// Lists of uids, ascending, allocated in the caller's memory context.
struct UidArray {
    uint32 *v;
    size_t n;
};
DP_PG_FRAME(UidArray);
UidArray sql_followers(int32 u, int32 lim, int32 after);
UidArray sql_following(int32 u, int32 lim, int32 after);
UidArray sql_proof(int32 viewer, int32 target, int32 lim);

}  // namespace dpg

extern "C" {
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace dpg {

// A page request as the SQL functions take it: NULL lim means no limit,
// as LIMIT NULL does; a NULL before_ts means no cursor.
struct PageArgs {
    int32 uid;
    bool unlimited;
    int32 lim;
    bool has_ts;
    TimestampTz before_ts;
    bool has_id;
    int64 before_id;
    // Schema 0.2.0: the second part's query, with the timeline's replies,
    // reposts, quotes or the author feed's filter, viewer (NULLs as given).
    bool filtered;
    Datum extra[3];
    bool extra_null[3];
};
DP_PG_FRAME(PageArgs);

// The reference query of DESIGN.md (the timeline of uid, or with
// author_feed the items of uid alone; its second part when a.filtered),
// run over the tables with a new
// snapshot; its rows are appended to `store` (item_id, post_id, author,
// reposter, sort_at).
void sql_page(bool author_feed, const PageArgs &a, Tuplestorestate *store, TupleDesc desc);

// The rest of a timeline page whose first items the index gave: the newest
// `n` items of the timeline that its filters keep, with key below `cut`,
// appended to `store`: of the `n_mem` items the index gave for the sources
// whose rings are complete (newest first, kept by the filters already),
// and of the `n_sources` other sources' items in the tables
// (sql::timeline_rest), which `keep` filters with the index's relations
// (TimelineReader::filter_rest). The two parts are one state only if the
// tables' snapshot shows exactly the commits the index had applied when it
// was read (applies counted `started`, none since, also when the filter
// has read its relations): otherwise nothing is appended and false
// returned (the caller answers the whole page from the tables), as when
// `keep` cannot say.
struct RestCut {
    int64 ts;
    int64 id;
    uint32 rank;  // dp::ItemKey's, or kRankHigh + 1: every rank of (ts, id)
};
DP_PG_FRAME(RestCut);

// Keeps, in place and in order, the rows the page shows; false when the
// index cannot say.
using RestFilter = bool (*)(dp::AuthorItem *rows, size_t *n);
// What those reads of the tables covered, unfiltered (for the sources'
// author rings: deepen_rings.hpp), when `cover` is not null: `rows` (in
// the caller's memory context, by source, then ascending) hold every item
// of sources[i] with key below the cut and above bound[i] (kMinKey: all of
// them). valid is false when the page was not read this way.
struct RestCover {
    dp::AuthorItem *rows;
    size_t n;
    dp::ItemKey *bound;
    bool valid;
};
DP_PG_FRAME(RestCover);
bool sql_page_rest(RestCut cut, int32 n, uint64 started, const dp::AuthorItem *mem, size_t n_mem,
                   const uint32 *sources, size_t n_sources, RestFilter keep,
                   Tuplestorestate *store, TupleDesc desc, RestCover *cover = nullptr);

}  // namespace dpg
