-- The extension's internal functions (names starting with an underscore:
-- capture triggers, reference checks, the event trigger) are not PUBLIC's:
-- CREATE TRIGGER needs EXECUTE on its function, so a role that may read
-- cannot attach a capture trigger to a table of its own and feed the shared
-- index rows that are not the tables', nor a SECURITY DEFINER reference
-- check to take row locks as the owner. And a capture function fires only
-- on its own table, also for a superuser's mistake: no wrong answer, no
-- crash, whatever the other table's columns.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(10);
INSERT INTO dataplane.follow VALUES (1, 2), (2, 3);
INSERT INTO dataplane.post (author, created_at) VALUES (2, '2024-09-05');

CREATE ROLE regress_dataplane_reader;
GRANT USAGE ON SCHEMA dataplane TO regress_dataplane_reader;

-- Which functions a reader may not call: every internal one, and the
-- ingest (it writes with the owner's rights; GRANT it to the ingester).
SELECT p.proname FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'dataplane'::regnamespace
   AND NOT has_function_privilege('regress_dataplane_reader', p.oid, 'EXECUTE')
 ORDER BY 1;
-- ... and none of the internal ones is callable by anyone but the owner.
SELECT count(*) AS internal_public
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'dataplane'::regnamespace AND left(p.proname, 1) = '_'
   AND (has_function_privilege('public', p.oid, 'EXECUTE') OR p.proacl IS NULL);

-- A reader's own table: no capture trigger, no reference check on it.
SET ROLE regress_dataplane_reader;
CREATE TEMP TABLE mine (follower int, followee int, id bigint, author int,
                        created_at timestamptz, media bigint);
\set VERBOSITY sqlstate
CREATE TRIGGER t AFTER INSERT ON mine FOR EACH ROW EXECUTE FUNCTION dataplane._capture_follow();
CREATE TRIGGER t AFTER TRUNCATE ON mine FOR EACH STATEMENT EXECUTE FUNCTION dataplane._capture_post();
CREATE TRIGGER t AFTER INSERT ON mine FOR EACH STATEMENT EXECUTE FUNCTION dataplane._capture_block();
CREATE TRIGGER t AFTER INSERT ON mine REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dataplane._refs_follow_insert();
CREATE TRIGGER t AFTER UPDATE ON mine FOR EACH ROW EXECUTE FUNCTION dataplane._refs_update();
\set VERBOSITY default
-- Its ALTER TABLE still passes the extension's event trigger, and, given
-- the privileges a writer has, its writes still fire the tables' own
-- triggers (which need no EXECUTE): captured, and checked as references.
ALTER TABLE mine ADD COLUMN note text;
RESET ROLE;
GRANT SELECT, INSERT, DELETE ON dataplane.follow TO regress_dataplane_reader;
SET ROLE regress_dataplane_reader;
INSERT INTO dataplane.follow VALUES (3, 4);
\set VERBOSITY terse
INSERT INTO dataplane.follow VALUES (3, 99);
\set VERBOSITY default
SELECT dataplane.follows(3, 4) AS captured;
RESET ROLE;
REVOKE ALL ON dataplane.follow FROM regress_dataplane_reader;
DROP TABLE mine;
REVOKE ALL ON SCHEMA dataplane FROM regress_dataplane_reader;
DROP ROLE regress_dataplane_reader;

-- A superuser who attaches one anyway gets an error when it fires, on a
-- table of the same columns, and on one named like the extension's own in
-- another schema; the index is untouched.
CREATE TEMP TABLE follow (follower int, followee int);
CREATE TRIGGER t AFTER INSERT ON follow REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dataplane._capture_follow();
INSERT INTO follow VALUES (7, 8);
CREATE TRIGGER t2 AFTER TRUNCATE ON follow FOR EACH STATEMENT EXECUTE FUNCTION dataplane._capture_follow();
TRUNCATE follow;
DROP TABLE follow;
CREATE TEMP TABLE posts (id bigint, author int, created_at timestamptz, media bigint);
CREATE TRIGGER t AFTER INSERT ON posts FOR EACH ROW EXECUTE FUNCTION dataplane._capture_post();
ALTER TABLE posts ENABLE ALWAYS TRIGGER t;
INSERT INTO posts VALUES (1, 3, now(), 4096);
DROP TABLE posts;
SELECT dataplane.follows(7, 8) AS forged, dataplane.follows(1, 2) AS kept,
       dataplane.follower_count(2) AS followers_of_2,
       (SELECT count(*) FROM dataplane.get_timeline(1, 10)) AS page;
SELECT count(*) AS verify_rows FROM dataplane.verify();
SELECT state FROM dataplane.status();
