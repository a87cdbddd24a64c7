// The SQL the extension runs over its tables to read feed items, built from
// one definition of a feed item (the contract's reference query), so that
// the fallback pages, the build and verify() cannot drift apart.
#pragma once

#include "pg_prelude.hpp"

namespace dpg::sql {

// The reference query of DESIGN.md for a page: $1 uid, $2 lim (NULL: no
// limit), $3 before_ts, $4 before_id. Columns item_id, post_id, author,
// reposter, sort_at. The timeline's sources are the viewer and whom it
// follows; an author feed's, the author.
const char *timeline_page();
const char *author_feed_page();

// The same with DESIGN.md's second part (schema 0.2.0): the timeline's
// hidden and blocked rules, $5 replies, $6 reposts, $7 quotes; the author
// feed's $5 filter and $6 viewer. Same columns.
const char *timeline_page_filtered();
const char *author_feed_page_filtered();

// The rest of a timeline page whose first items came from the author
// rings, unfiltered: of each source in $1 (an int[]: those whose author
// rings do not hold it), its newest $2 posts with (sort_at, item_id) <
// ($3, $4) and its newest $2 reposts with (sort_at, item_id) < ($5, $6),
// as AuthorItem's columns (item_id, post_id, author, reposter (0 for a
// post), sort_at, parent, root, attrs). Read source by source through the
// (source, created_at, id) indexes, so that its cost grows with the
// followees and the page, not with their items; one generic plan (planning
// it for each page would cost more than running it). The caller filters
// the rows with the index's relations (moderation sets, follows), never
// with SQL over the moderation tables: a viewer who subscribes to a list
// of 100,000 accounts would make each page read them all.
const char *timeline_rest();

// Every item of every source, by source, as the author rings hold them:
// src, sort_at, item_id, post_id, author, reposter (0 for a post), parent,
// root, attrs (AuthorItem), in (src, key) order, newest first or oldest
// first.
const char *items_by_source(bool newest_first);

// The timeline of $1 above the key ($2, $3, $4) (ItemKey: ts, id, rank),
// oldest first: sort_at, item_id, src, rank, parent, root, attrs.
const char *timeline_above();

// What a feed item carries of its post p (the alias) for the filters:
// "parent, root, attrs" columns (AuthorItem; 0s in a 0.1.0 schema). In the
// current memory context.
const char *post_attr_columns(const char *p);

}  // namespace dpg::sql
