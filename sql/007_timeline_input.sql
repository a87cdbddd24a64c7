-- Bad and edge-case input to get_timeline and get_author_feed: the answer
-- is the reference query's wherever it has one, else a clear error.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(5);
INSERT INTO dataplane.follow (follower, followee) VALUES (1, 2), (1, 3);
INSERT INTO dataplane.post (id, author, created_at) VALUES
    (1, 2, '2026-01-01 10:00'), (2, 3, '2026-01-01 10:00'), (3, 1, '2026-01-01 11:00'),
    (4, 2, '2026-01-01 09:00');
SELECT setval('dataplane.item_id_seq', 10);
SELECT dataplane.rebuild();

-- NULL viewer: no rows.
SELECT count(*) FROM dataplane.get_timeline(NULL);
SELECT count(*) FROM dataplane.get_author_feed(NULL);
-- A uid no actor has (0, negative, unknown): an empty page.
SELECT count(*) FROM dataplane.get_timeline(0);
SELECT count(*) FROM dataplane.get_timeline(-7, 10);
SELECT count(*) FROM dataplane.get_timeline(999999);
SELECT count(*) FROM dataplane.get_author_feed(-1);
-- lim 0: no rows; NULL lim: every item (LIMIT NULL); a huge lim: every item.
SELECT count(*) FROM dataplane.get_timeline(1, 0);
SELECT count(*) FROM dataplane.get_timeline(1, NULL);
SELECT count(*) FROM dataplane.get_timeline(1, 2147483647);
SELECT count(*) FROM dataplane.get_author_feed(2, NULL);
-- A negative lim is an error.
SELECT * FROM dataplane.get_timeline(1, -1);
SELECT * FROM dataplane.get_author_feed(1, -5);
-- before_ts without before_id: strictly older than before_ts (the row
-- comparison is NULL for items at before_ts itself, as in the reference).
SELECT item_id FROM dataplane.get_timeline(1, 10, '2026-01-01 10:00', NULL);
SELECT item_id FROM dptest.ref_timeline(1, 10, '2026-01-01 10:00', NULL);
-- before_id without before_ts: no cursor (the reference ignores it).
SELECT item_id FROM dataplane.get_timeline(1, 10, NULL, 2);
SELECT item_id FROM dptest.ref_timeline(1, 10, NULL, 2);
-- A cursor on a tie: (10:00, 2) is followed by (10:00, 1).
SELECT item_id FROM dataplane.get_timeline(1, 10, '2026-01-01 10:00', 2);
-- Extreme cursors.
SELECT count(*) FROM dataplane.get_timeline(1, 10, '-infinity', 0);
SELECT count(*) FROM dataplane.get_timeline(1, 10, 'infinity', 0);
SELECT count(*) FROM dataplane.get_timeline(1, 10, '2026-01-01 10:00', -9223372036854775808);
SELECT count(*) FROM dataplane.get_timeline(1, 10, '2026-01-01 10:00', 9223372036854775807);
SELECT * FROM dptest.page_mismatches(5);
-- Named arguments, as the contract names them.
SELECT count(*) FROM dataplane.get_timeline(viewer => 1, lim => 2);
SELECT count(*) FROM dataplane.get_author_feed(author => 2, before_ts => '2026-01-01 10:00');
