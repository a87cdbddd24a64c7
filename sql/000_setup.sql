-- Helpers for the other tests: each compares a read function with the
-- contract's reference SQL and counts the disagreements (0 is a pass).
CREATE SCHEMA dptest;

-- Every function over users 1..n (and all pairs for the pairwise ones).
CREATE FUNCTION dptest.mismatches(n int)
RETURNS TABLE (fn text, bad bigint) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT 'follows', count(*)
      FROM generate_series(1, n) a, generate_series(1, n) b
     WHERE dataplane.follows(a, b) IS DISTINCT FROM
           EXISTS (SELECT 1 FROM dataplane.follow f WHERE f.follower = a AND f.followee = b);
    RETURN QUERY SELECT 'follower_count', count(*)
      FROM generate_series(1, n) u
     WHERE dataplane.follower_count(u) <>
           (SELECT count(*) FROM dataplane.follow WHERE followee = u);
    RETURN QUERY SELECT 'following_count', count(*)
      FROM generate_series(1, n) u
     WHERE dataplane.following_count(u) <>
           (SELECT count(*) FROM dataplane.follow WHERE follower = u);
    RETURN QUERY SELECT 'followers', count(*)
      FROM generate_series(1, n) u, (VALUES (1000000, 0), (1, 0), (3, 2), (2, n / 2), (5, n)) p(lim, aft)
     WHERE ARRAY(SELECT dataplane.followers(u, p.lim, p.aft)) IS DISTINCT FROM
           ARRAY(SELECT follower FROM dataplane.follow WHERE followee = u AND follower > p.aft
                  ORDER BY 1 LIMIT p.lim);
    RETURN QUERY SELECT 'following', count(*)
      FROM generate_series(1, n) u, (VALUES (1000000, 0), (1, 0), (3, 2), (2, n / 2), (5, n)) p(lim, aft)
     WHERE ARRAY(SELECT dataplane.following(u, p.lim, p.aft)) IS DISTINCT FROM
           ARRAY(SELECT followee FROM dataplane.follow WHERE follower = u AND followee > p.aft
                  ORDER BY 1 LIMIT p.lim);
    RETURN QUERY SELECT 'social_proof', count(*)
      FROM generate_series(1, n) a, generate_series(1, n) b, (VALUES (1000), (2)) p(lim)
     WHERE ARRAY(SELECT dataplane.social_proof(a, b, p.lim)) IS DISTINCT FROM
           ARRAY(SELECT f.followee FROM dataplane.follow f
                   JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = b
                  WHERE f.follower = a ORDER BY 1 LIMIT p.lim);
    RETURN QUERY SELECT 'social_proof_count', count(*)
      FROM generate_series(1, n) a, generate_series(1, n) b
     WHERE dataplane.social_proof_count(a, b) <>
           (SELECT count(*) FROM dataplane.follow f
              JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = b
             WHERE f.follower = a);
END $$;

-- Only the functions that disagree, so that a passing run prints nothing.
CREATE FUNCTION dptest.failures(n int)
RETURNS TABLE (fn text, bad bigint) LANGUAGE sql AS $$
    SELECT * FROM dptest.mismatches(n) m WHERE m.bad <> 0
$$;

-- Index reads so far: tests compare it before and after to prove that the
-- index, not only the fallback, answered.
CREATE FUNCTION dptest.index_reads() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT reads_index FROM dataplane.status());
END $$;

-- A fresh extension, with actors 1..n and the index built.
CREATE FUNCTION dptest.fresh(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('client_min_messages', 'warning', true);  -- whether or not it exists
    DROP EXTENSION IF EXISTS dataplane CASCADE;
    CREATE EXTENSION dataplane;
    INSERT INTO dataplane.actor (uid, did)
    SELECT g, 'did:plc:test' || g FROM generate_series(1, n) g;
    PERFORM setval('dataplane.actor_uid_seq', greatest(n, 1), n > 0);
END $$;

-- The contract's reference query for timelines (DESIGN.md), verbatim.
-- (Declared with its columns, not dataplane.feed_item: dptest.fresh drops
-- the extension with CASCADE. The tables do not exist yet: no body check.)
SET check_function_bodies = off;
CREATE FUNCTION dptest.ref_timeline(v int, lim int, before_ts timestamptz, before_id bigint)
RETURNS TABLE (item_id bigint, post_id bigint, author int, reposter int, sort_at timestamptz)
LANGUAGE sql STABLE AS $$
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = v
             UNION SELECT v)
SELECT * FROM (
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src)
) t
WHERE before_ts IS NULL OR (t.sort_at, t.item_id) < (before_ts, before_id)
ORDER BY t.sort_at DESC, t.item_id DESC
LIMIT lim
$$;

-- The same with src = {author}.
CREATE FUNCTION dptest.ref_author_feed(a int, lim int, before_ts timestamptz, before_id bigint)
RETURNS TABLE (item_id bigint, post_id bigint, author int, reposter int, sort_at timestamptz)
LANGUAGE sql STABLE AS $$
SELECT * FROM (
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at
    FROM dataplane.post p WHERE p.author = a
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter = a
) t
WHERE before_ts IS NULL OR (t.sort_at, t.item_id) < (before_ts, before_id)
ORDER BY t.sort_at DESC, t.item_id DESC
LIMIT lim
$$;

-- Timelines and author feeds of users 1..n that differ from the reference:
-- first pages of several sizes, the page after each, a cursor on a tie of
-- created_at, and cursors with only one of (before_ts, before_id).
CREATE FUNCTION dptest.page_mismatches(n int)
RETURNS TABLE (fn text, uid int, lim int, before_ts timestamptz, before_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    u int;
    l int;
    cur record;
BEGIN
    FOR u IN 1 .. n LOOP
        FOREACH l IN ARRAY ARRAY[1, 3, 20, 50, 2000] LOOP
            -- First page, then the next page from its last row.
            FOR cur IN SELECT NULL::timestamptz AS ts, NULL::bigint AS id
                       UNION ALL
                       SELECT t.sort_at, t.item_id FROM (
                           SELECT * FROM dptest.ref_timeline(u, l, NULL, NULL)
                            ORDER BY sort_at, item_id LIMIT 1) t
                       UNION ALL
                       -- Only before_ts: strictly older than that time.
                       SELECT t.sort_at, NULL FROM (
                           SELECT * FROM dptest.ref_timeline(u, l, NULL, NULL)
                            ORDER BY sort_at, item_id LIMIT 1) t
                       UNION ALL
                       -- Only before_id: no cursor.
                       SELECT NULL, 5
            LOOP
                IF ARRAY(SELECT ROW(t.*)::text FROM dataplane.get_timeline(u, l, cur.ts, cur.id) t)
                   IS DISTINCT FROM
                   ARRAY(SELECT ROW(t.*)::text FROM dptest.ref_timeline(u, l, cur.ts, cur.id) t) THEN
                    RETURN QUERY SELECT 'get_timeline', u, l, cur.ts, cur.id;
                END IF;
                IF ARRAY(SELECT ROW(t.*)::text FROM dataplane.get_author_feed(u, l, cur.ts, cur.id) t)
                   IS DISTINCT FROM
                   ARRAY(SELECT ROW(t.*)::text FROM dptest.ref_author_feed(u, l, cur.ts, cur.id) t) THEN
                    RETURN QUERY SELECT 'get_author_feed', u, l, cur.ts, cur.id;
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
END $$;

-- Pages read from memory so far (status().pages_index).
CREATE FUNCTION dptest.index_pages() RETURNS bigint LANGUAGE sql AS $$
    SELECT pages_index FROM dataplane.status()
$$;
RESET check_function_bodies;
