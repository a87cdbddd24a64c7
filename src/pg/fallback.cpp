#include "fallback.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

#include "tables.hpp"
#include "owner.hpp"

namespace dpg {

namespace {

enum Query {
    kFollows,
    kFollowerCount,
    kFollowingCount,
    kFollowers,
    kFollowing,
    kProof,
    kProofCount,
    kNumQueries
};

struct QueryDef {
    const char *sql;
    int nargs;
};

const QueryDef kQueries[kNumQueries] = {
    {"SELECT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = $1 AND followee = $2)", 2},
    {"SELECT count(*) FROM dataplane.follow WHERE followee = $1", 1},
    {"SELECT count(*) FROM dataplane.follow WHERE follower = $1", 1},
    {"SELECT follower FROM dataplane.follow WHERE followee = $1 AND follower > $3 "
     "ORDER BY follower LIMIT $2",
     3},
    {"SELECT followee FROM dataplane.follow WHERE follower = $1 AND followee > $3 "
     "ORDER BY followee LIMIT $2",
     3},
    {"SELECT f.followee FROM dataplane.follow f "
     "JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = $2 "
     "WHERE f.follower = $1 ORDER BY f.followee LIMIT $3",
     3},
    {"SELECT count(*) FROM dataplane.follow f "
     "JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = $2 "
     "WHERE f.follower = $1",
     2},
};

// Plans survive the transaction (SPI_keepplan); the plan cache replans them
// if the tables are dropped and created again.
SPIPlanPtr plans[kNumQueries];

// Plans are made (and executed) under run_as_tables_owner's pinned
// search_path, like every statement the extension runs.
void prepare(Query q) {
    if (plans[q] != nullptr)
        return;
    Oid types[3] = {INT4OID, INT4OID, INT4OID};
    // Custom plans: a generic plan of the social-proof join scans every
    // follower of a popular target, whichever viewer asks.
    SPIPlanPtr p = SPI_prepare_cursor(kQueries[q].sql, kQueries[q].nargs, types,
                                      CURSOR_OPT_CUSTOM_PLAN);
    if (p == nullptr)
        elog(ERROR, "dataplane: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
    SPI_keepplan(p);
    plans[q] = p;
}

void execute(Query q, Datum *values) {
    // A new snapshot, as a new READ COMMITTED statement would take: the
    // contract's semantics, also inside REPEATABLE READ transactions, and
    // the same the index gives. It still sees this transaction's own
    // changes. (On an error, the abort unwinds the snapshot stack.)
    PushActiveSnapshot(GetLatestSnapshot());
    run_as_tables_owner([&]() noexcept {
        prepare(q);
        int rc = SPI_execute_plan(plans[q], values, nullptr, true, 0);
        if (rc != SPI_OK_SELECT)
            elog(ERROR, "dataplane: fallback query failed: %s", SPI_result_code_string(rc));
    });
    PopActiveSnapshot();
}

// Runs a query with int4 arguments under the caller's snapshot.
void run(Query q, const int32 *args) {
    Datum values[3];
    for (int i = 0; i < kQueries[q].nargs; i++)
        values[i] = Int32GetDatum(args[i]);
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    execute(q, values);
}

Datum first_value() {
    bool isnull;
    Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    return isnull ? Datum(0) : d;
}

int64 count_query(Query q, const int32 *args) {
    run(q, args);
    int64 n = DatumGetInt64(first_value());
    SPI_finish();
    return n;
}

UidArray list_query(Query q, const int32 *args) {
    run(q, args);
    UidArray out{static_cast<uint32 *>(SPI_palloc(sizeof(uint32) * (SPI_processed + 1))), 0};
    for (uint64 i = 0; i < SPI_processed; i++) {
        bool isnull;
        Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull)
            out.v[out.n++] = uint32(DatumGetInt32(d));
    }
    SPI_finish();
    return out;
}

}  // namespace

bool sql_follows(int32 a, int32 b) {
    int32 args[] = {a, b};
    run(kFollows, args);
    bool r = DatumGetBool(first_value());
    SPI_finish();
    return r;
}

int64 sql_follower_count(int32 u) { return count_query(kFollowerCount, &u); }
int64 sql_following_count(int32 u) { return count_query(kFollowingCount, &u); }

int64 sql_proof_count(int32 viewer, int32 target) {
    int32 args[] = {viewer, target};
    return count_query(kProofCount, args);
}

UidArray sql_followers(int32 u, int32 lim, int32 after) {
    int32 args[] = {u, lim, after};
    return list_query(kFollowers, args);
}

UidArray sql_following(int32 u, int32 lim, int32 after) {
    int32 args[] = {u, lim, after};
    return list_query(kFollowing, args);
}

UidArray sql_proof(int32 viewer, int32 target, int32 lim) {
    int32 args[] = {viewer, target, lim};
    return list_query(kProof, args);
}

}  // namespace dpg
