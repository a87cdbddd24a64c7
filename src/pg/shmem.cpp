#include "shmem.hpp"

#include "entry.hpp"
#include "guc.hpp"
#include "index_host.hpp"

extern "C" {
#include "access/transam.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/pg_shmem.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
}

namespace dpg {

Local L;
static dp::RoaringViews views_storage;
dp::RoaringViews *local_views = &views_storage;

static shmem_request_hook_type prev_shmem_request_hook = nullptr;
static shmem_startup_hook_type prev_shmem_startup_hook = nullptr;
static bool hooks_installed = false;

static const char kTrancheName[] = "dataplane";
static const char kDsaTrancheName[] = "dataplane_dsa";

size_t dsa_rounded_size(size_t size) {
    static const uint16 classes[] = {8,    16,   24,   32,   40,   48,   56,   64,   80,
                                     96,   112,  128,  160,  192,  224,  256,  320,  384,
                                     448,  512,  640,  768,  896,  1024, 1280, 1560, 1816,
                                     2048, 2616, 3120, 3640, 4096, 5456, 6552, 7280, 8192};
    if (size > 8192)
        return (size + 4095) & ~size_t(4095);
    for (uint16 c : classes)
        if (size <= c)
            return c;
    return 8192;
}

static Size counters_offset() {
    Size off = add_size(offsetof(DpShared, pending_xid),
                        mul_size(sizeof(pg_atomic_uint32), MaxBackends));
    return TYPEALIGN(alignof(ReadCounters), off);
}

static Size fixed_size() {
    return add_size(counters_offset(), mul_size(sizeof(ReadCounters), MaxBackends));
}

static Size dsa_size() {
    Size sz = Size(guc_memory_limit_mb) * 1024 * 1024;
    return Max(sz, dsa_minimum_size());
}

static void request_hook() {
    if (prev_shmem_request_hook)
        prev_shmem_request_hook();
    guard_callback("dataplane shmem_request_hook", [] {
        RequestAddinShmemSpace(add_size(MAXALIGN(fixed_size()), dsa_size()));
        RequestNamedLWLockTranche(kTrancheName, dp::kStripes + 1);  // stripes, celebrities
    });
}

// Atomics start at zero (pg_atomic_init_*: some platforms emulate them).
static void init(pg_atomic_uint32 &a) { pg_atomic_init_u32(&a, 0); }
static void init(pg_atomic_uint64 &a) { pg_atomic_init_u64(&a, 0); }
template <typename Atomic, size_t N>
static void init(Atomic (&array)[N]) {
    for (Atomic &a : array)
        init(a);
}

static void init_fresh(DpShared *sh) {
    std::memset(static_cast<void *>(sh), 0, fixed_size());
    SpinLockInit(&sh->mutex);
    ConditionVariableInit(&sh->build_cv);
    static_assert(kStateEmpty == 0);
    for (pg_atomic_uint32 *a :
         {&sh->state, &sh->capture_off, &sh->evicting, &sh->n_pending, &sh->odd_lists})
        init(*a);
    for (pg_atomic_uint64 *a :
         {&sh->applies_started, &sh->applies_finished, &sh->evict_floor, &sh->bytes_used, &sh->full_at,
          &sh->reads_index, &sh->commits_applied, &sh->changes_applied, &sh->lost_leaves})
        init(*a);
    init(sh->cursor);
    init(sh->item_pending);
    init(sh->item_generation);
    init(sh->reads_sql);
    for (pg_atomic_uint64 *c = &sh->tl.items_applied; c <= &sh->tl.evictions; c++)
        init(*c);
    for (pg_atomic_uint64 *c = &sh->ingest.batches; c <= &sh->ingest.last_time_us; c++)
        init(*c);
    init(sh->ingest.last_xid);
    init(sh->jetstream.state);
    for (pg_atomic_uint64 *c : {&sh->jetstream.events, &sh->jetstream.batches,
                                &sh->jetstream.last_time_us})
        init(*c);
    pressure_init(&sh->pressure);
    for (auto &st : sh->stripes) {
        st.mode = dp::kModeEmpty;
        init(st.pending);
    }
    for (int i = 0; i < MaxBackends; i++)
        pg_atomic_init_u32(&sh->pending_xid[i], InvalidTransactionId);
    sh->counters_offset = counters_offset();

    // The DSA area lives right after the fixed struct, in the main segment,
    // and may not grow beyond it: that is how memory_limit is enforced.
    sh->dsa_size = dsa_size();
    sh->dsa_place = reinterpret_cast<char *>(
        ShmemAlloc(sh->dsa_size));
    sh->dsa_tranche = LWLockNewTrancheId();
    dsa_area *area = dsa_create_in_place(sh->dsa_place, sh->dsa_size, sh->dsa_tranche, nullptr);
    dsa_set_size_limit(area, sh->dsa_size);
    dsa_pin(area);
    dsa_detach(area);
}

static void attach_fixed();

static void startup_hook() {
    if (prev_shmem_startup_hook)
        prev_shmem_startup_hook();
    guard_callback("dataplane shmem_startup_hook", [] { attach_fixed(); });
}

// Finds (or creates, in the postmaster) the fixed shared struct.
static void attach_fixed() {
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    auto *sh = static_cast<DpShared *>(ShmemInitStruct("dataplane", fixed_size(), &found));
    if (!found)
        init_fresh(sh);
    L.sh = sh;
    L.locks = GetNamedLWLockTranche(kTrancheName);
    LWLockRelease(AddinShmemInitLock);
}

void shmem_init_hooks() {
    prev_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = request_hook;
    prev_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = startup_hook;
    hooks_installed = true;
}

bool shmem_available() { return hooks_installed && L.sh != nullptr; }

bool shmem_attach() {
    if (L.dsa != nullptr)
        return true;
    if (!shmem_available())
        return false;
    LWLockRegisterTranche(L.sh->dsa_tranche, kDsaTrancheName);
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    dsa_area *area = dsa_attach_in_place(L.sh->dsa_place, nullptr);
    dsa_pin_mapping(area);
    MemoryContextSwitchTo(old);

    // The area is one in-place segment that may not grow, so every
    // dsa_pointer is a plain offset from the place: the core addresses
    // blocks as base + offset without calling dsa_get_address.
    dsa_pointer probe = dsa_allocate_extended(area, 8, DSA_ALLOC_NO_OOM);
    if (DsaPointerIsValid(probe)) {
        if (dsa_get_address(area, probe) != L.sh->dsa_place + probe)
            elog(FATAL, "dataplane: unexpected DSA layout");
        dsa_free(area, probe);
    }
    L.arena.base = L.sh->dsa_place;
    L.arena.size = L.sh->dsa_size;
    L.arena.host = &pg_host();
    L.arena.serial_counter = &L.sh->serial;
    if (MyBackendId != InvalidBackendId && MyBackendId <= MaxBackends)
        L.counters = &read_counters(L.sh)[MyBackendId - 1];
    L.dsa = area;
    return true;
}

}  // namespace dpg
