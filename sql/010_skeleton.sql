-- timeline_skeleton and author_feed_skeleton: AT-URIs and opaque cursors
-- over get_timeline / get_author_feed. Every page walk is compared with
-- the contract's reference query (dptest.ref_timeline, ref_author_feed)
-- named the same way; cursors round-trip exactly; bad cursors are 22023;
-- a caller's search_path changes nothing.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(0);

-- 12 actors; actor n follows n+1..n+4; posts with record keys, a few
-- without (written by hand, as 0.1.0 callers do), many sharing one
-- created_at so that pages split ties; reposts with and without keys.
INSERT INTO dataplane.actor (uid, did)
  SELECT n, 'did:plc:' || lpad(n::text, 24, 'a') FROM generate_series(1, 12) n;
INSERT INTO dataplane.follow (follower, followee)
  SELECT a, b FROM generate_series(1, 12) a, generate_series(1, 12) b
  WHERE b BETWEEN a + 1 AND a + 4;
INSERT INTO dataplane.post (author, created_at, rkey, cid)
  SELECT 1 + g % 12, '2024-09-05'::timestamptz + (g / 3) * interval '1 minute',
         CASE WHEN g % 17 <> 0 THEN '3l3p' || lpad(g::text, 9, '0') END, 'bafy' || g
  FROM generate_series(1, 240) g;
INSERT INTO dataplane.repost (reposter, post_id, created_at, rkey)
  SELECT 1 + (p.author + 5) % 12, p.id, p.created_at + interval '30 seconds',
         CASE WHEN p.id % 5 <> 0 THEN '3l3r' || lpad(p.id::text, 9, '0') END
  FROM dataplane.post p WHERE p.id % 4 = 0;

-- What the reference query's rows are called: the same URIs.
CREATE FUNCTION pg_temp.named(t dataplane.feed_item) RETURNS text LANGUAGE sql STABLE AS $$
SELECT concat_ws(' ',
  coalesce((SELECT 'at://' || a.did || '/app.bsky.feed.post/' || p.rkey
              FROM dataplane.post p JOIN dataplane.actor a ON a.uid = p.author
             WHERE p.id = t.post_id), '-'),
  coalesce((SELECT 'at://' || a.did || '/app.bsky.feed.repost/' || r.rkey
              FROM dataplane.repost r JOIN dataplane.actor a ON a.uid = r.reposter
             WHERE t.reposter IS NOT NULL AND r.id = t.item_id), '-')) $$;

-- Every page of a skeleton, following cursors, as one list.
CREATE FUNCTION pg_temp.walk(feed text, did text, lim int) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  out text[] := '{}';
  cur text := NULL;
  n int;
  r record;
BEGIN
  LOOP
    n := 0;
    FOR r IN EXECUTE format('SELECT * FROM dataplane.%I($1, $2, $3)', feed) USING did, lim, cur LOOP
      out := out || concat_ws(' ', coalesce(r.uri, '-'), coalesce(r.repost_uri, '-'));
      cur := r.cursor;
      n := n + 1;
    END LOOP;
    EXIT WHEN n < lim;
  END LOOP;
  RETURN out;
END $$;

-- Every viewer and author, pages of 1, 7 and 50 rows.
SELECT count(*) AS walks,
       count(*) FILTER (WHERE pg_temp.walk('timeline_skeleton', a.did, l) IS DISTINCT FROM
         ARRAY(SELECT pg_temp.named(t) FROM dptest.ref_timeline(a.uid, 100000, NULL, NULL) t)) AS timeline_bad,
       count(*) FILTER (WHERE pg_temp.walk('author_feed_skeleton', a.did, l) IS DISTINCT FROM
         ARRAY(SELECT pg_temp.named(t) FROM dptest.ref_author_feed(a.uid, 100000, NULL, NULL) t)) AS author_bad
FROM dataplane.actor a, (VALUES (1), (7), (50)) v(l);
-- ... and the pages came from the index.
SELECT state FROM dataplane.status();

-- Two pages, as an AppView reads them (docs/appview.md): the next page
-- starts below the last row's cursor.
SELECT uri, repost_uri, cursor
FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 4);
SELECT cursor AS next FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 4)
OFFSET 3 \gset
SELECT uri, repost_uri, cursor
FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 4, :'next');
SELECT uri, repost_uri, cursor
FROM dataplane.author_feed_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa2', 3);

-- An unknown or NULL DID has an empty feed; NULL lim and cursor are the
-- defaults of get_timeline.
SELECT count(*) FROM dataplane.timeline_skeleton('did:plc:nobody');
SELECT count(*) FROM dataplane.timeline_skeleton(NULL);
SELECT count(*) FROM dataplane.author_feed_skeleton('did:plc:nobody', 5, NULL);

-- Cursors round-trip exactly, at the ends of timestamptz's range too.
SELECT ts, id, c, (dataplane.feed_cursor_parse(c)).before_ts = ts AS same_ts,
       (dataplane.feed_cursor_parse(c)).before_id = id AS same_id
FROM (VALUES ('2024-09-05 00:00:00.000001+00'::timestamptz, 1::bigint),
             ('1969-12-31 23:59:59.999999+00', -5),
             ('4714-11-24 00:00:00+00 BC', 9223372036854775807),
             ('294276-12-31 23:59:59.999999+00', -9223372036854775808),
             ('1970-01-01 00:00:00+00', 0)) v(ts, id),
     LATERAL dataplane.feed_cursor(ts, id) c;
-- An infinite time is timestamptz's own integer too (INT64_MAX / MIN).
SELECT c, (dataplane.feed_cursor_parse(c)).*
FROM (VALUES ('infinity'::timestamptz), ('-infinity')) v(ts),
     LATERAL dataplane.feed_cursor(ts, 1) c;
SELECT dataplane.feed_cursor(NULL, 1) IS NULL AS strict;

-- Anything else is 22023, with a hint.
\set VERBOSITY default
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, 'abc');
\set VERBOSITY sqlstate
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '1:');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, ':1');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '1:2:3');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, ' 1:2');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '+1:2');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '-:2');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '99999999999999999999:1');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '1:99999999999999999999');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '-211813488000000001:1');
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, '9223371331200000000:1');
SELECT * FROM dataplane.author_feed_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 5, 'x:1');
-- A bad lim is get_timeline's error.
\set VERBOSITY terse
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', 0);
SELECT * FROM dataplane.timeline_skeleton('did:plc:aaaaaaaaaaaaaaaaaaaaaaa1', -1);
\set VERBOSITY default

-- A caller whose search_path shadows the functions and operators the
-- bodies use gets the same pages: the names were bound at CREATE time.
CREATE TEMP TABLE expected_walk AS
  SELECT a.did, ARRAY(SELECT pg_temp.named(t) FROM dptest.ref_timeline(a.uid, 100000, NULL, NULL) t) AS ref
  FROM dataplane.actor a;
CREATE SCHEMA evil;
CREATE FUNCTION evil.get_timeline(v int, l int, t timestamptz, i bigint)
  RETURNS SETOF dataplane.feed_item LANGUAGE sql AS $$ SELECT NULL::dataplane.feed_item $$;
CREATE FUNCTION evil.textcat_evil(a text, b text) RETURNS text LANGUAGE sql AS $$ SELECT 'pwned' $$;
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.textcat_evil);
CREATE FUNCTION evil.texteq_evil(a text, b text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq_evil);
SET search_path = evil, pg_catalog, public;
SELECT count(*) AS walks,
       count(*) FILTER (WHERE pg_temp.walk('timeline_skeleton', e.did, 7) OPERATOR(pg_catalog.<>) e.ref)
         AS shadowed_bad
FROM expected_walk e;
RESET search_path;
DROP SCHEMA evil CASCADE;

-- Items at 'infinity' and '-infinity' (written by hand): a page holding
-- one has a cursor like any other, and the walk goes on below it, as the
-- reference query orders them, in pages of 1, 2 and 50.
INSERT INTO dataplane.actor (uid, did) VALUES (13, 'did:plc:infinite');
INSERT INTO dataplane.follow (follower, followee) VALUES (12, 13);
INSERT INTO dataplane.post (author, created_at, rkey)
  VALUES (13, 'infinity', 'inf1'), (13, 'infinity', 'inf2'), (13, '2024-09-05', 'fin1'),
         (13, '-infinity', 'ninf1'), (13, '-infinity', 'ninf2');
INSERT INTO dataplane.repost (reposter, post_id, created_at, rkey)
  SELECT 13, p.id, 'infinity', 'rinf' || p.id FROM dataplane.post p
  WHERE p.author = 13 AND p.rkey = 'fin1';
SELECT a.did, v.l,
       pg_temp.walk('timeline_skeleton', a.did, v.l) IS NOT DISTINCT FROM
         ARRAY(SELECT pg_temp.named(t) FROM dptest.ref_timeline(a.uid, 100000, NULL, NULL) t) AS timeline_ok,
       pg_temp.walk('author_feed_skeleton', a.did, v.l) IS NOT DISTINCT FROM
         ARRAY(SELECT pg_temp.named(t) FROM dptest.ref_author_feed(a.uid, 100000, NULL, NULL) t) AS author_ok
FROM dataplane.actor a, (VALUES (1), (2), (50)) v(l)
WHERE a.uid IN (12, 13) ORDER BY a.uid, v.l;
SELECT cursor FROM dataplane.author_feed_skeleton('did:plc:infinite', 10);
