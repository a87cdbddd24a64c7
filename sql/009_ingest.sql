-- ingest_jetstream: the mapping of DESIGN.md for every record kind and its
-- edge cases, replays, unreadable lines, and verify() clean after each step.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS dataplane CASCADE;
CREATE EXTENSION dataplane;
RESET client_min_messages;

-- Events are built with jsonb; a DID is did:plc:<name padded with 2s>.
CREATE FUNCTION pg_temp.did(name text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT 'did:plc:' || rpad(name, 24, '2') $$;
CREATE FUNCTION pg_temp.uri(name text, coll text, rkey text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT 'at://' || pg_temp.did(name) || '/' || coll || '/' || rkey $$;
-- A commit event at time_us = 1700000000000000 + t seconds.
CREATE FUNCTION pg_temp.ev(name text, t int, op text, coll text, rkey text, rec jsonb DEFAULT NULL,
                           cid text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
SELECT jsonb_build_object('did', pg_temp.did(name), 'time_us', 1700000000000000 + t * 1000000::bigint,
         'kind', 'commit', 'commit',
         jsonb_strip_nulls(jsonb_build_object('rev', 'r', 'operation', op, 'collection', coll,
                                              'rkey', rkey, 'record', rec, 'cid', cid)))::text $$;
CREATE FUNCTION pg_temp.created(t int) RETURNS text LANGUAGE sql AS
$$ SELECT to_char(to_timestamp(1700000000 + t - 1) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"') $$;
CREATE FUNCTION pg_temp.follow(name text, t int, rkey text, subject text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_temp.ev(name, t, 'create', 'app.bsky.graph.follow', rkey,
          jsonb_build_object('subject', pg_temp.did(subject), 'createdAt', pg_temp.created(t))) $$;
CREATE FUNCTION pg_temp.block(name text, t int, rkey text, subject text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_temp.ev(name, t, 'create', 'app.bsky.graph.block', rkey,
          jsonb_build_object('subject', pg_temp.did(subject), 'createdAt', pg_temp.created(t))) $$;
CREATE FUNCTION pg_temp.del(name text, t int, coll text, rkey text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_temp.ev(name, t, 'delete', coll, rkey) $$;
CREATE FUNCTION pg_temp.post(name text, t int, rkey text, op text DEFAULT 'create',
                             reply_to text[] DEFAULT NULL, embed jsonb DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
SELECT pg_temp.ev(name, t, op, 'app.bsky.feed.post', rkey,
         jsonb_strip_nulls(jsonb_build_object('text', 'hi', 'createdAt', pg_temp.created(t),
           'reply', CASE WHEN reply_to IS NOT NULL THEN jsonb_build_object(
               'root', jsonb_build_object('uri', pg_temp.uri(reply_to[1], 'app.bsky.feed.post', reply_to[2]), 'cid', 'bafyroot'),
               'parent', jsonb_build_object('uri', pg_temp.uri(reply_to[3], 'app.bsky.feed.post', reply_to[4]), 'cid', 'bafyparent')) END,
           'embed', embed)),
         'bafy' || name || rkey || op) $$;
CREATE FUNCTION pg_temp.repost(name text, t int, rkey text, author text, post text) RETURNS text
LANGUAGE sql AS $$
SELECT pg_temp.ev(name, t, 'create', 'app.bsky.feed.repost', rkey,
         jsonb_build_object('subject', jsonb_build_object('uri', pg_temp.uri(author, 'app.bsky.feed.post', post),
                                                          'cid', 'bafyp'),
                            'createdAt', pg_temp.created(t)), 'bafyr' || name || rkey) $$;
CREATE FUNCTION pg_temp.list(name text, t int, rkey text, purpose text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_temp.ev(name, t, 'create', 'app.bsky.graph.list', rkey,
          jsonb_build_object('purpose', 'app.bsky.graph.defs#' || purpose, 'name', 'l',
                             'createdAt', pg_temp.created(t))) $$;
CREATE FUNCTION pg_temp.listitem(name text, t int, rkey text, list text, subject text) RETURNS text
LANGUAGE sql AS $$
SELECT pg_temp.ev(name, t, 'create', 'app.bsky.graph.listitem', rkey,
         jsonb_build_object('list', pg_temp.uri(name, 'app.bsky.graph.list', list),
                            'subject', pg_temp.did(subject), 'createdAt', pg_temp.created(t))) $$;
CREATE FUNCTION pg_temp.listblock(name text, t int, rkey text, owner text, list text) RETURNS text
LANGUAGE sql AS $$
SELECT pg_temp.ev(name, t, 'create', 'app.bsky.graph.listblock', rkey,
         jsonb_build_object('subject', pg_temp.uri(owner, 'app.bsky.graph.list', list),
                            'createdAt', pg_temp.created(t))) $$;
CREATE FUNCTION pg_temp.account(name text, t int, active boolean, status text DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
SELECT jsonb_build_object('did', pg_temp.did(name), 'time_us', 1700000000000000 + t * 1000000::bigint,
         'kind', 'account', 'account',
         jsonb_strip_nulls(jsonb_build_object('active', active, 'did', pg_temp.did(name), 'seq', t,
                                              'status', status, 'time', pg_temp.created(t))))::text $$;
-- Applies events, one per line, and keeps them for the replay at the end.
CREATE TEMP TABLE sent (n serial, e text);
CREATE FUNCTION pg_temp.ingest(VARIADIC events text[]) RETURNS bigint LANGUAGE sql AS $$
INSERT INTO sent (e) SELECT unnest(events);
SELECT dataplane.ingest_jetstream(array_to_string(events, E'\n')) $$;

-- The tables, with names for uids.
CREATE FUNCTION pg_temp.name(u int) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT coalesce(rtrim(substr(did, 9), '2'), u::text) FROM dataplane.actor WHERE uid = u
   UNION ALL SELECT u::text WHERE NOT EXISTS (SELECT FROM dataplane.actor WHERE uid = u) LIMIT 1 $$;
CREATE VIEW pg_temp.follows AS
  SELECT pg_temp.name(follower) AS follower, pg_temp.name(followee) AS followee, created_at
    FROM dataplane.follow ORDER BY 1, 2;
CREATE VIEW pg_temp.records AS
  SELECT pg_temp.name(repo) AS repo, collection, rkey, pg_temp.name(subject) AS subject, list_id
    FROM dataplane.graph_record ORDER BY 1, 2, 3;
CREATE VIEW pg_temp.posts AS
  SELECT id, pg_temp.name(author) AS author, rkey, cid, pg_temp.name(reply_root_author) AS root,
         pg_temp.name(reply_parent_author) AS parent, quote, media, created_at
    FROM dataplane.post ORDER BY author, rkey;
CREATE VIEW pg_temp.reposts AS
  SELECT r.id, pg_temp.name(r.reposter) AS reposter, r.rkey, r.post_id, p.rkey AS post_rkey, r.created_at
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id ORDER BY 2, 3;
CREATE VIEW pg_temp.held AS
  SELECT pg_temp.name(reposter) AS reposter, rkey, pg_temp.name(subject_author) AS author, subject_rkey
    FROM dataplane.repost_pending ORDER BY 1, 2;
CREATE VIEW pg_temp.lists AS
  SELECT l.id, pg_temp.name(l.owner) AS owner, l.rkey, l.purpose,
         (SELECT string_agg(pg_temp.name(subject), ',' ORDER BY 1) FROM dataplane.list_item i
           WHERE i.list_id = l.id) AS items,
         (SELECT string_agg(pg_temp.name(actor), ',' ORDER BY 1) FROM dataplane.list_block b
           WHERE b.list_id = l.id) AS blocked_by
    FROM dataplane.list l ORDER BY 2, 3;
CREATE FUNCTION pg_temp.clean() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM dataplane.verify() $$;

SET timezone = 'UTC';

-- Follows. Two records of one edge (the edge goes with its last record;
-- its created_at is the first record's while that lives), a self-follow,
-- and the returned time_us is the largest read.
SELECT pg_temp.ingest(pg_temp.follow('alice', 1, 'f1', 'bob'), pg_temp.follow('alice', 2, 'f2', 'bob'),
                      pg_temp.follow('alice', 3, 'f3', 'alice'), pg_temp.follow('bob', 4, 'f1', 'carol'));
SELECT uid, did, active, status FROM dataplane.actor ORDER BY uid;
SELECT * FROM pg_temp.follows;
SELECT * FROM pg_temp.records;
-- A duplicate create is a no-op; deleting one record of two keeps the edge,
-- with the time of the record that remains.
SELECT pg_temp.ingest(pg_temp.follow('alice', 5, 'f1', 'carol'), pg_temp.del('alice', 6, 'app.bsky.graph.follow', 'f1'));
SELECT * FROM pg_temp.follows;
-- The last record goes: the edge goes. Deletes of unknown records (and of
-- an unknown account's) are no-ops.
SELECT pg_temp.ingest(pg_temp.del('alice', 7, 'app.bsky.graph.follow', 'f2'),
                      pg_temp.del('alice', 8, 'app.bsky.graph.follow', 'nope'),
                      pg_temp.del('zed', 9, 'app.bsky.graph.follow', 'f1'));
SELECT * FROM pg_temp.follows;
SELECT count(*) AS zed FROM dataplane.actor WHERE did = pg_temp.did('zed');
-- A delete before the create (out of order): the create still lands.
SELECT pg_temp.ingest(pg_temp.del('dave', 10, 'app.bsky.graph.follow', 'f9'),
                      pg_temp.follow('dave', 11, 'f9', 'alice'));
SELECT * FROM pg_temp.follows;

-- Blocks, the same way.
SELECT pg_temp.ingest(pg_temp.block('carol', 12, 'b1', 'dave'), pg_temp.block('carol', 13, 'b2', 'eve'),
                      pg_temp.del('carol', 14, 'app.bsky.graph.block', 'b2'));
SELECT pg_temp.name(blocker) AS blocker, pg_temp.name(blocked) AS blocked, created_at
  FROM dataplane.block ORDER BY 1, 2;

-- Posts: a post, a reply (the authors of its root and parent), a quote with
-- images, a video, an external link; createdAt in the future is clamped to
-- the event time; an unreadable createdAt means the event time.
SELECT pg_temp.ingest(
  pg_temp.post('bob', 20, 'p1'),
  pg_temp.post('carol', 21, 'p2', reply_to => ARRAY['bob', 'p1', 'bob', 'p1']),
  pg_temp.post('dave', 22, 'p3', reply_to => ARRAY['bob', 'p1', 'carol', 'p2'],
               embed => ('{"$type": "app.bsky.embed.recordWithMedia", "record": {"record": {"uri": "'
                         || pg_temp.uri('bob', 'app.bsky.feed.post', 'p1') || '", "cid": "c"}}, '
                         || '"media": {"$type": "app.bsky.embed.images", "images": []}}')::jsonb),
  pg_temp.post('eve', 23, 'p4', embed => jsonb_build_object('$type', 'app.bsky.embed.video')),
  pg_temp.post('eve', 24, 'p5', embed => jsonb_build_object('$type', 'app.bsky.embed.external')),
  pg_temp.post('eve', 25, 'p6', embed => jsonb_build_object('$type', 'app.bsky.embed.record')),
  replace(pg_temp.post('eve', 26, 'p7'), pg_temp.created(26), '2099-01-01T00:00:00Z'),
  replace(pg_temp.post('eve', 27, 'p8'), pg_temp.created(27), '2023-11-14 22:13:00'));
SELECT * FROM pg_temp.posts;
-- An update replaces the fields and keeps id and created_at; an update of a
-- post not there is a create.
SELECT pg_temp.ingest(pg_temp.post('bob', 30, 'p1', 'update', embed => jsonb_build_object('$type', 'app.bsky.embed.images')),
                      pg_temp.post('bob', 31, 'p9', 'update'));
SELECT * FROM pg_temp.posts WHERE author = 'bob';

-- Reposts: of a post there (a row), of a post not yet indexed (held aside,
-- then promoted when the post arrives), and deleted wherever they are.
SELECT pg_temp.ingest(pg_temp.repost('alice', 40, 'r1', 'bob', 'p1'),
                      pg_temp.repost('alice', 41, 'r2', 'carol', 'later'),
                      pg_temp.repost('dave', 42, 'r3', 'carol', 'later'),
                      pg_temp.repost('eve', 43, 'r4', 'carol', 'later'));
SELECT * FROM pg_temp.reposts;
SELECT * FROM pg_temp.held;
SELECT pg_temp.ingest(pg_temp.del('eve', 44, 'app.bsky.feed.repost', 'r4'),
                      pg_temp.post('carol', 45, 'later'));
SELECT * FROM pg_temp.reposts;
SELECT * FROM pg_temp.held;
-- A post delete takes its reposts with it.
SELECT pg_temp.ingest(pg_temp.del('carol', 46, 'app.bsky.feed.post', 'later'));
SELECT * FROM pg_temp.reposts;
SELECT pg_temp.clean() AS verify_rows;

-- Lists: a list item before its list (a stub, purpose NULL, until the
-- record), a list block of another account's list, items removed, and the
-- list's delete takes its items and blocks (a later reference makes a new
-- stub).
SELECT pg_temp.ingest(pg_temp.listitem('alice', 50, 'i1', 'mods', 'eve'),
                      pg_temp.listblock('bob', 51, 'lb1', 'alice', 'mods'),
                      pg_temp.list('alice', 52, 'mods', 'modlist'),
                      pg_temp.listitem('alice', 53, 'i2', 'mods', 'dave'),
                      pg_temp.listitem('alice', 54, 'i3', 'mods', 'dave'),
                      pg_temp.list('carol', 55, 'cur', 'curatelist'));
SELECT owner, rkey, purpose, items, blocked_by FROM pg_temp.lists;
SELECT pg_temp.ingest(pg_temp.del('alice', 56, 'app.bsky.graph.listitem', 'i2'),
                      pg_temp.del('alice', 57, 'app.bsky.graph.listitem', 'i1'));
SELECT owner, rkey, purpose, items, blocked_by FROM pg_temp.lists;
SELECT pg_temp.ingest(pg_temp.del('alice', 58, 'app.bsky.graph.list', 'mods'),
                      pg_temp.listitem('alice', 59, 'i4', 'mods', 'carol'));
SELECT owner, rkey, purpose, items, blocked_by FROM pg_temp.lists;
-- A list item in another account's repository names a list it does not
-- own: skipped, as Bluesky's AppView refuses it.
SELECT pg_temp.ingest(replace(pg_temp.listitem('bob', 60, 'i1', 'mods', 'carol'),
                              pg_temp.uri('bob', 'app.bsky.graph.list', 'mods'),
                              pg_temp.uri('alice', 'app.bsky.graph.list', 'mods')));
SELECT owner, rkey, purpose, items FROM pg_temp.lists;

-- Accounts: deactivated, then reactivated; identity events and other
-- collections are skipped; unreadable lines are skipped and counted, and
-- never stop the batch.
SELECT ingest_unreadable AS unreadable_before, ingest_skipped AS skipped_before FROM dataplane.status() \gset
SELECT pg_temp.ingest(pg_temp.account('dave', 70, false, 'deactivated'),
                      '{"did":"' || pg_temp.did('eve') || '","time_us":1700000071000000,"kind":"identity","identity":{}}',
                      pg_temp.ev('eve', 72, 'create', 'app.bsky.feed.like', 'l1', '{"subject":{}}'::jsonb),
                      'this is not JSON',
                      '{"did":"did:nope","time_us":1700000073000000,"kind":"commit"}',
                      '',
                      pg_temp.follow('eve', 74, 'f1', 'dave'));
SELECT pg_temp.name(uid) AS actor, active, status FROM dataplane.actor WHERE did = pg_temp.did('dave');
SELECT ingest_unreadable - :unreadable_before AS unreadable, ingest_skipped - :skipped_before AS skipped
  FROM dataplane.status();
SELECT pg_temp.ingest(pg_temp.account('dave', 75, true));
SELECT pg_temp.name(uid) AS actor, active, status FROM dataplane.actor WHERE did = pg_temp.did('dave');
-- Nothing readable: NULL.
SELECT pg_temp.ingest('garbage') IS NULL AS no_time;

-- Replaying everything so far, in one batch (as a consumer that rewinds its
-- cursor to the start would), changes nothing. Lists are compared by owner
-- and record key: the list deleted and then named again is a new stub, with
-- a new id, at each pass.
CREATE FUNCTION pg_temp.state() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT 'follow ' || row(f.*)::text FROM dataplane.follow f
  UNION ALL SELECT 'block ' || row(b.*)::text FROM dataplane.block b
  UNION ALL SELECT 'post ' || row(p.*)::text FROM dataplane.post p
  UNION ALL SELECT 'repost ' || row(r.*)::text FROM dataplane.repost r
  UNION ALL SELECT 'held ' || row(h.*)::text FROM dataplane.repost_pending h
  UNION ALL SELECT 'list ' || row(l.owner, l.rkey, l.purpose)::text FROM dataplane.list l
  UNION ALL SELECT 'item ' || row(l.owner, l.rkey, i.subject)::text
              FROM dataplane.list_item i JOIN dataplane.list l ON l.id = i.list_id
  UNION ALL SELECT 'lblock ' || row(l.owner, l.rkey, b.actor)::text
              FROM dataplane.list_block b JOIN dataplane.list l ON l.id = b.list_id
  UNION ALL SELECT 'record ' || row(g.repo, g.collection, g.rkey, g.subject, g.created_at,
                                    l.owner, l.rkey)::text
              FROM dataplane.graph_record g LEFT JOIN dataplane.list l ON l.id = g.list_id
  UNION ALL SELECT 'actor ' || row(a.*)::text FROM dataplane.actor a $$;
CREATE TEMP TABLE before_replay AS SELECT * FROM pg_temp.state() s;
SELECT dataplane.ingest_jetstream(string_agg(e, E'\n' ORDER BY n)) > 0 AS replayed FROM sent;
SELECT 'lost: ' || s AS diff FROM (SELECT * FROM before_replay EXCEPT ALL SELECT * FROM pg_temp.state()) d(s)
UNION ALL
SELECT 'new: ' || s FROM (SELECT * FROM pg_temp.state() EXCEPT ALL SELECT * FROM before_replay) d(s);
SELECT pg_temp.clean() AS verify_rows;

-- The index follows: timelines from the ingested rows equal the tables'.
SELECT count(*) AS timeline_items FROM dataplane.get_timeline((SELECT uid FROM dataplane.actor WHERE did = pg_temp.did('alice')), 100);
SELECT pg_temp.clean() AS verify_rows;

-- createdAt with a fraction as long as PostgreSQL's date parser reads (128
-- digits before Z: the post keeps its createdAt, a second before its
-- event), and one digit longer (unreadable: the event's time).
SELECT pg_temp.ingest(
  replace(pg_temp.post('frank', 40, 'f1'), '.000Z', '.' || repeat('0', 128) || 'Z'),
  replace(pg_temp.post('frank', 41, 'f2'), '.000Z', '.' || repeat('0', 129) || 'Z'));
SELECT rkey, created_at - to_timestamp(1700000000) AS after_epoch_plus_1700000000
  FROM dataplane.post WHERE rkey IN ('f1', 'f2') ORDER BY rkey;
SELECT pg_temp.clean() AS verify_rows;
