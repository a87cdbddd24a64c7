// Loading a batch's rows: the keys its events name, the State the glue
// fills, and the bound on the ids a run may draw.
#include "ingest_tables.hpp"

#include <algorithm>
#include <tuple>

namespace ing {

bool Keys::empty() const {
    return actors.empty() && follows.empty() && blocks.empty() && records.empty() && record_rows.empty() &&
           posts.empty() && reposts.empty() && reposts_of.empty() && pending_of.empty() && lists.empty() &&
           list_items.empty() && list_blocks.empty();
}

namespace {

// Appends k to v unless `seen` has it.
template <typename K>
void add_key(std::vector<K> &v, Set<K> &seen, const K &k) {
    if (seen.insert(k).second)
        v.push_back(k);
}

bool is_graph(Collection c) {
    return c == Collection::kFollow || c == Collection::kBlock || c == Collection::kListItem ||
           c == Collection::kListBlock;
}

}  // namespace

Keys touched_keys(const Change *changes, size_t n) {
    Keys k;
    Known seen;
    for (size_t i = 0; i < n; i++) {
        const Change &c = changes[i];
        if (c.repo == 0)
            continue;  // an unknown DID: a no-op delete
        if (c.account) {
            add_key(k.actors, seen.actors, c.repo);
            continue;
        }
        bool writes = c.op != CommitOp::kDelete;
        // (The edge of a follow or block, and the post a repost names, are
        // dependent_keys: a replayed create finds its record and needs
        // neither.)
        if (is_graph(c.coll))
            add_key(k.records, seen.records, RecordKey{c.repo, c.coll, c.rkey});
        switch (c.coll) {
            case Collection::kFollow:
            case Collection::kBlock:
                break;
            case Collection::kPost:
                // A create promotes the post's held-aside reposts, a delete
                // deletes them.
                add_key(k.posts, seen.posts, NameKey{c.repo, c.rkey});
                add_key(k.pending_of, seen.pending_of, NameKey{c.repo, c.rkey});
                break;
            case Collection::kRepost:
                add_key(k.reposts, seen.reposts, NameKey{c.repo, c.rkey});
                break;
            case Collection::kList:
                add_key(k.lists, seen.lists, NameKey{c.repo, c.rkey});
                break;
            case Collection::kListItem:
            case Collection::kListBlock:
                if (writes)
                    add_key(k.lists, seen.lists, NameKey{c.target, c.target_rkey});
                break;
            case Collection::kOther:
                break;
        }
    }
    return k;
}

Keys dependent_keys(const Change *changes, size_t n, const State &state) {
    const State::Impl &m = state.impl();
    const Known &kn = m.known;
    Keys k;
    Known seen;
    auto want = [](auto &v, auto &seen_set, const auto &known_set, const auto &key) {
        if (!known_set.count(key))
            add_key(v, seen_set, key);
    };
    // The rows of the graph records and the posts of the reposts that
    // earlier events of the batch create: a later delete names only the
    // record.
    Map<RecordKey, RowKey> created_rows;
    Map<NameKey, NameKey> created_reposts;
    for (size_t i = 0; i < n; i++) {
        const Change &c = changes[i];
        if (c.repo == 0 || c.account)
            continue;
        bool items = c.coll == Collection::kListItem;
        bool listed = items || c.coll == Collection::kListBlock;
        bool block = c.coll == Collection::kBlock;
        auto want_row = [&](const RowKey &row) {
            if (listed)
                want(items ? k.list_items : k.list_blocks, items ? seen.list_items : seen.list_blocks,
                     items ? kn.list_items : kn.list_blocks, MemberRow{row.a, uint32_t(row.b)});
            else
                want(block ? k.blocks : k.follows, block ? seen.blocks : seen.follows,
                     block ? kn.blocks : kn.follows, EdgeKey{uint32_t(row.a), uint32_t(row.b)});
        };
        if (is_graph(c.coll)) {
            RecordKey rk{c.repo, c.coll, c.rkey};
            if (!kn.records.count(rk))
                continue;  // the record itself is not loaded yet
            auto g = m.t.records.find(rk);
            bool loaded = g != m.t.records.end();
            // A delete (or an update) of a record: the other records of its
            // row, and the row.
            if (c.op != CommitOp::kCreate) {
                auto made = created_rows.find(rk);
                if (loaded || made != created_rows.end()) {
                    RowKey row = loaded ? row_of(g->second) : made->second;
                    want(k.record_rows, seen.record_rows, kn.record_rows, row);
                    want_row(row);
                }
            }
            // A create of a record not there (or an update): its row.
            if (c.op == CommitOp::kDelete || (loaded && c.op == CommitOp::kCreate))
                continue;
            RowKey row{c.coll, c.repo, c.subject};
            if (listed) {
                auto l = m.ix.list_by_name.find(NameKey{c.target, c.target_rkey});
                if (l == m.ix.list_by_name.end())
                    continue;  // a list of this batch, or not loaded yet
                row = RowKey{c.coll, l->second, items ? c.subject : c.repo};
            }
            want_row(row);
            created_rows[rk] = row;
        } else if (c.coll == Collection::kRepost) {
            NameKey name{c.repo, c.rkey};
            if (!kn.reposts.count(name))
                continue;  // the repost itself is not loaded yet
            auto r = m.ix.repost_by_name.find(name);
            bool loaded = r != m.ix.repost_by_name.end() || m.t.pending.count(name);
            // A delete (or update) of a repost: the reposts held aside for
            // its post.
            if (c.op != CommitOp::kCreate) {
                auto made = created_reposts.find(name);
                if (r != m.ix.repost_by_name.end()) {
                    const RepostRow &row = m.t.reposts.at(r->second);
                    if (row.post_rkey)
                        want(k.pending_of, seen.pending_of, kn.pending_of,
                             NameKey{row.post_author, *row.post_rkey});
                } else if (made != created_reposts.end()) {
                    want(k.pending_of, seen.pending_of, kn.pending_of, made->second);
                }
            }
            // A create of a repost not there (or an update): its post, then
            // the reposter's repost of that post.
            if (c.op == CommitOp::kDelete || (loaded && c.op == CommitOp::kCreate))
                continue;
            NameKey subject{c.target, c.target_rkey};
            created_reposts[name] = subject;
            want(k.posts, seen.posts, kn.posts, subject);
            auto p = m.ix.post_by_name.find(subject);
            if (p != m.ix.post_by_name.end())
                want(k.reposts_of, seen.reposts_of, kn.reposts_of, RepostOfKey{c.repo, p->second});
        } else if (c.coll == Collection::kPost && c.op != CommitOp::kDelete) {
            // The reposts held aside for a loaded post: their reposters'
            // reposts of it.
            NameKey name{c.repo, c.rkey};
            auto p = m.ix.post_by_name.find(name);
            auto held = m.ix.pending_by_subject.find(name);
            if (p != m.ix.post_by_name.end() && held != m.ix.pending_by_subject.end())
                for (const NameKey &h : held->second)
                    want(k.reposts_of, seen.reposts_of, kn.reposts_of, RepostOfKey{h.did, p->second});
        }
    }
    return k;
}

namespace {

template <typename T, typename Key>
void sort_by(std::vector<T> &v, Key key) {
    std::sort(v.begin(), v.end(), [&](const T &a, const T &b) { return key(a) < key(b); });
}

}  // namespace

void sort_keys(Keys &k) {
    // Text compares as the tables' C collation does: bytewise.
    auto name = [](const NameKey &x) { return std::make_tuple(x.did, x.rkey); };
    auto member = [](const MemberRow &x) { return std::make_tuple(x.list_id, x.uid); };
    std::sort(k.actors.begin(), k.actors.end());
    sort_by(k.follows, [](const EdgeKey &x) { return std::make_tuple(x.from, x.to); });
    sort_by(k.blocks, [](const EdgeKey &x) { return std::make_tuple(x.from, x.to); });
    sort_by(k.records, [](const RecordKey &x) { return std::make_tuple(x.repo, uint8_t(x.coll), x.rkey); });
    // List items by (list, subject) (graph_record_list_idx); edges by
    // (subject, repo) (graph_record_subject_idx); list blocks by repo (the
    // primary key).
    sort_by(k.record_rows, [](const RowKey &x) {
        return x.coll == Collection::kListItem ? std::make_tuple(uint8_t(x.coll), x.a, x.b)
                                               : std::make_tuple(uint8_t(x.coll), x.b, x.a);
    });
    sort_by(k.posts, name);
    sort_by(k.reposts, name);
    sort_by(k.reposts_of, [](const RepostOfKey &x) { return std::make_tuple(x.reposter, x.post_id); });
    sort_by(k.pending_of, name);
    sort_by(k.lists, name);
    sort_by(k.list_items, member);
    sort_by(k.list_blocks, member);
}

IdDemand id_demand(const Change *changes, size_t n, const State &state) {
    IdDemand d;
    for (size_t i = 0; i < n; i++) {
        const Change &c = changes[i];
        if (c.account || c.op == CommitOp::kDelete)
            continue;
        if (c.coll == Collection::kPost || c.coll == Collection::kRepost)
            d.items++;
        else if (c.coll == Collection::kList || c.coll == Collection::kListItem || c.coll == Collection::kListBlock)
            d.lists++;
    }
    d.items += state.impl().t.pending.size();
    return d;
}

bool PrefetchedIds::next_item_id(int64_t *id) {
    if (items_used == items.size())
        return false;
    *id = items[items_used++];
    return true;
}

bool PrefetchedIds::next_list_id(int64_t *id) {
    if (lists_used == lists.size())
        return false;
    *id = lists[lists_used++];
    return true;
}

void index_post(Indexes &ix, const PostRow &p) { ix.post_by_name[NameKey{p.author, p.rkey}] = p.id; }

void index_repost(Indexes &ix, const RepostRow &r) {
    ix.repost_by_name[NameKey{r.reposter, r.rkey}] = r.id;
    ix.repost_of[RepostOfKey{r.reposter, r.post_id}] = r.id;
    ix.reposts_by_post[r.post_id].push_back(r.id);
}

void index_pending(Indexes &ix, const PendingRow &p) {
    ix.pending_by_subject[pending_subject(p)].push_back(pending_key(p));
}

void index_record(Indexes &ix, const GraphRecordRow &r) {
    ix.records_by_row[row_of(r)].push_back(record_key(r));
    if (r.list_id != kNoList)
        ix.records_by_list[r.list_id].push_back(record_key(r));
}

void index_list(Indexes &ix, const ListRow &l) { ix.list_by_name[NameKey{l.owner, l.rkey}] = l.id; }

std::string_view State::Impl::keep(std::string_view s) {
    text.emplace_back(s);
    return text.back();
}

State::State() : impl_(new Impl) {}
State::~State() = default;

void State::add_actor(const ActorRow &r) {
    if (impl_->t.actors.count(r.uid))
        return;
    ActorRow a = r;
    a.status = impl_->keep(r.status);
    impl_->t.actors.emplace(a.uid, a);
}

void State::add_follow(const EdgeRow &r) { impl_->t.follows.emplace(edge_key(r), r); }

void State::add_block(const EdgeRow &r) { impl_->t.blocks.emplace(edge_key(r), r); }

void State::add_record(const GraphRecordRow &r) {
    Impl &m = *impl_;
    if (m.t.records.count(record_key(r)))
        return;
    GraphRecordRow g = r;
    g.rkey = m.keep(r.rkey);
    m.t.records.emplace(record_key(g), g);
    index_record(m.ix, g);
}

void State::add_post(const PostRow &r) {
    Impl &m = *impl_;
    if (m.t.posts.count(r.id))
        return;
    PostRow p = r;
    p.rkey = m.keep(r.rkey);
    p.cid = m.keep(r.cid);
    m.t.posts.emplace(p.id, p);
    index_post(m.ix, p);
}

void State::add_repost(const RepostRow &r) {
    Impl &m = *impl_;
    if (m.t.reposts.count(r.id))
        return;
    RepostRow p = r;
    p.rkey = m.keep(r.rkey);
    p.cid = m.keep(r.cid);
    p.post_rkey = m.keep(r.post_rkey);
    m.t.reposts.emplace(p.id, p);
    index_repost(m.ix, p);
}

void State::add_pending(const PendingRow &r) {
    Impl &m = *impl_;
    if (m.t.pending.count(pending_key(r)))
        return;
    PendingRow p = r;
    p.rkey = m.keep(r.rkey);
    p.cid = m.keep(r.cid);
    p.subject_rkey = m.keep(r.subject_rkey);
    m.t.pending.emplace(pending_key(p), p);
    index_pending(m.ix, p);
}

void State::add_list(const ListRow &r) {
    Impl &m = *impl_;
    if (m.t.lists.count(r.id))
        return;
    ListRow l = r;
    l.rkey = m.keep(r.rkey);
    l.purpose = m.keep(r.purpose);
    m.t.lists.emplace(l.id, l);
    index_list(m.ix, l);
}

void State::add_list_item(const MemberRow &r) {
    if (impl_->t.list_items.insert(r).second)
        impl_->ix.items_by_list[r.list_id].push_back(r.uid);
}

void State::add_list_block(const MemberRow &r) {
    if (impl_->t.list_blocks.insert(r).second)
        impl_->ix.blocks_by_list[r.list_id].push_back(r.uid);
}

void State::mark_loaded(const Keys &k) {
    Known &kn = impl_->known;
    kn.actors.insert(k.actors.begin(), k.actors.end());
    kn.follows.insert(k.follows.begin(), k.follows.end());
    kn.blocks.insert(k.blocks.begin(), k.blocks.end());
    kn.records.insert(k.records.begin(), k.records.end());
    kn.record_rows.insert(k.record_rows.begin(), k.record_rows.end());
    kn.posts.insert(k.posts.begin(), k.posts.end());
    kn.reposts.insert(k.reposts.begin(), k.reposts.end());
    kn.reposts_of.insert(k.reposts_of.begin(), k.reposts_of.end());
    kn.pending_of.insert(k.pending_of.begin(), k.pending_of.end());
    kn.lists.insert(k.lists.begin(), k.lists.end());
    kn.list_items.insert(k.list_items.begin(), k.list_items.end());
    kn.list_blocks.insert(k.list_blocks.begin(), k.list_blocks.end());
}

}  // namespace ing
