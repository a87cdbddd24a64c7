#include "pressure.hpp"

#include "evict.hpp"
#include "guc.hpp"
#include "index_host.hpp"
#include "ring_ops.hpp"
#include "shmem.hpp"

extern "C" {
#include "utils/builtins.h"
#include "miscadmin.h"
#include "utils/timestamp.h"
}

namespace dpg {

namespace {

PressureShared *P() { return &L.sh->pressure; }

// Reads of this backend since it last looked at the clock.
uint32 reads_since_tick = 0;
constexpr uint32 kReadsPerTick = 64;

struct Sums {
    uint64 builds, evictions, pages, ringless, denied;
};

Sums sums() {
    DpShared *sh = L.sh;
    Sums s{pg_atomic_read_u64(&sh->tl.feed_builds), pg_atomic_read_u64(&sh->tl.evictions), 0, 0,
           0};
    const ReadCounters *rc = read_counters(sh);
    for (int b = 0; b < MaxBackends; b++) {
        const volatile ReadCounters *c = &rc[b];
        s.pages += c->pages_index;
        for (int i = 0; i < kFbCount; i++)
            s.pages += c->pages_sql[i];
        s.ringless += c->pages_ringless;
        s.denied += c->rings_denied;
    }
    return s;
}

// Bytes the feed rings hold now, and how many there are (a census under
// each stripe lock in turn).
void feed_census(uint64 *bytes, uint64 *rings) {
    const dp::IndexEnv &env = index_env();
    dp::RingCensus c;
    for (uint32 s = 0; s < dp::kStripes; s++) {
        LWLockAcquire(stripe_lock(s), LW_SHARED);
        dp::census_stripe(*env.arena, *env.dir, s, &c, dsa_rounded_size);
        LWLockRelease(stripe_lock(s));
    }
    *bytes = c.feed_bytes;
    *rings = c.feed_rings;
}

// The memory_limit that would hold everything but the feed rings as now,
// and a ring for each of `viewers`: eviction keeps use under 90 % of the
// limit (evict.cpp), so a fifth more.
int64 memory_needed(double viewers) {
    uint64 feed_bytes, feed_rings;
    feed_census(&feed_bytes, &feed_rings);
    uint64 used = pg_atomic_read_u64(&L.sh->bytes_used);
    uint64 other = used > feed_bytes ? used - feed_bytes : 0;
    const dp::IndexEnv &env = index_env();
    double per_ring =
        feed_rings > 0
            ? double(feed_bytes) / double(feed_rings)
            : double(dsa_rounded_size(dp::FeedRing::bytes(dp::feed_first_depth(env.feed_cap))));
    return int64((double(other) + viewers * per_ring) * 1.25);
}

void roll(TimestampTz now) {
    PressureShared *p = P();
    Sums s = sums();
    uint64 w = pg_atomic_read_u64(&p->window);
    if (p->window_start != 0) {
        double secs = double(now - p->window_start) / 1e6;
        uint64 pages = s.pages - p->at_start_pages;
        uint64 ringless = s.ringless - p->at_start_ringless;
        uint64 denied = s.denied - p->at_start_denied;
        uint64 builds = s.builds - p->at_start_builds;
        uint64 evictions = s.evictions - p->at_start_evictions;
        p->last_seconds = secs;
        p->builds_per_s = double(builds) / secs;
        p->evictions_per_s = double(evictions) / secs;
        p->ringless_share = pages > 0 ? double(ringless) / double(pages) : 0;
        p->last_pages = pages;
        p->last_ringless = ringless;
        p->last_denied = denied;
        dp::Distinct d(&p->viewers[w % 2]);
        p->viewers_estimate = d.estimate();
        // Short of memory: a twentieth of the pages found no ring for lack
        // of room, or cost a ring someone else had.
        bool short_of_memory = pages >= 100 && (denied + evictions) * 20 >= pages;
        p->memory_needed = short_of_memory ? memory_needed(p->viewers_estimate) : 0;
        if (short_of_memory && (p->last_hint == 0 ||
                                now - p->last_hint >= int64(10) * guc_pressure_window_s * USECS_PER_SEC)) {
            p->last_hint = now;
            int64 need_mb = (p->memory_needed + (1 << 20) - 1) >> 20;
            ereport(LOG,
                    (errmsg("dataplane: memory_limit is short of the timelines being read: in "
                            "the last %.0f s, %llu of %llu pages were read without a feed ring, "
                            "%llu rings were built and %llu evicted",
                            secs, (unsigned long long) ringless, (unsigned long long) pages,
                            (unsigned long long) builds, (unsigned long long) evictions),
                     errdetail("About %.0f viewers read; their feed rings, the graph and the "
                               "author rings need about %lld MB (dataplane.memory_limit is %lld MB).",
                               p->viewers_estimate, (long long) need_mb,
                               (long long) (L.sh->dsa_size >> 20)),
                     errhint("Set dataplane.memory_limit = '%lldMB' and restart; until then pages "
                             "are merged from the author rings, exactly, and more slowly.",
                             (long long) need_mb)));
        }
    }
    p->at_start_builds = s.builds;
    p->at_start_evictions = s.evictions;
    p->at_start_pages = s.pages;
    p->at_start_ringless = s.ringless;
    p->at_start_denied = s.denied;
    p->window_start = now;
    dp::Distinct(&p->viewers[(w + 1) % 2]).clear();
    pg_atomic_write_u64(&p->window, w + 1);
}

}  // namespace

void pressure_init(PressureShared *p) {
    dp::FreqSketch::init(&p->sketch);
    pg_atomic_init_u64(&p->newest_item, 0);
    pg_atomic_init_u32(&p->rolling, 0);
    pg_atomic_init_u64(&p->window, 0);
}

void pressure_tick() {
    if (L.sh == nullptr)
        return;
    PressureShared *p = P();
    TimestampTz now = GetCurrentTimestamp();
    if (p->window_start != 0 && now - p->window_start < int64(guc_pressure_window_s) * USECS_PER_SEC)
        return;
    uint32 expected = 0;
    if (!pg_atomic_compare_exchange_u32(&p->rolling, &expected, 1))
        return;  // another process rolls it
    PG_TRY();
    {
        if (p->window_start == 0 ||
            now - p->window_start >= int64(guc_pressure_window_s) * USECS_PER_SEC)
            roll(now);
    }
    PG_FINALLY();
    {
        pg_atomic_write_u32(&p->rolling, 0);
    }
    PG_END_TRY();
}

void pressure_note_read(uint32 uid) {
    PressureShared *p = P();
    dp::FreqSketch(&p->sketch).touch(uid);
    dp::Distinct(&p->viewers[pg_atomic_read_u64(&p->window) % 2]).add(uid);
    if (++reads_since_tick >= kReadsPerTick) {
        reads_since_tick = 0;
        pressure_tick();
    }
}

bool pressure_admit_ring(uint32 uid, bool *room) {
    const dp::IndexEnv &env = index_env();
    uint64 cost = dsa_rounded_size(dp::FeedRing::bytes(dp::feed_first_depth(env.feed_cap)));
    *room = memory_has_room(cost);
    return *room || dp::FreqSketch(&P()->sketch).admit(uid);
}

void pressure_note_victims(uint64 freq_sum, uint64 rings) {
    dp::FreqSketch(&P()->sketch).note_victims(freq_sum, rings);
}

}  // namespace dpg

namespace dpg {

void note_newest_item(int64 ts) {
    if (L.sh == nullptr)
        return;
    TimestampTz now = GetCurrentTimestamp();
    if (ts > now)
        ts = now;  // a created_at in the future does not move the clock
    pg_atomic_uint64 *a = &P()->newest_item;
    uint64 cur = pg_atomic_read_u64(a);
    while ((cur == 0 || int64(cur) < ts) && ts != 0 &&
           !pg_atomic_compare_exchange_u64(a, &cur, uint64(ts))) {
    }
}

dp::ItemKey ring_floor() {
    if (L.sh == nullptr || guc_ring_max_age_s <= 0)
        return dp::kMinKey;
    uint64 newest = pg_atomic_read_u64(&P()->newest_item);
    if (newest == 0)
        return dp::kMinKey;
    return dp::age_floor(int64(newest) - int64(guc_ring_max_age_s) * USECS_PER_SEC);
}

void trim_all_rings() {
    const dp::IndexEnv &env = index_env();
    if (env.ring_bound.none())
        return;
    for (uint32 s = 0; s < dp::kStripes; s++) {
        LWLockAcquire(stripe_lock(s), LW_EXCLUSIVE);
        dp::trim_stripe(*env.arena, *env.dir, s, env.ring_bound);
        LWLockRelease(stripe_lock(s));
        CHECK_FOR_INTERRUPTS();
    }
}

}  // namespace dpg
