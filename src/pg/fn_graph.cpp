// The follow-graph SQL functions: follows, follower_count, following_count,
// followers, following, social_proof, social_proof_count.
//
// Each answers from the index when read_gate() allows and the users' sets
// are held exactly; otherwise from the tables (fallback.cpp). Answers are
// the same either way. uids that cannot exist (<= 0) answer false, 0 or no
// rows without touching anything.
#include "fallback.hpp"
#include "gate.hpp"
#include "graph_read.hpp"

extern "C" {
#include "funcapi.h"

DP_SQL_FUNCTION(dataplane_follows);
DP_SQL_FUNCTION(dataplane_follower_count);
DP_SQL_FUNCTION(dataplane_following_count);
DP_SQL_FUNCTION(dataplane_followers);
DP_SQL_FUNCTION(dataplane_following);
DP_SQL_FUNCTION(dataplane_social_proof);
DP_SQL_FUNCTION(dataplane_social_proof_count);
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
        if (L.sh->stripes[s1_].mode == kModeReady && L.sh->stripes[s2_].mode == kModeReady)
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

dp::GraphReader reader(dp::Directory &dir) { return dp::GraphReader(L.arena, dir, local_views); }

void check_lim(int32 lim) {
    if (lim < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("lim must not be negative"),
                        errdetail("lim was %d.", lim),
                        errhint("Pass the number of rows wanted, or 0 for none.")));
}

// The set of owner on side as a list: uids > after, at most lim.
UidArray index_or_sql_list(uint32 owner, dp::Side side, int32 lim, int32 after) {
    uint32 from = after < 0 ? 0 : uint32(after);
    Fallback why;
    if (read_gate(&why)) {
        dp::Directory dir = directory();
        StripeReadLocks locks;
        if (locks.acquire(owner)) {
            uint64 size = 0;
            UidArray out{nullptr, 0};
            if (reader(dir).size(owner, side, &size) == dp::Read::kOk) {
                size_t cap = Min(uint64(lim), size);
                out.v = static_cast<uint32 *>(palloc(sizeof(uint32) * (cap + 1)));
                if (reader(dir).list(owner, side, from, cap, out.v, &out.n) == dp::Read::kOk) {
                    locks.release();
                    count_index_read();
                    return out;
                }
            }
            locks.release();
            why = kFbUnknown;
        } else {
            why = kFbWarming;
        }
    }
    count_fallback(why);
    return side == dp::kIn ? sql_followers(int32(owner), lim, after)
                           : sql_following(int32(owner), lim, after);
}

int64 index_or_sql_count(uint32 owner, dp::Side side) {
    Fallback why;
    if (read_gate(&why)) {
        dp::Directory dir = directory();
        StripeReadLocks locks;
        if (locks.acquire(owner)) {
            uint64 size;
            dp::Read r = reader(dir).size(owner, side, &size);
            locks.release();
            if (r == dp::Read::kOk) {
                count_index_read();
                return int64(size);
            }
            why = kFbUnknown;
        } else {
            why = kFbWarming;
        }
    }
    count_fallback(why);
    return side == dp::kIn ? sql_follower_count(int32(owner)) : sql_following_count(int32(owner));
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
    check_lim(lim);
    if (u <= 0 || lim == 0)
        return UidArray{nullptr, 0};
    return index_or_sql_list(uint32(u), side, lim, after);
}

UidArray compute_followers(FunctionCallInfo fcinfo) { return compute_list(fcinfo, dp::kIn); }
UidArray compute_following(FunctionCallInfo fcinfo) { return compute_list(fcinfo, dp::kOut); }

UidArray compute_proof(FunctionCallInfo fcinfo) {
    int32 viewer = PG_GETARG_INT32(0), target = PG_GETARG_INT32(1), lim = PG_GETARG_INT32(2);
    check_lim(lim);
    if (viewer <= 0 || target <= 0 || lim == 0)
        return UidArray{nullptr, 0};
    Fallback why;
    if (read_gate(&why)) {
        dp::Directory dir = directory();
        StripeReadLocks locks;
        if (locks.acquire(uint32(viewer), uint32(target))) {
            uint64 size = 0;
            if (reader(dir).size(uint32(viewer), dp::kOut, &size) == dp::Read::kOk) {
                size_t cap = Min(uint64(lim), size);
                UidArray out{static_cast<uint32 *>(palloc(sizeof(uint32) * (cap + 1))), 0};
                if (reader(dir).proof_list(uint32(viewer), uint32(target), cap, out.v, &out.n) ==
                    dp::Read::kOk) {
                    locks.release();
                    count_index_read();
                    return out;
                }
            }
            locks.release();
            why = kFbUnknown;
        } else {
            why = kFbWarming;
        }
    }
    count_fallback(why);
    return sql_proof(viewer, target, lim);
}

}  // namespace

}  // namespace dpg

using namespace dpg;

extern "C" Datum dataplane_follows(PG_FUNCTION_ARGS) {
    int32 a = PG_GETARG_INT32(0), b = PG_GETARG_INT32(1);
    if (a <= 0 || b <= 0)
        PG_RETURN_BOOL(false);
    Fallback why;
    if (read_gate(&why)) {
        dp::Directory dir = directory();
        StripeReadLocks locks;
        if (locks.acquire(uint32(a))) {
            bool r;
            dp::Read rc = reader(dir).contains(uint32(a), dp::kOut, uint32(b), &r);
            locks.release();
            if (rc == dp::Read::kOk) {
                count_index_read();
                PG_RETURN_BOOL(r);
            }
            why = kFbUnknown;
        } else {
            why = kFbWarming;
        }
    }
    count_fallback(why);
    PG_RETURN_BOOL(sql_follows(a, b));
}

extern "C" Datum dataplane_follower_count(PG_FUNCTION_ARGS) {
    int32 u = PG_GETARG_INT32(0);
    PG_RETURN_INT64(u <= 0 ? 0 : index_or_sql_count(uint32(u), dp::kIn));
}

extern "C" Datum dataplane_following_count(PG_FUNCTION_ARGS) {
    int32 u = PG_GETARG_INT32(0);
    PG_RETURN_INT64(u <= 0 ? 0 : index_or_sql_count(uint32(u), dp::kOut));
}

extern "C" Datum dataplane_followers(PG_FUNCTION_ARGS) {
    return srf_uids(fcinfo, compute_followers);
}

extern "C" Datum dataplane_following(PG_FUNCTION_ARGS) {
    return srf_uids(fcinfo, compute_following);
}

extern "C" Datum dataplane_social_proof(PG_FUNCTION_ARGS) {
    return srf_uids(fcinfo, compute_proof);
}

extern "C" Datum dataplane_social_proof_count(PG_FUNCTION_ARGS) {
    int32 viewer = PG_GETARG_INT32(0), target = PG_GETARG_INT32(1);
    if (viewer <= 0 || target <= 0)
        PG_RETURN_INT64(0);
    Fallback why;
    if (read_gate(&why)) {
        dp::Directory dir = directory();
        StripeReadLocks locks;
        if (locks.acquire(uint32(viewer), uint32(target))) {
            uint64 n;
            dp::Read rc = reader(dir).proof_count(uint32(viewer), uint32(target), &n);
            locks.release();
            if (rc == dp::Read::kOk) {
                count_index_read();
                PG_RETURN_INT64(int64(n));
            }
            why = kFbUnknown;
        } else {
            why = kFbWarming;
        }
    }
    count_fallback(why);
    PG_RETURN_INT64(sql_proof_count(viewer, target));
}
