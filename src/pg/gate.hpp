// Read admission: whether a read may answer from the index now. The read
// side depends on the write side (capture, commit, build), never the other
// way round.
#pragma once

#include "pg_prelude.hpp"

#include "shmem.hpp"
#include "read_stats.hpp"
#include "tables.hpp"

namespace dpg {

// True when the index may answer this read: it is built for the current
// tables, this transaction has not changed them itself, and every commit the
// snapshot sees has been applied. Otherwise *why says why not, and a build
// is launched if none is under way.
bool read_gate(Fallback *why);

// A read that takes several stripe locks one after another (a timeline
// page, relationships) is one state of the index only if no commit was
// applied meanwhile: quiet_index() waits (briefly) until none is being
// applied and gives the count of applies started; applied_since(started)
// then says whether the read must be done again.
bool quiet_index(uint64 *started);
inline bool applied_since(uint64 started) {
    pg_read_barrier();
    return pg_atomic_read_u64(&L.sh->applies_started) != started;
}

// Errors (22023) for a negative lim; `null_means_all` says whether the
// function takes NULL for "every row" (the hint says so).
void check_lim(int32 lim, bool null_means_all);

}  // namespace dpg
