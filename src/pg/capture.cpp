#include "capture.hpp"

#include "gate.hpp"
#include "shmem.hpp"

extern "C" {
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

DP_SQL_FUNCTION(dataplane_capture_follow);
}

namespace dpg {

static TxnChanges txn;
static MemoryContext queue_cxt = nullptr;

// Savepoint marks: changes queued at nesting level >= level start at these
// lengths. Pushed lazily, only when a change is queued inside a
// subtransaction.
struct SubMark {
    int level;
    size_t n_edges;
    size_t n_items;
};
static SubMark *marks = nullptr;
static int n_marks = 0, cap_marks = 0;

TxnChanges &txn_changes() { return txn; }
bool txn_has_changes() { return txn.edges.n > 0 || txn.items.n > 0 || txn.overflow; }

void txn_reset() {
    if (queue_cxt != nullptr)
        MemoryContextReset(queue_cxt);
    txn = TxnChanges();
    marks = nullptr;
    n_marks = cap_marks = 0;
}

static void ensure_context() {
    if (queue_cxt == nullptr)
        queue_cxt = AllocSetContextCreate(TopMemoryContext, "dataplane changes",
                                          ALLOCSET_DEFAULT_SIZES);
}

// Remembers where the current subtransaction's changes begin.
static void mark_level() {
    int level = GetCurrentTransactionNestLevel();
    if (level <= 1 || (n_marks > 0 && marks[n_marks - 1].level >= level))
        return;
    if (n_marks == cap_marks) {
        int ncap = cap_marks ? cap_marks * 2 : 8;
        marks = static_cast<SubMark *>(
            marks ? repalloc(marks, sizeof(SubMark) * ncap)
                  : MemoryContextAlloc(queue_cxt, sizeof(SubMark) * ncap));
        cap_marks = ncap;
    }
    marks[n_marks++] = SubMark{level, txn.edges.n, txn.items.n};
}

template <typename T>
static void push(Queue<T> *q, const T &x) {
    if (txn.overflow)
        return;
    if (txn.edges.n + txn.items.n == kMaxQueued) {
        // Too big to apply change by change: the commit will rebuild instead.
        txn.overflow = true;
        txn.edges.n = txn.items.n = 0;
        return;
    }
    if (q->n == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 256;
        size_t bytes = ncap * sizeof(T);
        q->v = static_cast<T *>(q->v ? repalloc_huge(q->v, bytes)
                                     : MemoryContextAllocHuge(queue_cxt, bytes));
        q->cap = ncap;
    }
    q->v[q->n++] = x;
}

void push_edge(const dp::RawEdge &e) { push(&txn.edges, e); }
void push_item(const dp::RawItem &it) { push(&txn.items, it); }

bool capture_begin(Oid gen) {
    // Without the preloaded library there is no index to maintain: the next
    // server start with it builds the index from the tables. A database
    // other than dataplane.database is not indexed at all.
    if (!shmem_attach() || !serves_this_database() || !OidIsValid(gen))
        return false;
    ensure_context();
    if (txn.gen != InvalidOid && txn.gen != gen)
        txn_reset();  // the extension was recreated inside this transaction
    txn.gen = gen;
    mark_level();
    return true;
}

void capture_subxact_callback(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
    if (n_marks == 0)
        return;
    int level = GetCurrentTransactionNestLevel();
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        // Drop everything queued since the aborted savepoint began.
        int i = n_marks;
        while (i > 0 && marks[i - 1].level >= level)
            i--;
        if (i < n_marks) {
            if (!txn.overflow) {
                txn.edges.n = marks[i].n_edges;
                txn.items.n = marks[i].n_items;
            }
            n_marks = i;
        }
    } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
        // The subtransaction's changes now belong to its parent.
        SubMark &top = marks[n_marks - 1];
        if (top.level == level) {
            if (n_marks > 1 && marks[n_marks - 2].level == level - 1)
                n_marks--;
            else
                top.level = level - 1;
        }
    }
}

static AttrNumber attnum_of(TupleDesc desc, const char *name) {
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
            return AttrNumber(i + 1);
    }
    elog(ERROR, "dataplane: column \"%s\" not found", name);
    return InvalidAttrNumber;
}

// Queues one change per row of a transition table.
static void queue_rows(Tuplestorestate *rows, TupleDesc desc, uint8 op) {
    AttrNumber a_follower = attnum_of(desc, "follower");
    AttrNumber a_followee = attnum_of(desc, "followee");
    TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
    // Read through a pointer of our own: other triggers may read the same
    // transition table.
    int ptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
    tuplestore_select_read_pointer(rows, ptr);
    tuplestore_rescan(rows);
    while (tuplestore_gettupleslot(rows, true, false, slot)) {
        bool null1, null2;
        Datum f = slot_getattr(slot, a_follower, &null1);
        Datum g = slot_getattr(slot, a_followee, &null2);
        if (!null1 && !null2 && DatumGetInt32(f) > 0 && DatumGetInt32(g) > 0)
            push_edge(dp::RawEdge{uint32(DatumGetInt32(f)), uint32(DatumGetInt32(g)), op});
    }
    tuplestore_select_read_pointer(rows, 0);
    ExecDropSingleTupleTableSlot(slot);
}

}  // namespace dpg

using namespace dpg;

// AFTER INSERT / UPDATE / DELETE (statement, with transition tables) and
// AFTER TRUNCATE on dataplane.follow.
extern "C" Datum dataplane_capture_follow(PG_FUNCTION_ARGS) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("dataplane_capture_follow: not called by trigger manager")));
    auto *td = reinterpret_cast<TriggerData *>(fcinfo->context);
    if (!capture_begin(RelationGetRelid(td->tg_relation)))
        return PointerGetDatum(nullptr);
    if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)) {
        push_edge(dp::RawEdge{0, 0, kOpTruncate});
    } else {
        TupleDesc desc = RelationGetDescr(td->tg_relation);
        if (td->tg_oldtable != nullptr)
            queue_rows(td->tg_oldtable, desc, dp::kDelete);
        if (td->tg_newtable != nullptr)
            queue_rows(td->tg_newtable, desc, dp::kInsert);
    }
    return PointerGetDatum(nullptr);
}
