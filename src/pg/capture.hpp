// Change capture: the trigger functions queue this transaction's changes to
// the dataplane tables in backend-local memory, per subtransaction, until the
// commit applies them (commit.cpp). Nothing reaches shared memory before
// then, so rolled-back transactions and savepoints leave no trace.
#pragma once

#include "pg_prelude.hpp"

#include "edge_batch.hpp"

extern "C" {
#include "access/xact.h"
}

namespace dpg {

// RawEdge.op for a TRUNCATE of dataplane.follow: every earlier change is void.
constexpr uint8 kOpTruncate = 2;

// Beyond this many queued follow changes a transaction stops queueing: its
// commit marks the index for a rebuild instead (see commit.cpp). Keeps a
// giant bulk load from exhausting backend memory.
constexpr size_t kMaxQueued = size_t(32) << 20;

struct TxnChanges {
    dp::RawEdge *edges = nullptr;  // in statement order; op kOpTruncate marks a TRUNCATE
    size_t n = 0;
    size_t cap = 0;
    bool overflow = false;  // kMaxQueued exceeded
    Oid gen = InvalidOid;   // the dataplane.follow these changes belong to
};

// This transaction's queued changes.
TxnChanges &txn_changes();
bool txn_has_changes();
// Forgets everything queued (end of transaction).
void txn_reset();
// Keeps the queue in step with savepoints.
void capture_subxact_callback(SubXactEvent event, SubTransactionId my_subid,
                              SubTransactionId parent_subid, void *arg);

}  // namespace dpg
