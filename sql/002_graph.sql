-- The follow graph against the reference SQL, through every kind of change:
-- each block changes the tables, then dptest.failures() lists the functions
-- that disagree with the tables (none, when all is well).
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(60);

-- A deterministic graph: about one pair in five, and a hub that most follow.
INSERT INTO dataplane.follow (follower, followee)
SELECT a, b FROM generate_series(1, 60) a, generate_series(1, 60) b
 WHERE a <> b AND ((a * 7919 + b * 104729) % 5 = 0 OR (b = 7 AND a % 3 <> 0));

-- Before the index is built, reads use the tables.
SELECT * FROM dptest.failures(60);
SELECT dataplane.rebuild();
SELECT state FROM dataplane.status();

-- After: the index answers, and agrees.
SELECT dptest.index_reads() AS before \gset
SELECT * FROM dptest.failures(60);
SELECT dptest.index_reads() > :before AS index_answered;

-- Single inserts and deletes, committed one by one.
INSERT INTO dataplane.follow VALUES (1, 2), (2, 1), (60, 59);
DELETE FROM dataplane.follow WHERE follower = 7 OR followee = 11;
SELECT * FROM dptest.failures(60);

-- Updates of the key columns move edges.
UPDATE dataplane.follow SET followee = 59
 WHERE followee = 7 AND follower NOT IN (SELECT follower FROM dataplane.follow WHERE followee = 59);
UPDATE dataplane.follow SET follower = followee, followee = follower
 WHERE follower = 20 AND followee NOT IN (SELECT follower FROM dataplane.follow WHERE followee = 20);
SELECT * FROM dptest.failures(60);

-- A rolled-back transaction leaves no trace.
BEGIN;
INSERT INTO dataplane.follow VALUES (3, 4), (4, 3);
DELETE FROM dataplane.follow WHERE follower = 1;
ROLLBACK;
SELECT * FROM dptest.failures(60);

-- Savepoints: a rolled-back savepoint inside a committed transaction, and a
-- released one.
BEGIN;
INSERT INTO dataplane.follow VALUES (5, 6);
SAVEPOINT a;
INSERT INTO dataplane.follow VALUES (6, 5);
DELETE FROM dataplane.follow WHERE follower = 2;
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
INSERT INTO dataplane.follow VALUES (8, 9);
SAVEPOINT c;
DELETE FROM dataplane.follow WHERE follower = 8 AND followee = 9;
RELEASE SAVEPOINT c;
RELEASE SAVEPOINT b;
COMMIT;
SELECT * FROM dptest.failures(60);
SELECT dataplane.follows(5, 6) AS kept, dataplane.follows(6, 5) AS rolled_back,
       dataplane.follows(8, 9) AS deleted_in_released_savepoint;

-- A failed statement inside a PL/pgSQL exception block (an implicit savepoint).
DO $$
BEGIN
    INSERT INTO dataplane.follow VALUES (30, 31);
    BEGIN
        INSERT INTO dataplane.follow VALUES (31, 30);
        INSERT INTO dataplane.follow VALUES (1, 1000);  -- no such actor
    EXCEPTION WHEN foreign_key_violation THEN
        NULL;
    END;
END $$;
SELECT dataplane.follows(30, 31) AS kept, dataplane.follows(31, 30) AS rolled_back;
SELECT * FROM dptest.failures(60);

-- Insert, delete and insert again of the same edge in one transaction.
BEGIN;
DELETE FROM dataplane.follow WHERE follower = 40;
INSERT INTO dataplane.follow VALUES (40, 41);
DELETE FROM dataplane.follow WHERE follower = 40 AND followee = 41;
INSERT INTO dataplane.follow VALUES (40, 41), (40, 42);
COMMIT;
SELECT * FROM dptest.failures(60);

-- Inside a transaction that changed the tables, reads see its own changes
-- (they go to the tables).
BEGIN;
INSERT INTO dataplane.follow VALUES (50, 51);
SELECT dataplane.follows(50, 51) AS own_write_visible;
SELECT * FROM dptest.failures(60);
ROLLBACK;
SELECT dataplane.follows(50, 51) AS after_rollback;

-- Deleting an actor removes its edges (ON DELETE CASCADE).
DELETE FROM dataplane.actor WHERE uid IN (7, 25);
SELECT * FROM dptest.failures(60);

-- INSERT ... SELECT and COPY in bulk.
INSERT INTO dataplane.follow (follower, followee)
SELECT a, b FROM generate_series(1, 60) a, generate_series(1, 60) b
 WHERE a <> b AND a NOT IN (7, 25) AND b NOT IN (7, 25) AND (a + b) % 7 = 0
ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE followee = 59;
COPY dataplane.follow (follower, followee) FROM stdin;
1	59
2	59
3	59
\.
SELECT * FROM dptest.failures(60);

-- TRUNCATE, rolled back and then committed.
BEGIN;
TRUNCATE dataplane.follow;
ROLLBACK;
SELECT * FROM dptest.failures(60);
BEGIN;
INSERT INTO dataplane.follow VALUES (1, 3);
TRUNCATE dataplane.follow;
INSERT INTO dataplane.follow VALUES (2, 3), (3, 2);
COMMIT;
SELECT * FROM dptest.failures(60);
SELECT dataplane.follower_count(3), dataplane.following_count(1);

-- The index still agrees with a rebuild from the tables.
SELECT * FROM dataplane.verify();
SELECT dataplane.rebuild();
SELECT * FROM dptest.failures(60);
SELECT * FROM dataplane.verify();
