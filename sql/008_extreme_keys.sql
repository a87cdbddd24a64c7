-- Every representable key is exact (issue 12, items 5 and 6): posts at
-- 'infinity' and '-infinity' with the largest and the smallest bigint ids
-- (the keys a ring could mistake for its sentinels), cursors on them, uids
-- the index cannot hold, and a post and a repost that share an id.
--
-- Self-contained: actors 900001..900006 and item ids far from the other
-- tests' (it does not drop the extension); everything is deleted at the end.
-- Each comparison prints got IS NOT DISTINCT FROM want, where want is the
-- reference query of DESIGN.md, written out below.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dataplane;

-- 900001 is the viewer; they follow 900002, 900003 and 900004; 900005 is
-- followed by no one but is reposted by 900004; 900006 is not involved.
INSERT INTO dataplane.actor (uid, did)
SELECT g, 'did:plc:extreme' || g FROM generate_series(900001, 900006) g;
INSERT INTO dataplane.follow (follower, followee, created_at) VALUES
    (900001, 900002, '2026-01-01'), (900001, 900003, '2026-01-01'),
    (900001, 900004, '2026-01-01');

-- Posts at the ends of time and of the id space, ordinary ones between.
INSERT INTO dataplane.post (id, author, created_at) VALUES
    (9223372036854775807, 900002, 'infinity'),
    (9223372036854775806, 900003, 'infinity'),
    (900000001, 900002, '2026-01-01 10:00'),
    (900000002, 900003, '2026-01-01 11:00'),
    (900000003, 900004, '2026-01-01 12:00'),
    (900000004, 900005, '2026-01-01 09:00'),
    (900000005, 900001, '1999-01-01 00:00'),
    (-9223372036854775807, 900004, '-infinity'),
    (-9223372036854775808, 900002, '-infinity');
-- A repost at 'infinity' of a post by someone the viewer does not follow.
INSERT INTO dataplane.repost (id, reposter, post_id, created_at) VALUES
    (900000010, 900004, 900000004, 'infinity');

-- The index is built (and ready) with these rows.
SELECT dataplane.rebuild();
SELECT state FROM dataplane.status();

-- The cases: (source, lim, before_ts, before_id) for get_timeline of the
-- viewer and get_author_feed of three authors.
CREATE TEMP TABLE extreme_cases (n int, fn text, uid int, lim int, bts timestamptz, bid bigint);
INSERT INTO extreme_cases
SELECT row_number() OVER () AS n, fn, uid, lim, bts, bid
  FROM (VALUES ('timeline'), ('author_feed')) f(fn),
       LATERAL (SELECT u FROM unnest(CASE WHEN f.fn = 'timeline' THEN ARRAY[900001]
                                          ELSE ARRAY[900002, 900003, 900004] END) u) s(uid),
       (VALUES (1, NULL::timestamptz, NULL::bigint),
               (2, NULL, NULL),
               (5, NULL, NULL),
               (50, NULL, NULL),
               (1, 'infinity', 9223372036854775807),
               (2, 'infinity', 9223372036854775807),
               (5, 'infinity', 9223372036854775807),
               (5, 'infinity', 9223372036854775806),
               (5, 'infinity', NULL),
               (5, '2026-01-01 11:00', 900000002),
               (5, '-infinity', 9223372036854775807),
               (5, '-infinity', -9223372036854775807),
               (5, '-infinity', -9223372036854775808),
               (5, '-infinity', NULL)) c(lim, bts, bid);

-- The reference query of DESIGN.md (src = the viewer and its followees for
-- a timeline, the author alone for an author feed), as text rows.
CREATE TEMP VIEW extreme_compare AS
SELECT c.n, c.fn, c.uid, c.lim, c.bts, c.bid,
       ARRAY(SELECT ROW(g.*)::text FROM dataplane.get_timeline(c.uid, c.lim, c.bts, c.bid) g
              WHERE c.fn = 'timeline'
             UNION ALL
             SELECT ROW(g.*)::text FROM dataplane.get_author_feed(c.uid, c.lim, c.bts, c.bid) g
              WHERE c.fn = 'author_feed') AS got,
       ARRAY(SELECT ROW(t.*)::text FROM (
           WITH src AS (SELECT followee AS uid FROM dataplane.follow
                         WHERE follower = c.uid AND c.fn = 'timeline'
                        UNION SELECT c.uid)
           SELECT * FROM (
             SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter,
                    p.created_at AS sort_at
               FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
             UNION ALL
             SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
               FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
              WHERE r.reposter IN (SELECT uid FROM src)
           ) t
           WHERE c.bts IS NULL OR (t.sort_at, t.item_id) < (c.bts, c.bid)
           ORDER BY t.sort_at DESC, t.item_id DESC
           LIMIT c.lim) t) AS want
  FROM extreme_cases c;

-- The viewer's whole timeline, as the reference has it.
SELECT * FROM dataplane.get_timeline(900001, 50);

-- From the index: every page equals the reference, and the index answered
-- (pages_index grew).
SELECT pages_index AS pages_before FROM dataplane.status() \gset
SELECT n, fn, uid, lim, bts, bid, got IS NOT DISTINCT FROM want AS same
  FROM extreme_compare ORDER BY n;
SELECT pages_index > :pages_before AS pages_from_index FROM dataplane.status();

-- The pages with cursors at the ends, as rows.
SELECT * FROM dataplane.get_timeline(900001, 5, 'infinity', 9223372036854775807);
SELECT * FROM dataplane.get_timeline(900001, 5, 'infinity', NULL);
SELECT * FROM dataplane.get_timeline(900001, 5, '-infinity', -9223372036854775807);
SELECT * FROM dataplane.get_timeline(900001, 5, '-infinity', -9223372036854775808);
SELECT * FROM dataplane.get_author_feed(900002, 5);

-- From the tables: the same pages inside a transaction that has written
-- to the tables (it reads its own writes, from the tables).
BEGIN;
INSERT INTO dataplane.follow (follower, followee, created_at) VALUES (900006, 900005, '2026-01-01');
SELECT pages_fallback_own_writes AS own_before FROM dataplane.status() \gset
SELECT n, fn, uid, lim, bts, bid, got IS NOT DISTINCT FROM want AS same
  FROM extreme_compare ORDER BY n;
SELECT pages_fallback_own_writes > :own_before AS pages_from_tables FROM dataplane.status();
ROLLBACK;

-- Items with extreme keys that arrive after the build (the commit path):
-- another post at each end, by a followed author; a repost at '-infinity'.
INSERT INTO dataplane.post (id, author, created_at) VALUES
    (9223372036854775805, 900004, 'infinity'),
    (-9223372036854775806, 900003, '-infinity');
INSERT INTO dataplane.repost (id, reposter, post_id, created_at) VALUES
    (900000011, 900003, 900000001, '-infinity');
SELECT pages_index AS pages_before FROM dataplane.status() \gset
SELECT n, fn, uid, lim, bts, bid, got IS NOT DISTINCT FROM want AS same
  FROM extreme_compare ORDER BY n;
SELECT pages_index > :pages_before AS pages_from_index FROM dataplane.status();
SELECT * FROM dataplane.get_timeline(900001, 50);

-- verify() compares every key, the extreme ones included: no difference.
SELECT * FROM dataplane.verify();

-- Deleting the items at the ends removes them everywhere.
DELETE FROM dataplane.post WHERE id IN (9223372036854775807, -9223372036854775808);
SELECT n, fn, uid, lim, bts, bid, got IS NOT DISTINCT FROM want AS same
  FROM extreme_compare WHERE got IS DISTINCT FROM want ORDER BY n;
SELECT * FROM dataplane.verify();

-- uids the index cannot hold (0 and negative) are rejected by CHECK
-- constraints, which hold even where foreign keys are bypassed
-- (session_replication_role = replica skips them). Each attempt runs in a
-- subtransaction that is rolled back whatever happens.
SET session_replication_role = replica;
DO $$
DECLARE
    stmt text;
BEGIN
    FOREACH stmt IN ARRAY ARRAY[
        'INSERT INTO dataplane.follow (follower, followee, created_at) VALUES (0, 900002, ''2026-01-01'')',
        'INSERT INTO dataplane.follow (follower, followee, created_at) VALUES (900001, -5, ''2026-01-01'')',
        'INSERT INTO dataplane.post (id, author, created_at) VALUES (900000030, 0, ''2026-01-01'')',
        'INSERT INTO dataplane.post (id, author, created_at) VALUES (900000031, -2147483648, ''2026-01-01'')',
        'INSERT INTO dataplane.repost (id, reposter, post_id, created_at) VALUES (900000032, 0, 900000001, ''2026-01-01'')',
        'UPDATE dataplane.follow SET follower = -1 WHERE follower = 900001 AND followee = 900002']
    LOOP
        BEGIN
            EXECUTE stmt;
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'accepted';
        EXCEPTION
            WHEN check_violation THEN
                RAISE WARNING 'rejected with %: %', SQLSTATE, stmt;
            WHEN raise_exception THEN
                RAISE WARNING 'ACCEPTED (no CHECK constraint): %', stmt;
        END;
    END LOOP;
END $$;
RESET session_replication_role;
SELECT count(*) AS rows_with_uid_below_1
  FROM (SELECT follower AS u FROM dataplane.follow UNION ALL SELECT followee FROM dataplane.follow
        UNION ALL SELECT author FROM dataplane.post UNION ALL SELECT reposter FROM dataplane.repost) x
 WHERE u < 1;

-- A post and a repost that share an id and a created_at: the reference
-- query returns both rows, and so must the index. (Their order within the
-- tie is not defined by the reference: compared as sets.)
INSERT INTO dataplane.post (id, author, created_at) VALUES (900000040, 900003, '2026-02-01 00:00');
INSERT INTO dataplane.repost (id, reposter, post_id, created_at) VALUES
    (900000040, 900002, 900000001, '2026-02-01 00:00');
SELECT pages_index AS pages_before FROM dataplane.status() \gset
SELECT item_id, post_id, author, reposter, sort_at
  FROM dataplane.get_timeline(900001, 5) ORDER BY sort_at DESC, item_id DESC, reposter NULLS FIRST;
SELECT pages_index > :pages_before AS pages_from_index FROM dataplane.status();
SELECT fn, uid, lim,
       ARRAY(SELECT x FROM unnest(got) x ORDER BY x) IS NOT DISTINCT FROM
       ARRAY(SELECT x FROM unnest(want) x ORDER BY x) AS same_items
  FROM extreme_compare
 WHERE bts IS NULL AND lim IN (5, 50) ORDER BY n;
SELECT item_id, post_id, author, reposter FROM dataplane.get_author_feed(900002, 50)
 WHERE item_id = 900000040;
-- The same after a rebuild (the build path).
SELECT dataplane.rebuild();
SELECT item_id, post_id, author, reposter FROM dataplane.get_timeline(900001, 50)
 WHERE item_id = 900000040 ORDER BY reposter NULLS FIRST;
SELECT fn, uid, lim,
       ARRAY(SELECT x FROM unnest(got) x ORDER BY x) IS NOT DISTINCT FROM
       ARRAY(SELECT x FROM unnest(want) x ORDER BY x) AS same_items
  FROM extreme_compare
 WHERE bts IS NULL AND lim IN (5, 50) ORDER BY n;
SELECT * FROM dataplane.verify();
-- Deleting the repost leaves the post, and the other way round.
DELETE FROM dataplane.repost WHERE id = 900000040;
SELECT item_id, post_id, author, reposter FROM dataplane.get_timeline(900001, 50)
 WHERE item_id = 900000040 ORDER BY reposter NULLS FIRST;
INSERT INTO dataplane.repost (id, reposter, post_id, created_at) VALUES
    (900000040, 900002, 900000001, '2026-02-01 00:00');
SELECT item_id, post_id, author, reposter FROM dataplane.get_timeline(900001, 50)
 WHERE item_id = 900000040 ORDER BY reposter NULLS FIRST;
DELETE FROM dataplane.post WHERE id = 900000040;
SELECT item_id, post_id, author, reposter FROM dataplane.get_timeline(900001, 50)
 WHERE item_id = 900000040 ORDER BY reposter NULLS FIRST;
SELECT * FROM dataplane.verify();

-- Clean up: the actors go, and their follows, posts and reposts with them.
DROP VIEW extreme_compare;
DROP TABLE extreme_cases;
DELETE FROM dataplane.actor WHERE uid BETWEEN 900001 AND 900006;
SELECT count(*) AS left_over FROM dataplane.post WHERE id > 900000000 OR id < -900000000;
SELECT * FROM dataplane.verify();
RESET client_min_messages;
