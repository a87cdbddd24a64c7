// dataplane.verify(): one row per difference between the index and the
// tables, none when they agree.
//
// It first waits for the index to be built, then takes a SHARE lock on
// dataplane.follow, which waits for every writing transaction (and its
// commit apply, done before the lock is released) and keeps new ones out
// while it compares. Sets the index does not serve (dropped under memory
// pressure: reads of them go to the tables) are skipped, with a NOTICE.
#include "build.hpp"
#include "entry.hpp"
#include "capture.hpp"
#include "tables.hpp"
#include "graph_read.hpp"
#include "index_host.hpp"
#include "owner.hpp"
#include "shmem.hpp"
#include "spi_stream.hpp"
#include "verify.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

}

namespace dpg {

void report(Report *r, const char *problem, uint32 uid, uint32 other, const char *detail) {
    Datum v[4] = {CStringGetTextDatum(problem), Int32GetDatum(int32(uid)),
                  Int32GetDatum(int32(other)), CStringGetTextDatum(detail)};
    bool nulls[4] = {false, false, other == 0, false};
    tuplestore_putvalues(r->store, r->desc, v, nulls);
    r->rows++;
}

namespace {

// Each side's rows as (owner, other), and what its differences are called.
// Rows with a uid <= 0 cannot be in the index (verify_uids reports them),
// nor list ids outside [1, 2^31) (reads of lists then use the tables); the
// rest compare in uid order, which is uint32 order here.
struct SideRows {
    dp::Side side;
    const char *what;
    const char *sql;
};
const SideRows kSideRows[] = {
    {dp::kOut, "following",
     "SELECT follower, followee FROM dataplane.follow "
     "WHERE follower > 0 AND followee > 0 ORDER BY 1, 2"},
    {dp::kIn, "followers",
     "SELECT followee, follower FROM dataplane.follow "
     "WHERE follower > 0 AND followee > 0 ORDER BY 1, 2"},
    {dp::kBlock, "blocks",
     "SELECT blocker, blocked FROM dataplane.block WHERE blocker > 0 AND blocked > 0 ORDER BY 1, 2"},
    {dp::kMute, "mutes",
     "SELECT muter, muted FROM dataplane.mute WHERE muter > 0 AND muted > 0 ORDER BY 1, 2"},
    {dp::kListBlock, "list blocks",
     "SELECT actor, list_id::int4 FROM dataplane.list_block "
     "WHERE actor > 0 AND list_id > 0 AND list_id < 2147483648 ORDER BY 1, 2"},
    {dp::kListMute, "list mutes",
     "SELECT actor, list_id::int4 FROM dataplane.list_mute "
     "WHERE actor > 0 AND list_id > 0 AND list_id < 2147483648 ORDER BY 1, 2"},
    {dp::kMembers, "list members",
     "SELECT list_id::int4, subject FROM dataplane.list_item "
     "WHERE subject > 0 AND list_id > 0 AND list_id < 2147483648 ORDER BY 1, 2"},
    {dp::kInactive, "inactive", "SELECT uid, 1 FROM dataplane.actor WHERE NOT active ORDER BY 1"},
    {dp::kBlockers, "blockers",
     "SELECT blocked, blocker FROM dataplane.block WHERE blocker > 0 AND blocked > 0 ORDER BY 1, 2"},
    {dp::kMemberOf, "lists a member is on",
     "SELECT subject, list_id::int4 FROM dataplane.list_item "
     "WHERE subject > 0 AND list_id > 0 AND list_id < 2147483648 ORDER BY 1, 2"},
    {dp::kInactives, "inactive accounts",
     "SELECT 1, uid FROM dataplane.actor WHERE NOT active AND uid > 0 ORDER BY 2"},
    {dp::kListBlockers, "list blockers",
     "SELECT list_id::int4, actor FROM dataplane.list_block "
     "WHERE actor > 0 AND list_id > 0 AND list_id < 2147483648 ORDER BY 1, 2"},
};

// Streams (owner, other) rows of one side in owner, other order.
class RowStream : public SpiStream {
  public:
    void open(const SideRows &s) { SpiStream::open(s.sql, true); }
    uint32 owner() const { return uid(1); }
    uint32 other() const { return uid(2); }
};
DP_PG_FRAME(RowStream);

// The next uid >= from with a non-empty set on side (a hint: read unlocked;
// no writer runs while verify holds its lock).
uint32 next_indexed(const dp::SideSets &sets, uint32 from) {
    uint32 end = sets.end();
    for (uint32 uid = Max(from, 1u); uid < end; uid++) {
        dp::SetRef *ref = sets.find(uid);
        if (ref == nullptr) {
            if (!sets.lost(uid))
                uid = (((uid >> dp::kLeafBits) + 1) << dp::kLeafBits) - 1;
            continue;
        }
        if (!ref->empty())
            return uid;
    }
    return UINT32_MAX;
}

// Compares one user's set with its rows; advances the stream past them.
void compare_user(Report *r, const SideRows &sr, uint32 uid, RowStream *rows) {
    const char *what = sr.what;
    dp::Side side = sr.side;
    uint32 s = dp::stripe_of(uid);
    LWLockAcquire(stripe_lock(s), LW_SHARED);
    const dp::IndexEnv &env = index_env();
    dp::GraphReader reader(L.arena, *env.dir, local_views, env.mod_dir, env.list_dir);
    uint64 size = 0;
    uint32 *set = nullptr;
    size_t n = 0;
    bool known = reader.size(uid, side, &size) == dp::Read::kOk;
    if (known) {
        set = static_cast<uint32 *>(palloc(sizeof(uint32) * (size + 1)));
        known = reader.list(uid, side, 0, size, set, &n) == dp::Read::kOk;
    }
    LWLockRelease(stripe_lock(s));
    if (!known) {
        r->skipped++;
        rows->skip_uid(1, uid);
        return;
    }
    size_t k = 0;
    while (rows->valid() && rows->owner() == uid) {
        uint32 x = rows->other();
        while (k < n && set[k] < x)
            report(r, "extra", uid, set[k++], what);
        if (k < n && set[k] == x)
            k++;
        else
            report(r, "missing", uid, x, what);
        rows->next();
    }
    while (k < n)
        report(r, "extra", uid, set[k++], what);
    if (set != nullptr)
        pfree(set);
}

// Rows the index cannot hold: a uid <= 0 (only possible where the CHECK
// constraints were bypassed or predate them).
void verify_uids(Report *r) {
    const char *sql =
        "SELECT 'dataplane.follow', count(*) FROM dataplane.follow "
        "  WHERE follower <= 0 OR followee <= 0 "
        "UNION ALL SELECT 'dataplane.post', count(*) FROM dataplane.post WHERE author <= 0 "
        "UNION ALL SELECT 'dataplane.repost', count(*) FROM dataplane.repost WHERE reposter <= 0";
    if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
        elog(ERROR, "dataplane: verify could not count invalid uids");
    for (uint64 i = 0; i < SPI_processed; i++) {
        bool isnull;
        int64 n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2,
                                              &isnull));
        if (n > 0)
            report(r, "invalid uid", 0, 0,
                   psprintf("%lld rows of %s have a uid <= 0, which the index cannot hold",
                            (long long) n,
                            SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
    }
}

void verify_side(Report *r, const SideRows &sr) {
    dp::SideSets sets = dp::side_sets(index_env(), sr.side);
    RowStream rows;
    rows.open(sr);
    uint32 uid = next_indexed(sets, 1);
    for (;;) {
        uint32 next_row = rows.valid() ? rows.owner() : UINT32_MAX;
        uint32 cur = Min(uid, next_row);
        if (cur == UINT32_MAX)
            break;
        compare_user(r, sr, cur, &rows);
        if (uid == cur)
            uid = next_indexed(sets, cur + 1);
        CHECK_FOR_INTERRUPTS();
    }
    rows.close();
}

}  // namespace

}  // namespace dpg

using namespace dpg;

DP_FUNCTION(dataplane_verify) {
    InitMaterializedSRF(fcinfo, 0);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    // Before anything waits or locks: the tables' share locks stop writers.
    check_admin("verify");
    check_index_usable("verify");
    Oid gen = current_generation();
    if (!build_and_wait(gen, false))
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the dataplane index could not be built"),
                        errhint("See dataplane.status() and the server log.")));
    // Writers to any of the tables are waited out and kept out (their
    // commit apply ends before they release their locks).
    bool moderation = moderation_schema();
    int n_tables = moderation ? kNumCaptureTables : kFirstModerationTable;
    for (int t = 0; t < n_tables; t++)
        LockRelationOid(RangeVarGetRelid(makeRangeVar(pstrdup("dataplane"),
                                                      pstrdup(kCaptureTableNames[t]), -1),
                                         ShareLock, false),
                        ShareLock);
    Report r{rsinfo->setResult, rsinfo->setDesc, 0, 0};
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    // Compare with what is committed now that the lock has waited out every
    // writer: a snapshot taken after the wait, whatever the isolation level.
    PushActiveSnapshot(GetLatestSnapshot());
    run_as_tables_owner([&]() noexcept {
        verify_uids(&r);
        for (const SideRows &sr : kSideRows)
            if (sr.side <= dp::kIn || moderation)
                verify_side(&r, sr);
        verify_rings(&r);
    });
    PopActiveSnapshot();
    SPI_finish();
    if (r.skipped > 0)
        ereport(NOTICE, (errmsg("dataplane.verify skipped %lld sets or rings that the index does "
                                "not hold (memory limit); reads of them use the tables",
                                (long long) r.skipped)));
    return Datum(0);
}
