// The ingest tests' reference: the whole database in memory, the rules of
// DESIGN.md applied one event at a time by plain scans (written apart from
// src/ingest), the loading of a batch's keys as the glue's SELECTs would,
// and the writing of a Diff as its statements would (cascades, and a check
// of every key and foreign key on each row written).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "ingest_model.hpp"

namespace ing::test {

using OptStr = std::optional<std::string>;

inline OptStr opt(const Text &t) { return t ? OptStr(std::string(*t)) : OptStr(); }
inline Text text(const OptStr &s) { return s ? Text(*s) : Text(); }

struct Db {
    struct Actor {
        bool active = true;
        OptStr status;
        bool operator==(const Actor &o) const { return active == o.active && status == o.status; }
    };
    struct Rec {
        Uid subject = 0;
        int64_t list_id = kNoList;
        int64_t created_at = 0;
        bool operator==(const Rec &o) const {
            return subject == o.subject && list_id == o.list_id && created_at == o.created_at;
        }
    };
    struct Post {
        Uid author = 0;
        int64_t created_at = 0;
        std::string rkey;
        OptStr cid;
        Uid root = 0, parent = 0;
        bool quote = false;
        Media media = Media::kNone;
        auto tie() const { return std::tie(author, created_at, rkey, cid, root, parent, quote, media); }
        bool operator==(const Post &o) const { return tie() == o.tie(); }
    };
    struct Repost {
        Uid reposter = 0;
        int64_t post_id = 0;
        int64_t created_at = 0;
        std::string rkey;
        OptStr cid;
        auto tie() const { return std::tie(reposter, post_id, created_at, rkey, cid); }
        bool operator==(const Repost &o) const { return tie() == o.tie(); }
    };
    struct Pending {
        OptStr cid;
        Uid subject_author = 0;
        std::string subject_rkey;
        int64_t created_at = 0;
        auto tie() const { return std::tie(cid, subject_author, subject_rkey, created_at); }
        bool operator==(const Pending &o) const { return tie() == o.tie(); }
    };
    struct List {
        Uid owner = 0;
        std::string rkey;
        OptStr purpose;
        bool operator==(const List &o) const { return owner == o.owner && rkey == o.rkey && purpose == o.purpose; }
    };
    using RecKey = std::tuple<Uid, int, std::string>;  // repo, collection, rkey
    using Name = std::pair<Uid, std::string>;

    std::map<Uid, Actor> actors;
    std::map<std::pair<Uid, Uid>, int64_t> follows, blocks;
    std::map<RecKey, Rec> records;
    std::map<int64_t, Post> posts;
    std::map<int64_t, Repost> reposts;
    std::map<Name, Pending> pending;
    std::map<int64_t, List> lists;
    std::set<std::pair<int64_t, Uid>> list_items, list_blocks;  // (list_id, subject / actor)
    int64_t next_item = 1000;  // item_id_seq
    int64_t next_list = 5000;  // list_id_seq

    bool same_tables(const Db &o) const {
        return actors == o.actors && follows == o.follows && blocks == o.blocks && records == o.records &&
               posts == o.posts && reposts == o.reposts && pending == o.pending && lists == o.lists &&
               list_items == o.list_items && list_blocks == o.list_blocks;
    }

    std::map<std::pair<Uid, Uid>, int64_t> &edges(Collection c) {
        return c == Collection::kBlock ? blocks : follows;
    }
};

// ---------------------------------------------------------------------------
// The reference: one event at a time, plain scans.

inline std::optional<int64_t> ref_post(const Db &db, Uid author, std::string_view rkey) {
    for (const auto &[id, p] : db.posts)
        if (p.author == author && p.rkey == rkey)
            return id;
    return std::nullopt;
}

inline std::optional<int64_t> ref_list(const Db &db, Uid owner, std::string_view rkey) {
    for (const auto &[id, l] : db.lists)
        if (l.owner == owner && l.rkey == rkey)
            return id;
    return std::nullopt;
}

inline std::optional<int64_t> ref_repost(const Db &db, Uid reposter, std::string_view rkey) {
    for (const auto &[id, r] : db.reposts)
        if (r.reposter == reposter && r.rkey == rkey)
            return id;
    return std::nullopt;
}

inline bool ref_has_repost_of(const Db &db, Uid reposter, int64_t post_id) {
    for (const auto &[id, r] : db.reposts)
        if (r.reposter == reposter && r.post_id == post_id)
            return true;
    return false;
}

// Held-aside reposts of (author, rkey) by `reposter` (0: any), in promotion order.
inline std::vector<Db::Name> ref_pending_of(const Db &db, Uid author, const std::string &rkey, Uid reposter) {
    std::vector<std::pair<std::tuple<int64_t, Uid, std::string>, Db::Name>> v;
    for (const auto &[k, p] : db.pending)
        if (p.subject_author == author && p.subject_rkey == rkey && (reposter == 0 || k.first == reposter))
            v.push_back({{p.created_at, k.first, k.second}, k});
    std::sort(v.begin(), v.end());
    std::vector<Db::Name> out;
    for (auto &x : v)
        out.push_back(x.second);
    return out;
}

inline void ref_promote(Db &db, const Db::Name &k, int64_t post_id) {
    Db::Pending p = db.pending.at(k);
    db.pending.erase(k);
    db.reposts[db.next_item++] = Db::Repost{k.first, post_id, p.created_at, k.second, p.cid};
}

inline void ref_graph_delete(Db &db, const Change &c) {
    Db::RecKey key{c.repo, int(c.coll), std::string(c.rkey)};
    auto it = db.records.find(key);
    if (it == db.records.end())
        return;
    Db::Rec r = it->second;
    db.records.erase(it);
    std::vector<int64_t> times;  // of the row's records that remain
    for (const auto &[k, o] : db.records) {
        int coll = std::get<1>(k);
        if (coll != int(c.coll))
            continue;
        bool same_row;
        if (c.coll == Collection::kListItem)
            same_row = o.list_id == r.list_id && o.subject == r.subject;
        else if (c.coll == Collection::kListBlock)
            same_row = std::get<0>(k) == c.repo && o.list_id == r.list_id;
        else
            same_row = std::get<0>(k) == c.repo && o.subject == r.subject;
        if (same_row)
            times.push_back(o.created_at);
    }
    if (!times.empty()) {
        // The edge keeps a time of one of its records: its own while one
        // has it, else the earliest of theirs.
        if (c.coll == Collection::kFollow || c.coll == Collection::kBlock) {
            auto e = db.edges(c.coll).find({c.repo, r.subject});
            if (e != db.edges(c.coll).end() &&
                std::find(times.begin(), times.end(), e->second) == times.end())
                e->second = *std::min_element(times.begin(), times.end());
        }
        return;
    }
    if (c.coll == Collection::kListItem)
        db.list_items.erase({r.list_id, r.subject});
    else if (c.coll == Collection::kListBlock)
        db.list_blocks.erase({r.list_id, c.repo});
    else
        db.edges(c.coll).erase({c.repo, r.subject});
}

inline void ref_graph_create(Db &db, const Change &c) {
    Db::RecKey key{c.repo, int(c.coll), std::string(c.rkey)};
    if (db.records.count(key))
        return;
    Db::Rec r{c.coll == Collection::kListBlock ? 0 : c.subject, kNoList, c.created_at};
    if (c.coll == Collection::kListItem || c.coll == Collection::kListBlock) {
        auto l = ref_list(db, c.target, c.target_rkey);
        if (!l) {
            l = db.next_list++;
            db.lists[*l] = Db::List{c.target, std::string(c.target_rkey), std::nullopt};
        }
        r.list_id = *l;
    }
    db.records[key] = r;
    if (c.coll == Collection::kListItem)
        db.list_items.insert({r.list_id, c.subject});
    else if (c.coll == Collection::kListBlock)
        db.list_blocks.insert({r.list_id, c.repo});
    else if (!db.edges(c.coll).count({c.repo, c.subject}))
        db.edges(c.coll)[{c.repo, c.subject}] = c.created_at;
}

inline void ref_repost_delete(Db &db, const Change &c) {
    Db::Name k{c.repo, std::string(c.rkey)};
    if (db.pending.erase(k))
        return;
    auto id = ref_repost(db, c.repo, c.rkey);
    if (!id)
        return;
    int64_t post_id = db.reposts.at(*id).post_id;
    db.reposts.erase(*id);
    const Db::Post &p = db.posts.at(post_id);
    auto held = ref_pending_of(db, p.author, p.rkey, c.repo);
    if (!held.empty() && !ref_has_repost_of(db, c.repo, post_id))
        ref_promote(db, held.front(), post_id);
}

inline void ref_repost_create(Db &db, const Change &c) {
    Db::Name k{c.repo, std::string(c.rkey)};
    if (db.pending.count(k) || ref_repost(db, c.repo, c.rkey))
        return;
    auto post_id = ref_post(db, c.target, c.target_rkey);
    if (post_id && !ref_has_repost_of(db, c.repo, *post_id))
        db.reposts[db.next_item++] = Db::Repost{c.repo, *post_id, c.created_at, k.second, std::string(c.cid)};
    else
        db.pending[k] = Db::Pending{std::string(c.cid), c.target, std::string(c.target_rkey), c.created_at};
}

inline void ref_apply(Db &db, const Change &c) {
    if (c.repo == 0)
        return;
    if (c.account) {
        auto it = db.actors.find(c.repo);
        if (it != db.actors.end())
            it->second = Db::Actor{c.active, c.active || !c.status ? OptStr() : OptStr(std::string(*c.status))};
        return;
    }
    switch (c.coll) {
        case Collection::kFollow:
        case Collection::kBlock:
        case Collection::kListItem:
        case Collection::kListBlock:
            if (c.op == CommitOp::kUpdate) {
                // The same subject and list: nothing changes.
                auto it = db.records.find({c.repo, int(c.coll), std::string(c.rkey)});
                if (it != db.records.end()) {
                    const Db::Rec &r = it->second;
                    bool same = c.coll == Collection::kListBlock || r.subject == c.subject;
                    if (r.list_id != kNoList)
                        same = same && ref_list(db, c.target, c.target_rkey) == r.list_id;
                    if (same)
                        break;
                }
            }
            if (c.op != CommitOp::kCreate)
                ref_graph_delete(db, c);
            if (c.op != CommitOp::kDelete)
                ref_graph_create(db, c);
            break;
        case Collection::kPost: {
            auto id = ref_post(db, c.repo, c.rkey);
            if (c.op == CommitOp::kDelete) {
                // Held-aside reposts of the post go, even if it is unknown.
                for (const auto &k : ref_pending_of(db, c.repo, std::string(c.rkey), 0))
                    db.pending.erase(k);
                if (!id)
                    return;
                for (auto it = db.reposts.begin(); it != db.reposts.end();)
                    it = it->second.post_id == *id ? db.reposts.erase(it) : std::next(it);
                db.posts.erase(*id);
                return;
            }
            if (id) {
                Db::Post &p = db.posts.at(*id);
                p.cid = std::string(c.cid);
                p.root = c.reply_root;
                p.parent = c.reply_parent;
                p.quote = c.quote;
                p.media = c.media;
            } else {
                id = db.next_item++;
                db.posts[*id] = Db::Post{c.repo, c.created_at, std::string(c.rkey), std::string(c.cid),
                                         c.reply_root, c.reply_parent, c.quote, c.media};
            }
            for (const auto &k : ref_pending_of(db, c.repo, std::string(c.rkey), 0))
                if (!ref_has_repost_of(db, k.first, *id))
                    ref_promote(db, k, *id);
            break;
        }
        case Collection::kRepost:
            if (c.op == CommitOp::kDelete) {
                ref_repost_delete(db, c);
            } else if (c.op == CommitOp::kCreate) {
                ref_repost_create(db, c);
            } else {
                Db::Name k{c.repo, std::string(c.rkey)};
                auto id = ref_repost(db, c.repo, c.rkey);
                if (id) {
                    const Db::Post &p = db.posts.at(db.reposts.at(*id).post_id);
                    if (p.author == c.target && p.rkey == c.target_rkey) {
                        db.reposts.at(*id).cid = std::string(c.cid);
                        return;
                    }
                }
                auto held = db.pending.find(k);
                if (held != db.pending.end() && held->second.subject_author == c.target &&
                    held->second.subject_rkey == c.target_rkey) {
                    held->second.cid = std::string(c.cid);
                    return;
                }
                ref_repost_delete(db, c);
                ref_repost_create(db, c);
            }
            break;
        case Collection::kList: {
            auto id = ref_list(db, c.repo, c.rkey);
            if (c.op == CommitOp::kDelete) {
                if (!id)
                    return;
                for (auto it = db.list_items.begin(); it != db.list_items.end();)
                    it = it->first == *id ? db.list_items.erase(it) : std::next(it);
                for (auto it = db.list_blocks.begin(); it != db.list_blocks.end();)
                    it = it->first == *id ? db.list_blocks.erase(it) : std::next(it);
                for (auto it = db.records.begin(); it != db.records.end();)
                    it = it->second.list_id == *id ? db.records.erase(it) : std::next(it);
                db.lists.erase(*id);
                return;
            }
            OptStr purpose = c.purpose ? OptStr(std::string(*c.purpose)) : OptStr();
            if (!id)
                db.lists[db.next_list++] = Db::List{c.repo, std::string(c.rkey), purpose};
            else if (!db.lists.at(*id).purpose || c.op == CommitOp::kUpdate)
                db.lists.at(*id).purpose = purpose;
            break;
        }
        case Collection::kOther:
            break;
    }
}

// ---------------------------------------------------------------------------
// The glue's side: SELECTs of a batch's keys, and the statements of a Diff.

inline void load(const Db &db, const Keys &k, State &st) {
    for (Uid u : k.actors) {
        auto it = db.actors.find(u);
        if (it != db.actors.end())
            st.add_actor(ActorRow{u, it->second.active, text(it->second.status)});
    }
    for (bool block : {false, true})
        for (const EdgeKey &e : block ? k.blocks : k.follows) {
            const auto &m = block ? db.blocks : db.follows;
            auto it = m.find({e.from, e.to});
            if (it == m.end())
                continue;
            if (block)
                st.add_block(EdgeRow{e.from, e.to, it->second});
            else
                st.add_follow(EdgeRow{e.from, e.to, it->second});
        }
    auto add_rec = [&](const Db::RecKey &key, const Db::Rec &r) {
        st.add_record(GraphRecordRow{std::get<0>(key), Collection(std::get<1>(key)), std::get<2>(key), r.subject,
                                     r.list_id, r.created_at});
    };
    for (const RecordKey &rk : k.records) {
        auto it = db.records.find({rk.repo, int(rk.coll), std::string(rk.rkey)});
        if (it != db.records.end())
            add_rec(it->first, it->second);
    }
    for (const RowKey &row : k.record_rows)
        for (const auto &[key, r] : db.records) {
            if (std::get<1>(key) != int(row.coll))
                continue;
            Uid repo = std::get<0>(key);
            bool match = row.coll == Collection::kListItem    ? r.list_id == row.a && r.subject == row.b
                         : row.coll == Collection::kListBlock ? r.list_id == row.a && repo == row.b
                                                              : repo == row.a && r.subject == row.b;
            if (match)
                add_rec(key, r);
        }
    auto add_post = [&](int64_t id, const Db::Post &p) {
        st.add_post(PostRow{id, p.author, p.created_at, p.rkey, text(p.cid), p.root, p.parent, p.quote, p.media});
    };
    for (const NameKey &n : k.posts)
        for (const auto &[id, p] : db.posts)
            if (p.author == n.did && p.rkey == n.rkey)
                add_post(id, p);
    auto add_repost = [&](int64_t id, const Db::Repost &r) {
        const Db::Post &p = db.posts.at(r.post_id);  // the join
        st.add_repost(RepostRow{id, r.reposter, r.post_id, r.created_at, r.rkey, text(r.cid), p.author, Text(p.rkey)});
    };
    auto add_pending = [&](const Db::Name &key, const Db::Pending &p) {
        st.add_pending(PendingRow{key.first, key.second, text(p.cid), p.subject_author, p.subject_rkey, p.created_at});
    };
    for (const NameKey &n : k.reposts) {
        for (const auto &[id, r] : db.reposts)
            if (r.reposter == n.did && r.rkey == n.rkey)
                add_repost(id, r);
        auto it = db.pending.find({n.did, std::string(n.rkey)});
        if (it != db.pending.end())
            add_pending(it->first, it->second);
    }
    for (const RepostOfKey &ro : k.reposts_of)
        for (const auto &[id, r] : db.reposts)
            if (r.reposter == ro.reposter && r.post_id == ro.post_id)
                add_repost(id, r);
    for (const NameKey &n : k.pending_of)
        for (const auto &[key, p] : db.pending)
            if (p.subject_author == n.did && p.subject_rkey == n.rkey)
                add_pending(key, p);
    for (const NameKey &n : k.lists)
        for (const auto &[id, l] : db.lists)
            if (l.owner == n.did && l.rkey == n.rkey)
                st.add_list(ListRow{id, l.owner, l.rkey, text(l.purpose)});
    for (const MemberRow &m : k.list_items)
        if (db.list_items.count({m.list_id, m.uid}))
            st.add_list_item(m);
    for (const MemberRow &m : k.list_blocks)
        if (db.list_blocks.count({m.list_id, m.uid}))
            st.add_list_block(m);
}

// Deletes a post or a list with what its foreign keys cascade to.
inline void delete_post(Db &db, int64_t id) {
    if (!db.posts.erase(id))
        return;
    for (auto it = db.reposts.begin(); it != db.reposts.end();)
        it = it->second.post_id == id ? db.reposts.erase(it) : std::next(it);
}

inline void delete_list(Db &db, int64_t id) {
    if (!db.lists.erase(id))
        return;
    for (auto it = db.list_items.begin(); it != db.list_items.end();)
        it = it->first == id ? db.list_items.erase(it) : std::next(it);
    for (auto it = db.list_blocks.begin(); it != db.list_blocks.end();)
        it = it->first == id ? db.list_blocks.erase(it) : std::next(it);
    for (auto it = db.records.begin(); it != db.records.end();)
        it = it->second.list_id == id ? db.records.erase(it) : std::next(it);
}

// Writes a Diff in the documented order, failing the test on any row that
// would violate a key or a foreign key, or an UPDATE that finds no row.
inline void write(Db &db, const Diff &d) {
    // 1. DELETEs.
    for (const EdgeKey &e : d.follow_deletes)
        db.follows.erase({e.from, e.to});
    for (const EdgeKey &e : d.block_deletes)
        db.blocks.erase({e.from, e.to});
    for (const RecordKey &k : d.record_deletes)
        db.records.erase({k.repo, int(k.coll), std::string(k.rkey)});
    for (int64_t id : d.repost_deletes)
        db.reposts.erase(id);
    for (const NameKey &k : d.pending_deletes)
        db.pending.erase({k.did, std::string(k.rkey)});
    for (const MemberRow &m : d.list_item_deletes)
        db.list_items.erase({m.list_id, m.uid});
    for (const MemberRow &m : d.list_block_deletes)
        db.list_blocks.erase({m.list_id, m.uid});
    for (int64_t id : d.post_deletes)
        delete_post(db, id);
    for (int64_t id : d.list_deletes)
        delete_list(db, id);
    // 2. INSERTs, parents first.
    for (const ListRow &l : d.list_inserts) {
        EXPECT_FALSE(db.lists.count(l.id)) << "list id " << l.id;
        EXPECT_FALSE(ref_list(db, l.owner, l.rkey)) << "list (owner, rkey)";
        db.lists[l.id] = Db::List{l.owner, std::string(l.rkey), opt(l.purpose)};
    }
    for (const PostRow &p : d.post_inserts) {
        EXPECT_FALSE(db.posts.count(p.id)) << "post id " << p.id;
        EXPECT_FALSE(ref_post(db, p.author, p.rkey)) << "post (author, rkey)";
        db.posts[p.id] = Db::Post{p.author, p.created_at, std::string(p.rkey), opt(p.cid), p.reply_root,
                                  p.reply_parent, p.quote, p.media};
    }
    for (const RepostRow &r : d.repost_inserts) {
        EXPECT_FALSE(db.reposts.count(r.id)) << "repost id";
        EXPECT_FALSE(ref_repost(db, r.reposter, r.rkey)) << "repost (reposter, rkey)";
        EXPECT_FALSE(ref_has_repost_of(db, r.reposter, r.post_id)) << "repost (reposter, post_id)";
        EXPECT_TRUE(db.posts.count(r.post_id)) << "repost's post";
        db.reposts[r.id] = Db::Repost{r.reposter, r.post_id, r.created_at, std::string(r.rkey), opt(r.cid)};
    }
    for (const GraphRecordRow &g : d.record_inserts) {
        Db::RecKey key{g.repo, int(g.coll), std::string(g.rkey)};
        EXPECT_FALSE(db.records.count(key)) << "graph_record key";
        if (g.list_id != kNoList) {
            EXPECT_TRUE(db.lists.count(g.list_id)) << "graph_record's list";
        }
        db.records[key] = Db::Rec{g.subject, g.list_id, g.created_at};
    }
    for (bool items : {true, false})
        for (const MemberRow &m : items ? d.list_item_inserts : d.list_block_inserts) {
            auto &set = items ? db.list_items : db.list_blocks;
            EXPECT_TRUE(db.lists.count(m.list_id)) << "member's list";
            EXPECT_TRUE(set.insert({m.list_id, m.uid}).second) << "member key";
        }
    for (const PendingRow &p : d.pending_inserts)
        EXPECT_TRUE(db.pending
                        .emplace(Db::Name{p.reposter, std::string(p.rkey)},
                                 Db::Pending{opt(p.cid), p.subject_author, std::string(p.subject_rkey), p.created_at})
                        .second)
            << "pending key";
    for (bool block : {false, true})
        for (const EdgeRow &e : block ? d.block_inserts : d.follow_inserts)
            EXPECT_TRUE((block ? db.blocks : db.follows).emplace(std::make_pair(e.from, e.to), e.created_at).second)
                << "edge key";
    // 3. UPDATEs.
    for (const ActorRow &a : d.actor_updates) {
        ASSERT_TRUE(db.actors.count(a.uid));
        db.actors[a.uid] = Db::Actor{a.active, opt(a.status)};
    }
    for (const PostRow &p : d.post_updates) {
        ASSERT_TRUE(db.posts.count(p.id));
        Db::Post &q = db.posts[p.id];
        q.cid = opt(p.cid);
        q.root = p.reply_root;
        q.parent = p.reply_parent;
        q.quote = p.quote;
        q.media = p.media;
    }
    for (const RepostRow &r : d.repost_updates) {
        ASSERT_TRUE(db.reposts.count(r.id));
        db.reposts[r.id].cid = opt(r.cid);
    }
    for (const ListRow &l : d.list_updates) {
        ASSERT_TRUE(db.lists.count(l.id));
        db.lists[l.id].purpose = opt(l.purpose);
    }
    for (bool block : {false, true})
        for (const EdgeRow &e : block ? d.block_updates : d.follow_updates) {
            auto &m = block ? db.blocks : db.follows;
            ASSERT_TRUE(m.count({e.from, e.to}));
            m[{e.from, e.to}] = e.created_at;
        }
}

struct BatchStats {
    size_t batches = 0;
    size_t runs = 0;
    size_t max_runs = 0;
};

// Applies a batch the glue's way: load the touched keys, then the
// dependent keys until there are none, run, load what the run missed, run
// again, ... then write the diff.
inline void apply_batch(Db &db, const Change *changes, size_t n, BatchStats *stats = nullptr) {
    State st;
    Keys keys = touched_keys(changes, n);
    for (size_t runs = 1;; runs++) {
        ASSERT_LT(runs, 10u) << "the loading does not converge";
        load(db, keys, st);
        st.mark_loaded(keys);
        for (int round = 0; runs == 1 && round < 4; round++) {
            keys = dependent_keys(changes, n, st);
            if (keys.empty())
                break;
            load(db, keys, st);
            st.mark_loaded(keys);
        }
        IdDemand need = id_demand(changes, n, st);
        PrefetchedIds ids;
        for (size_t i = 0; i < need.items; i++)
            ids.items.push_back(db.next_item + int64_t(i));
        for (size_t i = 0; i < need.lists; i++)
            ids.lists.push_back(db.next_list + int64_t(i));
        BatchRun run = apply(changes, n, st, ids);
        ASSERT_FALSE(run.ids_exhausted()) << "id_demand is not an upper bound";
        if (run.complete()) {
            write(db, diff(st, run));
            // The sequence hands out no value twice; unused ones are not
            // lost here so that ids match the reference's.
            db.next_item += int64_t(ids.items_used);
            db.next_list += int64_t(ids.lists_used);
            if (stats) {
                stats->batches++;
                stats->runs += runs;
                stats->max_runs = std::max(stats->max_runs, runs);
            }
            return;
        }
        keys = run.missing();
        ASSERT_FALSE(keys.empty());
    }
}

}  // namespace ing::test
