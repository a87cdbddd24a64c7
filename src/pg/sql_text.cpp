#include "sql_text.hpp"

#include "tables.hpp"

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
// Then what the timeline filters need of the post (parent, root, attrs:
// post_attr_columns), 0 in a 0.1.0 schema.
char *items(const char *pred) {
    const char *attrs = post_attr_columns("p");
    return psprintf(
        "SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter,"
        "       p.created_at AS sort_at, p.author AS src, 1 AS rank, %s"
        "  FROM dataplane.post p WHERE p.author %s"
        " UNION ALL"
        " SELECT r.id, r.post_id, p.author, r.reposter, r.created_at, r.reposter, 2, %s"
        "  FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id"
        " WHERE r.reposter %s",
        attrs, pred, attrs, pred);
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

// Builds a query text once per schema version (0.1.0 has no moderation
// tables and no post attributes), in memory that lives as long as the
// backend.
template <typename F>
const char *once(const char **slot, F build) {
    slot += moderation_schema() ? 1 : 0;
    if (*slot == nullptr) {
        MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
        *slot = build();
        MemoryContextSwitchTo(old);
    }
    return *slot;
}

}  // namespace

const char *post_attr_columns(const char *p) {
    if (!moderation_schema())
        return "0 AS parent, 0 AS root, 0 AS attrs";
    return psprintf("coalesce(%1$s.reply_parent_author, 0) AS parent, "
                    "coalesce(%1$s.reply_root_author, 0) AS root, "
                    "(CASE WHEN %1$s.quote THEN 1 ELSE 0 END | "
                    " CASE %1$s.media WHEN 'images' THEN 2 WHEN 'video' THEN 4 "
                    " WHEN 'external' THEN 6 ELSE 0 END) AS attrs",
                    p);
}

namespace {

// The viewer $v's blocked and hidden accounts (DESIGN.md, second part).
char *moderation(const char *v) {
    return psprintf(
        "blocked AS (SELECT blocked AS uid FROM dataplane.block WHERE blocker = %1$s"
        " UNION SELECT blocker FROM dataplane.block WHERE blocked = %1$s"
        " UNION SELECT i.subject FROM dataplane.list_block b"
        "   JOIN dataplane.list_item i ON i.list_id = b.list_id WHERE b.actor = %1$s"
        " UNION SELECT b.actor FROM dataplane.list_block b"
        "   JOIN dataplane.list_item i ON i.list_id = b.list_id WHERE i.subject = %1$s), "
        "hidden AS (SELECT uid FROM blocked"
        " UNION SELECT muted FROM dataplane.mute WHERE muter = %1$s"
        " UNION SELECT i.subject FROM dataplane.list_mute m"
        "   JOIN dataplane.list_item i ON i.list_id = m.list_id WHERE m.actor = %1$s"
        " UNION SELECT uid FROM dataplane.actor WHERE NOT active) ",
        v);
}

// The hidden and blocked rules on an item t (parent = 0: not a reply).
const char *const kModerated =
    "t.author NOT IN (SELECT uid FROM hidden)"
    " AND (t.reposter IS NULL OR t.reposter NOT IN (SELECT uid FROM hidden))"
    " AND (t.parent = 0 OR (t.parent NOT IN (SELECT uid FROM blocked)"
    "                       AND t.root NOT IN (SELECT uid FROM blocked)))";

// The page's tail: the cursor, the order, the limit.
const char *const kPageTail =
    " AND ($3::timestamptz IS NULL OR (t.sort_at, t.item_id) < ($3, $4))"
    " ORDER BY t.sort_at DESC, t.item_id DESC, t.rank DESC LIMIT $2";

}  // namespace

const char *timeline_page_filtered() {
    static const char *q[2] = {nullptr, nullptr};
    return once(q, [] {
        return psprintf(
            "WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = $1"
            "             UNION SELECT $1), %s"
            "SELECT item_id, post_id, author, reposter, sort_at FROM (%s) t "
            "WHERE %s"
            " AND ($6::boolean OR t.reposter IS NULL)"
            " AND ($7::boolean OR t.attrs & 1 = 0)"
            " AND ($5::text = 'all' OR t.parent = 0 OR t.reposter IS NOT NULL"
            "      OR ($5::text = 'followed'"
            "          AND (t.parent = t.author OR t.parent IN (SELECT uid FROM src))"
            "          AND (t.root = t.author OR t.root IN (SELECT uid FROM src))))"
            "%s",
            moderation("$1"), items("IN (SELECT uid FROM src)"), kModerated, kPageTail);
    });
}

const char *author_feed_page_filtered() {
    static const char *q[2] = {nullptr, nullptr};
    return once(q, [] {
        return psprintf(
            "WITH %s"
            "SELECT item_id, post_id, author, reposter, sort_at FROM (%s) t "
            "WHERE (coalesce($5::text, 'posts_with_replies') = 'posts_with_replies'"
            "   OR ($5::text = 'posts_no_replies' AND (t.reposter IS NOT NULL OR t.parent = 0))"
            "   OR ($5::text = 'posts_with_media' AND t.reposter IS NULL AND (t.attrs >> 1) & 3 = 1)"
            "   OR ($5::text = 'posts_with_video' AND t.reposter IS NULL AND (t.attrs >> 1) & 3 = 2)"
            "   OR ($5::text = 'posts_and_author_threads'"
            "       AND (t.reposter IS NOT NULL OR t.parent = 0 OR t.root = t.author)))"
            " AND ($6::int IS NULL OR (%s))"
            "%s",
            moderation("$6"), items("= $1"), kModerated, kPageTail);
    });
}

namespace {

// One source's items of one kind (a LATERAL branch over the sources s): the
// newest ones below ($3, $4) for posts, ($5, $6) for reposts, at most $2,
// straight from the source's (source, created_at, id) index.
char *rest_branch(bool repost) {
    const char *attrs = post_attr_columns("p");
    if (!repost)
        return psprintf(
            "(SELECT p.id AS item_id, p.id AS post_id, p.author, 0 AS reposter,"
            " p.created_at AS sort_at, %s"
            " FROM dataplane.post p WHERE p.author = s.uid"
            " AND (p.created_at, p.id) < ($3::timestamptz, $4::bigint)"
            " ORDER BY p.created_at DESC, p.id DESC LIMIT $2)",
            attrs);
    return psprintf(
        "(SELECT r.id AS item_id, r.post_id, p.author, r.reposter,"
        " r.created_at AS sort_at, %s"
        " FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id"
        " WHERE r.reposter = s.uid"
        " AND (r.created_at, r.id) < ($5::timestamptz, $6::bigint)"
        " ORDER BY r.created_at DESC, r.id DESC LIMIT $2)",
        attrs);
}

}  // namespace

const char *timeline_rest() {
    static const char *q[2] = {nullptr, nullptr};
    return once(q, [] {
        return psprintf("SELECT t.* FROM unnest($1::int[]) s(uid) CROSS JOIN LATERAL (%s UNION ALL %s) t",
                        rest_branch(false), rest_branch(true));
    });
}

const char *timeline_page() {
    static const char *q[2] = {nullptr, nullptr};
    return once(q, [] { return page(kTimelineSources, "IN (SELECT uid FROM src)"); });
}

const char *author_feed_page() {
    static const char *q[2] = {nullptr, nullptr};
    return once(q, [] { return page("", "= $1"); });
}

const char *items_by_source(bool newest_first) {
    static const char *q[2][2] = {{nullptr, nullptr}, {nullptr, nullptr}};
    return once(q[newest_first], [&] {
        const char *dir = newest_first ? "DESC" : "ASC";
        return psprintf("SELECT src, sort_at, item_id, post_id, author, coalesce(reposter, 0), "
                        "parent, root, attrs "
                        "FROM (%s) t ORDER BY src, sort_at %s, item_id %s, rank %s",
                        items("> 0"), dir, dir, dir);
    });
}

const char *timeline_above() {
    static const char *q[2] = {nullptr, nullptr};
    return once(q, [] {
        return psprintf("%sSELECT sort_at, item_id, src, rank, parent, root, attrs FROM (%s) t "
                        "WHERE (sort_at, item_id, rank) > ($2, $3, $4) "
                        "ORDER BY sort_at, item_id, rank",
                        kTimelineSources, items("IN (SELECT uid FROM src)"));
    });
}

}  // namespace dpg::sql
