// The exact sequential semantics of a batch of Jetstream events over the
// ingest's tables, computed in memory over the rows the batch touches.
//
// The glue loads the current rows of the keys a batch touches, runs the
// batch's events over them here, and writes back only the difference, with
// a few set-based statements per table. The tables modelled:
//
//   actor(uid, did, active, status)
//   follow(follower, followee, created_at)   PK (follower, followee)
//   block(blocker, blocked, created_at)      PK (blocker, blocked)
//   post(id, author, created_at, rkey, cid, reply_root_author,
//        reply_parent_author, quote, media)  unique (author, rkey)
//   repost(id, reposter, post_id, created_at, rkey, cid)
//        unique (reposter, rkey), unique (reposter, post_id);
//        post_id references post ON DELETE CASCADE
//   list(id, owner, rkey, purpose)           unique (owner, rkey)
//   list_item(list_id, subject)              PK; list_id references list ON DELETE CASCADE
//   list_block(actor, list_id)               PK; list_id references list ON DELETE CASCADE
//   graph_record(repo, collection, rkey, subject, list_id, created_at)
//        PK (repo, collection, rkey); list_id references list ON DELETE CASCADE
//        (the records of follows, blocks, list items and list blocks)
//   repost_pending(reposter, rkey, cid, subject_author, subject_rkey,
//        created_at)                         PK (reposter, rkey)
//        (repost records held aside: their post is not in post)
//
// The protocol (the glue's loop):
//
//   State state;
//   Keys keys = touched_keys(changes, n);
//   for (;;) {
//       for each class of `keys`: SELECT its rows (see Keys), state.add_*(row);
//       state.mark_loaded(keys);
//       (first time only: the same for dependent_keys(changes, n, state),
//       again and again until it is empty)
//       prefetch at least id_demand(changes, n, state) ids into `ids`; ids.rewind();
//       BatchRun run = apply(changes, n, state, ids);
//       if (run.complete()) { write diff(state, run); break; }
//       keys = run.missing();   // rows a rule needed that were not loaded
//   }
//
// apply() runs every event in order over a copy of the loaded rows (the
// State itself stays as loaded: the diff compares against it, and a run may
// be discarded). A rule that looks at a row whose key was not loaded notes
// the key and goes on as if the row were absent; such a run is incomplete
// and discarded, and the next one runs with those rows loaded too. A
// complete run looked only at loaded keys, so it computed exactly what
// running the events one by one over the whole tables computes. Most
// batches need two runs: the keys the events name, then keys found in the
// loaded rows (the edge of a follow record being deleted, the reposter's
// repost of a post that exists).
//
// Rows the batch deletes through a cascade (the repost rows of a deleted
// post, the items, list blocks and records of a deleted list) need not be
// loaded: the DELETE of the parent takes them, as the rule does.
//
// Idempotency: replaying a suffix of events already applied leaves every
// table as it was, unless the suffix deletes a record and later creates one
// with the same key, names a deleted list again (a new stub), or moves a
// record by an update (a repost to another post, a follow to another
// subject) and changes it again. The replay then deletes the current row and
// creates it anew: it gets a new id, and what depended on the order may come
// out otherwise (which of one reposter's two reposts of a post is the row,
// the created_at of an edge). TID record keys are never reused and Bluesky
// does not update these records, so a real stream hardly ever does this.
// Two rules are as they are so that replays hold (the tests check both): a
// post delete deletes the reposts held aside for the post even when the
// post is unknown, and an update that names the same subject and list as
// the record it updates changes nothing.
//
// Text: every string_view in a Change, key or row points into memory the
// caller keeps alive (the batch's buffer); State copies the text of loaded
// rows. Exceptions: only std::bad_alloc, from the functions that say so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "ingest_types.hpp"

namespace ing {

using Uid = uint32_t;  // actor.uid (> 0); 0 means none, or a DID the glue does not know

// graph_record.list_id of a follow or block record (NULL).
constexpr int64_t kNoList = INT64_MIN;

// One readable event of the batch, its DIDs resolved to uids and its time
// to created_at (least(createdAt, time_us), or time_us: the glue's work).
// The glue interns the DIDs of creates, updates and account events; a
// delete whose DID is unknown (uid 0) is a no-op.
struct Change {
    bool account = false;  // an account event: repo, active, status
    CommitOp op = CommitOp::kCreate;
    Collection coll = Collection::kOther;
    Uid repo = 0;  // the event's DID
    std::string_view rkey;
    std::string_view cid;   // post, repost
    int64_t created_at = 0;
    Uid subject = 0;        // follow, block, listitem: the subject
    Uid target = 0;         // repost: the post's author; listitem, listblock: the list's owner
    std::string_view target_rkey;  // and the post's or the list's rkey
    Uid reply_root = 0;     // post: authors of the thread's root and the parent (both 0: no reply)
    Uid reply_parent = 0;
    bool quote = false;
    Media media = Media::kNone;
    Text purpose;              // list: NULL when the record has none
    bool active = true;        // account
    Text status;               // account: NULL when it has none
};

struct ActorRow {
    Uid uid = 0;
    bool active = true;
    Text status;
};

// A follow (follower → followee) or block (blocker → blocked) edge.
struct EdgeRow {
    Uid from = 0;
    Uid to = 0;
    int64_t created_at = 0;
};

struct GraphRecordRow {
    Uid repo = 0;
    Collection coll = Collection::kFollow;  // kFollow, kBlock, kListItem or kListBlock
    std::string_view rkey;
    Uid subject = 0;           // follow, block, listitem; 0 (NULL) for listblock
    int64_t list_id = kNoList;  // listitem, listblock
    int64_t created_at = 0;
};

struct PostRow {
    int64_t id = 0;
    Uid author = 0;
    int64_t created_at = 0;
    std::string_view rkey;
    Text cid;
    Uid reply_root = 0;    // 0: NULL
    Uid reply_parent = 0;  // 0: NULL
    bool quote = false;
    Media media = Media::kNone;
};

// A repost row. post_author and post_rkey are the key of its post (the glue
// loads them with a join on post); they are not columns of repost.
struct RepostRow {
    int64_t id = 0;
    Uid reposter = 0;
    int64_t post_id = 0;
    int64_t created_at = 0;
    std::string_view rkey;
    Text cid;
    Uid post_author = 0;
    Text post_rkey;
};

struct PendingRow {
    Uid reposter = 0;
    std::string_view rkey;
    Text cid;
    Uid subject_author = 0;
    std::string_view subject_rkey;
    int64_t created_at = 0;
};

struct ListRow {
    int64_t id = 0;
    Uid owner = 0;
    std::string_view rkey;
    Text purpose;  // NULL: a stub, created from a reference before its record
};

// A list_item (list_id, subject) or list_block (list_id, actor) row.
struct MemberRow {
    int64_t list_id = 0;
    Uid uid = 0;
};

// A follow or block edge's primary key.
struct EdgeKey {
    Uid from = 0;
    Uid to = 0;
};

// graph_record's primary key.
struct RecordKey {
    Uid repo = 0;
    Collection coll = Collection::kFollow;
    std::string_view rkey;
};

// The row a graph record keeps, which lives while one of its records does:
//   kFollow, kBlock: the edge (a = repo, b = subject)
//   kListItem:       list_item (a = list_id, b = subject), records of any repo
//   kListBlock:      list_block (a = list_id, b = repo)
struct RowKey {
    Collection coll = Collection::kFollow;
    int64_t a = 0;
    int64_t b = 0;
};

// A record named by its repository and rkey: a post (author, rkey), a
// repost (reposter, rkey), a list (owner, rkey), or the subject of held-aside
// reposts (subject_author, subject_rkey).
struct NameKey {
    Uid did = 0;
    std::string_view rkey;
};

// A reposter's repost of one post: repost's unique (reposter, post_id).
struct RepostOfKey {
    Uid reposter = 0;
    int64_t post_id = 0;
};

// The rows to load, by class. Each class is one SELECT of every row
// matching one of its keys (for example WHERE (a, b) IN (SELECT * FROM
// unnest($1, $2))); a key matching no row is normal.
struct Keys {
    std::vector<Uid> actors;                // actor WHERE uid
    std::vector<EdgeKey> follows;           // follow WHERE (follower, followee) = (from, to)
    std::vector<EdgeKey> blocks;            // block WHERE (blocker, blocked) = (from, to)
    std::vector<RecordKey> records;         // graph_record WHERE (repo, collection, rkey)
    std::vector<RowKey> record_rows;        // graph_record WHERE, by coll (see RowKey):
                                            //   (repo, collection, subject) = (a, coll, b)
                                            //   collection = 'listitem' AND (list_id, subject) = (a, b)
                                            //   (repo, collection, list_id) = (b, 'listblock', a)
    std::vector<NameKey> posts;             // post WHERE (author, rkey)
    std::vector<NameKey> reposts;           // repost JOIN post WHERE (repost.reposter, repost.rkey),
                                            //   and repost_pending WHERE (reposter, rkey)
    std::vector<RepostOfKey> reposts_of;    // repost JOIN post WHERE (repost.reposter, repost.post_id)
    std::vector<NameKey> pending_of;        // repost_pending WHERE (subject_author, subject_rkey)
    std::vector<NameKey> lists;             // list WHERE (owner, rkey)
    std::vector<MemberRow> list_items;      // list_item WHERE (list_id, subject)
    std::vector<MemberRow> list_blocks;     // list_block WHERE (list_id, actor)

    bool empty() const;
};

// The keys the events name themselves: the first rows to load. Throws
// std::bad_alloc.
Keys touched_keys(const Change *changes, size_t n);

// Sorts every class of keys by its columns, in the order of the index the
// glue looks them up in: consecutive lookups then share most of the index
// pages they touch, which stay in the CPU's caches. Allocates nothing.
void sort_keys(Keys &k);

// The rows loaded so far and the keys whose rows they are. Must not
// outlive the text of the Changes and Keys given to it.
class State {
  public:
    State();  // throws std::bad_alloc
    ~State();
    State(const State &) = delete;
    State &operator=(const State &) = delete;

    // Record one loaded row. Text is copied. A row added twice (it matched
    // keys of two classes) is kept once. All throw std::bad_alloc.
    void add_actor(const ActorRow &r);
    void add_follow(const EdgeRow &r);
    void add_block(const EdgeRow &r);
    void add_record(const GraphRecordRow &r);
    void add_post(const PostRow &r);
    void add_repost(const RepostRow &r);
    void add_pending(const PendingRow &r);
    void add_list(const ListRow &r);
    void add_list_item(const MemberRow &r);
    void add_list_block(const MemberRow &r);

    // Declares that every row of `keys` has been added. Throws std::bad_alloc.
    void mark_loaded(const Keys &keys);

    struct Impl;
    const Impl &impl() const { return *impl_; }

  private:
    std::unique_ptr<Impl> impl_;
};

// The keys that the rules will most likely look at, given the rows
// `state` holds, that are not loaded yet: those found through loaded rows
// (the other records of a deleted record's row, the post a new repost
// names, then the reposter's repost of that post, ...). The glue loads them
// until there are none, before the first run: most batches then need one
// run. A key it misses is still found by the run, as always. Throws
// std::bad_alloc.
Keys dependent_keys(const Change *changes, size_t n, const State &state);

// Where new ids come from: the glue prefetches values of
// dataplane.item_id_seq (posts and reposts) and dataplane.list_id_seq.
class IdSource {
  public:
    virtual ~IdSource() = default;
    // A fresh id into *id; false when there is none left.
    virtual bool next_item_id(int64_t *id) = 0;
    virtual bool next_list_id(int64_t *id) = 0;
};

// An IdSource over prefetched values, handed out in order.
class PrefetchedIds : public IdSource {
  public:
    std::vector<int64_t> items;
    std::vector<int64_t> lists;
    size_t items_used = 0;
    size_t lists_used = 0;

    bool next_item_id(int64_t *id) override;
    bool next_list_id(int64_t *id) override;
    // Serves the same values again (before a new run: an incomplete run
    // wrote nothing).
    void rewind() { items_used = lists_used = 0; }
};

// Upper bounds on the ids one run can draw: one per post, repost, list,
// list item or list block create or update, plus one per held-aside repost
// loaded (it may be promoted to a row). Unused values are simply skipped
// sequence values.
struct IdDemand {
    size_t items = 0;
    size_t lists = 0;
};

// The bound for the next run over `state`. Allocates nothing.
IdDemand id_demand(const Change *changes, size_t n, const State &state);

// One run of a batch's events over the loaded rows.
class BatchRun {
  public:
    BatchRun();  // throws std::bad_alloc
    ~BatchRun();
    BatchRun(BatchRun &&) noexcept;
    BatchRun &operator=(BatchRun &&) noexcept;

    // True when no rule looked at a key that was not loaded and no id was
    // missing: the run is the batch's result.
    bool complete() const;
    // The keys to load before running again (empty if complete).
    const Keys &missing() const;
    // True when the IdSource ran dry (then fetch more ids and run again).
    bool ids_exhausted() const;

    struct Impl;
    const Impl &impl() const { return *impl_; }
    Impl &impl() { return *impl_; }

  private:
    std::unique_ptr<Impl> impl_;
};

// Runs the events in order over a copy of the state. Throws std::bad_alloc.
BatchRun apply(const Change *changes, size_t n, const State &state, IdSource &ids);

// The difference between the loaded rows and a complete run's, each list
// sorted by key (new posts and reposts by author or reposter and rkey, the
// order most of their indexes share). Written in this order, no statement violates a key or a
// foreign key:
//   1. the DELETEs, in any order (a cascade may already have taken a row
//      listed: deleting it again deletes nothing);
//   2. the INSERTs, parents first: list and post, then the others;
//   3. the UPDATEs, in any order (they change no key).
// A graph_record, list_item, list_block or repost_pending row that changed
// is deleted and inserted again (a cascade may have taken the old one).
struct Diff {
    std::vector<ActorRow> actor_updates;  // SET active, status
    std::vector<EdgeKey> follow_deletes, block_deletes;
    std::vector<EdgeRow> follow_inserts, block_inserts;
    std::vector<EdgeRow> follow_updates, block_updates;  // SET created_at
    std::vector<RecordKey> record_deletes;
    std::vector<GraphRecordRow> record_inserts;
    std::vector<int64_t> post_deletes;
    std::vector<PostRow> post_inserts;
    std::vector<PostRow> post_updates;  // SET cid, reply_root_author, reply_parent_author, quote, media
    std::vector<int64_t> repost_deletes;
    std::vector<RepostRow> repost_inserts;
    std::vector<RepostRow> repost_updates;  // SET cid
    std::vector<NameKey> pending_deletes;   // (reposter, rkey)
    std::vector<PendingRow> pending_inserts;
    std::vector<int64_t> list_deletes;
    std::vector<ListRow> list_inserts;
    std::vector<ListRow> list_updates;  // SET purpose
    std::vector<MemberRow> list_item_deletes, list_item_inserts;
    std::vector<MemberRow> list_block_deletes, list_block_inserts;

    bool empty() const;
};

// The rows to write for a complete run. Throws std::bad_alloc.
Diff diff(const State &state, const BatchRun &run);

}  // namespace ing
