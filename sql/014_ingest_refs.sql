-- ingest_jetstream() and the reference triggers: the ingest vouches for the
-- references of its own INSERTs (it locked or inserted every row they name),
-- and the triggers skip those checks for its statements only, and only
-- while no other trigger or rule can run between its locks and its inserts.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS dataplane CASCADE;
CREATE EXTENSION dataplane;
RESET client_min_messages;

CREATE FUNCTION pg_temp.did(name text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT 'did:plc:' || rpad(name, 24, '2') $$;
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
CREATE FUNCTION pg_temp.orphans() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM dataplane.follow f
   WHERE NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = f.follower)
      OR NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = f.followee) $$;

-- No statement but the ingest's own is vouched for.
SELECT dataplane._refs_checked('dataplane.follow') AS outside_the_ingest;
SELECT dataplane.ingest_jetstream(pg_temp.follow('alice', 1, 'f1', 'bob') || E'\n' ||
                                  pg_temp.post('alice', 2, 'p1')) > 0 AS ingested;
SELECT count(*) AS follows FROM dataplane.follow;

-- After an ingest in the same transaction, a plain insert that names a
-- missing actor still fails.
\set VERBOSITY terse
BEGIN;
SELECT dataplane.ingest_jetstream(pg_temp.follow('bob', 3, 'f1', 'alice')) > 0 AS ingested;
INSERT INTO dataplane.follow VALUES (1, 1000);
ROLLBACK;

-- A trigger of someone else's on a table the ingest writes (here: one that
-- deletes, after the post is inserted, the actor the batch's follow names)
-- turns the exemption off: the follow is checked as any writer's is, and
-- fails, instead of naming a deleted actor.
INSERT INTO dataplane.actor (did) VALUES (pg_temp.did('victim'));
CREATE FUNCTION public.drop_victim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dataplane.actor WHERE did = 'did:plc:victim222222222222222222';
    RETURN NULL;
END $$;
CREATE TRIGGER zz_drop_victim AFTER INSERT ON dataplane.post
    FOR EACH STATEMENT EXECUTE FUNCTION public.drop_victim();
SELECT dataplane.ingest_jetstream(pg_temp.post('carol', 4, 'p1') || E'\n' ||
                                  pg_temp.follow('carol', 5, 'f1', 'victim'));
-- The same with the trigger named like the extension's own.
ALTER TRIGGER zz_drop_victim ON dataplane.post RENAME TO dataplane_zz_drop_victim;
SELECT dataplane.ingest_jetstream(pg_temp.post('carol', 4, 'p1') || E'\n' ||
                                  pg_temp.follow('carol', 5, 'f1', 'victim'));
DROP TRIGGER dataplane_zz_drop_victim ON dataplane.post;
DROP FUNCTION public.drop_victim();
\set VERBOSITY default
SELECT pg_temp.orphans() AS orphans;

-- Without it, the same batch goes in.
SELECT dataplane.ingest_jetstream(pg_temp.post('carol', 4, 'p1') || E'\n' ||
                                  pg_temp.follow('carol', 5, 'f1', 'victim')) > 0 AS ingested;
SELECT count(*) AS follows, pg_temp.orphans() AS orphans FROM dataplane.follow;
SELECT count(*) AS verify_rows FROM dataplane.verify();
