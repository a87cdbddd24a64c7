-- Bad input: NULLs, impossible and unknown uids, bad limits. The rule (see
-- the README): NULL arguments give NULL or no rows (the functions are
-- STRICT); a uid that is not a positive int, or that no actor has, is an
-- empty user; a negative lim is an error; lim = 0 gives no rows; a huge lim
-- gives every row there is.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(10);
INSERT INTO dataplane.follow VALUES (1, 2), (1, 3), (2, 3), (3, 1);
SELECT dataplane.rebuild();

-- NULL
SELECT dataplane.follows(NULL, 1) IS NULL AS n1, dataplane.follows(1, NULL) IS NULL AS n2,
       dataplane.follower_count(NULL) IS NULL AS n3, dataplane.following_count(NULL) IS NULL AS n4,
       dataplane.social_proof_count(NULL, 1) IS NULL AS n5;
SELECT count(*) FROM dataplane.followers(NULL);
SELECT count(*) FROM dataplane.followers(3, NULL);
SELECT count(*) FROM dataplane.following(1, 10, NULL);
SELECT count(*) FROM dataplane.social_proof(1, NULL);

-- 0, negative, unknown and extreme uids
SELECT dataplane.follows(0, 1), dataplane.follows(1, 0), dataplane.follows(-1, -2),
       dataplane.follows(2147483647, 1), dataplane.follows(1, 2147483647);
SELECT dataplane.follower_count(0), dataplane.follower_count(-3),
       dataplane.follower_count(99999), dataplane.following_count(2147483647),
       dataplane.following_count(-2147483648);
SELECT count(*) FROM dataplane.followers(0);
SELECT count(*) FROM dataplane.followers(-1);
SELECT count(*) FROM dataplane.following(123456789);
SELECT count(*) FROM dataplane.social_proof(0, 3);
SELECT count(*) FROM dataplane.social_proof(1, -3);
SELECT dataplane.social_proof_count(-1, 3), dataplane.social_proof_count(1, 2147483647);

-- lim and after
SELECT count(*) FROM dataplane.followers(3, 0);
SELECT count(*) FROM dataplane.followers(3, -1);
SELECT count(*) FROM dataplane.following(1, -2147483648);
SELECT count(*) FROM dataplane.social_proof(1, 3, -5);
SELECT array_agg(x) FROM dataplane.followers(3, 2147483647) x;
SELECT array_agg(x) FROM dataplane.followers(3, 10, -100) x;
SELECT array_agg(x) FROM dataplane.followers(3, 10, 1) x;
SELECT array_agg(x) FROM dataplane.followers(3, 10, 2147483647) x;
SELECT array_agg(x) FROM dataplane.social_proof(1, 3, 2147483647) x;

-- The same through the tables (the transaction has its own changes).
BEGIN;
INSERT INTO dataplane.follow VALUES (4, 3);
SELECT count(*) FROM dataplane.followers(3, -1);
ROLLBACK;
BEGIN;
INSERT INTO dataplane.follow VALUES (4, 3);
SELECT array_agg(x) FROM dataplane.followers(3, 2147483647, -7) x;
SELECT dataplane.follows(-1, 3), dataplane.follower_count(0), dataplane.social_proof_count(1, 3);
ROLLBACK;

-- Bad rows never reach the index: the tables refuse them.
INSERT INTO dataplane.follow VALUES (1, 1000);
\set VERBOSITY terse
INSERT INTO dataplane.follow VALUES (NULL, 1);
\set VERBOSITY default
INSERT INTO dataplane.follow VALUES (1, 2);
SELECT * FROM dataplane.verify();

-- Two-phase commit cannot carry index changes.
BEGIN;
INSERT INTO dataplane.follow VALUES (5, 6);
PREPARE TRANSACTION 'dataplane_2pc';
SELECT dataplane.follows(5, 6);
-- A prepared transaction that did not touch the tables is fine.
BEGIN;
SELECT dataplane.follows(1, 2);
PREPARE TRANSACTION 'dataplane_2pc_readonly';
COMMIT PREPARED 'dataplane_2pc_readonly';

-- Only superusers and the extension's owner may rebuild.
CREATE ROLE regress_dataplane_reader;
GRANT USAGE ON SCHEMA dataplane TO regress_dataplane_reader;
SET ROLE regress_dataplane_reader;
SELECT dataplane.rebuild();
-- Reading needs no privilege on the tables, whether the index answers or,
-- as here inside a transaction with its own changes, the tables do.
SELECT dataplane.follows(1, 2), dataplane.follower_count(3);
RESET ROLE;
BEGIN;
INSERT INTO dataplane.follow VALUES (4, 3);
SET LOCAL ROLE regress_dataplane_reader;
SELECT dataplane.follows(1, 2), dataplane.follower_count(3);
ROLLBACK;
REVOKE ALL ON SCHEMA dataplane FROM regress_dataplane_reader;
DROP ROLE regress_dataplane_reader;

-- rebuild() and verify() refuse to run over this transaction's own changes.
BEGIN;
INSERT INTO dataplane.follow VALUES (5, 6);
SELECT dataplane.rebuild();
ROLLBACK;
BEGIN;
INSERT INTO dataplane.follow VALUES (5, 6);
SELECT * FROM dataplane.verify();
ROLLBACK;
SELECT * FROM dptest.failures(10);
