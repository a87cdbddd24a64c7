-- Installing: the schema, its tables, the capture triggers, the functions.
\set ECHO none
-- (Not echoed.) Whatever an earlier run against this database left: this
-- test installs the extension into a database that does not have it.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS dataplane CASCADE;
RESET client_min_messages;
\set ECHO all
CREATE EXTENSION dataplane;

SELECT c.relname, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'dataplane'
 ORDER BY 1;

-- pg_dump keeps the rows: the tables and both sequences are config objects.
SELECT unnest(extconfig)::regclass AS dumped
  FROM pg_extension WHERE extname = 'dataplane' ORDER BY 1;

-- Capture triggers fire also under session_replication_role = replica (A).
SELECT tgrelid::regclass AS tbl, tgname, tgenabled
  FROM pg_trigger
 WHERE tgrelid IN ('dataplane.follow'::regclass, 'dataplane.post'::regclass,
                   'dataplane.repost'::regclass) AND NOT tgisinternal
 ORDER BY 1, 2;

-- The contract's functions.
SELECT p.proname,
       CASE WHEN p.proname = 'status' THEN '(see 004_admin)'
            ELSE replace(pg_get_function_arguments(p.oid), 'timestamp with time zone', 'timestamptz')
       END AS args,
       pg_get_function_result(p.oid) AS result
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'dataplane' AND p.proname NOT LIKE '\_%'
 ORDER BY 1;

-- Only in the database named by dataplane.database.
CREATE DATABASE dataplane_other;
\c dataplane_other
CREATE EXTENSION dataplane;
\c contrib_regression
DROP DATABASE dataplane_other;

-- The uid must be positive: the index is addressed by uid.
INSERT INTO dataplane.actor (uid, did) VALUES (0, 'did:plc:zero');
INSERT INTO dataplane.actor (uid, did) VALUES (-5, 'did:plc:negative');

-- Dropping and creating the extension again gives a fresh, exact index,
-- whatever the old one held (shared memory outlives DROP EXTENSION).
INSERT INTO dataplane.actor (did) SELECT 'did:plc:' || g FROM generate_series(1, 5) g;
INSERT INTO dataplane.follow (follower, followee) VALUES (1, 2), (1, 3), (2, 3);
SELECT dataplane.rebuild();
SELECT dataplane.follows(1, 2), dataplane.follower_count(3);
DROP EXTENSION dataplane;
CREATE EXTENSION dataplane;
INSERT INTO dataplane.actor (did) SELECT 'did:plc:' || g FROM generate_series(1, 5) g;
INSERT INTO dataplane.follow (follower, followee) VALUES (2, 1);
SELECT dataplane.follows(1, 2), dataplane.follows(2, 1), dataplane.follower_count(3);
SELECT dataplane.rebuild();
SELECT dataplane.follows(1, 2), dataplane.follows(2, 1), dataplane.follower_count(3);
SELECT state, follow_edges FROM dataplane.status();
SELECT * FROM dataplane.verify();
