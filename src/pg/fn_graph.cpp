// The follow-graph SQL functions: follows, follower_count, following_count,
// followers, following, social_proof, social_proof_count.
//
// Each answers from the index when read_gate() allows and the users' sets
// are held exactly; otherwise from the tables (fallback.cpp). Answers are
// the same either way. uids that cannot exist (<= 0) answer false, 0 or no
// rows without touching anything.
#include "fallback.hpp"
#include "entry.hpp"
#include "gate.hpp"
#include "graph_read.hpp"

extern "C" {
#include "funcapi.h"

}

namespace dpg {

namespace {

// Shared locks on the stripes of up to two uids, in stripe order. Holds them
// only if every stripe is ready (a build resets stripes under these locks).
class StripeReadLocks {
  public:
    bool acquire(uint32 a, uint32 b) {
        s1_ = dp::stripe_of(a);
        s2_ = dp::stripe_of(b);
        if (s1_ > s2_)
            std::swap(s1_, s2_);
        LWLockAcquire(stripe_lock(s1_), LW_SHARED);
        if (s2_ != s1_)
            LWLockAcquire(stripe_lock(s2_), LW_SHARED);
        held_ = true;
        if (L.sh->stripes[s1_].mode == dp::kModeReady && L.sh->stripes[s2_].mode == dp::kModeReady)
            return true;
        release();
        return false;
    }
    bool acquire(uint32 a) { return acquire(a, a); }
    void release() {
        if (!held_)
            return;
        if (s2_ != s1_)
            LWLockRelease(stripe_lock(s2_));
        LWLockRelease(stripe_lock(s1_));
        held_ = false;
    }

  private:
    uint32 s1_ = 0, s2_ = 0;
    bool held_ = false;
};

DP_PG_FRAME(StripeReadLocks);
DP_PG_FRAME(dp::Directory);
DP_PG_FRAME(dp::GraphReader);

// Answers a read from the index when read_gate() allows and the sets it
// needs (those of uids a and b, in their stripes) are held; otherwise from
// the tables. index(reader, &out) reads under the stripe locks and returns
// dp::Read::kOk when it could answer; sql() asks the tables.
template <typename T, typename Index, typename Sql>
T index_or_sql(uint32 a, uint32 b, Index index, Sql sql) {
    Fallback why;
    if (read_gate(&why)) {
        StripeReadLocks locks;
        if (locks.acquire(a, b)) {
            dp::Directory dir = directory();
            dp::GraphReader reader(L.arena, dir, local_views);
            T out{};
            dp::Read r = index(reader, &out);
            locks.release();
            if (r == dp::Read::kOk) {
                count_index_read();
                return out;
            }
            why = kFbUnknown;
        } else {
            why = kFbWarming;
        }
    }
    count_fallback(why);
    return sql();
}

// A list of at most lim uids, allocated for the size the index reports.
// (palloc under a stripe lock: it fails only by raising an error, and the
// abort releases LWLocks.)
UidArray alloc_list(uint64 size, int32 lim) {
    size_t cap = Min(uint64(lim), size);
    return UidArray{static_cast<uint32 *>(palloc(sizeof(uint32) * (cap + 1))), 0};
}

// The set of owner on side as a list: uids > after, at most lim.
UidArray index_or_sql_list(uint32 owner, dp::Side side, int32 lim, int32 after) {
    uint32 from = after < 0 ? 0 : uint32(after);
    return index_or_sql<UidArray>(
        owner, owner,
        [&](dp::GraphReader &rd, UidArray *out) {
            uint64 size = 0;
            dp::Read r = rd.size(owner, side, &size);
            if (r != dp::Read::kOk)
                return r;
            *out = alloc_list(size, lim);
            return rd.list(owner, side, from, Min(uint64(lim), size), out->v, &out->n);
        },
        [&] {
            return side == dp::kIn ? sql_followers(int32(owner), lim, after)
                                   : sql_following(int32(owner), lim, after);
        });
}

int64 index_or_sql_count(uint32 owner, dp::Side side) {
    return index_or_sql<int64>(
        owner, owner,
        [&](dp::GraphReader &rd, int64 *out) {
            uint64 size;
            dp::Read r = rd.size(owner, side, &size);
            *out = int64(size);
            return r;
        },
        [&] {
            return side == dp::kIn ? sql_follower_count(int32(owner))
                                   : sql_following_count(int32(owner));
        });
}

// Returns the next uid of a list computed on the first call.
Datum srf_uids(FunctionCallInfo fcinfo, UidArray (*compute)(FunctionCallInfo)) {
    FuncCallContext *fc;
    if (SRF_IS_FIRSTCALL()) {
        fc = SRF_FIRSTCALL_INIT();
        MemoryContext old = MemoryContextSwitchTo(fc->multi_call_memory_ctx);
        auto *list = static_cast<UidArray *>(palloc(sizeof(UidArray)));
        *list = compute(fcinfo);
        fc->user_fctx = list;
        MemoryContextSwitchTo(old);
    }
    fc = SRF_PERCALL_SETUP();
    auto *list = static_cast<UidArray *>(fc->user_fctx);
    if (fc->call_cntr < list->n) {
        // SRF_RETURN_NEXT bumps call_cntr before it evaluates its result.
        Datum d = Int32GetDatum(int32(list->v[fc->call_cntr]));
        SRF_RETURN_NEXT(fc, d);
    }
    SRF_RETURN_DONE(fc);
}

UidArray compute_list(FunctionCallInfo fcinfo, dp::Side side) {
    int32 u = PG_GETARG_INT32(0), lim = PG_GETARG_INT32(1), after = PG_GETARG_INT32(2);
    check_lim(lim, false);
    if (u <= 0 || lim == 0)
        return UidArray{nullptr, 0};
    return index_or_sql_list(uint32(u), side, lim, after);
}

UidArray compute_followers(FunctionCallInfo fcinfo) { return compute_list(fcinfo, dp::kIn); }
UidArray compute_following(FunctionCallInfo fcinfo) { return compute_list(fcinfo, dp::kOut); }

UidArray compute_proof(FunctionCallInfo fcinfo) {
    int32 viewer = PG_GETARG_INT32(0), target = PG_GETARG_INT32(1), lim = PG_GETARG_INT32(2);
    check_lim(lim, false);
    if (viewer <= 0 || target <= 0 || lim == 0)
        return UidArray{nullptr, 0};
    uint32 v = uint32(viewer), t = uint32(target);
    return index_or_sql<UidArray>(
        v, t,
        [&](dp::GraphReader &rd, UidArray *out) {
            uint64 size = 0;
            dp::Read r = rd.size(v, dp::kOut, &size);
            if (r != dp::Read::kOk)
                return r;
            *out = alloc_list(size, lim);
            return rd.proof_list(v, t, Min(uint64(lim), size), out->v, &out->n);
        },
        [&] { return sql_proof(viewer, target, lim); });
}

}  // namespace

}  // namespace dpg

using namespace dpg;

DP_FUNCTION(dataplane_follows) {
    int32 a = PG_GETARG_INT32(0), b = PG_GETARG_INT32(1);
    if (a <= 0 || b <= 0)
        PG_RETURN_BOOL(false);
    PG_RETURN_BOOL(index_or_sql<bool>(
        uint32(a), uint32(a),
        [&](dp::GraphReader &rd, bool *out) { return rd.contains(uint32(a), dp::kOut, uint32(b), out); },
        [&] { return sql_follows(a, b); }));
}

DP_FUNCTION(dataplane_follower_count) {
    int32 u = PG_GETARG_INT32(0);
    PG_RETURN_INT64(u <= 0 ? 0 : index_or_sql_count(uint32(u), dp::kIn));
}

DP_FUNCTION(dataplane_following_count) {
    int32 u = PG_GETARG_INT32(0);
    PG_RETURN_INT64(u <= 0 ? 0 : index_or_sql_count(uint32(u), dp::kOut));
}

DP_FUNCTION(dataplane_followers) {
    return srf_uids(fcinfo, compute_followers);
}

DP_FUNCTION(dataplane_following) {
    return srf_uids(fcinfo, compute_following);
}

DP_FUNCTION(dataplane_social_proof) {
    return srf_uids(fcinfo, compute_proof);
}

DP_FUNCTION(dataplane_social_proof_count) {
    int32 viewer = PG_GETARG_INT32(0), target = PG_GETARG_INT32(1);
    if (viewer <= 0 || target <= 0)
        PG_RETURN_INT64(0);
    uint32 v = uint32(viewer), t = uint32(target);
    PG_RETURN_INT64(index_or_sql<int64>(
        v, t,
        [&](dp::GraphReader &rd, int64 *out) {
            uint64 n;
            dp::Read r = rd.proof_count(v, t, &n);
            *out = int64(n);
            return r;
        },
        [&] { return sql_proof_count(viewer, target); }));
}
