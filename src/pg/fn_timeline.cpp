// The timeline SQL functions: get_timeline and get_author_feed.
//
// Each answers from the index when read_gate() allows and the rings hold
// the page exactly; otherwise with the reference query over the tables
// (fallback_timeline.cpp). A viewer's first read builds their feed ring.
//
// A read copies from several stripes one lock at a time; a commit applied
// in between could show half. So a read that any commit's apply overlapped
// (the applies_started / applies_finished counters) is retried, and after
// a few tries answered from the tables.
#include "evict.hpp"
#include "entry.hpp"
#include "srf.hpp"
#include "deepen_rings.hpp"
#include "fallback.hpp"
#include "feed_build.hpp"
#include "gate.hpp"
#include "index_host.hpp"
#include "direct_rows.hpp"
#include "pressure.hpp"
#include "tables.hpp"
#include "timeline_read.hpp"

extern "C" {
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

}

namespace dpg {

namespace {

// Static storage: these hold C++ containers, and frames below may ereport.
dp::TimelineReader reader;
dp::FeedBuildScratch build_scratch;
std::vector<dp::AuthorItem> page;

enum class Outcome { kIndex, kPartial, kHorizon, kUnknown, kBusy };

// The filter of the page whose rest sql_page_rest reads, for keep_rest_rows.
const dp::TimelineFilter *rest_filter = nullptr;

bool keep_rest_rows(dp::AuthorItem *rows, size_t *n) {
    return reader.filter_rest(index_env(), *rest_filter, rows, n) == dp::ReadResult::kOk;
}

// Builds uid's feed ring under every stripe lock. A viewer admitted under
// pressure (may_evict) may cost others their rings; a build that only
// found room below the low mark gives up when the room was not there.
dp::FeedBuild build_ring(uint32 uid, bool may_evict) {
    if (may_evict)
        evict_if_needed();
    const dp::IndexEnv &env = index_env();
    lock_everything_for(dp::stripe_of(uid));
    dp::FeedBuild b = dp::build_feed(env, uid, &build_scratch);
    unlock_everything();
    if (b == dp::FeedBuild::kNoMem) {
        note_memory_full();
        if (may_evict) {
            // Make room (a few rings' worth) and try once more.
            evict_bytes(dsa_rounded_size(dp::FeedRing::bytes(dp::feed_first_depth(env.feed_cap))) *
                        4);
            lock_everything_for(dp::stripe_of(uid));
            b = dp::build_feed(env, uid, &build_scratch);
            unlock_everything();
        }
    }
    pg_atomic_fetch_add_u64(&L.sh->tl.feed_builds, 1);
    return b;
}

// A viewer paged below their feed ring: the ring is built again twice as
// deep (regrow_feed), if memory has room for it without evicting anyone.
// False if it was not (no room, nothing deeper, a source not held).
bool regrow_ring(uint32 uid) {
    const dp::IndexEnv &env = index_env();
    lock_everything_for(dp::stripe_of(uid));
    dp::FeedBuild b = dp::FeedBuild::kNone;
    dp::DirEntry *e = env.dir->find(uid);
    if (e != nullptr && dp::held(e->feed)) {
        uint32 depth = dp::feed_regrow_depth(env.arena->at<dp::RingHdr>(e->feed), env.feed_cap);
        if (depth != 0 && memory_has_room(dsa_rounded_size(dp::FeedRing::bytes(depth))))
            b = dp::regrow_feed(env, uid, &build_scratch);
    }
    unlock_everything();
    if (b == dp::FeedBuild::kNoMem)
        note_memory_full();
    if (b != dp::FeedBuild::kBuilt)
        return false;
    pg_atomic_fetch_add_u64(&L.sh->tl.feed_builds, 1);
    return true;
}

// A timeline page: from the viewer's feed ring; without one, a ring is
// built if memory has room or admission lets it in (pressure.hpp), else the
// page is merged from the author rings (kFanIn), as it is when it reaches
// below the ring's own horizon. A page (or an author feed's) that reaches
// below what the author rings hold (ring_max_age, author_capacity) is
// kPartial: its first items
// are in `page`, and the rest is read from the tables below *cut (the
// applies counted *started when the index was read).
Outcome read_index(bool author_feed, uint32 uid, dp::ItemKey before, size_t lim,
                   const dp::TimelineFilter &filter, dp::ItemKey *cut, uint64 *started_out) {
    const dp::IndexEnv &env = index_env();
    if (!author_feed)
        pressure_note_read(uid);
    dp::FeedSource source = dp::FeedSource::kRing;
    bool denied = false, deeper = false;
    for (int attempt = 0; attempt < 4; attempt++) {
        uint64 started;
        if (!quiet_index(&started))
            continue;
        dp::ReadResult r = author_feed
                               ? reader.author_feed(env, uid, before, lim, filter, &page)
                               : reader.timeline(env, uid, before, lim, filter, &page, source);
        if (r == dp::ReadResult::kNoRing) {
            bool room = false;
            if (pressure_admit_ring(uid, &room)) {
                dp::FeedBuild b = build_ring(uid, !room);
                if (b == dp::FeedBuild::kBuilt || b == dp::FeedBuild::kNone)
                    continue;  // read it from the ring
            } else {
                denied = true;
            }
            source = dp::FeedSource::kFanIn;
            continue;
        }
        if (applied_since(started))
            continue;  // a commit was applied meanwhile: read again
        if (r == dp::ReadResult::kHorizon && source == dp::FeedSource::kRing &&
            reader.feed_horizon_hit()) {
            // Deeper than the ring: the page is merged from the author
            // rings, which may go deeper. If they hold it, this viewer
            // reads deep pages: the ring is built again deeper (once, if
            // memory has room; else it may grow with new items), so that
            // the next ones come from it. If they do not (the author rings
            // end above the page too), a deeper ring would end there as
            // well, and is not built.
            deeper = true;
            source = dp::FeedSource::kFanIn;
            continue;
        }
        if (deeper && r == dp::ReadResult::kOk && !author_feed) {
            // `page` is static: the rebuild leaves it alone.
            if (!regrow_ring(uid))
                reader.deepen(env, uid);
        }
        if (!author_feed)
            reader.touch_aged(env);  // the deep author rings it read stay
        switch (r) {
            case dp::ReadResult::kOk:
                if (source == dp::FeedSource::kFanIn && L.counters != nullptr) {
                    L.counters->pages_ringless++;
                    L.counters->rings_denied += denied;
                }
                return Outcome::kIndex;
            case dp::ReadResult::kHorizon:
                if (reader.prefix_exact()) {
                    *cut = reader.tables_cut();
                    *started_out = started;
                    return Outcome::kPartial;
                }
                return Outcome::kHorizon;
            default: return Outcome::kUnknown;
        }
    }
    return Outcome::kBusy;
}

void emit(Tuplestorestate *store, TupleDesc desc) {
    PageRows out(store, desc);
    for (const dp::AuthorItem &it : page)
        out.put(it);
}

// A text argument that must be one of `names` (22023 otherwise); its index.
int one_of(FunctionCallInfo fcinfo, int arg, const char *what, const char *const *names, int n) {
    char *v = text_to_cstring(PG_GETARG_TEXT_PP(arg));
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    StringInfoData all;
    initStringInfo(&all);
    for (int i = 0; i < n; i++)
        appendStringInfo(&all, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid %s \"%s\"", what, v),
                    errhint("%s must be %s (or NULL).", what, all.data)));
    return -1;
}

// The filter arguments of the 0.2.0 declarations (PG_NARGS() > 4): the
// timeline's replies, reposts, quotes; the author feed's filter, viewer.
// NULLs act as the reference query makes them act.
void filter_args(FunctionCallInfo fcinfo, bool author_feed, PageArgs *a, dp::TimelineFilter *f) {
    a->filtered = moderation_schema();
    for (int i = 0; i < 3; i++) {
        int arg = 4 + i;
        a->extra_null[i] = arg >= PG_NARGS() || PG_ARGISNULL(arg);
        a->extra[i] = a->extra_null[i] ? Datum(0) : PG_GETARG_DATUM(arg);
    }
    if (!a->filtered)
        return;  // a 0.1.0 schema: no moderation, no filters
    if (!author_feed) {
        static const char *const kReplies[] = {"all", "followed", "none"};
        static const dp::Replies kModes[] = {dp::Replies::kAll, dp::Replies::kFollowed,
                                             dp::Replies::kNone};
        f->moderate = true;
        f->viewer = a->uid > 0 ? uint32(a->uid) : 0;
        f->replies = a->extra_null[0] ? dp::Replies::kNone
                                      : kModes[one_of(fcinfo, 4, "replies", kReplies, 3)];
        // NULL switches keep none of their items, as in the reference query.
        f->reposts = !a->extra_null[1] && DatumGetBool(a->extra[1]);
        f->quotes = !a->extra_null[2] && DatumGetBool(a->extra[2]);
        return;
    }
    static const char *const kFilters[] = {"posts_with_replies", "posts_no_replies",
                                           "posts_with_media", "posts_with_video",
                                           "posts_and_author_threads"};
    if (!a->extra_null[0])
        f->author = dp::AuthorFilter(one_of(fcinfo, 4, "filter", kFilters, 5));
    if (!a->extra_null[1]) {
        int32 v = DatumGetInt32(a->extra[1]);
        f->moderate = true;
        f->viewer = v > 0 ? uint32(v) : 0;
    }
    a->extra_null[2] = true;  // the author feed has two
}

Datum page_srf(FunctionCallInfo fcinfo, bool author_feed) {
    init_materialized_srf(fcinfo);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    if (PG_ARGISNULL(0))
        return Datum(0);  // no viewer: no rows, as the reference query
    PageArgs a{};
    a.uid = PG_GETARG_INT32(0);
    a.unlimited = PG_ARGISNULL(1);
    a.lim = a.unlimited ? 0 : PG_GETARG_INT32(1);
    a.has_ts = !PG_ARGISNULL(2);
    a.before_ts = a.has_ts ? PG_GETARG_TIMESTAMPTZ(2) : 0;
    a.has_id = !PG_ARGISNULL(3);
    a.before_id = a.has_id ? PG_GETARG_INT64(3) : 0;
    dp::TimelineFilter filter;
    filter_args(fcinfo, author_feed, &a, &filter);
    if (!a.unlimited)
        check_lim(a.lim, true);
    if ((!a.unlimited && a.lim == 0) || a.uid <= 0)
        return Datum(0);  // no actor has such a uid: an empty page
    // The cursor as the reference query compares it: (sort_at, item_id) <
    // (before_ts, before_id). Without before_id the comparison is NULL
    // where sort_at = before_ts, so only older items qualify.
    dp::ItemKey before = !a.has_ts ? dp::kMaxKey
                                   : dp::ItemKey{a.before_ts, a.has_id ? a.before_id : INT64_MIN};
    // Lists the index cannot hold (moderation_read.hpp) leave moderated
    // reads to the tables.
    bool lists_ok =
        !filter.moderate || (L.sh != nullptr && pg_atomic_read_u32(&L.sh->odd_lists) == 0);
    Fallback why = kFbHorizon;  // unlimited: every item there is, beyond what rings hold
    if (!a.unlimited && read_gate(&why)) {
        dp::ItemKey cut = dp::kMinKey;
        uint64 started = 0;
        Outcome o = lists_ok ? read_index(author_feed, uint32(a.uid), before, size_t(a.lim), filter,
                                          &cut, &started)
                             : Outcome::kUnknown;
        if (o == Outcome::kIndex) {
            count_index_read();
            count_page(true);
            emit(rsinfo->setResult, rsinfo->setDesc);
            return Datum(0);
        }
        if (o == Outcome::kPartial) {
            // The first items from the author rings, the rest from the
            // tables (counted as a page that reached below a horizon).
            emit(rsinfo->setResult, rsinfo->setDesc);
            int32 rest = a.lim - int32(page.size());
            const std::vector<dp::AuthorItem> &mem = reader.rest_from_rings();
            const std::vector<uint32> &srcs = reader.rest_from_tables();
            rest_filter = &filter;
            RestCover cover;
            if (sql_page_rest(RestCut{cut.ts, cut.id, cut.rank}, rest, started, mem.data(),
                              mem.size(), srcs.data(), srcs.size(), keep_rest_rows,
                              rsinfo->setResult, rsinfo->setDesc, &cover)) {
                // What the tables gave the page, the sources' rings take:
                // the page, read again, comes from memory.
                deepen_rings(started, srcs.data(), reader.rest_horizons().data(), srcs.size(),
                             cut, cover);
                count_fallback(kFbHorizon);
                count_page(false, kFbHorizon);
                return Datum(0);
            }
            tuplestore_clear(rsinfo->setResult);  // not one state: all from the tables
            o = Outcome::kBusy;
        }
        why = o == Outcome::kHorizon ? kFbHorizon : o == Outcome::kBusy ? kFbInFlight : kFbUnknown;
    }
    count_fallback(why);
    count_page(false, why);
    sql_page(author_feed, a, rsinfo->setResult, rsinfo->setDesc);
    return Datum(0);
}

}  // namespace

}  // namespace dpg

using namespace dpg;

DP_FUNCTION(dataplane_get_timeline) { return page_srf(fcinfo, false); }

DP_FUNCTION(dataplane_get_author_feed) { return page_srf(fcinfo, true); }
