// The core's view of the shared index in this backend: a dp::IndexEnv whose
// callbacks are the stripe LWLocks, the celebrity lock, the stripes' modes
// and the build's install cursors.
#pragma once

#include "pg_prelude.hpp"

#include "index_env.hpp"
#include "shmem.hpp"

namespace dpg {

// The env, with capacities and fanout_limit as configured now. Only after
// shmem_attach().
const dp::IndexEnv &index_env();

// Every stripe lock in ascending order, `exclusive_stripe`'s exclusive and
// the others shared (a feed-ring build), then the celebrity lock shared.
void lock_everything_for(uint32 exclusive_stripe);
void unlock_everything();

}  // namespace dpg
