// Change capture: the trigger functions queue this transaction's changes to
// the dataplane tables in backend-local memory, per subtransaction, until the
// commit applies them (commit.cpp). Nothing reaches shared memory before
// then, so rolled-back transactions and savepoints leave no trace.
//
// Each table has two sets of capture triggers, and exactly one of them fires
// for any write: statement triggers with transition tables (ENABLE, that is
// origin and local mode: one call per statement, however many rows), and a
// row trigger (ENABLE REPLICA: session_replication_role = replica, which is
// how logical replication's apply worker and pg_restore-style loads write,
// and where PostgreSQL fires no INSERT/UPDATE/DELETE statement triggers).
// TRUNCATE has one statement trigger, ENABLE ALWAYS.
//
// A statement's row events arrive one row at a time, each with its old and
// new version; a statement that swaps two keys (old A -> B, old B -> A)
// would net wrongly in that order. So within one statement's run of row
// events (one command id) deletions are queued at once and insertions held
// back until the run ends: the queue then says, like a statement trigger's,
// "these rows went, then these came".
#pragma once

#include "pg_prelude.hpp"

#include "edge_batch.hpp"
#include "item_batch.hpp"
#include "tables.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
}

namespace dpg {

// RawEdge.op / RawItem.op for a TRUNCATE of the table: every earlier change
// to it is void.
constexpr uint8 kOpTruncate = dp::kTruncate;

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
    bool odd_lists = false;    // a list id the index cannot keep (capture_moderation.cpp)
    Oid gen = InvalidOid;      // the dataplane.follow these changes belong to
};

// Appends to the queue (shared by the trigger functions).
void push_edge(const dp::RawEdge &e);
void push_item(const dp::RawItem &it);
// Called by every capture trigger first: errors when not called as a
// trigger; nullptr when nothing is to be captured (no index here);
// otherwise the trigger data, with the queue ready for this generation of
// the tables, savepoint level and statement; errors when the trigger is on
// another table than `table`. `fn` names the function for the errors.
TriggerData *capture_begin(FunctionCallInfo fcinfo, const char *fn, CaptureTable table);

// Ends a run of row events (their held-back insertions join the queue):
// before the queue is read or marked.
void flush_row_run();

// This transaction's queued changes.
TxnChanges &txn_changes();
bool txn_has_changes();
// Forgets everything queued (end of transaction).
void txn_reset();
// Keeps the queue in step with savepoints.
void capture_subxact_callback(SubXactEvent event, SubTransactionId my_subid,
                              SubTransactionId parent_subid, void *arg);

// Calls row(slot) for every row of a transition table, through a read
// pointer of our own (other triggers may read the same table).
template <typename F>
void each_row(Tuplestorestate *rows, TupleDesc desc, F row) {
    TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
    int ptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
    tuplestore_select_read_pointer(rows, ptr);
    tuplestore_rescan(rows);
    while (tuplestore_gettupleslot(rows, true, false, slot))
        row(slot);
    tuplestore_select_read_pointer(rows, 0);
    ExecDropSingleTupleTableSlot(slot);
}

// The rows an INSERT, UPDATE or DELETE changed, from a statement trigger's
// transition tables or a row trigger's tuples: gone(slot) for every row
// removed (deleted, or an updated row's old version), then came(slot) for
// every row added.
template <typename Gone, typename Came>
void each_changed_row(TriggerData *td, Gone gone, Came came) {
    if (TRIGGER_FIRED_FOR_ROW(td->tg_event)) {
        if (TRIGGER_FIRED_BY_INSERT(td->tg_event)) {
            came(td->tg_trigslot);
        } else if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
            gone(td->tg_trigslot);
        } else {
            gone(td->tg_trigslot);
            came(td->tg_newslot);
        }
        return;
    }
    TupleDesc desc = RelationGetDescr(td->tg_relation);
    if (td->tg_oldtable != nullptr)
        each_row(td->tg_oldtable, desc, gone);
    if (td->tg_newtable != nullptr)
        each_row(td->tg_newtable, desc, came);
}

// Attribute number of a column of the trigger's table (errors if absent).
AttrNumber column(TriggerData *td, const char *name);

}  // namespace dpg
