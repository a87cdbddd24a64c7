// Writing a batch's difference (ing::Diff) to the tables: one statement per
// table and kind, the rows passed as parallel arrays. In the order the model
// requires: every DELETE, then the INSERTs (lists and posts first, as other
// rows name them), then the UPDATEs. The tables' triggers capture every
// change for the index, as for any other writer.
#include "ingest_write.hpp"

#include "ingest_load.hpp"
#include "refs_exempt.hpp"
#include "spi_params.hpp"

namespace dpg {

namespace {

using namespace ing;

constexpr Oid kInt4s = INT4ARRAYOID, kInt8s = INT8ARRAYOID, kTexts = TEXTARRAYOID,
              kBools = BOOLARRAYOID, kTimes = TIMESTAMPTZARRAYOID;

// ---------------------------------------------------------------- deletes
Statement d_follow{"DELETE FROM dataplane.follow f USING unnest($1, $2) k(a, b) "
                   "WHERE f.follower = k.a AND f.followee = k.b",
                   2, {kInt4s, kInt4s}, nullptr};
Statement d_block{"DELETE FROM dataplane.block f USING unnest($1, $2) k(a, b) "
                  "WHERE f.blocker = k.a AND f.blocked = k.b",
                  2, {kInt4s, kInt4s}, nullptr};
Statement d_record{"DELETE FROM dataplane.graph_record g USING unnest($1, $2, $3) k(r, c, n) "
                   "WHERE g.repo = k.r AND g.collection = k.c AND g.rkey = k.n",
                   3, {kInt4s, kTexts, kTexts}, nullptr};
Statement d_post{"DELETE FROM dataplane.post WHERE id = ANY ($1)", 1, {kInt8s}, nullptr};
Statement d_repost{"DELETE FROM dataplane.repost WHERE id = ANY ($1)", 1, {kInt8s}, nullptr};
Statement d_pending{"DELETE FROM dataplane.repost_pending q USING unnest($1, $2) k(a, n) "
                    "WHERE q.reposter = k.a AND q.rkey = k.n",
                    2, {kInt4s, kTexts}, nullptr};
Statement d_list{"DELETE FROM dataplane.list WHERE id = ANY ($1)", 1, {kInt8s}, nullptr};
Statement d_list_item{"DELETE FROM dataplane.list_item i USING unnest($1, $2) k(l, s) "
                      "WHERE i.list_id = k.l AND i.subject = k.s",
                      2, {kInt8s, kInt4s}, nullptr};
Statement d_list_block{"DELETE FROM dataplane.list_block b USING unnest($1, $2) k(l, a) "
                       "WHERE b.list_id = k.l AND b.actor = k.a",
                       2, {kInt8s, kInt4s}, nullptr};

// ---------------------------------------------------------------- inserts
// ON CONFLICT DO NOTHING where another writer than the ingest (which
// serializes its batches) may have written the same key meanwhile: in the
// tables an AppView writes too. graph_record and repost_pending are the
// ingest's own: it loaded their keys under its lock, and the check before
// each insertion would cost a lookup per row.
Statement i_list{"INSERT INTO dataplane.list (id, owner, rkey, purpose) "
                 "SELECT * FROM unnest($1, $2, $3, $4)",
                 4, {kInt8s, kInt4s, kTexts, kTexts}, nullptr};
Statement i_post{"INSERT INTO dataplane.post (id, author, created_at, rkey, cid, reply_root_author, "
                 "reply_parent_author, quote, media) SELECT * FROM unnest($1, $2, $3, $4, $5, $6, "
                 "$7, $8, $9)",
                 9, {kInt8s, kInt4s, kTimes, kTexts, kTexts, kInt4s, kInt4s, kBools, kTexts}, nullptr};
Statement i_follow{"INSERT INTO dataplane.follow (follower, followee, created_at) "
                   "SELECT * FROM unnest($1, $2, $3) ON CONFLICT DO NOTHING",
                   3, {kInt4s, kInt4s, kTimes}, nullptr};
Statement i_block{"INSERT INTO dataplane.block (blocker, blocked, created_at) "
                  "SELECT * FROM unnest($1, $2, $3) ON CONFLICT DO NOTHING",
                  3, {kInt4s, kInt4s, kTimes}, nullptr};
Statement i_record{"INSERT INTO dataplane.graph_record (repo, collection, rkey, subject, list_id, "
                   "created_at) SELECT * FROM unnest($1, $2, $3, $4, $5, $6)",
                   6, {kInt4s, kTexts, kTexts, kInt4s, kInt8s, kTimes}, nullptr};
Statement i_repost{"INSERT INTO dataplane.repost (id, reposter, post_id, created_at, rkey, cid) "
                   "SELECT * FROM unnest($1, $2, $3, $4, $5, $6)",
                   6, {kInt8s, kInt4s, kInt8s, kTimes, kTexts, kTexts}, nullptr};
Statement i_pending{"INSERT INTO dataplane.repost_pending (reposter, rkey, cid, subject_author, "
                    "subject_rkey, created_at) SELECT * FROM unnest($1, $2, $3, $4, $5, $6)",
                    6, {kInt4s, kTexts, kTexts, kInt4s, kTexts, kTimes}, nullptr};
Statement i_list_item{"INSERT INTO dataplane.list_item (list_id, subject) "
                      "SELECT * FROM unnest($1, $2) ON CONFLICT DO NOTHING",
                      2, {kInt8s, kInt4s}, nullptr};
Statement i_list_block{"INSERT INTO dataplane.list_block (list_id, actor) "
                       "SELECT * FROM unnest($1, $2) ON CONFLICT DO NOTHING",
                       2, {kInt8s, kInt4s}, nullptr};

// ---------------------------------------------------------------- updates
Statement u_actor{"UPDATE dataplane.actor a SET active = k.act, status = k.st "
                  "FROM unnest($1, $2, $3) k(u, act, st) WHERE a.uid = k.u",
                  3, {kInt4s, kBools, kTexts}, nullptr};
Statement u_follow{"UPDATE dataplane.follow f SET created_at = k.c FROM unnest($1, $2, $3) k(a, b, c) "
                   "WHERE f.follower = k.a AND f.followee = k.b",
                   3, {kInt4s, kInt4s, kTimes}, nullptr};
Statement u_block{"UPDATE dataplane.block f SET created_at = k.c FROM unnest($1, $2, $3) k(a, b, c) "
                  "WHERE f.blocker = k.a AND f.blocked = k.b",
                  3, {kInt4s, kInt4s, kTimes}, nullptr};
Statement u_post{"UPDATE dataplane.post p SET cid = k.cid, reply_root_author = k.rr, "
                 "reply_parent_author = k.rp, quote = k.q, media = k.m "
                 "FROM unnest($1, $2, $3, $4, $5, $6) k(id, cid, rr, rp, q, m) WHERE p.id = k.id",
                 6, {kInt8s, kTexts, kInt4s, kInt4s, kBools, kTexts}, nullptr};
Statement u_repost{"UPDATE dataplane.repost r SET cid = k.cid FROM unnest($1, $2) k(id, cid) "
                   "WHERE r.id = k.id",
                   2, {kInt8s, kTexts}, nullptr};
Statement u_list{"UPDATE dataplane.list l SET purpose = k.p FROM unnest($1, $2) k(id, p) "
                 "WHERE l.id = k.id",
                 2, {kInt8s, kTexts}, nullptr};

// An array column: its element type and how to read it from a row.
template <typename F>
std::pair<Oid, F> col(Oid elem, F f) {
    return {elem, f};
}

// Runs st with arrays built from rows, one per column; counts the rows.
template <typename Row, typename... Cols>
void write(Statement *st, const std::vector<Row> &rows, int expect, uint64 *count, Cols... cols) {
    if (rows.empty())
        return;
    Datum values[sizeof...(Cols)] = {
        make_array(rows.size(), cols.first, [&](size_t i) { return cols.second(rows[i]); })...};
    run_statement(st, values, expect);
    *count += SPI_processed;
}

// The same for an INSERT into dataplane.<table> whose references to
// `targets` the batch vouches for.
template <typename Row, typename... Cols>
void insert(Statement *st, const std::vector<Row> &rows, uint64 *count, const char *table,
            uint8 targets, Cols... cols) {
    if (rows.empty())
        return;
    Datum values[sizeof...(Cols)] = {
        make_array(rows.size(), cols.first, [&](size_t i) { return cols.second(rows[i]); })...};
    run_exempt(st, values, SPI_OK_INSERT, table, targets);
    *count += SPI_processed;
}

// Which references of `rows` the batch vouches for: `target` when refs(row,
// ok) holds for every row, ok(set, key) telling whether a key is vouched for.
template <typename Row, typename Refs>
uint8 vouch(bool exempt, const std::vector<Row> &rows, uint8 target, Refs refs) {
    if (!exempt)
        return 0;
    for (const Row &r : rows)
        if (!refs(r))
            return 0;
    return target;
}

template <typename Set, typename Key>
bool has(const Set &s, Key k) {
    return s.count(k) != 0;
}

Statement q_lock_actors{"SELECT uid FROM dataplane.actor WHERE uid = ANY ($1) FOR KEY SHARE", 1,
                        {kInt4s}, nullptr};

// Locks, as a foreign key's check does, the actors the new rows name that
// the batch has not locked yet (the reposter of a held-aside repost that
// the batch promotes, say), and vouches for those found.
void lock_actors(const Diff &d, Vouched *v) {
    static std::vector<uint32> need;
    need.clear();
    auto want = [&](uint32 u) {
        if (u != 0 && !has(v->actors, u))
            need.push_back(u);
    };
    for (const ListRow &l : d.list_inserts)
        want(l.owner);
    for (const PostRow &p : d.post_inserts)
        want(p.author);
    for (const EdgeRow &e : d.follow_inserts) {
        want(e.from);
        want(e.to);
    }
    for (const EdgeRow &e : d.block_inserts) {
        want(e.from);
        want(e.to);
    }
    for (const GraphRecordRow &r : d.record_inserts)
        want(r.repo);
    for (const RepostRow &r : d.repost_inserts)
        want(r.reposter);
    for (const PendingRow &p : d.pending_inserts)
        want(p.reposter);
    for (const MemberRow &m : d.list_item_inserts)
        want(m.uid);
    for (const MemberRow &m : d.list_block_inserts)
        want(m.uid);
    if (need.empty())
        return;
    std::sort(need.begin(), need.end());
    need.erase(std::unique(need.begin(), need.end()), need.end());
    Datum values[1] = {make_array(need.size(), INT4OID, [&](size_t i) { return int4_datum(int32(need[i])); })};
    run_statement(&q_lock_actors, values, SPI_OK_SELECT);
    for (uint64 i = 0; i < SPI_processed; i++) {
        bool isnull;
        v->actors.insert(uint32(DatumGetInt32(
            SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull))));
    }
    SPI_freetuptable(SPI_tuptable);
}

std::optional<Datum> time_datum(int64 ts) { return TimestampTzGetDatum(ts); }
std::optional<Datum> media_datum(Media m) {
    const char *t = media_text(m);
    if (t == nullptr)
        return std::nullopt;
    return text_datum(std::string_view(t));
}
std::optional<Datum> purpose_datum(const Text &p) { return text_datum(p); }

}  // namespace

void write_diff(const Diff &d, Vouched *v, WriteCounts *n) {
    auto u4 = [](uint32 u) { return int4_datum(int32(u)); };
    // Deletes.
    auto from = col(INT4OID, [&](const EdgeKey &e) { return u4(e.from); });
    auto to = col(INT4OID, [&](const EdgeKey &e) { return u4(e.to); });
    write(&d_follow, d.follow_deletes, SPI_OK_DELETE, &n->deleted, from, to);
    write(&d_block, d.block_deletes, SPI_OK_DELETE, &n->deleted, from, to);
    write(&d_record, d.record_deletes, SPI_OK_DELETE, &n->deleted,
          col(INT4OID, [&](const RecordKey &r) { return u4(r.repo); }),
          col(TEXTOID, [&](const RecordKey &r) {
              return text_datum(std::string_view(collection_text(r.coll)));
          }),
          col(TEXTOID, [&](const RecordKey &r) { return text_datum(r.rkey); }));
    auto id = col(INT8OID, [&](int64 v) { return int8_datum(v); });
    write(&d_post, d.post_deletes, SPI_OK_DELETE, &n->deleted, id);
    write(&d_repost, d.repost_deletes, SPI_OK_DELETE, &n->deleted, id);
    write(&d_pending, d.pending_deletes, SPI_OK_DELETE, &n->deleted,
          col(INT4OID, [&](const NameKey &k) { return u4(k.did); }),
          col(TEXTOID, [&](const NameKey &k) { return text_datum(k.rkey); }));
    write(&d_list, d.list_deletes, SPI_OK_DELETE, &n->deleted, id);
    auto member_list = col(INT8OID, [&](const MemberRow &m) { return int8_datum(m.list_id); });
    auto member_uid = col(INT4OID, [&](const MemberRow &m) { return u4(m.uid); });
    write(&d_list_item, d.list_item_deletes, SPI_OK_DELETE, &n->deleted, member_list, member_uid);
    write(&d_list_block, d.list_block_deletes, SPI_OK_DELETE, &n->deleted, member_list, member_uid);

    // Inserts, parents first. Posts and lists the batch deleted are no
    // longer vouched for; those it inserts are (ids of this batch: no row
    // had them). Nothing else runs between the locks and these INSERTs
    // unless some table has a trigger or rule of its own.
    for (int64 id : d.post_deletes)
        v->posts.erase(id);
    for (int64 id : d.list_deletes)
        v->lists.erase(id);
    for (const PostRow &p : d.post_inserts)
        v->posts.insert(p.id);
    for (const ListRow &l : d.list_inserts)
        v->lists.insert(l.id);
    bool exempt = refs_exemptable();
    if (exempt)
        lock_actors(d, v);
    auto actor = [&](uint32 u) { return has(v->actors, u); };
    auto list = [&](int64 id) { return has(v->lists, id); };
    insert(&i_list, d.list_inserts, &n->inserted, "list",
           vouch(exempt, d.list_inserts, kRefActor, [&](const ListRow &l) { return actor(l.owner); }),
          col(INT8OID, [&](const ListRow &l) { return int8_datum(l.id); }),
          col(INT4OID, [&](const ListRow &l) { return u4(l.owner); }),
          col(TEXTOID, [&](const ListRow &l) { return text_datum(l.rkey); }),
          col(TEXTOID, [&](const ListRow &l) { return purpose_datum(l.purpose); }));
    insert(&i_post, d.post_inserts, &n->inserted, "post",
           vouch(exempt, d.post_inserts, kRefActor, [&](const PostRow &p) { return actor(p.author); }),
          col(INT8OID, [&](const PostRow &p) { return int8_datum(p.id); }),
          col(INT4OID, [&](const PostRow &p) { return u4(p.author); }),
          col(TIMESTAMPTZOID, [&](const PostRow &p) { return time_datum(p.created_at); }),
          col(TEXTOID, [&](const PostRow &p) { return text_datum(p.rkey); }),
          col(TEXTOID, [&](const PostRow &p) { return text_datum(p.cid); }),
          col(INT4OID, [&](const PostRow &p) { return uid_datum(p.reply_root); }),
          col(INT4OID, [&](const PostRow &p) { return uid_datum(p.reply_parent); }),
          col(BOOLOID, [&](const PostRow &p) { return bool_datum(p.quote); }),
          col(TEXTOID, [&](const PostRow &p) { return media_datum(p.media); }));
    auto efrom = col(INT4OID, [&](const EdgeRow &e) { return u4(e.from); });
    auto eto = col(INT4OID, [&](const EdgeRow &e) { return u4(e.to); });
    auto etime = col(TIMESTAMPTZOID, [&](const EdgeRow &e) { return time_datum(e.created_at); });
    auto edge = [&](const EdgeRow &e) { return actor(e.from) && actor(e.to); };
    insert(&i_follow, d.follow_inserts, &n->inserted, "follow",
           vouch(exempt, d.follow_inserts, kRefActor, edge), efrom, eto, etime);
    insert(&i_block, d.block_inserts, &n->inserted, "block",
           vouch(exempt, d.block_inserts, kRefActor, edge), efrom, eto, etime);
    insert(&i_record, d.record_inserts, &n->inserted, "graph_record",
           vouch(exempt, d.record_inserts, kRefActor,
                 [&](const GraphRecordRow &r) { return actor(r.repo); }) |
               vouch(exempt, d.record_inserts, kRefList,
                     [&](const GraphRecordRow &r) { return r.list_id == kNoList || list(r.list_id); }),
          col(INT4OID, [&](const GraphRecordRow &r) { return u4(r.repo); }),
          col(TEXTOID, [&](const GraphRecordRow &r) {
              return text_datum(std::string_view(collection_text(r.coll)));
          }),
          col(TEXTOID, [&](const GraphRecordRow &r) { return text_datum(r.rkey); }),
          col(INT4OID, [&](const GraphRecordRow &r) { return uid_datum(r.subject); }),
          col(INT8OID, [&](const GraphRecordRow &r) {
              return r.list_id == kNoList ? std::nullopt : int8_datum(r.list_id);
          }),
          col(TIMESTAMPTZOID, [&](const GraphRecordRow &r) { return time_datum(r.created_at); }));
    insert(&i_repost, d.repost_inserts, &n->inserted, "repost",
           vouch(exempt, d.repost_inserts, kRefActor,
                 [&](const RepostRow &r) { return actor(r.reposter); }) |
               vouch(exempt, d.repost_inserts, kRefPost,
                     [&](const RepostRow &r) { return has(v->posts, r.post_id); }),
          col(INT8OID, [&](const RepostRow &r) { return int8_datum(r.id); }),
          col(INT4OID, [&](const RepostRow &r) { return u4(r.reposter); }),
          col(INT8OID, [&](const RepostRow &r) { return int8_datum(r.post_id); }),
          col(TIMESTAMPTZOID, [&](const RepostRow &r) { return time_datum(r.created_at); }),
          col(TEXTOID, [&](const RepostRow &r) { return text_datum(r.rkey); }),
          col(TEXTOID, [&](const RepostRow &r) { return text_datum(r.cid); }));
    insert(&i_pending, d.pending_inserts, &n->inserted, "repost_pending",
           vouch(exempt, d.pending_inserts, kRefActor,
                 [&](const PendingRow &p) { return actor(p.reposter); }),
          col(INT4OID, [&](const PendingRow &p) { return u4(p.reposter); }),
          col(TEXTOID, [&](const PendingRow &p) { return text_datum(p.rkey); }),
          col(TEXTOID, [&](const PendingRow &p) { return text_datum(p.cid); }),
          col(INT4OID, [&](const PendingRow &p) { return u4(p.subject_author); }),
          col(TEXTOID, [&](const PendingRow &p) { return text_datum(p.subject_rkey); }),
          col(TIMESTAMPTZOID, [&](const PendingRow &p) { return time_datum(p.created_at); }));
    auto member_refs = [&](const std::vector<MemberRow> &rows) {
        return vouch(exempt, rows, kRefActor, [&](const MemberRow &m) { return actor(m.uid); }) |
               vouch(exempt, rows, kRefList, [&](const MemberRow &m) { return list(m.list_id); });
    };
    insert(&i_list_item, d.list_item_inserts, &n->inserted, "list_item",
           member_refs(d.list_item_inserts), member_list, member_uid);
    insert(&i_list_block, d.list_block_inserts, &n->inserted, "list_block",
           member_refs(d.list_block_inserts), member_list, member_uid);

    // Updates.
    write(&u_actor, d.actor_updates, SPI_OK_UPDATE, &n->updated,
          col(INT4OID, [&](const ActorRow &a) { return u4(a.uid); }),
          col(BOOLOID, [&](const ActorRow &a) { return bool_datum(a.active); }),
          col(TEXTOID, [&](const ActorRow &a) { return text_datum(a.status); }));
    write(&u_follow, d.follow_updates, SPI_OK_UPDATE, &n->updated, efrom, eto, etime);
    write(&u_block, d.block_updates, SPI_OK_UPDATE, &n->updated, efrom, eto, etime);
    write(&u_post, d.post_updates, SPI_OK_UPDATE, &n->updated,
          col(INT8OID, [&](const PostRow &p) { return int8_datum(p.id); }),
          col(TEXTOID, [&](const PostRow &p) { return text_datum(p.cid); }),
          col(INT4OID, [&](const PostRow &p) { return uid_datum(p.reply_root); }),
          col(INT4OID, [&](const PostRow &p) { return uid_datum(p.reply_parent); }),
          col(BOOLOID, [&](const PostRow &p) { return bool_datum(p.quote); }),
          col(TEXTOID, [&](const PostRow &p) { return media_datum(p.media); }));
    write(&u_repost, d.repost_updates, SPI_OK_UPDATE, &n->updated,
          col(INT8OID, [&](const RepostRow &r) { return int8_datum(r.id); }),
          col(TEXTOID, [&](const RepostRow &r) { return text_datum(r.cid); }));
    write(&u_list, d.list_updates, SPI_OK_UPDATE, &n->updated,
          col(INT8OID, [&](const ListRow &l) { return int8_datum(l.id); }),
          col(TEXTOID, [&](const ListRow &l) { return purpose_datum(l.purpose); }));
}

}  // namespace dpg
