// Memory pressure, as ring admission uses it and as the DBA sees it.
//
// Every timeline read counts its viewer (the admission sketch, and the
// distinct viewers of the current window). A viewer without a feed ring
// gets one built only if memory has room for it without evicting, or if
// the sketch admits them (admission.hpp); otherwise the page is merged
// from the author rings (no ring: "pages without a ring").
//
// Once a window (dataplane.pressure_window, default 60 s) the counters are
// turned into rates for status(): ring builds and evictions per second,
// the share of pages answered without a ring, the viewers who read; and
// when the index is short of memory a LOG line says so, with the
// memory_limit that would hold the working set.
#pragma once

#include "pg_prelude.hpp"

#include "admission.hpp"

extern "C" {
#include "datatype/timestamp.h"
#include "port/atomics.h"
}

namespace dpg {

struct PressureShared {
    dp::FreqSketchShared sketch;
    dp::DistinctShared viewers[2];  // by window parity
    pg_atomic_uint32 rolling;       // one process rolls the window at a time
    pg_atomic_uint64 window;        // windows started since server start
    TimestampTz window_start;       // (rolling) of the current window
    // Counter values at the current window's start (rolling).
    uint64 at_start_builds, at_start_evictions, at_start_pages, at_start_ringless,
        at_start_denied;
    // The last complete window, for status() (rolling).
    double last_seconds;
    double builds_per_s, evictions_per_s, ringless_share;
    uint64 last_pages, last_ringless, last_denied;
    double viewers_estimate;
    int64 memory_needed;   // bytes that would hold the window's working set; 0: it fits
    TimestampTz last_hint;
    pg_atomic_uint64 newest_item;   // created_at (int64 bits) of the newest item seen; 0: none
};

// At server start (the shared struct is zeroed already).
void pressure_init(PressureShared *p);

// Counts a timeline read of uid; now and then rolls the window.
void pressure_note_read(uint32 uid);

// Should uid's feed ring be built now? Yes if memory has room (*room), or
// if uid is read more often than the viewers whose rings were evicted
// lately (admission.hpp).
bool pressure_admit_ring(uint32 uid, bool *room);

// Rolls the window if it is over (status() calls it too).
void pressure_tick();

// The eviction sweep freed `rings` rings of viewers whose read frequencies
// sum to `freq_sum`.
void pressure_note_victims(uint64 freq_sum, uint64 rings);

// dataplane.ring_max_age. Ages count back from the newest created_at the
// index has seen (a commit's or a build's items), never later than now:
// on a live network that is now; on a copy or a generated data set of
// another time, the time of its newest item, so that its rings are not
// emptied by the wall clock. The floor below which rings keep nothing
// (kMinKey: no bound).
void note_newest_item(int64 ts);
dp::ItemKey ring_floor();
// Trims every ring to the floor, stripe by stripe (after a build).
void trim_all_rings();

}  // namespace dpg
