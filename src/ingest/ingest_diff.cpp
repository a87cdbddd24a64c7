// The rows a complete run changed: its tables against the loaded ones.
#include <algorithm>
#include <tuple>

#include "ingest_tables.hpp"

namespace ing {

bool Diff::empty() const {
    return actor_updates.empty() && follow_deletes.empty() && follow_inserts.empty() && follow_updates.empty() &&
           block_deletes.empty() && block_inserts.empty() && block_updates.empty() && record_deletes.empty() &&
           record_inserts.empty() && post_deletes.empty() && post_inserts.empty() && post_updates.empty() &&
           repost_deletes.empty() && repost_inserts.empty() && repost_updates.empty() && pending_deletes.empty() &&
           pending_inserts.empty() && list_deletes.empty() && list_inserts.empty() && list_updates.empty() &&
           list_item_deletes.empty() && list_item_inserts.empty() && list_block_deletes.empty() &&
           list_block_inserts.empty();
}

namespace {

bool same(const ActorRow &a, const ActorRow &b) { return a.active == b.active && a.status == b.status; }
bool same(const EdgeRow &a, const EdgeRow &b) { return a.created_at == b.created_at; }
bool same(const GraphRecordRow &a, const GraphRecordRow &b) {
    return a.subject == b.subject && a.list_id == b.list_id && a.created_at == b.created_at;
}
bool same(const PostRow &a, const PostRow &b) {
    return a.author == b.author && a.rkey == b.rkey && a.created_at == b.created_at && a.cid == b.cid &&
           a.reply_root == b.reply_root && a.reply_parent == b.reply_parent && a.quote == b.quote &&
           a.media == b.media;
}
bool same(const RepostRow &a, const RepostRow &b) {
    return a.reposter == b.reposter && a.rkey == b.rkey && a.post_id == b.post_id &&
           a.created_at == b.created_at && a.cid == b.cid;
}
bool same(const PendingRow &a, const PendingRow &b) {
    return a.cid == b.cid && a.subject_author == b.subject_author && a.subject_rkey == b.subject_rkey &&
           a.created_at == b.created_at;
}
bool same(const ListRow &a, const ListRow &b) {
    return a.owner == b.owner && a.rkey == b.rkey && a.purpose == b.purpose;
}

// Rows of `before` gone from `after` → del(key, row); rows of `after` not
// in `before` → ins(row); rows in both that differ → upd(old, new).
template <typename M, typename Del, typename Ins, typename Upd>
void compare(const M &before, const M &after, Del del, Ins ins, Upd upd) {
    for (const auto &[k, row] : before) {
        auto it = after.find(k);
        if (it == after.end())
            del(k, row);
        else if (!same(row, it->second))
            upd(row, it->second);
    }
    for (const auto &[k, row] : after)
        if (!before.count(k))
            ins(row);
}

template <typename T, typename Key>
void sort_by(std::vector<T> &v, Key key) {
    std::sort(v.begin(), v.end(), [&](const T &a, const T &b) { return key(a) < key(b); });
}

auto edge_order = [](const auto &e) { return std::make_tuple(e.from, e.to); };
auto record_order = [](const auto &r) { return std::make_tuple(r.repo, uint8_t(r.coll), r.rkey); };
auto id_order = [](const auto &r) { return r.id; };
auto member_order = [](const MemberRow &m) { return std::make_tuple(m.list_id, m.uid); };

void edges(const Map<EdgeKey, EdgeRow> &before, const Map<EdgeKey, EdgeRow> &after, std::vector<EdgeKey> &del,
           std::vector<EdgeRow> &ins, std::vector<EdgeRow> &upd) {
    compare(
        before, after, [&](const EdgeKey &k, const EdgeRow &) { del.push_back(k); },
        [&](const EdgeRow &r) { ins.push_back(r); }, [&](const EdgeRow &, const EdgeRow &r) { upd.push_back(r); });
    sort_by(del, edge_order);
    sort_by(ins, edge_order);
    sort_by(upd, edge_order);
}

void members(const Set<MemberRow> &before, const Set<MemberRow> &after, std::vector<MemberRow> &del,
             std::vector<MemberRow> &ins) {
    for (const MemberRow &m : before)
        if (!after.count(m))
            del.push_back(m);
    for (const MemberRow &m : after)
        if (!before.count(m))
            ins.push_back(m);
    sort_by(del, member_order);
    sort_by(ins, member_order);
}

}  // namespace

Diff diff(const State &state, const BatchRun &run) {
    const Tables &a = state.impl().t;
    const Tables &b = run.impl().t;
    Diff d;
    compare(
        a.actors, b.actors, [](Uid, const ActorRow &) {}, [](const ActorRow &) {},
        [&](const ActorRow &, const ActorRow &r) { d.actor_updates.push_back(r); });
    sort_by(d.actor_updates, [](const ActorRow &r) { return r.uid; });
    edges(a.follows, b.follows, d.follow_deletes, d.follow_inserts, d.follow_updates);
    edges(a.blocks, b.blocks, d.block_deletes, d.block_inserts, d.block_updates);
    // A changed record is deleted and inserted: the cascade of a list's
    // DELETE may have taken the old one, so an UPDATE could find no row.
    compare(
        a.records, b.records, [&](const RecordKey &k, const GraphRecordRow &) { d.record_deletes.push_back(k); },
        [&](const GraphRecordRow &r) { d.record_inserts.push_back(r); },
        [&](const GraphRecordRow &old, const GraphRecordRow &r) {
            d.record_deletes.push_back(record_key(old));
            d.record_inserts.push_back(r);
        });
    sort_by(d.record_deletes, record_order);
    sort_by(d.record_inserts, record_order);
    compare(
        a.posts, b.posts, [&](int64_t id, const PostRow &) { d.post_deletes.push_back(id); },
        [&](const PostRow &r) { d.post_inserts.push_back(r); },
        [&](const PostRow &, const PostRow &r) { d.post_updates.push_back(r); });
    std::sort(d.post_deletes.begin(), d.post_deletes.end());
    // New posts by (author, rkey), the order of two of post's three indexes
    // (new ids all go to the right end of the third): each insertion then
    // finds its index pages in the CPU's caches more often.
    sort_by(d.post_inserts, [](const PostRow &p) { return std::make_tuple(p.author, p.rkey); });
    sort_by(d.post_updates, id_order);
    compare(
        a.reposts, b.reposts, [&](int64_t id, const RepostRow &) { d.repost_deletes.push_back(id); },
        [&](const RepostRow &r) { d.repost_inserts.push_back(r); },
        [&](const RepostRow &, const RepostRow &r) { d.repost_updates.push_back(r); });
    std::sort(d.repost_deletes.begin(), d.repost_deletes.end());
    // By (reposter, rkey): three of repost's five indexes lead with reposter.
    sort_by(d.repost_inserts, [](const RepostRow &r) { return std::make_tuple(r.reposter, r.rkey); });
    sort_by(d.repost_updates, id_order);
    compare(
        a.pending, b.pending, [&](const NameKey &k, const PendingRow &) { d.pending_deletes.push_back(k); },
        [&](const PendingRow &r) { d.pending_inserts.push_back(r); },
        [&](const PendingRow &old, const PendingRow &r) {
            d.pending_deletes.push_back(pending_key(old));
            d.pending_inserts.push_back(r);
        });
    sort_by(d.pending_deletes, [](const NameKey &k) { return std::make_tuple(k.did, k.rkey); });
    sort_by(d.pending_inserts, [](const PendingRow &r) { return std::make_tuple(r.reposter, r.rkey); });
    compare(
        a.lists, b.lists, [&](int64_t id, const ListRow &) { d.list_deletes.push_back(id); },
        [&](const ListRow &r) { d.list_inserts.push_back(r); },
        [&](const ListRow &, const ListRow &r) { d.list_updates.push_back(r); });
    std::sort(d.list_deletes.begin(), d.list_deletes.end());
    sort_by(d.list_inserts, id_order);
    sort_by(d.list_updates, id_order);
    members(a.list_items, b.list_items, d.list_item_deletes, d.list_item_inserts);
    members(a.list_blocks, b.list_blocks, d.list_block_deletes, d.list_block_inserts);
    return d;
}

}  // namespace ing
