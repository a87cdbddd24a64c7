// dataplane.relationships(viewer, others int[]): one row per distinct
// non-NULL element of others, ascending, with the viewer's relations to it
// (DESIGN.md, "Timeline semantics, second part"): what Bluesky's
// getRelationships asks with nine subqueries per DID, in one call.
//
// From the index (moderation_read.hpp) when the read gate allows and every
// set it needs is held; a read that a commit's apply overlapped is done
// again. Otherwise the reference SQL over the tables.
#include "direct_rows.hpp"
#include "entry.hpp"
#include "srf.hpp"
#include "gate.hpp"
#include "index_host.hpp"
#include "owner.hpp"

#include <algorithm>

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
}

namespace dpg {
namespace {

constexpr int kColumns = 9;  // uid and eight booleans
// The booleans' bits, in column order.
constexpr uint16 kColumnBits[kColumns - 1] = {
    dp::kFollowing, dp::kFollowedBy,     dp::kBlocking,      dp::kBlockedBy,
    dp::kMuting,    dp::kBlockingByList, dp::kBlockedByList, dp::kMutingByList};
// What the reader is asked: the columns' bits (not whether an account is
// inactive, which no column shows).
constexpr uint16 columns_wanted() {
    uint16 w = 0;
    for (uint16 b : kColumnBits)
        w |= b;
    return w;
}
constexpr uint16 kWanted = columns_wanted();

// Static storage: it holds C++ containers, and frames below may ereport.
dp::ModerationReader reader;

// The reference query: $1 viewer, $2 the distinct uids, ascending.
const char kReference[] =
    "SELECT o.uid, "
    "  EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = $1 AND followee = o.uid), "
    "  EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = o.uid AND followee = $1), "
    "  EXISTS (SELECT 1 FROM dataplane.block WHERE blocker = $1 AND blocked = o.uid), "
    "  EXISTS (SELECT 1 FROM dataplane.block WHERE blocker = o.uid AND blocked = $1), "
    "  EXISTS (SELECT 1 FROM dataplane.mute WHERE muter = $1 AND muted = o.uid), "
    "  EXISTS (SELECT 1 FROM dataplane.list_block b JOIN dataplane.list_item i "
    "          ON i.list_id = b.list_id WHERE b.actor = $1 AND i.subject = o.uid), "
    "  EXISTS (SELECT 1 FROM dataplane.list_block b JOIN dataplane.list_item i "
    "          ON i.list_id = b.list_id WHERE b.actor = o.uid AND i.subject = $1), "
    "  EXISTS (SELECT 1 FROM dataplane.list_mute m JOIN dataplane.list_item i "
    "          ON i.list_id = m.list_id WHERE m.actor = $1 AND i.subject = o.uid) "
    "FROM unnest($2::int4[]) WITH ORDINALITY AS o(uid, n) ORDER BY o.n";

SPIPlanPtr reference_plan = nullptr;

// The distinct non-NULL elements, ascending. An array without NULLs (the
// usual case) is read in place; one already ascending is not sorted again.
int32 *distinct_uids(ArrayType *arr, int *n_out) {
    int n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
    int32 *v = static_cast<int32 *>(palloc(sizeof(int32) * (n + 1)));
    int k = 0;
    if (!ARR_HASNULL(arr)) {
        memcpy(v, ARR_DATA_PTR(arr), sizeof(int32) * n);
        k = n;
    } else {
        Datum *elems;
        bool *nulls;
        deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &n);
        for (int i = 0; i < n; i++)
            if (!nulls[i])
                v[k++] = DatumGetInt32(elems[i]);
    }
    if (!std::is_sorted(v, v + k))
        std::sort(v, v + k);
    *n_out = int(std::unique(v, v + k) - v);
    return v;
}

// uid int, then the eight booleans.
constexpr FixedCol kRowCols[kColumns] = {{4, TYPALIGN_INT},  {1, TYPALIGN_CHAR}, {1, TYPALIGN_CHAR},
                                         {1, TYPALIGN_CHAR}, {1, TYPALIGN_CHAR}, {1, TYPALIGN_CHAR},
                                         {1, TYPALIGN_CHAR}, {1, TYPALIGN_CHAR}, {1, TYPALIGN_CHAR}};

void emit(DirectRows &out, int32 uid, const bool *flags) {
    if (!out.direct()) {
        Datum values[kColumns];
        bool nulls[kColumns] = {};
        values[0] = Int32GetDatum(uid);
        for (int c = 1; c < kColumns; c++)
            values[c] = BoolGetDatum(flags[c - 1]);
        out.put_values(values, nulls);
        return;
    }
    char *data = out.start(0);  // uid at 0, the booleans from 4 on
    memcpy(data, &uid, 4);
    for (int c = 1; c < kColumns; c++)
        data[3 + c] = flags[c - 1] ? 1 : 0;
    out.finish(4 + kColumns - 1);
}

// From the index; false if it cannot answer exactly.
bool index_rows(int32 viewer, const int32 *uids, int n, Tuplestorestate *store,
                TupleDesc desc) {
    if (pg_atomic_read_u32(&L.sh->odd_lists) != 0)
        return false;
    uint32 *xs = static_cast<uint32 *>(palloc(sizeof(uint32) * (n + 1)));
    uint16 *bits = static_cast<uint16 *>(palloc(sizeof(uint16) * (n + 1)));
    for (int i = 0; i < n; i++)
        xs[i] = uids[i] > 0 ? uint32(uids[i]) : 0;
    uint32 v = viewer > 0 ? uint32(viewer) : 0;
    const dp::IndexEnv &env = index_env();
    bool answered = false;
    for (int attempt = 0; attempt < 4 && !answered; attempt++) {
        uint64 started;
        if (!quiet_index(&started))
            continue;
        if (reader.relations(env, v, xs, size_t(n), kWanted, bits) != dp::Read::kOk)
            return false;
        answered = !applied_since(started);
    }
    if (!answered)
        return false;
    DirectRows out(store, desc, kRowCols, kColumns);
    for (int i = 0; i < n; i++) {
        bool flags[kColumns - 1];
        for (int c = 0; c < kColumns - 1; c++)
            flags[c] = v != 0 && (bits[i] & kColumnBits[c]) != 0;
        emit(out, uids[i], flags);
    }
    return true;
}

void sql_rows(int32 viewer, const int32 *uids, int n, Tuplestorestate *store, TupleDesc desc) {
    MemoryContext cxt = CurrentMemoryContext;
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
    for (int i = 0; i < n; i++)
        elems[i] = Int32GetDatum(uids[i]);
    Datum arr = PointerGetDatum(construct_array(elems, n, INT4OID, 4, true, TYPALIGN_INT));
    Datum values[2] = {Int32GetDatum(viewer), arr};
    char nulls[2] = {' ', ' '};
    // A new snapshot, as a new READ COMMITTED statement would take (see
    // fallback.cpp).
    PushActiveSnapshot(GetLatestSnapshot());
    run_as_tables_owner([&]() noexcept {
        if (reference_plan == nullptr) {
            Oid types[2] = {INT4OID, INT4ARRAYOID};
            SPIPlanPtr p = SPI_prepare(kReference, 2, types);
            if (p == nullptr)
                elog(ERROR, "dataplane: SPI_prepare failed: %s",
                     SPI_result_code_string(SPI_result));
            SPI_keepplan(p);
            reference_plan = p;
        }
        int rc = SPI_execute_plan(reference_plan, values, nulls, true, 0);
        if (rc != SPI_OK_SELECT)
            elog(ERROR, "dataplane: relationships query failed: %s", SPI_result_code_string(rc));
    });
    PopActiveSnapshot();
    MemoryContext spi = MemoryContextSwitchTo(cxt);
    DirectRows out(store, desc, kRowCols, kColumns);
    for (uint64 r = 0; r < SPI_processed; r++) {
        bool flags[kColumns - 1];
        bool isnull;
        int32 uid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1,
                                                &isnull));
        for (int c = 0; c < kColumns - 1; c++) {
            Datum d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 2, &isnull);
            flags[c] = !isnull && DatumGetBool(d);
        }
        emit(out, uid, flags);
    }
    MemoryContextSwitchTo(spi);
    SPI_finish();
}

}  // namespace
}  // namespace dpg

using namespace dpg;

DP_FUNCTION(dataplane_relationships) {
    init_materialized_srf(fcinfo);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    if (PG_ARGISNULL(1))
        return Datum(0);  // no others: no rows
    bool viewer_null = PG_ARGISNULL(0);
    int32 viewer = viewer_null ? 0 : PG_GETARG_INT32(0);
    ArrayType *arr = PG_GETARG_ARRAYTYPE_P(1);
    if (ARR_NDIM(arr) > 1)
        ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                        errmsg("others must be a one-dimensional array of uids")));
    int n;
    int32 *uids = distinct_uids(arr, &n);
    if (n == 0)
        return Datum(0);
    if (viewer_null || viewer <= 0) {
        // No account: every relation is false, as the reference query says.
        bool none[kColumns - 1] = {};
        DirectRows out(rsinfo->setResult, rsinfo->setDesc, kRowCols, kColumns);
        for (int i = 0; i < n; i++)
            emit(out, uids[i], none);
        return Datum(0);
    }
    Fallback why;
    if (read_gate(&why)) {
        if (index_rows(viewer, uids, n, rsinfo->setResult, rsinfo->setDesc)) {
            count_index_read();
            return Datum(0);
        }
        why = kFbUnknown;
    }
    count_fallback(why);
    sql_rows(viewer, uids, n, rsinfo->setResult, rsinfo->setDesc);
    return Datum(0);
}
