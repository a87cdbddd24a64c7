-- ingest_jetstream: values at the edges of DESIGN.md's mapping. An account
-- status, a list purpose (the last segment of record.purpose) and a CID go
-- into text columns: any string PostgreSQL's text can hold is stored as it
-- is (empty, with spaces, long, not ASCII, with escapes); one with a NUL
-- byte (JSON's \u0000), which text cannot hold, makes its event unreadable.
-- The event time is 'epoch' + time_us microseconds: every time_us that is a
-- timestamptz is read (0, negative, up to the largest bigint), created_at
-- being least(createdAt, event time); an earlier one than PostgreSQL's
-- first timestamp is unreadable. Replays change nothing, verify() is clean.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS dataplane CASCADE;
CREATE EXTENSION dataplane;
RESET client_min_messages;
SET timezone = 'UTC';

CREATE FUNCTION pg_temp.did(name text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT 'did:plc:' || rpad(name, 24, '2') $$;
CREATE FUNCTION pg_temp.uri(name text, coll text, rkey text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT 'at://' || pg_temp.did(name) || '/' || coll || '/' || rkey $$;
-- A commit event at time_us t (microseconds), createdAt 2023-11-14.
CREATE FUNCTION pg_temp.ev(name text, t bigint, op text, coll text, rkey text, rec jsonb, cid text)
RETURNS text LANGUAGE sql AS $$
SELECT jsonb_build_object('did', pg_temp.did(name), 'time_us', t, 'kind', 'commit', 'commit',
         jsonb_strip_nulls(jsonb_build_object('rev', 'r', 'operation', op, 'collection', coll,
             'rkey', rkey, 'record', rec || '{"createdAt": "2023-11-14T22:13:20.000Z"}', 'cid', cid)))::text $$;
CREATE FUNCTION pg_temp.follow(name text, t bigint, rkey text, subject text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_temp.ev(name, t, 'create', 'app.bsky.graph.follow', rkey,
          jsonb_build_object('subject', pg_temp.did(subject)), NULL) $$;
CREATE FUNCTION pg_temp.post(name text, t bigint, rkey text, cid text, op text DEFAULT 'create') RETURNS text
LANGUAGE sql AS $$ SELECT pg_temp.ev(name, t, op, 'app.bsky.feed.post', rkey, '{"text": "hi"}', cid) $$;
CREATE FUNCTION pg_temp.repost(name text, t bigint, rkey text, author text, post text, cid text) RETURNS text
LANGUAGE sql AS $$
SELECT pg_temp.ev(name, t, 'create', 'app.bsky.feed.repost', rkey,
         jsonb_build_object('subject', jsonb_build_object('uri', pg_temp.uri(author, 'app.bsky.feed.post', post),
                                                          'cid', 'bafyp')), cid) $$;
CREATE FUNCTION pg_temp.list(name text, rkey text, purpose jsonb, op text DEFAULT 'create') RETURNS text
LANGUAGE sql AS $$
SELECT pg_temp.ev(name, 1700000000000000, op, 'app.bsky.graph.list', rkey,
         jsonb_build_object('name', 'l', 'purpose', purpose), NULL) $$;
CREATE FUNCTION pg_temp.account(name text, active boolean, status jsonb) RETURNS text LANGUAGE sql AS $$
SELECT jsonb_build_object('did', pg_temp.did(name), 'time_us', 1700000000000000, 'kind', 'account',
         'account', jsonb_build_object('active', active, 'did', pg_temp.did(name), 'seq', 1)
                    || CASE WHEN status IS NULL THEN '{}' ELSE jsonb_build_object('status', status) END)::text $$;
-- jsonb cannot hold \u0000: events with a NUL byte are written from a
-- placeholder, @NUL@.
CREATE FUNCTION pg_temp.nul(e text) RETURNS text LANGUAGE sql AS $$ SELECT replace(e, '@NUL@', '\u0000') $$;

-- Applies events, one per line, keeping them for the replay at the end;
-- returns what ingest_jetstream returned and the events it found unreadable.
CREATE TEMP TABLE sent (n serial, e text);
CREATE FUNCTION pg_temp.ingest(VARIADIC events text[], OUT last_time_us bigint, OUT unreadable bigint)
LANGUAGE plpgsql AS $$
DECLARE before bigint := (SELECT ingest_unreadable FROM dataplane.status());
BEGIN
  INSERT INTO sent (e) SELECT unnest(events);
  last_time_us := dataplane.ingest_jetstream(array_to_string(events, E'\n'));
  unreadable := (SELECT ingest_unreadable FROM dataplane.status()) - before;
END $$;
CREATE FUNCTION pg_temp.name(u int) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT rtrim(substr(did, 9), '2') FROM dataplane.actor WHERE uid = u $$;
-- DESIGN.md's timeline query (no moderation rows here).
CREATE FUNCTION pg_temp.reference(v int)
RETURNS TABLE (item_id bigint, post_id bigint, author int, reposter int, sort_at timestamptz)
LANGUAGE sql AS $$
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = v UNION SELECT v)
SELECT p.id, p.id, p.author, NULL::int, p.created_at FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
UNION ALL
SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
  FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id WHERE r.reposter IN (SELECT uid FROM src) $$;
CREATE FUNCTION pg_temp.clean() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM dataplane.verify() $$;

-- Account statuses: any string of an inactive account, stored as it is
-- (the empty one is '', not NULL); NULL when there is none or it is not a
-- string, and whenever the account is active.
SELECT * FROM pg_temp.ingest(
  pg_temp.account('sa', false, '""'),
  pg_temp.account('sb', false, '"on holiday"'),
  pg_temp.account('sc', false, '"désactivé ☃"'),
  pg_temp.account('sd', false, to_jsonb(repeat('x', 3000))),
  pg_temp.account('se', false, to_jsonb(E'tab\there\nand a line'::text)),
  pg_temp.account('sf', false, '7'),
  pg_temp.account('sg', false, 'null'),
  pg_temp.account('sh', false, NULL),
  pg_temp.account('si', true, '"takendown"'),
  pg_temp.nul(pg_temp.account('sj', true, '"x@NUL@y"')));
-- A NUL byte in the status of an inactive account: unreadable, no actor.
SELECT * FROM pg_temp.ingest(pg_temp.nul(pg_temp.account('sk', false, '"dele@NUL@ted"')));
SELECT pg_temp.name(uid) AS actor, active, status IS NULL AS null_status, length(status) AS length,
       CASE WHEN length(status) > 30 THEN left(status, 3) || '...' ELSE status END AS status
  FROM dataplane.actor ORDER BY uid;
-- A status replaced by another, then by the empty one; reactivated: NULL.
SELECT * FROM pg_temp.ingest(pg_temp.account('sb', false, '"suspended"'));
SELECT * FROM pg_temp.ingest(pg_temp.account('sb', false, '""'));
SELECT status = '' AS empty_status FROM dataplane.actor WHERE did = pg_temp.did('sb');
SELECT * FROM pg_temp.ingest(pg_temp.account('sc', true, '"désactivé"'));
SELECT active, status FROM dataplane.actor WHERE did = pg_temp.did('sc');
SELECT pg_temp.clean() AS verify_rows;

-- List purposes: the last segment of record.purpose (after its last '#',
-- all of it without one), whatever it holds; NULL when the record has no
-- purpose string. A NUL byte in the last segment: unreadable; before it:
-- not stored, so readable.
SELECT * FROM pg_temp.ingest(
  pg_temp.list('o', 'l1', '"app.bsky.graph.defs#"'),
  pg_temp.list('o', 'l2', '""'),
  pg_temp.list('o', 'l3', '"app.bsky.graph.defs#mod list"'),
  pg_temp.list('o', 'l4', '"app.bsky.graph.defs#modlist#again"'),
  pg_temp.list('o', 'l5', '"app.bsky.graph.defs#listé"'),
  pg_temp.list('o', 'l6', to_jsonb('app.bsky.graph.defs#' || repeat('m', 3000))),
  pg_temp.list('o', 'l7', '"no hash here"'),
  pg_temp.list('o', 'l8', '3'),
  pg_temp.list('o', 'l9', 'null'),
  pg_temp.nul(pg_temp.list('o', 'l10', '"app@NUL@bsky#modlist"')),
  pg_temp.nul(pg_temp.list('o', 'l11', '"app.bsky.graph.defs#mod@NUL@list"')));
SELECT rkey, purpose IS NULL AS null_purpose, length(purpose) AS length,
       CASE WHEN length(purpose) > 30 THEN left(purpose, 3) || '...' ELSE purpose END AS purpose
  FROM dataplane.list ORDER BY length(rkey), rkey;
-- A list with the empty purpose is no stub: a create keeps it, an update
-- replaces it (and may set it to the empty text again).
SELECT * FROM pg_temp.ingest(pg_temp.list('o', 'l1', '"app.bsky.graph.defs#modlist"'));
SELECT purpose = '' AS still_empty FROM dataplane.list WHERE rkey = 'l1';
SELECT * FROM pg_temp.ingest(pg_temp.list('o', 'l1', '"app.bsky.graph.defs#modlist"', 'update'),
                             pg_temp.list('o', 'l3', '"#"', 'update'));
SELECT rkey, purpose FROM dataplane.list WHERE rkey IN ('l1', 'l3') ORDER BY rkey;
SELECT pg_temp.clean() AS verify_rows;

-- CIDs: commit.cid as it is, whatever string it is; missing, not a string
-- or with a NUL byte: unreadable.
SELECT * FROM pg_temp.ingest(
  pg_temp.post('c', 1700000001000000, 'p1', ''),
  pg_temp.post('c', 1700000002000000, 'p2', 'bafy rei with spaces'),
  pg_temp.post('c', 1700000003000000, 'p3', repeat('b', 5000)),
  pg_temp.post('c', 1700000004000000, 'p4', 'cïd ☃'),
  pg_temp.post('c', 1700000005000000, 'p5', E'tab\tand\\backslash'),
  pg_temp.post('c', 1700000006000000, 'p6', NULL),
  replace(pg_temp.post('c', 1700000007000000, 'p7', 'c7'), '"cid": "c7"', '"cid": 7'),
  pg_temp.nul(pg_temp.post('c', 1700000008000000, 'p8', 'bafy@NUL@rei')),
  pg_temp.repost('c', 1700000009000000, 'r1', 'c', 'p1', ''),
  pg_temp.repost('c', 1700000010000000, 'r2', 'c', 'p2', 'répost cid'),
  pg_temp.repost('c', 1700000011000000, 'r3', 'c', 'p9', 'held aside'),
  pg_temp.nul(pg_temp.repost('c', 1700000012000000, 'r4', 'c', 'p3', '@NUL@')));
SELECT rkey, length(cid) AS length, CASE WHEN length(cid) > 30 THEN left(cid, 3) || '...' ELSE cid END AS cid
  FROM dataplane.post ORDER BY rkey;
SELECT rkey, cid FROM dataplane.repost ORDER BY rkey;
SELECT rkey, cid FROM dataplane.repost_pending ORDER BY rkey;
-- Updates replace a CID by an odd one, and by the empty one.
SELECT * FROM pg_temp.ingest(pg_temp.post('c', 1700000013000000, 'p2', '', 'update'),
                             pg_temp.post('c', 1700000014000000, 'p1', 'now a cid', 'update'));
SELECT rkey, cid FROM dataplane.post WHERE rkey IN ('p1', 'p2') ORDER BY rkey;
SELECT pg_temp.clean() AS verify_rows;

-- time_us: 0, negative, PostgreSQL's first timestamp, the largest bigint
-- are event times; created_at = least(createdAt, event time). One
-- microsecond before PostgreSQL's first timestamp, and the least bigint,
-- are unreadable. The call returns the largest time_us read, negative too.
SELECT * FROM pg_temp.ingest(pg_temp.follow('v', 0, 'f1', 't'),
                             pg_temp.follow('v', 0, 'f2', 'v'));
SELECT * FROM pg_temp.ingest(pg_temp.post('t', 0, 't0', 'c0'));
SELECT * FROM pg_temp.ingest(pg_temp.post('t', -1, 'tm1', 'c'),
                             pg_temp.post('t', -1700000000000000, 'tm2', 'c'));
SELECT * FROM pg_temp.ingest(pg_temp.post('t', -210866803200000000, 'tmin', 'c'));
SELECT * FROM pg_temp.ingest(pg_temp.post('t', -210866803200000001, 'tbefore', 'c'),
                             pg_temp.post('t', -9223372036854775808, 'tleast', 'c'));
SELECT * FROM pg_temp.ingest(pg_temp.post('t', 9223372036854775807, 'tmax', 'c'),
                             replace(pg_temp.post('t', 9223372036854775807, 'tfar', 'c'),
                                     ', "createdAt": "2023-11-14T22:13:20.000Z"', ''));
SELECT * FROM pg_temp.ingest(pg_temp.repost('v', -5, 'rv', 't', 'tmax', 'c'),
                             '{"did":"' || pg_temp.did('t') || '","time_us":-3,"kind":"identity"}');
SELECT rkey, created_at FROM dataplane.post WHERE author = (SELECT uid FROM dataplane.actor WHERE did = pg_temp.did('t'))
 ORDER BY created_at, rkey;
SELECT rkey, created_at FROM dataplane.repost WHERE rkey = 'rv';
SELECT pg_temp.name(follower) AS follower, pg_temp.name(followee) AS followee, created_at
  FROM dataplane.follow ORDER BY 1, 2;
SELECT ingest_last_time_us FROM dataplane.status();
SELECT pg_temp.clean() AS verify_rows;
-- The index serves them: the viewer's timeline, from the index, equals the
-- reference query; the skeleton's cursors page through them.
SELECT item_id = post_id AS is_post, pg_temp.name(author) AS author, pg_temp.name(reposter) AS reposter, sort_at
  FROM dataplane.get_timeline((SELECT uid FROM dataplane.actor WHERE did = pg_temp.did('v')), 10);
SELECT uid AS v FROM dataplane.actor WHERE did = pg_temp.did('v') \gset
SELECT count(*) AS differences FROM (
  (SELECT * FROM dataplane.get_timeline(:v, 100) EXCEPT ALL SELECT * FROM pg_temp.reference(:v))
  UNION ALL (SELECT * FROM pg_temp.reference(:v) EXCEPT ALL SELECT * FROM dataplane.get_timeline(:v, 100))) d;
SELECT uri, repost_uri FROM dataplane.timeline_skeleton(pg_temp.did('v'), 3);
SELECT cursor AS next FROM dataplane.timeline_skeleton(pg_temp.did('v'), 3) OFFSET 2 \gset
SELECT uri, repost_uri FROM dataplane.timeline_skeleton(pg_temp.did('v'), 3, :'next');
SELECT cursor AS next FROM dataplane.timeline_skeleton(pg_temp.did('v'), 3, :'next') OFFSET 2 \gset
SELECT uri, repost_uri FROM dataplane.timeline_skeleton(pg_temp.did('v'), 3, :'next');

-- Replaying everything, in one batch, changes nothing.
CREATE FUNCTION pg_temp.state() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT 'post ' || row(p.*)::text FROM dataplane.post p
  UNION ALL SELECT 'repost ' || row(r.*)::text FROM dataplane.repost r
  UNION ALL SELECT 'held ' || row(h.*)::text FROM dataplane.repost_pending h
  UNION ALL SELECT 'list ' || row(l.*)::text FROM dataplane.list l
  UNION ALL SELECT 'follow ' || row(f.*)::text FROM dataplane.follow f
  UNION ALL SELECT 'record ' || row(g.*)::text FROM dataplane.graph_record g
  UNION ALL SELECT 'actor ' || row(a.*)::text FROM dataplane.actor a $$;
CREATE TEMP TABLE before_replay AS SELECT * FROM pg_temp.state() s;
SELECT dataplane.ingest_jetstream(string_agg(e, E'\n' ORDER BY n)) AS replayed_last FROM sent;
SELECT count(*) AS changed FROM (
  (SELECT * FROM before_replay EXCEPT ALL SELECT * FROM pg_temp.state())
  UNION ALL (SELECT * FROM pg_temp.state() EXCEPT ALL SELECT * FROM before_replay)) d;
SELECT pg_temp.clean() AS verify_rows;
-- A second full replay draws no value of the id sequences: the values a
-- batch prefetched and did not use serve the next one.
SELECT last_value AS items_before, (SELECT last_value FROM dataplane.list_id_seq) AS lists_before
  FROM dataplane.item_id_seq \gset
SELECT dataplane.ingest_jetstream(string_agg(e, E'\n' ORDER BY n)) AS replayed_last FROM sent;
SELECT last_value = :items_before AS no_item_id_drawn,
       (SELECT last_value FROM dataplane.list_id_seq) = :lists_before AS no_list_id_drawn
  FROM dataplane.item_id_seq;
SELECT count(*) AS changed FROM (
  (SELECT * FROM before_replay EXCEPT ALL SELECT * FROM pg_temp.state())
  UNION ALL (SELECT * FROM pg_temp.state() EXCEPT ALL SELECT * FROM before_replay)) d;
SELECT pg_temp.clean() AS verify_rows;

-- createdAt: in the shape records are written in, read without
-- PostgreSQL's date parser (fn_ingest.cpp), yet exactly as it reads it:
-- dates across the calendar, fractions of 0 to 9 digits (7 and more go
-- through the parser, which rounds), offsets, 24:00:00, leap seconds, 't'
-- and 'z'. The event time is the largest: created_at is createdAt itself.
CREATE TEMP TABLE stamps AS
SELECT g, to_char(timestamp '0001-01-01' + (g * 7919 % 3652058) * interval '1 day'
                                         + (g * 104729 % 86400) * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS')
          || CASE WHEN g % 10 = 0 THEN '' ELSE '.' || left(lpad((g * 31337 % 1000000000)::text, 9, '0'), g % 10) END
          || (ARRAY['Z', 'z', '+00:00', '-00:00', '+05:30', '-08:00', '+15:59', '-15:59', '+01:00', '-03:30'])[1 + g / 10 % 10]
          AS s
  FROM generate_series(1, 2000) g
UNION ALL
SELECT 2000 + n, s FROM unnest(ARRAY['2024-02-29T24:00:00Z', '2024-02-29T24:00:00.000000000+01:00',
  '2016-12-31T23:59:60Z', '2016-12-31T23:59:60.000-05:00', '2024-01-01T23:59:59.9999995Z',
  '2024-01-01T23:59:59.9999994Z', '2024-01-01t00:00:00.5z', '0001-01-01T00:00:00+15:59',
  '9999-12-31T23:59:59.999999-15:59', '2000-01-01T00:00:00Z', '1970-01-01T00:00:00.000001Z',
  '1969-12-31T23:59:59.999999Z']) WITH ORDINALITY u(s, n);
SELECT count(*) AS stamps, (SELECT count(*) FROM pg_temp.ingest(VARIADIC ARRAY(
  SELECT jsonb_build_object('did', pg_temp.did('stamps'), 'time_us', 9223372036854775807, 'kind', 'commit',
           'commit', jsonb_build_object('rev', 'r', 'operation', 'create', 'collection', 'app.bsky.feed.post',
             'rkey', 's' || g, 'cid', 'c', 'record', jsonb_build_object('text', 'hi', 'createdAt', s)))::text
    FROM stamps ORDER BY g)) WHERE unreadable = 0) AS batches_readable
  FROM stamps;
SELECT count(*) AS posts, count(*) FILTER (WHERE p.created_at IS DISTINCT FROM t.s::timestamptz) AS differ
  FROM stamps t JOIN dataplane.post p ON p.rkey = 's' || t.g
 WHERE p.author = (SELECT uid FROM dataplane.actor WHERE did = pg_temp.did('stamps'));
SELECT t.s, p.created_at, t.s::timestamptz AS postgresql_reads
  FROM stamps t JOIN dataplane.post p ON p.rkey = 's' || t.g
 WHERE p.created_at IS DISTINCT FROM t.s::timestamptz LIMIT 5;
SELECT pg_temp.clean() AS verify_rows;
