#include "capture.hpp"
#include "entry.hpp"

#include "tables.hpp"
#include "guc.hpp"
#include "shmem.hpp"

extern "C" {
#include "executor/executor.h"
#include "utils/memutils.h"

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

// The current run of row events (see capture.hpp): its command id, and the
// insertions held back until it ends.
struct RowRun {
    bool active = false;
    CommandId cid = InvalidCommandId;
    Queue<dp::RawEdge> edges;
    Queue<dp::RawItem> items;
};
static RowRun run;

TxnChanges &txn_changes() { return txn; }
bool txn_has_changes() {
    return txn.edges.n > 0 || txn.items.n > 0 || txn.overflow || txn.odd_lists ||
           run.edges.n > 0 || run.items.n > 0;
}

void txn_reset() {
    if (queue_cxt != nullptr)
        MemoryContextReset(queue_cxt);
    txn = TxnChanges();
    run = RowRun();
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
    if (txn.edges.n + txn.items.n + run.edges.n + run.items.n == kMaxQueued) {
        // Too big to apply change by change: the commit will rebuild instead.
        txn.overflow = true;
        txn.edges.n = txn.items.n = run.edges.n = run.items.n = 0;
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

void push_edge(const dp::RawEdge &e) {
    push(run.active && e.op == dp::kInsert ? &run.edges : &txn.edges, e);
}
void push_item(const dp::RawItem &it) {
    push(run.active && it.op == dp::kInsert ? &run.items : &txn.items, it);
}

void flush_row_run() {
    run.active = false;
    run.cid = InvalidCommandId;
    if (run.edges.n == 0 && run.items.n == 0)
        return;
    for (size_t i = 0; i < run.edges.n; i++)
        push(&txn.edges, run.edges.v[i]);
    for (size_t i = 0; i < run.items.n; i++)
        push(&txn.items, run.items.v[i]);
    run.edges.n = run.items.n = 0;
}

TriggerData *capture_begin(FunctionCallInfo fcinfo, const char *fn, CaptureTable table) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("%s: not called by trigger manager", fn)));
    auto *td = reinterpret_cast<TriggerData *>(fcinfo->context);
    // A capture function on any other table would feed the shared index
    // rows that are not its table's, and read columns of other types. Its
    // EXECUTE is not PUBLIC's (CREATE TRIGGER needs it); this holds
    // against the owner's mistakes as well.
    if (!is_capture_table(RelationGetRelid(td->tg_relation), table))
        ereport(ERROR,
                (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                 errmsg("%s fires only on dataplane.%s, not on \"%s\"", fn,
                        kCaptureTableNames[table], RelationGetRelationName(td->tg_relation)),
                 errhint("Drop the trigger: the extension's own triggers capture its tables.")));
    // Without the preloaded library there is no index to maintain: the next
    // server start with it builds the index from the tables. A database
    // other than dataplane.database is not indexed at all.
    if (!shmem_attach() || !serves_this_database() || guc_test_skip_capture)
        return nullptr;
    Oid gen = current_generation();
    if (!OidIsValid(gen))
        return nullptr;
    ensure_context();
    if (txn.gen != InvalidOid && txn.gen != gen)
        txn_reset();  // the extension was recreated inside this transaction
    txn.gen = gen;
    bool row = TRIGGER_FIRED_FOR_ROW(td->tg_event);
    CommandId cid = GetCurrentCommandId(false);
    if (!row || !run.active || run.cid != cid)
        flush_row_run();
    mark_level();
    if (row) {
        run.active = true;
        run.cid = cid;
    }
    return td;
}

static void on_subxact(SubXactEvent event);

void capture_subxact_callback(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
    guard_callback("dataplane subtransaction callback", [event] { on_subxact(event); });
}

// Keeps the queue in step with a savepoint's start and end.
static void on_subxact(SubXactEvent event) {
    // A run of row events belongs to the level that ran its statement.
    flush_row_run();
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

AttrNumber column(TriggerData *td, const char *name) {
    TupleDesc desc = RelationGetDescr(td->tg_relation);
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
            return AttrNumber(i + 1);
    }
    elog(ERROR, "dataplane: column \"%s\" not found", name);
    return InvalidAttrNumber;
}

}  // namespace dpg

using namespace dpg;

namespace {

// The edge of one follow row; false if it names no possible user.
bool edge_of(TupleTableSlot *slot, AttrNumber a_follower, AttrNumber a_followee, uint8 op,
             dp::RawEdge *e) {
    bool null1, null2;
    Datum f = slot_getattr(slot, a_follower, &null1);
    Datum g = slot_getattr(slot, a_followee, &null2);
    if (null1 || null2 || DatumGetInt32(f) <= 0 || DatumGetInt32(g) <= 0)
        return false;
    *e = dp::RawEdge{uint32(DatumGetInt32(f)), uint32(DatumGetInt32(g)), op};
    return true;
}

}  // namespace

// dataplane.follow: AFTER INSERT / UPDATE / DELETE (statement, transition
// tables; or row, in replica mode) and AFTER TRUNCATE.
DP_FUNCTION(dataplane_capture_follow) {
    TriggerData *td = capture_begin(fcinfo, "dataplane._capture_follow()", kTblFollow);
    if (td == nullptr)
        return PointerGetDatum(nullptr);
    if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)) {
        push_edge(dp::RawEdge{0, 0, kOpTruncate});
        return PointerGetDatum(nullptr);
    }
    AttrNumber a_follower = column(td, "follower"), a_followee = column(td, "followee");
    dp::RawEdge e;
    each_changed_row(
        td,
        [&](TupleTableSlot *slot) {
            if (edge_of(slot, a_follower, a_followee, dp::kDelete, &e))
                push_edge(e);
        },
        [&](TupleTableSlot *slot) {
            if (edge_of(slot, a_follower, a_followee, dp::kInsert, &e))
                push_edge(e);
        });
    return PointerGetDatum(nullptr);
}
