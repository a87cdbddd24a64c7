// Change capture: the trigger functions queue this transaction's changes to
// the dataplane tables in backend-local memory, per subtransaction, until the
// commit applies them (commit.cpp). Nothing reaches shared memory before
// then, so rolled-back transactions and savepoints leave no trace.
#pragma once

#include "pg_prelude.hpp"

#include "edge_batch.hpp"
#include "item_batch.hpp"

extern "C" {
#include "access/xact.h"
}

namespace dpg {

// RawEdge.op / RawItem.op for a TRUNCATE of the table: every earlier change
// to it is void.
constexpr uint8 kOpTruncate = 2;

// Beyond this many queued changes a transaction stops queueing: its commit
// marks the index for a rebuild instead (see commit.cpp). Keeps a giant bulk
// load from exhausting backend memory.
constexpr size_t kMaxQueued = size_t(32) << 20;

// A growable array in the transaction's queue memory.
template <typename T>
struct Queue {
    T *v = nullptr;
    size_t n = 0;
    size_t cap = 0;
};

struct TxnChanges {
    Queue<dp::RawEdge> edges;  // follows, in statement order
    Queue<dp::RawItem> items;  // posts and reposts, in statement order
    bool overflow = false;     // kMaxQueued exceeded
    Oid gen = InvalidOid;      // the dataplane.follow these changes belong to
};

// Appends to the queue (shared by the trigger functions).
void push_edge(const dp::RawEdge &e);
void push_item(const dp::RawItem &it);
// Called by every capture trigger first: false when nothing is to be
// captured (no index here); otherwise the queue is ready for this
// generation and savepoint level.
bool capture_begin(Oid gen);

// This transaction's queued changes.
TxnChanges &txn_changes();
bool txn_has_changes();
// Forgets everything queued (end of transaction).
void txn_reset();
// Keeps the queue in step with savepoints.
void capture_subxact_callback(SubXactEvent event, SubTransactionId my_subid,
                              SubTransactionId parent_subid, void *arg);

}  // namespace dpg
