// The in-memory tables behind State and BatchRun (ingest_model.hpp): hashing of
// the keys, the rows by key, and the indexes the rules look rows up by.
// Internal to src/ingest.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "flat_table.hpp"
#include "ingest_model.hpp"

namespace ing {

inline uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}


inline bool operator==(const EdgeKey &a, const EdgeKey &b) { return a.from == b.from && a.to == b.to; }
inline bool operator==(const RecordKey &a, const RecordKey &b) {
    return a.repo == b.repo && a.coll == b.coll && a.rkey == b.rkey;
}
inline bool operator==(const RowKey &a, const RowKey &b) { return a.coll == b.coll && a.a == b.a && a.b == b.b; }
inline bool operator==(const NameKey &a, const NameKey &b) { return a.did == b.did && a.rkey == b.rkey; }
inline bool operator==(const RepostOfKey &a, const RepostOfKey &b) {
    return a.reposter == b.reposter && a.post_id == b.post_id;
}
inline bool operator==(const MemberRow &a, const MemberRow &b) { return a.list_id == b.list_id && a.uid == b.uid; }

struct KeyHash {
    size_t operator()(Uid u) const { return mix(0, u); }
    size_t operator()(int64_t v) const { return mix(1, uint64_t(v)); }
    size_t operator()(const EdgeKey &k) const { return mix(k.from, k.to); }
    size_t operator()(const RecordKey &k) const { return mix(mix(k.repo, uint64_t(k.coll)), hash_text(k.rkey)); }
    size_t operator()(const RowKey &k) const { return mix(mix(uint64_t(k.coll), uint64_t(k.a)), uint64_t(k.b)); }
    size_t operator()(const NameKey &k) const { return mix(k.did, hash_text(k.rkey)); }
    size_t operator()(const RepostOfKey &k) const { return mix(k.reposter, uint64_t(k.post_id)); }
    size_t operator()(const MemberRow &k) const { return mix(uint64_t(k.list_id), k.uid); }
};

template <typename K, typename V>
using Map = FlatMap<K, V, KeyHash>;
template <typename K>
using Set = FlatSet<K, KeyHash>;

inline EdgeKey edge_key(const EdgeRow &e) { return EdgeKey{e.from, e.to}; }
inline RecordKey record_key(const GraphRecordRow &r) { return RecordKey{r.repo, r.coll, r.rkey}; }
inline NameKey pending_key(const PendingRow &p) { return NameKey{p.reposter, p.rkey}; }
inline NameKey pending_subject(const PendingRow &p) { return NameKey{p.subject_author, p.subject_rkey}; }

// The row a graph record keeps (see RowKey).
inline RowKey row_of(const GraphRecordRow &r) {
    switch (r.coll) {
        case Collection::kListItem:
            return RowKey{r.coll, r.list_id, r.subject};
        case Collection::kListBlock:
            return RowKey{r.coll, r.list_id, r.repo};
        default:
            return RowKey{r.coll, r.repo, r.subject};
    }
}

// The tables, by primary key.
struct Tables {
    Map<Uid, ActorRow> actors;
    Map<EdgeKey, EdgeRow> follows;
    Map<EdgeKey, EdgeRow> blocks;
    Map<RecordKey, GraphRecordRow> records;
    Map<int64_t, PostRow> posts;
    Map<int64_t, RepostRow> reposts;
    Map<NameKey, PendingRow> pending;
    Map<int64_t, ListRow> lists;
    Set<MemberRow> list_items;
    Set<MemberRow> list_blocks;
};

// Indexes over Tables, kept exact as rows come and go.
struct Indexes {
    Map<NameKey, int64_t> post_by_name;      // (author, rkey) → post id
    Map<NameKey, int64_t> repost_by_name;    // (reposter, rkey) → repost id
    Map<RepostOfKey, int64_t> repost_of;     // (reposter, post_id) → repost id
    Map<int64_t, std::vector<int64_t>> reposts_by_post;
    Map<NameKey, std::vector<NameKey>> pending_by_subject;
    Map<RowKey, std::vector<RecordKey>> records_by_row;
    Map<int64_t, std::vector<RecordKey>> records_by_list;
    Map<NameKey, int64_t> list_by_name;      // (owner, rkey) → list id
    Map<int64_t, std::vector<Uid>> items_by_list;
    Map<int64_t, std::vector<Uid>> blocks_by_list;
};

// Removes one occurrence of v from the vector at m[k] (order not kept).
template <typename M, typename K, typename V>
void index_erase(M &m, const K &k, const V &v) {
    auto it = m.find(k);
    if (it == m.end())
        return;
    auto &vec = it->second;
    for (size_t i = 0; i < vec.size(); i++)
        if (vec[i] == v) {
            vec[i] = vec.back();
            vec.pop_back();
            break;
        }
    if (vec.empty())
        m.erase(it);
}

// The keys whose rows were all loaded, by class (see Keys).
struct Known {
    Set<Uid> actors;
    Set<EdgeKey> follows;
    Set<EdgeKey> blocks;
    Set<RecordKey> records;
    Set<RowKey> record_rows;
    Set<NameKey> posts;
    Set<NameKey> reposts;
    Set<RepostOfKey> reposts_of;
    Set<NameKey> pending_of;
    Set<NameKey> lists;
    Set<MemberRow> list_items;
    Set<MemberRow> list_blocks;
};

struct State::Impl {
    Tables t;
    Indexes ix;
    Known known;
    std::deque<std::string> text;  // copies of loaded text (stable addresses)

    std::string_view keep(std::string_view s);
    Text keep(const Text &s) { return s ? Text(keep(*s)) : Text(); }
};

struct BatchRun::Impl {
    const State::Impl *state = nullptr;
    Tables t;
    Indexes ix;
    Set<int64_t> new_posts;  // ids drawn in this run: no loaded row can name them
    Set<int64_t> new_lists;
    Keys missing;
    Known missing_seen;  // dedupes `missing`
    bool ids_exhausted = false;
};

// Adds a row to tables and indexes (shared by State loading and BatchRun).
void index_post(Indexes &ix, const PostRow &p);
void index_repost(Indexes &ix, const RepostRow &r);
void index_pending(Indexes &ix, const PendingRow &p);
void index_record(Indexes &ix, const GraphRecordRow &r);
void index_list(Indexes &ix, const ListRow &l);

}  // namespace ing
