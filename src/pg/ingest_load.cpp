#include "ingest_load.hpp"

#include "spi_params.hpp"

namespace dpg {

namespace {

using ing::Collection;

constexpr Oid kInt4s = INT4ARRAYOID, kInt8s = INT8ARRAYOID, kTexts = TEXTARRAYOID;

// One row of the last SELECT, read by column (1-based).
struct Row {
    HeapTuple t;
    TupleDesc d;

    Datum get(int c, bool *isnull) const { return SPI_getbinval(t, d, c, isnull); }
    bool null(int c) const {
        bool n;
        get(c, &n);
        return n;
    }
    int32 i4(int c) const {
        bool n;
        Datum v = get(c, &n);
        return n ? 0 : DatumGetInt32(v);
    }
    int64 i8(int c) const {
        bool n;
        Datum v = get(c, &n);
        return n ? 0 : DatumGetInt64(v);
    }
    bool b(int c) const {
        bool n;
        Datum v = get(c, &n);
        return !n && DatumGetBool(v);
    }
    // Valid until the SPI connection ends (State copies what it keeps).
    std::string_view txt(int c) const {
        bool n;
        Datum v = get(c, &n);
        if (n)
            return std::string_view();
        struct varlena *p = pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(v)));
        return std::string_view(VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p));
    }
    ing::Text opt(int c) const {
        if (null(c))
            return std::nullopt;
        return txt(c);
    }
};
DP_PG_FRAME(Row);

// Runs a SELECT and calls f(row) for each row.
template <typename F>
void select_rows(Statement *st, Datum *values, F f) {
    run_statement(st, values, SPI_OK_SELECT);
    for (uint64 i = 0; i < SPI_processed; i++)
        f(Row{SPI_tuptable->vals[i], SPI_tuptable->tupdesc});
    SPI_freetuptable(SPI_tuptable);
}

ing::Media media_of(const Row &r, int c) {
    if (r.null(c))
        return ing::Media::kNone;
    std::string_view m = r.txt(c);
    if (m == "images")
        return ing::Media::kImages;
    if (m == "video")
        return ing::Media::kVideo;
    if (m == "external")
        return ing::Media::kExternal;
    return ing::Media::kUnknown;
}

ing::EdgeRow edge_row(const Row &r) {
    return ing::EdgeRow{uint32(r.i4(1)), uint32(r.i4(2)), r.i8(3)};
}

ing::GraphRecordRow record_row(const Row &r) {
    return ing::GraphRecordRow{uint32(r.i4(1)), collection_of(r.txt(2)), r.txt(3),
                               uint32(r.i4(4)), r.null(5) ? ing::kNoList : r.i8(5), r.i8(6)};
}

ing::RepostRow repost_row(const Row &r) {
    return ing::RepostRow{r.i8(1),  uint32(r.i4(2)), r.i8(3),         r.i8(4),
                          r.txt(5), r.opt(6),        uint32(r.i4(7)), r.opt(8)};
}

ing::PendingRow pending_row(const Row &r) {
    return ing::PendingRow{uint32(r.i4(1)), r.txt(2), r.opt(3), uint32(r.i4(4)), r.txt(5), r.i8(6)};
}

#define RECORD_COLS "g.repo, g.collection, g.rkey, g.subject, g.list_id, g.created_at"
#define REPOST_COLS "r.id, r.reposter, r.post_id, r.created_at, r.rkey, r.cid, p.author, p.rkey"
#define PENDING_COLS "q.reposter, q.rkey, q.cid, q.subject_author, q.subject_rkey, q.created_at"

Statement q_actors{"SELECT uid, active, status FROM dataplane.actor WHERE uid = ANY ($1)",
                   1, {kInt4s}, nullptr};
Statement q_follows{"SELECT f.follower, f.followee, f.created_at FROM unnest($1, $2) k(a, b) "
                    "JOIN dataplane.follow f ON f.follower = k.a AND f.followee = k.b",
                    2, {kInt4s, kInt4s}, nullptr};
Statement q_blocks{"SELECT f.blocker, f.blocked, f.created_at FROM unnest($1, $2) k(a, b) "
                   "JOIN dataplane.block f ON f.blocker = k.a AND f.blocked = k.b",
                   2, {kInt4s, kInt4s}, nullptr};
Statement q_records{"SELECT " RECORD_COLS " FROM unnest($1, $2, $3) k(r, c, n) "
                    "JOIN dataplane.graph_record g "
                    "ON g.repo = k.r AND g.collection = k.c AND g.rkey = k.n",
                    3, {kInt4s, kTexts, kTexts}, nullptr};
Statement q_record_edges{"SELECT " RECORD_COLS " FROM unnest($1, $2, $3) k(r, c, s) "
                         "JOIN dataplane.graph_record g "
                         "ON g.repo = k.r AND g.collection = k.c AND g.subject = k.s",
                         3, {kInt4s, kTexts, kInt4s}, nullptr};
Statement q_record_items{"SELECT " RECORD_COLS " FROM unnest($1, $2) k(l, s) "
                         "JOIN dataplane.graph_record g ON g.list_id = k.l AND g.subject = k.s "
                         "AND g.collection = 'listitem'",
                         2, {kInt8s, kInt4s}, nullptr};
Statement q_record_lblocks{"SELECT " RECORD_COLS " FROM unnest($1, $2) k(l, r) "
                           "JOIN dataplane.graph_record g ON g.repo = k.r "
                           "AND g.collection = 'listblock' AND g.list_id = k.l",
                           2, {kInt8s, kInt4s}, nullptr};
// Posts and lists are locked as a foreign key's check locks them: a repost,
// list item or list block the batch writes may name them (see
// refs_exempt.hpp).
Statement q_posts{"SELECT p.id, p.author, p.created_at, p.rkey, p.cid, p.reply_root_author, "
                  "p.reply_parent_author, p.quote, p.media FROM unnest($1, $2) k(a, r) "
                  "JOIN dataplane.post p ON p.author = k.a AND p.rkey = k.r FOR KEY SHARE OF p",
                  2, {kInt4s, kTexts}, nullptr};
// A repost whose post is gone (only possible where foreign keys were
// bypassed) is still a row, with no post key.
Statement q_reposts{"SELECT " REPOST_COLS " FROM unnest($1, $2) k(a, n) "
                    "JOIN dataplane.repost r ON r.reposter = k.a AND r.rkey = k.n "
                    "LEFT JOIN dataplane.post p ON p.id = r.post_id",
                    2, {kInt4s, kTexts}, nullptr};
Statement q_pending{"SELECT " PENDING_COLS " FROM unnest($1, $2) k(a, n) "
                    "JOIN dataplane.repost_pending q ON q.reposter = k.a AND q.rkey = k.n",
                    2, {kInt4s, kTexts}, nullptr};
Statement q_reposts_of{"SELECT " REPOST_COLS " FROM unnest($1, $2) k(a, i) "
                       "JOIN dataplane.repost r ON r.reposter = k.a AND r.post_id = k.i "
                       "LEFT JOIN dataplane.post p ON p.id = r.post_id",
                       2, {kInt4s, kInt8s}, nullptr};
Statement q_pending_of{"SELECT " PENDING_COLS " FROM unnest($1, $2) k(a, n) "
                       "JOIN dataplane.repost_pending q "
                       "ON q.subject_author = k.a AND q.subject_rkey = k.n",
                       2, {kInt4s, kTexts}, nullptr};
Statement q_lists{"SELECT l.id, l.owner, l.rkey, l.purpose FROM unnest($1, $2) k(o, n) "
                  "JOIN dataplane.list l ON l.owner = k.o AND l.rkey = k.n FOR KEY SHARE OF l",
                  2, {kInt4s, kTexts}, nullptr};
Statement q_list_items{"SELECT i.list_id, i.subject FROM unnest($1, $2) k(l, s) "
                       "JOIN dataplane.list_item i ON i.list_id = k.l AND i.subject = k.s",
                       2, {kInt8s, kInt4s}, nullptr};
Statement q_list_blocks{"SELECT b.list_id, b.actor FROM unnest($1, $2) k(l, a) "
                        "JOIN dataplane.list_block b ON b.list_id = k.l AND b.actor = k.a",
                        2, {kInt8s, kInt4s}, nullptr};

// Runs a SELECT over arrays built from the keys and adds each row with add.
template <typename Key, typename Add, typename... Cols>
void load(Statement *st, const std::vector<Key> &keys, Add add, Cols... cols) {
    if (keys.empty())
        return;
    Datum values[sizeof...(Cols)] = {
        make_array(keys.size(), cols.first, [&](size_t i) { return cols.second(keys[i]); })...};
    select_rows(st, values, add);
}

}  // namespace

const char *collection_text(Collection c) {
    switch (c) {
        case Collection::kFollow: return "follow";
        case Collection::kBlock: return "block";
        case Collection::kListItem: return "listitem";
        case Collection::kListBlock: return "listblock";
        default: return "other";
    }
}

Collection collection_of(std::string_view t) {
    if (t == "follow")
        return Collection::kFollow;
    if (t == "block")
        return Collection::kBlock;
    if (t == "listitem")
        return Collection::kListItem;
    return Collection::kListBlock;
}

void load_keys(const ing::Keys &k, ing::State *state, Vouched *locked) {
    using namespace ing;
    auto uid = [](Uid u) { return int4_datum(int32(u)); };
    load(&q_actors, k.actors,
         [&](const Row &r) { state->add_actor(ActorRow{uint32(r.i4(1)), r.b(2), r.opt(3)}); },
         std::make_pair(INT4OID, [&](Uid u) { return uid(u); }));
    auto edge_from = [&](const EdgeKey &e) { return uid(e.from); };
    auto edge_to = [&](const EdgeKey &e) { return uid(e.to); };
    load(&q_follows, k.follows, [&](const Row &r) { state->add_follow(edge_row(r)); },
         std::make_pair(INT4OID, edge_from), std::make_pair(INT4OID, edge_to));
    load(&q_blocks, k.blocks, [&](const Row &r) { state->add_block(edge_row(r)); },
         std::make_pair(INT4OID, edge_from), std::make_pair(INT4OID, edge_to));
    auto add_record = [&](const Row &r) { state->add_record(record_row(r)); };
    load(&q_records, k.records, add_record,
         std::make_pair(INT4OID, [&](const RecordKey &x) { return uid(x.repo); }),
         std::make_pair(TEXTOID, [&](const RecordKey &x) {
             return text_datum(std::string_view(collection_text(x.coll)));
         }),
         std::make_pair(TEXTOID, [&](const RecordKey &x) { return text_datum(x.rkey); }));
    // The records that keep a row alive, by the form of the row's key.
    // (Static: no object with a destructor in a frame an error unwinds.)
    static std::vector<RowKey> edges, items, lblocks;
    edges.clear();
    items.clear();
    lblocks.clear();
    for (const RowKey &r : k.record_rows)
        (r.coll == Collection::kListItem    ? items
         : r.coll == Collection::kListBlock ? lblocks
                                            : edges)
            .push_back(r);
    load(&q_record_edges, edges, add_record,
         std::make_pair(INT4OID, [&](const RowKey &x) { return int4_datum(int32(x.a)); }),
         std::make_pair(TEXTOID, [&](const RowKey &x) {
             return text_datum(std::string_view(collection_text(x.coll)));
         }),
         std::make_pair(INT4OID, [&](const RowKey &x) { return int4_datum(int32(x.b)); }));
    auto row_a8 = std::make_pair(INT8OID, [&](const RowKey &x) { return int8_datum(x.a); });
    auto row_b4 = std::make_pair(INT4OID, [&](const RowKey &x) { return int4_datum(int32(x.b)); });
    load(&q_record_items, items, add_record, row_a8, row_b4);
    load(&q_record_lblocks, lblocks, add_record, row_a8, row_b4);
    auto name_did = std::make_pair(INT4OID, [&](const NameKey &x) { return uid(x.did); });
    auto name_rkey = std::make_pair(TEXTOID, [&](const NameKey &x) { return text_datum(x.rkey); });
    load(&q_posts, k.posts,
         [&](const Row &r) {
             state->add_post(PostRow{r.i8(1), uint32(r.i4(2)), r.i8(3), r.txt(4), r.opt(5),
                                     uint32(r.i4(6)), uint32(r.i4(7)), r.b(8), media_of(r, 9)});
             locked->posts.insert(r.i8(1));
         },
         name_did, name_rkey);
    auto add_repost = [&](const Row &r) { state->add_repost(repost_row(r)); };
    auto add_pending = [&](const Row &r) { state->add_pending(pending_row(r)); };
    load(&q_reposts, k.reposts, add_repost, name_did, name_rkey);
    load(&q_pending, k.reposts, add_pending, name_did, name_rkey);
    load(&q_reposts_of, k.reposts_of, add_repost,
         std::make_pair(INT4OID, [&](const RepostOfKey &x) { return uid(x.reposter); }),
         std::make_pair(INT8OID, [&](const RepostOfKey &x) { return int8_datum(x.post_id); }));
    load(&q_pending_of, k.pending_of, add_pending, name_did, name_rkey);
    load(&q_lists, k.lists,
         [&](const Row &r) {
             state->add_list(ListRow{r.i8(1), uint32(r.i4(2)), r.txt(3), r.opt(4)});
             locked->lists.insert(r.i8(1));
         },
         name_did, name_rkey);
    auto member_list = std::make_pair(INT8OID, [&](const MemberRow &x) { return int8_datum(x.list_id); });
    auto member_uid = std::make_pair(INT4OID, [&](const MemberRow &x) { return uid(x.uid); });
    load(&q_list_items, k.list_items,
         [&](const Row &r) { state->add_list_item(MemberRow{r.i8(1), uint32(r.i4(2))}); },
         member_list, member_uid);
    load(&q_list_blocks, k.list_blocks,
         [&](const Row &r) { state->add_list_block(MemberRow{r.i8(1), uint32(r.i4(2))}); },
         member_list, member_uid);
    state->mark_loaded(k);
}

}  // namespace dpg
