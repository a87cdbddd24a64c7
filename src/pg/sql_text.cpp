#include "sql_text.hpp"

extern "C" {
#include "utils/memutils.h"
}

namespace dpg::sql {

namespace {

// The viewer and whom it follows ($1), as the reference query names them.
const char *const kTimelineSources =
    "WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = $1"
    "             UNION SELECT $1) ";

// The feed items of the sources `pred` selects (an SQL condition on a
// source uid): a post is its author's item, a repost its reposter's and
// carries its post's id and author. src is the item's source; rank orders
// a post before a repost with the same (sort_at, item_id), as ItemKey does.
char *items(const char *pred) {
    return psprintf(
        "SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter,"
        "       p.created_at AS sort_at, p.author AS src, 1 AS rank"
        "  FROM dataplane.post p WHERE p.author %s"
        " UNION ALL"
        " SELECT r.id, r.post_id, p.author, r.reposter, r.created_at, r.reposter, 2"
        "  FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id"
        " WHERE r.reposter %s",
        pred, pred);
}

// A page of the items of `sources` below the cursor, newest first.
char *page(const char *with, const char *pred) {
    return psprintf(
        "%sSELECT item_id, post_id, author, reposter, sort_at FROM (%s) t "
        "WHERE $3::timestamptz IS NULL OR (t.sort_at, t.item_id) < ($3, $4) "
        "ORDER BY t.sort_at DESC, t.item_id DESC, t.rank DESC "
        "LIMIT $2",
        with, items(pred));
}

// Builds a query text once, in memory that lives as long as the backend.
template <typename F>
const char *once(const char **slot, F build) {
    if (*slot == nullptr) {
        MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
        *slot = build();
        MemoryContextSwitchTo(old);
    }
    return *slot;
}

}  // namespace

const char *timeline_page() {
    static const char *q = nullptr;
    return once(&q, [] { return page(kTimelineSources, "IN (SELECT uid FROM src)"); });
}

const char *author_feed_page() {
    static const char *q = nullptr;
    return once(&q, [] { return page("", "= $1"); });
}

const char *items_by_source(bool newest_first) {
    static const char *q[2] = {nullptr, nullptr};
    return once(&q[newest_first], [&] {
        const char *dir = newest_first ? "DESC" : "ASC";
        return psprintf("SELECT src, sort_at, item_id, post_id, author, coalesce(reposter, 0) "
                        "FROM (%s) t ORDER BY src, sort_at %s, item_id %s, rank %s",
                        items("> 0"), dir, dir, dir);
    });
}

const char *timeline_above() {
    static const char *q = nullptr;
    return once(&q, [] {
        return psprintf("%sSELECT sort_at, item_id, src, rank FROM (%s) t "
                        "WHERE (sort_at, item_id, rank) > ($2, $3, $4) "
                        "ORDER BY sort_at, item_id, rank",
                        kTimelineSources, items("IN (SELECT uid FROM src)"));
    });
}

}  // namespace dpg::sql
