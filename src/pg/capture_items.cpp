// Capture of posts and reposts (statement triggers with transition tables,
// and TRUNCATE), queued per transaction like follows (capture.cpp).
//
// A repost's feed item carries the reposted post's author, which its row
// does not have: inserted reposts are joined with dataplane.post (as the
// tables' owner, like the foreign-key check). An UPDATE that changes a
// post's author re-queues the post's reposts with the new author.
//
// Neither side may miss the other's concurrent change, or a repost keeps a
// stale author (a post UPDATE takes FOR NO KEY UPDATE, which the foreign
// key's FOR KEY SHARE does not block). So both read the latest committed
// rows, not the transaction's snapshot, and one of the two rows is locked
// until commit: a new repost holds FOR SHARE on its post, which makes an
// author change wait for the repost's commit (and the repost wait for an
// author change in progress); the re-queue holds FOR SHARE on the reposts,
// so that it waits for a concurrent UPDATE or DELETE of one (which holds its
// row), and a later one waits for it.
// Under REPEATABLE READ, a row changed after the snapshot then raises a
// serialization failure, as any row lock would.
#include "capture.hpp"
#include "entry.hpp"
#include "tables.hpp"
#include "owner.hpp"
#include "sql_text.hpp"

#include <algorithm>

extern "C" {
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

}

namespace dpg {

namespace {

int64 get_int8(TupleTableSlot *slot, AttrNumber a) {
    bool isnull;
    Datum d = slot_getattr(slot, a, &isnull);
    return isnull ? 0 : DatumGetInt64(d);
}

int32 get_int4(TupleTableSlot *slot, AttrNumber a) {
    bool isnull;
    Datum d = slot_getattr(slot, a, &isnull);
    return isnull ? 0 : DatumGetInt32(d);
}

// What a feed item carries of its post for the timeline filters
// (AuthorItem: parent, root, attrs); zeros in a 0.1.0 schema.
struct PostAttrs {
    uint32 parent = 0, root = 0, attrs = 0;
    bool operator==(const PostAttrs &o) const {
        return parent == o.parent && root == o.root && attrs == o.attrs;
    }
};
DP_PG_FRAME(PostAttrs);

dp::RawItem post_item(int64 id, int32 author, int64 ts, uint8 op, PostAttrs a = PostAttrs()) {
    return dp::RawItem{dp::AuthorItem{ts, id, id, uint32(Max(author, 0)), 0, a.parent, a.root,
                                      a.attrs},
                       op, dp::kPost};
}

dp::RawItem repost_item(int64 id, int32 reposter, int64 post_id, int32 author, int64 ts,
                        uint8 op, PostAttrs a = PostAttrs()) {
    return dp::RawItem{dp::AuthorItem{ts, id, post_id, uint32(Max(author, 0)),
                                      uint32(Max(reposter, 0)), a.parent, a.root, a.attrs},
                       op, dp::kRepost};
}

// The post attribute columns of a post row (InvalidAttrNumber: a 0.1.0
// schema, where there are none).
struct AttrColumns {
    AttrNumber parent = InvalidAttrNumber, root = InvalidAttrNumber, quote = InvalidAttrNumber,
               media = InvalidAttrNumber;
};
DP_PG_FRAME(AttrColumns);

AttrColumns attr_columns(TriggerData *td) {
    AttrColumns c;
    TupleDesc desc = RelationGetDescr(td->tg_relation);
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (a->attisdropped)
            continue;
        const char *n = NameStr(a->attname);
        AttrNumber num = AttrNumber(i + 1);
        if (strcmp(n, "reply_parent_author") == 0)
            c.parent = num;
        else if (strcmp(n, "reply_root_author") == 0)
            c.root = num;
        else if (strcmp(n, "quote") == 0)
            c.quote = num;
        else if (strcmp(n, "media") == 0)
            c.media = num;
    }
    return c;
}

uint32 media_code(const char *m) {
    if (strcmp(m, "images") == 0)
        return dp::kMediaImages;
    if (strcmp(m, "video") == 0)
        return dp::kMediaVideo;
    if (strcmp(m, "external") == 0)
        return dp::kMediaExternal;
    return dp::kMediaNone;
}

PostAttrs post_attrs(TupleTableSlot *slot, const AttrColumns &c) {
    PostAttrs a;
    bool isnull;
    if (c.parent != InvalidAttrNumber)
        a.parent = uint32(Max(get_int4(slot, c.parent), 0));
    if (c.root != InvalidAttrNumber)
        a.root = uint32(Max(get_int4(slot, c.root), 0));
    if (c.quote != InvalidAttrNumber) {
        Datum d = slot_getattr(slot, c.quote, &isnull);
        if (!isnull && DatumGetBool(d))
            a.attrs |= dp::kAttrQuote;
    }
    if (c.media != InvalidAttrNumber) {
        Datum d = slot_getattr(slot, c.media, &isnull);
        if (!isnull) {
            char *m = TextDatumGetCString(d);
            a.attrs |= media_code(m) << dp::kAttrMediaShift;
            pfree(m);
        }
    }
    return a;
}

// The attributes selected by a query at columns col.. (parent, root,
// attrs: sql::post_attr_columns).
PostAttrs selected_attrs(HeapTuple t, TupleDesc d, int col) {
    bool n;
    PostAttrs a;
    a.parent = uint32(DatumGetInt32(SPI_getbinval(t, d, col, &n)));
    a.root = uint32(DatumGetInt32(SPI_getbinval(t, d, col + 1, &n)));
    a.attrs = uint32(DatumGetInt32(SPI_getbinval(t, d, col + 2, &n)));
    return a;
}

// A post's id, author and attributes before an UPDATE, sorted so that each
// new row is looked up by a binary search (a large UPDATE stays n log n,
// not n^2).
struct OldAuthor {
    int64 id;
    int32 author;
    PostAttrs attrs;
    bool operator<(const OldAuthor &o) const {
        return id != o.id ? id < o.id : author < o.author;
    }
};
DP_PG_FRAME(OldAuthor);

// Runs a SELECT (with locking clauses) over the latest committed rows and
// this transaction's own, as the tables' owner. Inside SPI.
void select_latest(const char *sql, int nargs, Oid *types, Datum *values, const char *what) {
    run_as_tables_owner([&]() noexcept {
        SPIPlanPtr plan = SPI_prepare(sql, nargs, types);
        if (plan == nullptr)
            elog(ERROR, "dataplane: %s failed: %s", what, SPI_result_code_string(SPI_result));
        int rc = SPI_execute_snapshot(plan, values, nullptr, GetLatestSnapshot(),
                                      InvalidSnapshot, false, false, 0);
        if (rc != SPI_OK_SELECT)
            elog(ERROR, "dataplane: %s failed: %s", what, SPI_result_code_string(rc));
    });
}

// Queues the reposts the last SPI query selected as (id, reposter, post_id,
// created_at, author, parent, root, attrs): as insertions; with replace,
// each after a deletion (the item is held with another author); with gone,
// only the deletion.
enum class Requeue { kInsert, kReplace, kGone };
void queue_selected(Requeue how) {
    for (uint64 i = 0; i < SPI_processed; i++) {
        HeapTuple t = SPI_tuptable->vals[i];
        TupleDesc d = SPI_tuptable->tupdesc;
        bool n;
        int64 id = DatumGetInt64(SPI_getbinval(t, d, 1, &n));
        int32 reposter = DatumGetInt32(SPI_getbinval(t, d, 2, &n));
        int64 post_id = DatumGetInt64(SPI_getbinval(t, d, 3, &n));
        int64 ts = DatumGetInt64(SPI_getbinval(t, d, 4, &n));
        int32 author = DatumGetInt32(SPI_getbinval(t, d, 5, &n));
        if (how != Requeue::kInsert)
            push_item(repost_item(id, reposter, post_id, 0, ts, dp::kDelete));
        if (how != Requeue::kGone)
            push_item(repost_item(id, reposter, post_id, author, ts, dp::kInsert,
                                  selected_attrs(t, d, 6)));
    }
}

// Until AtEOXact_GUC(true, level) (or an error) pops the returned level,
// joins are nested loops: each new repost probes post's primary key. The
// planner knows how many rows a transition table holds, and for a few
// thousand of them it would hash the whole of post instead (measured: 180 ms
// for 5,800 new reposts against 350,000 posts, 10 ms as nested loops).
int prefer_nested_loops() {
    int level = NewGUCNestLevel();
    (void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
                             GUC_ACTION_SAVE, true, 0, false);
    (void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
                             GUC_ACTION_SAVE, true, 0, false);
    return level;
}

// Queues the reposts of the given posts again: with replace, with their
// posts' current authors (an UPDATE changed them, or, in replica mode, the
// post arrived after reposts that name it); with gone, their removal (in
// replica mode no foreign-key cascade deletes them with their post, and the
// reference query's join drops them from every timeline).
void requeue_reposts(Datum post_ids, Requeue how) {
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    Oid types[1] = {INT8ARRAYOID};
    Datum values[1] = {post_ids};
    // Probes by post_id too: a custom plan over stale statistics (a table
    // filled since its last ANALYZE) hashed all of repost for a few posts
    // (measured: 25 ms per ingest batch of 50,000 events, 1 ms as loops).
    int level = prefer_nested_loops();
    select_latest(how == Requeue::kGone
                      ? "SELECT r.id, r.reposter, r.post_id, r.created_at, 0, 0, 0, 0 "
                        "FROM dataplane.repost r WHERE r.post_id = ANY ($1)"
                      : psprintf("SELECT r.id, r.reposter, r.post_id, r.created_at, p.author, %s "
                                 "FROM dataplane.repost r JOIN dataplane.post p "
                                 "ON p.id = r.post_id "
                                 "WHERE r.post_id = ANY ($1) FOR SHARE OF r",
                                 sql::post_attr_columns("p")),
                  1, types, values, "repost lookup");
    AtEOXact_GUC(true, level);
    queue_selected(how);
    SPI_finish();
}

// The start of the post and repost triggers: the trigger data, or nullptr
// when nothing (more) is to be done (nothing captured here, or a TRUNCATE
// of `kind`'s table, now queued).
TriggerData *begin_items(FunctionCallInfo fcinfo, const char *fn, uint8 kind) {
    TriggerData *td = capture_begin(fcinfo, fn, kind == dp::kPost ? kTblPost : kTblRepost);
    if (td != nullptr && TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)) {
        push_item(dp::RawItem{dp::AuthorItem{}, kOpTruncate, kind});
        return nullptr;
    }
    return td;
}

// The number of rows a trigger call changed on one side (1 for a row event).
size_t n_rows(TriggerData *td, bool old_side) {
    if (TRIGGER_FIRED_FOR_ROW(td->tg_event))
        return 1;
    Tuplestorestate *t = old_side ? td->tg_oldtable : td->tg_newtable;
    return t == nullptr ? 0 : size_t(tuplestore_tuple_count(t));
}

bool is_update(TriggerData *td) { return TRIGGER_FIRED_BY_UPDATE(td->tg_event); }

// A row event's new repost: its post's author, read as select_latest does
// (locking the post unless an UPDATE kept it), then queued.
void capture_repost_row(TriggerData *td, TupleTableSlot *slot, AttrNumber a_id,
                        AttrNumber a_rep, AttrNumber a_post, AttrNumber a_ts) {
    int64 post_id = get_int8(slot, a_post);
    bool same_post = false;
    if (is_update(td)) {
        bool isnull;
        Datum old = slot_getattr(td->tg_trigslot, a_post, &isnull);
        same_post = !isnull && DatumGetInt64(old) == post_id;
    }
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    Oid types[1] = {INT8OID};
    Datum values[1] = {Int64GetDatum(post_id)};
    select_latest(psprintf("SELECT p.author, %s FROM dataplane.post p WHERE p.id = $1%s",
                           sql::post_attr_columns("p"), same_post ? "" : " FOR SHARE"),
                  1, types, values, "repost capture");
    if (SPI_processed == 1) {
        bool isnull;
        HeapTuple t = SPI_tuptable->vals[0];
        int32 author = DatumGetInt32(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
        push_item(repost_item(get_int8(slot, a_id), get_int4(slot, a_rep), post_id, author,
                              get_int8(slot, a_ts), dp::kInsert,
                              selected_attrs(t, SPI_tuptable->tupdesc, 2)));
    }
    SPI_finish();
}

// A statement's new reposts: joined with their posts over the transition
// table (see the top for the locks).
void capture_repost_statement(TriggerData *td) {
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "dataplane: SPI_connect failed");
    if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
        elog(ERROR, "dataplane: could not register the transition table");
    // A new repost, or one moved to another post, locks its post (see
    // the top). One whose post stays is locked itself, by its UPDATE,
    // which is what the author change's re-queue waits for: locking the
    // post too would deadlock against that re-queue, or a cascade.
    const char *cols =
        psprintf("SELECT r.id, r.reposter, r.post_id, r.created_at, p.author, %s "
                 "FROM new_rows r JOIN dataplane.post p ON p.id = r.post_id ",
                 sql::post_attr_columns("p"));
    const char *same_post =
        "EXISTS (SELECT 1 FROM old_rows o WHERE o.id = r.id AND o.post_id = r.post_id)";
    auto capture = [&](const char *tail) {
        select_latest(psprintf("%s %s", cols, tail), 0, nullptr, nullptr, "repost capture");
        queue_selected(Requeue::kInsert);
    };
    int level = prefer_nested_loops();
    if (td->tg_oldtable == nullptr) {
        capture("FOR SHARE OF p");
    } else {
        capture(psprintf("WHERE NOT %s FOR SHARE OF p", same_post));
        capture(psprintf("WHERE %s", same_post));
    }
    AtEOXact_GUC(true, level);
    SPI_finish();
}

}  // namespace

}  // namespace dpg

using namespace dpg;

// dataplane.post: AFTER INSERT / UPDATE / DELETE (statement, transition
// tables; or row, in replica mode) and AFTER TRUNCATE.
DP_FUNCTION(dataplane_capture_post) {
    TriggerData *td = begin_items(fcinfo, "dataplane._capture_post()", dp::kPost);
    if (td == nullptr)
        return PointerGetDatum(nullptr);
    AttrNumber a_id = column(td, "id"), a_author = column(td, "author"),
               a_ts = column(td, "created_at");
    AttrColumns ac = attr_columns(td);
    // In replica mode no foreign key cascades or holds: a post's reposts
    // follow it out of (and back into) the timelines by its id.
    bool row = TRIGGER_FIRED_FOR_ROW(td->tg_event);
    // An UPDATE's old (id, author, attributes), to find posts whose author
    // or attributes changed: their reposts carry them too.
    bool update = is_update(td);
    OldAuthor *old = update ? static_cast<OldAuthor *>(
                                  palloc(sizeof(OldAuthor) * (n_rows(td, true) + 1)))
                            : nullptr;
    Datum *changed = update ? static_cast<Datum *>(palloc(sizeof(Datum) * (n_rows(td, false) + 1)))
                            : nullptr;
    int n_old = 0, n_changed = 0;
    bool sorted = false;
    int64 gone_id = 0, came_id = 0;  // row mode
    each_changed_row(
        td,
        [&](TupleTableSlot *slot) {
            int64 id = get_int8(slot, a_id);
            int32 author = get_int4(slot, a_author);
            push_item(post_item(id, author, get_int8(slot, a_ts), dp::kDelete));
            if (old != nullptr)
                old[n_old++] = OldAuthor{id, author, post_attrs(slot, ac)};
            gone_id = id;
        },
        [&](TupleTableSlot *slot) {
            int64 id = get_int8(slot, a_id);
            int32 author = get_int4(slot, a_author);
            PostAttrs attrs = post_attrs(slot, ac);
            push_item(post_item(id, author, get_int8(slot, a_ts), dp::kInsert, attrs));
            came_id = id;
            if (changed == nullptr || row)
                return;
            if (!sorted) {
                std::sort(old, old + n_old);
                sorted = true;
            }
            const OldAuthor key{id, author, attrs};
            const OldAuthor *o = std::lower_bound(old, old + n_old, key);
            if (o == old + n_old || o->id != id || o->author != author || !(o->attrs == attrs))
                changed[n_changed++] = Int64GetDatum(id);
        });
    auto one_id = [](int64 id) {
        Datum d = Int64GetDatum(id);
        return PointerGetDatum(construct_array(&d, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    };
    if (row) {
        // The post's reposts leave with its old version and come back with
        // its new one (with its author: this also covers an author change).
        if (TRIGGER_FIRED_BY_DELETE(td->tg_event) || update)
            requeue_reposts(one_id(gone_id), Requeue::kGone);
        if (TRIGGER_FIRED_BY_INSERT(td->tg_event) || update)
            requeue_reposts(one_id(came_id), Requeue::kReplace);
    } else if (n_changed > 0) {
        requeue_reposts(PointerGetDatum(construct_array(changed, n_changed, INT8OID, 8,
                                                        FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
                        Requeue::kReplace);
    }
    return PointerGetDatum(nullptr);
}

// dataplane.repost: AFTER INSERT / UPDATE / DELETE (statement, transition
// tables; or row, in replica mode) and AFTER TRUNCATE.
DP_FUNCTION(dataplane_capture_repost) {
    TriggerData *td = begin_items(fcinfo, "dataplane._capture_repost()", dp::kRepost);
    if (td == nullptr)
        return PointerGetDatum(nullptr);
    AttrNumber a_id = column(td, "id"), a_rep = column(td, "reposter"),
               a_post = column(td, "post_id"), a_ts = column(td, "created_at");
    bool row = TRIGGER_FIRED_FOR_ROW(td->tg_event);
    each_changed_row(
        td,
        [&](TupleTableSlot *slot) {
            // A deletion needs the key and the reposter only.
            push_item(repost_item(get_int8(slot, a_id), get_int4(slot, a_rep),
                                  get_int8(slot, a_post), 0, get_int8(slot, a_ts), dp::kDelete));
        },
        [&](TupleTableSlot *slot) {
            if (row)
                capture_repost_row(td, slot, a_id, a_rep, a_post, a_ts);
        });
    if (!row && td->tg_newtable != nullptr)
        capture_repost_statement(td);
    return PointerGetDatum(nullptr);
}
