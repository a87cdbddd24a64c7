// The commit-time apply of queued changes, and the fence readers use to see
// every commit their snapshot sees.
//
// PRE_COMMIT (may fail, aborting the transaction): net the queued changes,
//   announce their (stripe, bucket) pairs in the pending-key filter, and
//   publish the top-level xid in this backend's pending slot. The rows are
//   not yet visible to anyone.
// COMMIT (must not fail): apply per stripe under its lock, ordered against
//   other commits by commit LSN where they overlap (lww.hpp); withdraw the
//   filter bits and the pending slot.
// ABORT: withdraw whatever PRE_COMMIT announced.
// PRE_PREPARE: refuse two-phase commit of pending changes.
#pragma once

#include "pg_prelude.hpp"

#include "shmem.hpp"

extern "C" {
#include "access/xact.h"
}

namespace dpg {

void commit_xact_callback(XactEvent event, void *arg);

// Waits (briefly) until every commit visible to the active snapshot has been
// applied. False if one is still applying: the caller reads the tables.
bool fence_visible_commits();

}  // namespace dpg
