-- ------------------------------------------------------ timelines (0.2.0)

-- The timeline of viewer: posts and reposts by viewer and by everyone
-- viewer follows, newest first by (sort_at, item_id), strictly below the
-- cursor (before_ts, before_id) when before_ts is given, without what the
-- viewer blocks, is blocked by or mutes (directly or through lists), nor
-- inactive accounts, nor replies under a blocked parent or root; replies
-- 'all', 'followed' or 'none', reposts and quotes switch those items.
-- Exactly the reference query of DESIGN.md's second part; NULL lim means
-- every item. A page is always full: lim rows whenever that many qualify.
CREATE FUNCTION dataplane.get_timeline(viewer int, lim int DEFAULT 50,
                                       before_ts timestamptz DEFAULT NULL,
                                       before_id bigint DEFAULT NULL,
                                       replies text DEFAULT 'all',
                                       reposts boolean DEFAULT true,
                                       quotes boolean DEFAULT true)
    RETURNS SETOF dataplane.feed_item
    AS 'MODULE_PATHNAME', 'dataplane_get_timeline'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 50;
COMMENT ON FUNCTION dataplane.get_timeline(int, int, timestamptz, bigint, text, boolean, boolean) IS
    'Timeline of viewer: newest first, below the cursor (before_ts, before_id), filtered';

-- The same for one author's own posts and reposts, with a feed filter
-- (posts_with_replies, posts_no_replies, posts_with_media,
-- posts_with_video, posts_and_author_threads) and, with a viewer, that
-- viewer's blocks and mutes.
CREATE FUNCTION dataplane.get_author_feed(author int, lim int DEFAULT 50,
                                          before_ts timestamptz DEFAULT NULL,
                                          before_id bigint DEFAULT NULL,
                                          filter text DEFAULT 'posts_with_replies',
                                          viewer int DEFAULT NULL)
    RETURNS SETOF dataplane.feed_item
    AS 'MODULE_PATHNAME', 'dataplane_get_author_feed'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 50;
COMMENT ON FUNCTION dataplane.get_author_feed(int, int, timestamptz, bigint, text, int) IS
    'Posts and reposts of author: newest first, below the cursor (before_ts, before_id), filtered';
