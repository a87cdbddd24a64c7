// The core's host in this backend (dp::Host, host.hpp): the DSA area's
// blocks, the stripe and celebrity LWLocks, the stripe modes and install
// cursors in shared memory, and the pending-key filter (lww.hpp) with this
// backend's side of it: the keys of its transaction between PRE_COMMIT and
// the end of its apply.
#pragma once

#include "pg_prelude.hpp"

#include "commit_apply.hpp"
#include "index_env.hpp"
#include "shmem.hpp"

namespace dpg {

// This backend's host, for the arena (shmem_attach()).
dp::Host &pg_host();

// The env, with capacities and fanout_limit as configured now. Only after
// shmem_attach().
const dp::IndexEnv &index_env();

// Every stripe lock in ascending order, `exclusive_stripe`'s exclusive and
// the others shared (a feed-ring build), then the celebrity lock shared.
void lock_everything_for(uint32 exclusive_stripe);
void unlock_everything();

// The filter bits of a commit's netted changes. C++ only, no PostgreSQL
// call: false if memory ran out.
bool pending_collect(const dp::CommitWork &w) noexcept;
// Publishes them, with the transaction's xid, before the commit becomes
// visible (PRE_COMMIT): a transaction that sees its rows sees these too.
void pending_announce(TransactionId xid);
// Withdraws whatever is still published (after the apply, or on abort).
void pending_release();
// Forgets the collected bits (end of transaction).
void pending_reset();

}  // namespace dpg
