-- ------------------------------------------------------ skeletons (0.2.0)
--
-- What an AppView's data plane answers for getTimeline and getAuthorFeed:
-- AT-URIs, not uids, and an opaque cursor. Answered by get_timeline and
-- get_author_feed underneath (from the index), then the page's rows are
-- named by their record keys. The bodies are SQL-standard (BEGIN ATOMIC):
-- every name in them is bound when the function is created, so no
-- search_path of a caller can change what they call. They read the tables
-- with their owner's rights (SECURITY DEFINER, search_path pinned), as the
-- other read functions do: a caller needs EXECUTE, not SELECT on tables.

-- The cursor: "<sort time>:<item id>", the time in microseconds since
-- 2000-01-01 UTC (timestamptz's own integer: exact over its whole range).
-- Opaque to clients; any other text is an error (22023).
CREATE FUNCTION dataplane.feed_cursor(sort_at timestamptz, item_id bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'dataplane_feed_cursor'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dataplane.feed_cursor(timestamptz, bigint) IS
    'The skeleton functions'' page cursor for the item (sort_at, item_id)';

CREATE FUNCTION dataplane.feed_cursor_parse(cursor text, OUT before_ts timestamptz,
                                            OUT before_id bigint)
    AS 'MODULE_PATHNAME', 'dataplane_feed_cursor_parse'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dataplane.feed_cursor_parse(text) IS
    'The (before_ts, before_id) a skeleton cursor stands for; 22023 for any other text';

-- One page of viewer_did's timeline: uri is the post's AT-URI, repost_uri
-- the repost's (NULL for a post), cursor the cursor of the page after this
-- row (pass the last row's). A DID of no actor has an empty timeline. A row
-- written without a record key (rkey NULL: rows not from ingest_jetstream)
-- has a NULL URI, and stays in the page.
CREATE FUNCTION dataplane.timeline_skeleton(viewer_did text, lim int DEFAULT 50,
                                            cursor text DEFAULT NULL)
    RETURNS TABLE (uri text, repost_uri text, cursor text)
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT 'at://' || pa.did || '/app.bsky.feed.post/' || p.rkey,
           'at://' || ra.did || '/app.bsky.feed.repost/' || r.rkey,
           dataplane.feed_cursor(t.sort_at, t.item_id)
    FROM dataplane.actor v
    CROSS JOIN dataplane.feed_cursor_parse(timeline_skeleton.cursor) c
    CROSS JOIN LATERAL dataplane.get_timeline(v.uid, timeline_skeleton.lim, c.before_ts,
                                              c.before_id) WITH ORDINALITY t
    LEFT JOIN dataplane.post p ON p.id = t.post_id
    LEFT JOIN dataplane.actor pa ON pa.uid = t.author
    LEFT JOIN dataplane.repost r ON t.reposter IS NOT NULL AND r.id = t.item_id
    LEFT JOIN dataplane.actor ra ON ra.uid = t.reposter
    WHERE v.did = timeline_skeleton.viewer_did
    ORDER BY t.ordinality;
END;
COMMENT ON FUNCTION dataplane.timeline_skeleton(text, int, text) IS
    'Timeline of viewer_did as AT-URIs (post, repost) with a cursor per row, as getTimeline answers';

-- The same for one author's posts and reposts.
CREATE FUNCTION dataplane.author_feed_skeleton(actor_did text, lim int DEFAULT 50,
                                               cursor text DEFAULT NULL)
    RETURNS TABLE (uri text, repost_uri text, cursor text)
    LANGUAGE sql STABLE PARALLEL RESTRICTED
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT 'at://' || pa.did || '/app.bsky.feed.post/' || p.rkey,
           'at://' || ra.did || '/app.bsky.feed.repost/' || r.rkey,
           dataplane.feed_cursor(t.sort_at, t.item_id)
    FROM dataplane.actor v
    CROSS JOIN dataplane.feed_cursor_parse(author_feed_skeleton.cursor) c
    CROSS JOIN LATERAL dataplane.get_author_feed(v.uid, author_feed_skeleton.lim, c.before_ts,
                                                 c.before_id) WITH ORDINALITY t
    LEFT JOIN dataplane.post p ON p.id = t.post_id
    LEFT JOIN dataplane.actor pa ON pa.uid = t.author
    LEFT JOIN dataplane.repost r ON t.reposter IS NOT NULL AND r.id = t.item_id
    LEFT JOIN dataplane.actor ra ON ra.uid = t.reposter
    WHERE v.did = author_feed_skeleton.actor_did
    ORDER BY t.ordinality;
END;
COMMENT ON FUNCTION dataplane.author_feed_skeleton(text, int, text) IS
    'Posts and reposts of actor_did as AT-URIs with a cursor per row, as getAuthorFeed answers';
