-- What a DBA sees: status() and its counters, verify(), rebuild().
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(30);
INSERT INTO dataplane.follow
SELECT a, b FROM generate_series(1, 30) a, generate_series(1, 30) b WHERE a <> b AND (a + b) % 4 = 0;

-- The columns of status().
SELECT name, type FROM (
    SELECT unnest(proargnames) AS name, unnest(proallargtypes)::regtype::text AS type,
           unnest(proargmodes) AS mode
      FROM pg_proc WHERE oid = 'dataplane.status'::regproc) a
 WHERE mode = 'o';

SELECT dataplane.rebuild();
SELECT state, database, follow_edges = (SELECT count(*) FROM dataplane.follow) AS edges_match,
       memory_used > 0 AS uses_memory, memory_limit = 64 * 1024 * 1024 AS limit_64mb,
       bytes_per_edge > 0 AS per_edge, invalid_sets, lost_leaves, builds > 0 AS built,
       last_build_ms >= 0 AS timed, last_build_at <= now() AS when_ok, last_error
  FROM dataplane.status();

-- Reads answered by the index and by the tables are counted, by reason.
SELECT reads_index AS idx0, fallback_own_writes AS own0 FROM dataplane.status() \gset
SELECT dataplane.follows(1, 3), dataplane.follower_count(2);
BEGIN;
INSERT INTO dataplane.follow VALUES (1, 2);
SELECT dataplane.follows(1, 2);
ROLLBACK;
SELECT reads_index - :idx0 AS index_reads, fallback_own_writes - :own0 AS own_write_reads
  FROM dataplane.status();

-- Commits are applied and counted.
SELECT commits_applied AS c0 FROM dataplane.status() \gset
INSERT INTO dataplane.follow VALUES (1, 2);
DELETE FROM dataplane.follow WHERE follower = 1 AND followee = 2;
SELECT commits_applied - :c0 AS commits FROM dataplane.status();

-- verify() reports nothing when the index and the tables agree...
SELECT * FROM dataplane.verify();
-- ...and every edge the index would get wrong when they do not: here a
-- testing switch makes this session's changes bypass the index.
SET dataplane.test_skip_capture = on;
INSERT INTO dataplane.follow VALUES (1, 2);
DELETE FROM dataplane.follow WHERE follower = 3 AND followee = 5;
RESET dataplane.test_skip_capture;
SELECT * FROM dataplane.verify() ORDER BY 1, 2, 3, 4;
-- rebuild() repairs it.
SELECT dataplane.rebuild();
SELECT * FROM dataplane.verify();
SELECT * FROM dptest.failures(30);
