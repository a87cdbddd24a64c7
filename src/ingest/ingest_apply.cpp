// The rules: each event applied in order over the batch's rows (see
// ingest_model.hpp and DESIGN.md, "Ingest: Jetstream events into the
// tables").
#include <algorithm>

#include "ingest_tables.hpp"

namespace ing {

namespace {

template <typename K>
void note(std::vector<K> &v, Set<K> &seen, const K &k) {
    if (seen.insert(k).second)
        v.push_back(k);
}

// Runs one batch over a BatchRun's tables.
class Applier {
  public:
    Applier(BatchRun::Impl &run, IdSource &ids) : r_(run), s_(*run.state), ids_(ids) {}

    // Applies one event.
    void change(const Change &c);

  private:
    BatchRun::Impl &r_;
    const State::Impl &s_;
    IdSource &ids_;

    // Lookups. Each notes its key as missing when its rows were not loaded
    // (and then answers from what the run has, which no longer matters).

    GraphRecordRow *record(const RecordKey &k) {
        if (!s_.known.records.count(k) && !s_.t.records.count(k))
            note(r_.missing.records, r_.missing_seen.records, k);
        auto it = r_.t.records.find(k);
        return it == r_.t.records.end() ? nullptr : &it->second;
    }

    Map<EdgeKey, EdgeRow> &edges(Collection c) { return c == Collection::kBlock ? r_.t.blocks : r_.t.follows; }

    bool edge(Collection c, const EdgeKey &k) {
        bool block = c == Collection::kBlock;
        const Known &kn = s_.known;
        if (!(block ? kn.blocks : kn.follows).count(k) && !(block ? s_.t.blocks : s_.t.follows).count(k))
            note(block ? r_.missing.blocks : r_.missing.follows,
                 block ? r_.missing_seen.blocks : r_.missing_seen.follows, k);
        return edges(c).count(k) != 0;
    }

    // Does some record of this row remain?
    bool row_has_records(const RowKey &k) {
        bool new_list = k.coll == Collection::kListItem || k.coll == Collection::kListBlock
                            ? r_.new_lists.count(k.a) != 0
                            : false;
        if (!new_list && !s_.known.record_rows.count(k))
            note(r_.missing.record_rows, r_.missing_seen.record_rows, k);
        return r_.ix.records_by_row.count(k) != 0;
    }

    // The id of the post (author, rkey), or nullptr.
    const int64_t *post(const NameKey &k) {
        if (!s_.known.posts.count(k) && !s_.ix.post_by_name.count(k))
            note(r_.missing.posts, r_.missing_seen.posts, k);
        auto it = r_.ix.post_by_name.find(k);
        return it == r_.ix.post_by_name.end() ? nullptr : &it->second;
    }

    // Notes (reposter, rkey) as needed: a repost row or a held-aside one.
    void need_repost(const NameKey &k) {
        if (!s_.known.reposts.count(k))
            note(r_.missing.reposts, r_.missing_seen.reposts, k);
    }

    RepostRow *repost_row(const NameKey &k) {
        need_repost(k);
        auto it = r_.ix.repost_by_name.find(k);
        return it == r_.ix.repost_by_name.end() ? nullptr : &r_.t.reposts.at(it->second);
    }

    PendingRow *pending(const NameKey &k) {
        need_repost(k);
        auto it = r_.t.pending.find(k);
        return it == r_.t.pending.end() ? nullptr : &it->second;
    }

    // Has the reposter a repost row of post `post_id`? (Unique: one loaded
    // row of the pair is all of them; a post of this run has none loaded.)
    bool has_repost_of(Uid reposter, int64_t post_id) {
        RepostOfKey k{reposter, post_id};
        if (!r_.new_posts.count(post_id) && !s_.known.reposts_of.count(k) && !s_.ix.repost_of.count(k))
            note(r_.missing.reposts_of, r_.missing_seen.reposts_of, k);
        return r_.ix.repost_of.count(k) != 0;
    }

    // The held-aside reposts of the post `subject`, in promotion order:
    // (created_at, reposter, rkey).
    std::vector<PendingRow> pending_of(const NameKey &subject) {
        if (!s_.known.pending_of.count(subject))
            note(r_.missing.pending_of, r_.missing_seen.pending_of, subject);
        std::vector<PendingRow> out;
        auto it = r_.ix.pending_by_subject.find(subject);
        if (it != r_.ix.pending_by_subject.end())
            for (const NameKey &k : it->second)
                out.push_back(r_.t.pending.at(k));
        std::sort(out.begin(), out.end(), [](const PendingRow &a, const PendingRow &b) {
            if (a.created_at != b.created_at)
                return a.created_at < b.created_at;
            if (a.reposter != b.reposter)
                return a.reposter < b.reposter;
            return a.rkey < b.rkey;
        });
        return out;
    }

    ListRow *list(const NameKey &k) {
        if (!s_.known.lists.count(k) && !s_.ix.list_by_name.count(k))
            note(r_.missing.lists, r_.missing_seen.lists, k);
        auto it = r_.ix.list_by_name.find(k);
        return it == r_.ix.list_by_name.end() ? nullptr : &r_.t.lists.at(it->second);
    }

    bool member(bool items, const MemberRow &k) {
        const Set<MemberRow> &loaded = items ? s_.t.list_items : s_.t.list_blocks;
        const Set<MemberRow> &known = items ? s_.known.list_items : s_.known.list_blocks;
        if (!r_.new_lists.count(k.list_id) && !known.count(k) && !loaded.count(k))
            note(items ? r_.missing.list_items : r_.missing.list_blocks,
                 items ? r_.missing_seen.list_items : r_.missing_seen.list_blocks, k);
        return (items ? r_.t.list_items : r_.t.list_blocks).count(k) != 0;
    }

    ActorRow *actor(Uid uid) {
        if (!s_.known.actors.count(uid) && !s_.t.actors.count(uid))
            note(r_.missing.actors, r_.missing_seen.actors, uid);
        auto it = r_.t.actors.find(uid);
        return it == r_.t.actors.end() ? nullptr : &it->second;
    }

    // Changes, keeping the indexes exact.

    bool new_item_id(int64_t *id) {
        if (!ids_.next_item_id(id)) {
            r_.ids_exhausted = true;
            return false;
        }
        return true;
    }

    bool new_list_id(int64_t *id) {
        if (!ids_.next_list_id(id)) {
            r_.ids_exhausted = true;
            return false;
        }
        r_.new_lists.insert(*id);
        return true;
    }

    void insert_record(const GraphRecordRow &g) {
        r_.t.records.emplace(record_key(g), g);
        index_record(r_.ix, g);
    }

    void remove_record(const RecordKey &k) {
        auto it = r_.t.records.find(k);
        index_erase(r_.ix.records_by_row, row_of(it->second), k);
        if (it->second.list_id != kNoList)
            index_erase(r_.ix.records_by_list, it->second.list_id, k);
        r_.t.records.erase(it);
    }

    void insert_repost(const RepostRow &p) {
        r_.t.reposts.emplace(p.id, p);
        index_repost(r_.ix, p);
    }

    void remove_repost(int64_t id) {
        auto it = r_.t.reposts.find(id);
        const RepostRow &p = it->second;
        r_.ix.repost_by_name.erase(NameKey{p.reposter, p.rkey});
        r_.ix.repost_of.erase(RepostOfKey{p.reposter, p.post_id});
        index_erase(r_.ix.reposts_by_post, p.post_id, id);
        r_.t.reposts.erase(it);
    }

    void insert_pending(const PendingRow &p) {
        r_.t.pending.emplace(pending_key(p), p);
        index_pending(r_.ix, p);
    }

    void remove_pending(const NameKey &k) {
        auto it = r_.t.pending.find(k);
        index_erase(r_.ix.pending_by_subject, pending_subject(it->second), k);
        r_.t.pending.erase(it);
    }

    void insert_member(bool items, const MemberRow &m) {
        (items ? r_.t.list_items : r_.t.list_blocks).insert(m);
        (items ? r_.ix.items_by_list : r_.ix.blocks_by_list)[m.list_id].push_back(m.uid);
    }

    void remove_member(bool items, const MemberRow &m) {
        (items ? r_.t.list_items : r_.t.list_blocks).erase(m);
        index_erase(items ? r_.ix.items_by_list : r_.ix.blocks_by_list, m.list_id, m.uid);
    }

    // A held-aside repost becomes a row of post `post_id`.
    void promote(const PendingRow &p, int64_t post_id) {
        int64_t id;
        if (!new_item_id(&id))
            return;
        remove_pending(pending_key(p));
        insert_repost(RepostRow{id, p.reposter, post_id, p.created_at, p.rkey, p.cid, p.subject_author,
                                Text(p.subject_rkey)});
    }

    // The rules, one per collection and operation.

    void graph_create(const Change &c);
    void graph_delete(const Change &c);
    void graph_update(const Change &c);
    void edge_time_of_records(Collection coll, const EdgeKey &e, const RowKey &row);
    void post_write(const Change &c);
    void post_delete(const Change &c);
    void repost_create(const Change &c);
    void repost_update(const Change &c);
    void repost_delete(const Change &c);
    void list_write(const Change &c);
    void list_delete(const Change &c);
    void account(const Change &c);
};

// follow, block, listitem, listblock create: a new record, and its row
// unless the row exists.
void Applier::graph_create(const Change &c) {
    bool listed = c.coll == Collection::kListItem || c.coll == Collection::kListBlock;
    if ((c.coll != Collection::kListBlock && c.subject == 0) || (listed && c.target == 0))
        return;
    RecordKey k{c.repo, c.coll, c.rkey};
    if (record(k))
        return;
    GraphRecordRow g{c.repo, c.coll, c.rkey, c.coll == Collection::kListBlock ? 0 : c.subject, kNoList,
                     c.created_at};
    if (listed) {
        // The list, or a stub of it until its record arrives.
        NameKey name{c.target, c.target_rkey};
        ListRow *l = list(name);
        if (l) {
            g.list_id = l->id;
        } else {
            if (!new_list_id(&g.list_id))
                return;
            ListRow stub{g.list_id, c.target, c.target_rkey, Text()};
            r_.t.lists.emplace(stub.id, stub);
            index_list(r_.ix, stub);
        }
    }
    insert_record(g);
    if (listed) {
        bool items = c.coll == Collection::kListItem;
        MemberRow m{g.list_id, items ? c.subject : c.repo};
        if (!member(items, m))
            insert_member(items, m);
    } else {
        EdgeKey e{c.repo, c.subject};
        if (!edge(c.coll, e))
            edges(c.coll).emplace(e, EdgeRow{e.from, e.to, c.created_at});
    }
}

// follow, block, listitem, listblock delete: the record goes; its row goes
// with the row's last record.
void Applier::graph_delete(const Change &c) {
    RecordKey k{c.repo, c.coll, c.rkey};
    const GraphRecordRow *g = record(k);
    if (!g)
        return;
    RowKey row = row_of(*g);
    remove_record(k);
    bool edge_coll = c.coll == Collection::kFollow || c.coll == Collection::kBlock;
    EdgeKey e{uint32_t(row.a), uint32_t(row.b)};
    if (row_has_records(row)) {
        if (edge_coll)
            edge_time_of_records(c.coll, e, row);
        return;
    }
    if (edge_coll) {
        if (edge(c.coll, e))
            edges(c.coll).erase(e);
    } else {
        bool items = c.coll == Collection::kListItem;
        MemberRow m{row.a, uint32_t(row.b)};
        if (member(items, m))
            remove_member(items, m);
    }
}

// An edge's created_at is that of one of its records (DESIGN.md): the
// record that created the edge sets it; when a record goes and the edge
// keeps others, none of which has that time (the record that set it went),
// the edge takes the earliest of theirs. (An edge written by plain SQL
// keeps its own time until then.)
void Applier::edge_time_of_records(Collection coll, const EdgeKey &e, const RowKey &row) {
    if (!edge(coll, e))
        return;
    EdgeRow &edge_row = edges(coll).at(e);
    auto holders = r_.ix.records_by_row.find(row);
    if (holders == r_.ix.records_by_row.end())
        return;
    bool found = false;
    int64_t earliest = 0;
    for (const RecordKey &k : holders->second) {
        auto it = r_.t.records.find(k);
        if (it == r_.t.records.end())
            continue;
        int64_t t = it->second.created_at;
        if (t == edge_row.created_at)
            return;  // still the time of a record it has
        if (!found || t < earliest)
            earliest = t;
        found = true;
    }
    if (found)
        edge_row.created_at = earliest;
}

// follow, block, listitem, listblock update: a record that names the same
// subject and list stays as it is (a replay of the update changes nothing,
// as for posts); otherwise a delete of the old record, then a create.
void Applier::graph_update(const Change &c) {
    const GraphRecordRow *g = record(RecordKey{c.repo, c.coll, c.rkey});
    if (g) {
        bool same = c.coll == Collection::kListBlock || g->subject == c.subject;
        if (same && g->list_id != kNoList) {
            const ListRow *l = list(NameKey{c.target, c.target_rkey});
            same = l && l->id == g->list_id;
        }
        if (same)
            return;
    }
    graph_delete(c);
    graph_create(c);
}

// post create or update: the post's fields replaced (id and created_at
// kept), or a new post; then its held-aside reposts are promoted.
void Applier::post_write(const Change &c) {
    NameKey name{c.repo, c.rkey};
    const int64_t *found = post(name);
    int64_t id;
    if (found) {
        id = *found;
        PostRow &p = r_.t.posts.at(id);
        p.cid = Text(c.cid);
        p.reply_root = c.reply_root;
        p.reply_parent = c.reply_parent;
        p.quote = c.quote;
        p.media = c.media;
    } else {
        if (!new_item_id(&id))
            return;
        PostRow p{id, c.repo, c.created_at, c.rkey, Text(c.cid), c.reply_root, c.reply_parent, c.quote, c.media};
        r_.t.posts.emplace(id, p);
        index_post(r_.ix, p);
        r_.new_posts.insert(id);
    }
    // Each held-aside repost becomes a row, unless its reposter already
    // has one of this post (a second record of the same repost).
    for (const PendingRow &p : pending_of(name))
        if (!has_repost_of(p.reposter, id))
            promote(p, id);
}

// post delete: the post goes, with its repost rows; and the reposts held
// aside for it go whether or not it was there. (Were they kept when the
// post is unknown, a replay of [repost, post delete] would leave behind the
// repost that the first pass made a row and deleted with the post.)
void Applier::post_delete(const Change &c) {
    NameKey name{c.repo, c.rkey};
    for (const PendingRow &p : pending_of(name))
        remove_pending(pending_key(p));
    const int64_t *found = post(name);
    if (!found)
        return;
    int64_t id = *found;
    auto rp = r_.ix.reposts_by_post.find(id);
    if (rp != r_.ix.reposts_by_post.end()) {
        std::vector<int64_t> ids = rp->second;
        for (int64_t r : ids)
            remove_repost(r);
    }
    r_.t.posts.erase(id);
    r_.ix.post_by_name.erase(name);
}

// repost create: a row if the post is there and the reposter has none of
// it, else held aside; nothing if the record is known either way.
void Applier::repost_create(const Change &c) {
    if (c.target == 0)
        return;
    NameKey name{c.repo, c.rkey};
    // Both lookups, so that both halves of the key are noted if missing.
    bool is_row = repost_row(name) != nullptr;
    if (pending(name) || is_row)
        return;
    NameKey subject{c.target, c.target_rkey};
    const int64_t *post_id = post(subject);
    if (post_id && !has_repost_of(c.repo, *post_id)) {
        int64_t id;
        if (!new_item_id(&id))
            return;
        insert_repost(RepostRow{id, c.repo, *post_id, c.created_at, c.rkey, Text(c.cid), c.target,
                                Text(c.target_rkey)});
    } else {
        insert_pending(PendingRow{c.repo, c.rkey, Text(c.cid), c.target, c.target_rkey, c.created_at});
    }
}

// repost delete: a row goes and the reposter's first held-aside repost of
// the same post takes its place; a held-aside one just goes.
void Applier::repost_delete(const Change &c) {
    NameKey name{c.repo, c.rkey};
    RepostRow *row = repost_row(name);
    PendingRow *held = pending(name);
    if (held) {
        remove_pending(name);
        return;
    }
    if (!row)
        return;
    int64_t post_id = row->post_id;
    Uid author = row->post_author;
    Text post_rkey = row->post_rkey;
    remove_repost(row->id);
    if (!post_rkey)
        return;  // a post without rkey (written with SQL): nothing held aside names it
    for (const PendingRow &p : pending_of(NameKey{author, *post_rkey}))
        if (p.reposter == c.repo) {
            if (!has_repost_of(p.reposter, post_id))
                promote(p, post_id);
            break;
        }
}

// repost update: of the same post, only the cid changes (a replay keeps the
// row's id); of another post, a delete then a create.
void Applier::repost_update(const Change &c) {
    NameKey name{c.repo, c.rkey};
    RepostRow *row = repost_row(name);
    PendingRow *held = pending(name);
    if (row && row->post_author == c.target && row->post_rkey == Text(c.target_rkey)) {
        row->cid = Text(c.cid);
        return;
    }
    if (held && held->subject_author == c.target && held->subject_rkey == c.target_rkey) {
        held->cid = Text(c.cid);
        return;
    }
    repost_delete(c);
    repost_create(c);
}

// list create or update: a new list, or the purpose of a stub (or of any
// list on update) set.
void Applier::list_write(const Change &c) {
    NameKey name{c.repo, c.rkey};
    Text purpose = c.purpose;
    ListRow *l = list(name);
    if (l) {
        if (!l->purpose || c.op == CommitOp::kUpdate)
            l->purpose = purpose;
        return;
    }
    int64_t id;
    if (!new_list_id(&id))
        return;
    ListRow row{id, c.repo, c.rkey, purpose};
    r_.t.lists.emplace(id, row);
    index_list(r_.ix, row);
}

// list delete: the list goes with its items, list blocks and the records
// that name it (the rows not loaded go by the cascade of its DELETE).
void Applier::list_delete(const Change &c) {
    NameKey name{c.repo, c.rkey};
    ListRow *l = list(name);
    if (!l)
        return;
    int64_t id = l->id;
    for (bool items : {true, false}) {
        auto &by_list = items ? r_.ix.items_by_list : r_.ix.blocks_by_list;
        auto it = by_list.find(id);
        if (it == by_list.end())
            continue;
        for (Uid u : it->second)
            (items ? r_.t.list_items : r_.t.list_blocks).erase(MemberRow{id, u});
        by_list.erase(it);
    }
    auto rec = r_.ix.records_by_list.find(id);
    if (rec != r_.ix.records_by_list.end()) {
        std::vector<RecordKey> keys = rec->second;
        for (const RecordKey &k : keys)
            remove_record(k);
    }
    r_.t.lists.erase(id);
    r_.ix.list_by_name.erase(name);
}

void Applier::account(const Change &c) {
    ActorRow *a = actor(c.repo);
    if (!a)
        return;  // no such actor: the UPDATE would find no row
    a->active = c.active;
    a->status = c.active ? Text() : c.status;
}

void Applier::change(const Change &c) {
    if (r_.ids_exhausted || c.repo == 0)
        return;
    if (c.account) {
        account(c);
        return;
    }
    bool del = c.op == CommitOp::kDelete;
    switch (c.coll) {
        case Collection::kFollow:
        case Collection::kBlock:
        case Collection::kListItem:
        case Collection::kListBlock:
            if (c.op == CommitOp::kCreate)
                graph_create(c);
            else if (c.op == CommitOp::kUpdate)
                graph_update(c);
            else
                graph_delete(c);
            break;
        case Collection::kPost:
            del ? post_delete(c) : post_write(c);
            break;
        case Collection::kRepost:
            if (del)
                repost_delete(c);
            else if (c.op == CommitOp::kUpdate)
                repost_update(c);
            else
                repost_create(c);
            break;
        case Collection::kList:
            del ? list_delete(c) : list_write(c);
            break;
        case Collection::kOther:
            break;
    }
}

}  // namespace

BatchRun::BatchRun() : impl_(new Impl) {}
BatchRun::~BatchRun() = default;
BatchRun::BatchRun(BatchRun &&) noexcept = default;
BatchRun &BatchRun::operator=(BatchRun &&) noexcept = default;

bool BatchRun::complete() const { return !impl_->ids_exhausted && impl_->missing.empty(); }
const Keys &BatchRun::missing() const { return impl_->missing; }
bool BatchRun::ids_exhausted() const { return impl_->ids_exhausted; }

BatchRun apply(const Change *changes, size_t n, const State &state, IdSource &ids) {
    BatchRun run;
    BatchRun::Impl &r = run.impl();
    r.state = &state.impl();
    r.t = r.state->t;
    r.ix = r.state->ix;
    Applier a(r, ids);
    for (size_t i = 0; i < n; i++)
        a.change(changes[i]);
    return run;
}

}  // namespace ing
