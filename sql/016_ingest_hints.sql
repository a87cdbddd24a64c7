-- ingest_jetstream keeps, from batch to batch, the uid of every DID it has
-- met, and looks those DIDs up by uid (src/ingest/did_hints.hpp). A hint is
-- never trusted: an actor deleted, a uid given to another DID, a DID
-- changed, a batch rolled back: each DID still ends with the uid of the
-- row that holds it, or a new actor. All in one session, as the hints are.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS dataplane CASCADE;
CREATE EXTENSION dataplane;
RESET client_min_messages;

CREATE FUNCTION pg_temp.did(name text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT 'did:plc:' || rpad(name, 24, 'x') $$;
CREATE FUNCTION pg_temp.ev(name text, t int, coll text, rkey text, rec jsonb) RETURNS text
LANGUAGE sql AS $$
SELECT jsonb_build_object('did', pg_temp.did(name), 'time_us', 1700000000000000 + t * 1000000::bigint,
         'kind', 'commit', 'commit',
         jsonb_build_object('rev', 'r', 'operation', 'create', 'collection', coll, 'rkey', rkey,
                            'record', rec, 'cid', 'bafy' || name || rkey))::text $$;
CREATE FUNCTION pg_temp.follow(name text, t int, rkey text, subject text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_temp.ev(name, t, 'app.bsky.graph.follow', rkey, jsonb_build_object('subject', pg_temp.did(subject))) $$;
CREATE FUNCTION pg_temp.post(name text, t int, rkey text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_temp.ev(name, t, 'app.bsky.feed.post', rkey, jsonb_build_object('text', 'hi')) $$;
CREATE FUNCTION pg_temp.ingest(VARIADIC events text[]) RETURNS boolean LANGUAGE sql AS
$$ SELECT dataplane.ingest_jetstream(array_to_string(events, E'\n')) IS NOT NULL $$;
-- Actors by name (the DID's padding dropped), with what names them.
CREATE VIEW pg_temp.actors AS
  SELECT rtrim(substr(a.did, 9), 'x') AS actor, a.uid,
         (SELECT string_agg(p.rkey, ',' ORDER BY p.rkey) FROM dataplane.post p WHERE p.author = a.uid) AS posts,
         (SELECT string_agg(rtrim(substr(b.did, 9), 'x'), ',' ORDER BY b.did)
            FROM dataplane.follow f JOIN dataplane.actor b ON b.uid = f.followee WHERE f.follower = a.uid) AS follows
    FROM dataplane.actor a ORDER BY a.uid;
CREATE FUNCTION pg_temp.clean() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM dataplane.verify() $$;

-- Hints for alice, bob, carol, dave; then again, from the hints.
SELECT pg_temp.ingest(pg_temp.follow('alice', 1, 'f1', 'bob'), pg_temp.follow('alice', 2, 'f2', 'carol'),
                      pg_temp.post('dave', 3, 'd1'));
SELECT pg_temp.ingest(pg_temp.post('alice', 4, 'a1'), pg_temp.post('bob', 5, 'b1'), pg_temp.post('carol', 6, 'c1'));
SELECT * FROM pg_temp.actors;

-- bob deleted: his hint names no row; his next post makes him anew.
DELETE FROM dataplane.actor WHERE did = pg_temp.did('bob');
SELECT pg_temp.ingest(pg_temp.post('bob', 7, 'b2'), pg_temp.follow('alice', 8, 'f3', 'bob'));
SELECT * FROM pg_temp.actors;
SELECT pg_temp.clean() AS verify_rows;

-- carol deleted and her uid given to zed: carol's hint names zed's row;
-- carol is made anew, zed gets nothing of hers.
SELECT uid AS carol_uid FROM dataplane.actor WHERE did = pg_temp.did('carol') \gset
DELETE FROM dataplane.actor WHERE did = pg_temp.did('carol');
INSERT INTO dataplane.actor (uid, did) VALUES (:carol_uid, pg_temp.did('zed'));
SELECT pg_temp.ingest(pg_temp.post('carol', 9, 'c2'), pg_temp.follow('alice', 10, 'f4', 'carol'));
SELECT * FROM pg_temp.actors;
SELECT pg_temp.clean() AS verify_rows;

-- dave's DID changed in place: his old DID is made anew, and the new DID
-- keeps dave's uid (found by its text).
SELECT uid AS dave_uid FROM dataplane.actor WHERE did = pg_temp.did('dave') \gset
UPDATE dataplane.actor SET did = pg_temp.did('dan') WHERE uid = :dave_uid;
SELECT pg_temp.ingest(pg_temp.post('dave', 11, 'd2'), pg_temp.post('dan', 12, 'n1'));
SELECT * FROM pg_temp.actors;
SELECT uid = :dave_uid AS dan_kept_daves_uid FROM dataplane.actor WHERE did = pg_temp.did('dan');
SELECT pg_temp.clean() AS verify_rows;

-- A batch rolled back: the uids it gave (erin, hinted) are no actors; the
-- next batch makes erin anew.
BEGIN;
SELECT pg_temp.ingest(pg_temp.post('erin', 13, 'e1'));
ROLLBACK;
SELECT pg_temp.ingest(pg_temp.post('erin', 14, 'e2'), pg_temp.follow('erin', 15, 'f1', 'alice'));
SELECT * FROM pg_temp.actors;
SELECT pg_temp.clean() AS verify_rows;
