// The index's shared memory: one fixed struct in the main segment, set up by
// shmem_request_hook / shmem_startup_hook, plus a DSA area created in place
// right after it, of dataplane.memory_limit bytes, that holds every set.
//
// Locking (see also lww.hpp, commit_apply.hpp and commit.cpp):
//  - A user's two follow sets and two rings are guarded by the LWLock of
//    the stripe uid % kStripes: readers take it shared, the commit apply
//    and the build take it exclusive. Whoever holds several stripe locks
//    takes them in ascending stripe order (readers of two users, backfills,
//    feed-ring builds, which take them all).
//  - The celebrity set is guarded by one more LWLock, always taken last.
//  - DpShared.mutex (a spinlock) guards the build bookkeeping fields marked
//    (m); the state word itself is atomic so that reads test it without a
//    lock.
//  - Per-stripe fields marked (s) are under the stripe lock.
//  - Counters are atomics.
#pragma once

#include "pg_prelude.hpp"

#include "directory.hpp"
#include "host.hpp"
#include "edge_batch.hpp"
#include "item_batch.hpp"
#include "lww.hpp"
#include "pressure.hpp"
#include "roaring_views.hpp"

extern "C" {
#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/dsa.h"
#include "utils/timestamp.h"
}

namespace dpg {

// Whether the index answers reads.
enum IndexState : uint32 {
    kStateEmpty = 0,     // nothing built yet (server start, crash, new extension)
    kStateBuilding = 1,  // a build was launched or is running; reads use the tables
    kStateReady = 2,     // reads answer from memory
    kStateFailed = 3,    // a commit could not be applied: reads use the tables
                         // until rebuild() (or a restart) builds it again
};

// Why a read went to the tables instead of the index.
enum Fallback {
    kFbWarming = 0,   // the index is not built yet
    kFbOwnWrites,     // the transaction changed the tables itself
    kFbUnknown,       // the user's set was dropped under memory pressure
    kFbInFlight,      // a commit visible to the reader was still being applied
    kFbNotServed,     // this database is not dataplane.database (a copy)
    kFbHorizon,       // the page reaches below what the rings hold
    kFbStandby,       // a hot standby: the index is built only once promoted
    kFbCapture,       // a capture trigger is disabled: writes may bypass the index
    kFbCount
};

struct StripeShared {
    uint32 mode;                   // (s) dp::StripeMode (host.hpp)
    uint32 pad;
    int64 edges[2];                // (s) set sizes per side, summed
    uint64 compactions;            // (s)
    uint64 stale;                  // (s) changes skipped: a newer commit came first
    uint64 invalid_sets;           // (s) sets currently marked invalid
    pg_atomic_uint32 pending[dp::kBuckets];  // pending-key filter (lww.hpp)
};

// Counters of the timeline side (atomics).
struct TimelineCounters {
    pg_atomic_uint64 items_applied;
    pg_atomic_uint64 items_stale;
    pg_atomic_uint64 rings_lost;
    pg_atomic_uint64 fanout;
    pg_atomic_uint64 backfills;
    pg_atomic_uint64 promotions;
    pg_atomic_uint64 feeds_dropped;
    pg_atomic_uint64 feed_resets;
    pg_atomic_uint64 feed_builds;
    pg_atomic_uint64 evictions;
};

// The ingest's counters (fn_ingest.cpp), for status().
struct IngestCounters {
    pg_atomic_uint64 batches;
    pg_atomic_uint64 lines;         // non-blank lines read
    pg_atomic_uint64 applied;       // events of kinds the index keeps
    pg_atomic_uint64 skipped;       // readable events of other kinds
    pg_atomic_uint64 unreadable;
    pg_atomic_uint64 rows_written;
    pg_atomic_uint64 last_time_us;  // of the last batch with a readable event
    pg_atomic_uint32 last_xid;      // the last batch's transaction
};

// The live Jetstream consumer's progress (jetstream_worker.cpp).
struct JetstreamShared {
    pg_atomic_uint32 state;         // kJsOff, kJsError, kJsIdle + ing::WsState
    pg_atomic_uint64 events;        // messages applied
    pg_atomic_uint64 batches;       // batches committed
    pg_atomic_uint64 last_time_us;  // the cursor committed last (0: none)
    double rate;                    // (m) events per second, smoothed over batches
    char reason[160];               // (m) why the last connection or batch failed
};

struct DpShared {
    slock_t mutex;
    pg_atomic_uint32 state;        // IndexState
    Oid gen_relid;                 // (m) dataplane.follow the index belongs to
    Oid dbid;                      // (m) database of that table
    int builder_pid;               // (m) running builder, 0 if none
    uint64 launch_seq;             // (m) bumped by every launch and invalidation:
                                   //     a build finishes only if it is current
    TimestampTz launched_at;       // (m)
    TimestampTz build_started_at;  // (m)
    TimestampTz build_finished_at; // (m)
    TimestampTz failed_at;         // (m) last failed build
    uint64 build_seq;              // (m) builds finished, successful or not
    uint64 builds_ok;              // (m)
    double last_build_ms;          // (m)
    char last_error[256];          // (m)
    // Writes may bypass the capture triggers (capture_guard.hpp): reads use
    // the tables and no build starts until it is cleared.
    pg_atomic_uint32 capture_off;
    char capture_reason[160];      // (m) why, for status()
    ConditionVariable build_cv;    // signalled when a build ends

    pg_atomic_uint32 cursor[dp::kNumCursors];  // build: users below have been installed
    pg_atomic_uint32 n_pending;    // transactions between PRE_COMMIT and apply
    pg_atomic_uint64 bytes_used;   // arena bytes held, as DSA rounds them
    pg_atomic_uint64 reads_index;            // reads of processes without a backend slot
    pg_atomic_uint64 reads_sql[kFbCount];
    size_t counters_offset;                  // of the per-backend ReadCounters array
    pg_atomic_uint64 commits_applied;
    pg_atomic_uint64 changes_applied;
    pg_atomic_uint64 lost_leaves;
    uint64 serial;                 // Roaring block serials (dp::Arena)

    // Commits being applied to the index, started and finished: a timeline
    // read that no apply overlapped saw one state of the index.
    pg_atomic_uint64 applies_started;
    pg_atomic_uint64 applies_finished;
    pg_atomic_uint32 item_pending[dp::kItemBuckets];  // item pending-key filter
    pg_atomic_uint32 item_generation[dp::kItemGenerations];  // dp::Host::item_changed
    uint64 unfollows[2];           // dp::IndexEnv::unfollows_started, _finished
    dp::SetRef celebs;             // under the celebrity lock
    pg_atomic_uint32 evicting;     // one eviction sweep at a time
    // Rows name list ids outside [1, 2^31), which the list directory cannot
    // hold (capture_moderation.cpp): reads that need lists use the tables.
    // Set before such a commit is visible; cleared by a build that finds none.
    pg_atomic_uint32 odd_lists;
    uint32 evict_hand;             // next leaf the sweep visits (under `evicting`)
    pg_atomic_uint64 evict_floor;  // memory use a sweep could not go below
    pg_atomic_uint64 full_at;      // memory use when a sweep ran or a ring found no room; 0: not full (evict.cpp)
    TimelineCounters tl;
    PressureShared pressure;       // ring admission and the pressure window (pressure.hpp)
    IngestCounters ingest;
    JetstreamShared jetstream;

    int dsa_tranche;
    size_t dsa_size;
    char *dsa_place;

    StripeShared stripes[dp::kStripes];
    dp::LwwTable edge_lww[dp::kStripes];      // (s) commit-order registers (lww.hpp)
    dp::ItemLwwTable item_lww[dp::kStripes];  // (s)
    dp::DirTop dir;
    dp::DirTop mod_dir;   // blocks, mutes, list subscriptions, inactive accounts
    dp::DirTop list_dir;  // members of moderation lists, by list id
    // Then MaxBackends pending-transaction slots: the top-level xid of a
    // transaction of that backend between PRE_COMMIT and the end of its
    // apply, else InvalidTransactionId.
    pg_atomic_uint32 pending_xid[FLEXIBLE_ARRAY_MEMBER];
};

// How one backend's reads were answered. Each backend writes only its own
// cache line (no atomic read-modify-write on a line all backends share, on
// the hottest path); status() sums them.
struct alignas(128) ReadCounters {
    uint64 index;
    uint64 sql[kFbCount];
    uint64 pages_index;             // timeline and author-feed pages from memory
    uint64 pages_sql[kFbCount];     // ... and from the tables, by reason
    uint64 pages_ringless;          // timeline pages from memory without a feed ring
    uint64 rings_denied;            // ... of viewers whose ring was not built (admission)
    uint64 rings_deepened;          // author rings that took a page's rows from the tables
};

// This backend's handles on the shared index.
struct Local {
    DpShared *sh = nullptr;
    dsa_area *dsa = nullptr;
    LWLockPadded *locks = nullptr;
    dp::Arena arena;
    ReadCounters *counters = nullptr;  // this backend's, or nullptr
};

extern Local L;
extern dp::RoaringViews *local_views;

// Called from _PG_init when preloaded.
void shmem_init_hooks();
// True if the library was loaded by shared_preload_libraries.
bool shmem_available();
// Attaches this backend to the DSA area (once). False if the library was
// not preloaded: then there is no index, and reads use the tables.
bool shmem_attach();

inline LWLock *stripe_lock(uint32 stripe) { return &L.locks[stripe].lock; }
inline LWLock *celeb_lock() { return &L.locks[dp::kStripes].lock; }
inline ReadCounters *read_counters(DpShared *sh) {
    return reinterpret_cast<ReadCounters *>(reinterpret_cast<char *>(sh) + sh->counters_offset);
}
inline dp::Directory directory() { return dp::Directory(L.arena, &L.sh->dir); }

// Spins (no sleep: the shortest sleep is far longer) until done() is true,
// for at most max_us microseconds; false if it never was. For waits that
// take microseconds: another backend finishing an apply.
template <typename Done>
bool spin_until(Done done, long max_us) {
    TimestampTz start = 0;
    while (!done()) {
        TimestampTz now = GetCurrentTimestamp();
        if (start == 0)
            start = now;
        else if (now - start > max_us)
            return false;
        pg_spin_delay();
    }
    return true;
}

// The memory DSA hands out for a request of `size` bytes (its size classes,
// or whole 4 kB pages above 8 kB): what memory_used counts.
size_t dsa_rounded_size(size_t size);

}  // namespace dpg
