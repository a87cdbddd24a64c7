// Capture of the moderation relations (schema 0.2.0): blocks, mutes, list
// items, list blocks, list mutes, and inactive accounts. Each row is one
// edge of a relation the index keeps as sets (edge_batch.hpp: dp::Rel),
// queued with the follows, netted and applied at commit in the same order
// and under the same commit-order guard.
//
// List ids are bigint; the index keeps lists by id in a directory of
// positive int ids. A row naming a list id outside [1, 2^31) cannot be
// kept: the transaction marks the index as holding lists it cannot answer
// for (commit.cpp), and every read that needs lists uses the tables until a
// build finds no such id.
#include "capture.hpp"
#include "entry.hpp"

extern "C" {
#include "commands/trigger.h"
#include "executor/tuptable.h"
}

namespace dpg {
namespace {

// The edge of one row: owner column, other column (uid or list id), or the
// constant 1 (a_other == InvalidAttrNumber: inactive accounts). False if the
// row names nothing the index keeps, or (kOdd) a list id it cannot keep.
enum class Edge { kOk, kNone, kOdd };

bool in_id_range(int64 v) { return v > 0 && v < (int64(1) << 31); }

int64 int_column(TupleTableSlot *slot, AttrNumber a, Oid type, bool *isnull) {
    Datum d = slot_getattr(slot, a, isnull);
    if (*isnull)
        return 0;
    return type == INT8OID ? DatumGetInt64(d) : int64(DatumGetInt32(d));
}

struct Columns {
    AttrNumber owner, other;
    Oid owner_type, other_type;
    bool owner_is_list, other_is_list;
};

Edge edge_of(TupleTableSlot *slot, const Columns &c, uint8 rel, uint8 op, dp::RawEdge *e) {
    bool n1, n2 = false;
    int64 owner = int_column(slot, c.owner, c.owner_type, &n1);
    int64 other = c.other == InvalidAttrNumber ? 1 : int_column(slot, c.other, c.other_type, &n2);
    if (n1 || n2)
        return Edge::kNone;
    if (!in_id_range(owner) || !in_id_range(other))
        return (c.owner_is_list && owner != 0) || (c.other_is_list && other != 0) ? Edge::kOdd
                                                                                  : Edge::kNone;
    *e = dp::RawEdge{uint32(owner), uint32(other), op, rel};
    return Edge::kOk;
}

Oid column_type(TriggerData *td, AttrNumber a) {
    return TupleDescAttr(RelationGetDescr(td->tg_relation), a - 1)->atttypid;
}

// The capture trigger of one relation's table: owner and other columns
// (other nullptr: the table is actor, and its rows with active = false are
// the relation).
Datum capture_relation(FunctionCallInfo fcinfo, const char *fn, CaptureTable table, uint8 rel,
                       const char *owner, const char *other, bool owner_is_list,
                       bool other_is_list) {
    TriggerData *td = capture_begin(fcinfo, fn, table);
    if (td == nullptr)
        return PointerGetDatum(nullptr);
    if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)) {
        push_edge(dp::RawEdge{0, 0, dp::kTruncate, rel});
        return PointerGetDatum(nullptr);
    }
    Columns c{};
    c.owner = column(td, owner);
    c.owner_type = column_type(td, c.owner);
    c.owner_is_list = owner_is_list;
    c.other_is_list = other_is_list;
    AttrNumber a_active = InvalidAttrNumber;
    if (other != nullptr) {
        c.other = column(td, other);
        c.other_type = column_type(td, c.other);
    } else {
        a_active = column(td, "active");
    }
    // actor: only inactive accounts are members of the relation.
    auto counts = [&](TupleTableSlot *slot) {
        if (a_active == InvalidAttrNumber)
            return true;
        bool isnull;
        Datum d = slot_getattr(slot, a_active, &isnull);
        return !isnull && !DatumGetBool(d);
    };
    dp::RawEdge e;
    auto queue = [&](TupleTableSlot *slot, uint8 op) {
        if (!counts(slot))
            return;
        switch (edge_of(slot, c, rel, op, &e)) {
            case Edge::kOk: push_edge(e); break;
            case Edge::kOdd: txn_changes().odd_lists = true; break;
            case Edge::kNone: break;
        }
    };
    each_changed_row(
        td, [&](TupleTableSlot *slot) { queue(slot, dp::kDelete); },
        [&](TupleTableSlot *slot) { queue(slot, dp::kInsert); });
    return PointerGetDatum(nullptr);
}

}  // namespace
}  // namespace dpg

using namespace dpg;

// Each: AFTER INSERT / UPDATE / DELETE (statement, transition tables; or
// row, in replica mode) and AFTER TRUNCATE, as for follows.
DP_FUNCTION(dataplane_capture_block) {
    return capture_relation(fcinfo, "dataplane._capture_block()", kTblBlock, dp::kRelBlock,
                            "blocker", "blocked", false, false);
}

DP_FUNCTION(dataplane_capture_mute) {
    return capture_relation(fcinfo, "dataplane._capture_mute()", kTblMute, dp::kRelMute, "muter",
                            "muted", false, false);
}

DP_FUNCTION(dataplane_capture_list_item) {
    return capture_relation(fcinfo, "dataplane._capture_list_item()", kTblListItem,
                            dp::kRelListItem, "list_id", "subject", true, false);
}

DP_FUNCTION(dataplane_capture_list_block) {
    return capture_relation(fcinfo, "dataplane._capture_list_block()", kTblListBlock,
                            dp::kRelListBlock, "actor", "list_id", false, true);
}

DP_FUNCTION(dataplane_capture_list_mute) {
    return capture_relation(fcinfo, "dataplane._capture_list_mute()", kTblListMute,
                            dp::kRelListMute, "actor", "list_id", false, true);
}

DP_FUNCTION(dataplane_capture_actor) {
    return capture_relation(fcinfo, "dataplane._capture_actor()", kTblActor, dp::kRelInactive,
                            "uid", nullptr, false, false);
}
