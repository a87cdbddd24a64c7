-- ------------------------------------------------------ the social graph

CREATE FUNCTION dataplane.follows(a int, b int) RETURNS boolean
    AS 'MODULE_PATHNAME', 'dataplane_follows'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dataplane.follows(int, int) IS 'Does a follow b?';

CREATE FUNCTION dataplane.follower_count(u int) RETURNS bigint
    AS 'MODULE_PATHNAME', 'dataplane_follower_count'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;

CREATE FUNCTION dataplane.following_count(u int) RETURNS bigint
    AS 'MODULE_PATHNAME', 'dataplane_following_count'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;

CREATE FUNCTION dataplane.followers(u int, lim int DEFAULT 100, after int DEFAULT 0)
    RETURNS SETOF int
    AS 'MODULE_PATHNAME', 'dataplane_followers'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION dataplane.followers(int, int, int) IS
    'Followers of u with uid > after, ascending, at most lim';

CREATE FUNCTION dataplane.following(u int, lim int DEFAULT 100, after int DEFAULT 0)
    RETURNS SETOF int
    AS 'MODULE_PATHNAME', 'dataplane_following'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION dataplane.following(int, int, int) IS
    'Accounts u follows with uid > after, ascending, at most lim';

CREATE FUNCTION dataplane.social_proof(viewer int, target int, lim int DEFAULT 10)
    RETURNS SETOF int
    AS 'MODULE_PATHNAME', 'dataplane_social_proof'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION dataplane.social_proof(int, int, int) IS
    'Accounts viewer follows that follow target, ascending, at most lim';

CREATE FUNCTION dataplane.social_proof_count(viewer int, target int) RETURNS bigint
    AS 'MODULE_PATHNAME', 'dataplane_social_proof_count'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;

-- ------------------------------------------------------------ timelines

-- One row of a timeline or author feed. A repost's row carries the reposted
-- post's id and author, and the reposter; a post's has reposter NULL.
CREATE TYPE dataplane.feed_item AS (
    item_id bigint,
    post_id bigint,
    author int,
    reposter int,
    sort_at timestamptz
);

-- get_timeline and get_author_feed: sql/parts/timeline_functions.sql.

-- ------------------------------------------------------------ operations

CREATE FUNCTION dataplane.verify()
    RETURNS TABLE (problem text, uid int, other int, detail text)
    AS 'MODULE_PATHNAME', 'dataplane_verify'
    LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dataplane.verify() IS
    'One row per difference between the index and the tables; none when they agree';

CREATE FUNCTION dataplane.rebuild() RETURNS void
    AS 'MODULE_PATHNAME', 'dataplane_rebuild'
    LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dataplane.rebuild() IS
    'Rebuilds the index from the tables and waits for it (superuser or extension owner)';

