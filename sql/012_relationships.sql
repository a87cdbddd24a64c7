-- relationships(viewer, others): every viewer against every account (and
-- 0, negative uids, uids of no actor, NULLs and duplicates), compared with
-- the contract's definition written out as SQL, after random follows,
-- blocks, mutes, lists, list blocks and list mutes, and after changes; from
-- the index (counted), and from the tables inside a writing transaction.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(40);
SELECT setseed(0.17);

-- The definition (DESIGN.md), one row per distinct non-NULL element.
CREATE FUNCTION pg_temp.ref(v int, others int[])
RETURNS TABLE (uid int, following boolean, followed_by boolean, blocking boolean,
               blocked_by boolean, muting boolean, blocking_by_list boolean,
               blocked_by_list boolean, muting_by_list boolean)
LANGUAGE sql STABLE AS $$
SELECT o.u,
  EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = v AND followee = o.u),
  EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = o.u AND followee = v),
  EXISTS (SELECT 1 FROM dataplane.block WHERE blocker = v AND blocked = o.u),
  EXISTS (SELECT 1 FROM dataplane.block WHERE blocker = o.u AND blocked = v),
  EXISTS (SELECT 1 FROM dataplane.mute WHERE muter = v AND muted = o.u),
  EXISTS (SELECT 1 FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id)
          WHERE b.actor = v AND i.subject = o.u),
  EXISTS (SELECT 1 FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id)
          WHERE b.actor = o.u AND i.subject = v),
  EXISTS (SELECT 1 FROM dataplane.list_mute m JOIN dataplane.list_item i USING (list_id)
          WHERE m.actor = v AND i.subject = o.u)
FROM (SELECT DISTINCT u FROM unnest(others) u WHERE u IS NOT NULL) o ORDER BY o.u $$;

-- Every viewer (and NULL, 0, a uid of no actor) against everyone.
CREATE FUNCTION pg_temp.bad() RETURNS bigint LANGUAGE sql AS $$
SELECT count(*) FROM (SELECT g AS v FROM generate_series(1, 40) g UNION ALL SELECT 0
                      UNION ALL SELECT 99) viewers
WHERE ARRAY(SELECT r::text FROM dataplane.relationships(v,
              array_cat(ARRAY(SELECT generate_series(-1, 42)), ARRAY[NULL, 5, 5, 40]::int[])) r)
      IS DISTINCT FROM
      ARRAY(SELECT r::text FROM pg_temp.ref(v,
              array_cat(ARRAY(SELECT generate_series(-1, 42)), ARRAY[NULL, 5, 5, 40]::int[])) r) $$;

INSERT INTO dataplane.follow SELECT a, b FROM generate_series(1, 40) a, generate_series(1, 40) b
  WHERE a <> b AND random() < 0.2;
INSERT INTO dataplane.block SELECT a, b FROM generate_series(1, 40) a, generate_series(1, 40) b
  WHERE random() < 0.05;
INSERT INTO dataplane.mute SELECT a, b FROM generate_series(1, 40) a, generate_series(1, 40) b
  WHERE random() < 0.05;
INSERT INTO dataplane.list (id, owner) SELECT l, l FROM generate_series(1, 5) l;
INSERT INTO dataplane.list_item SELECT l, s FROM generate_series(1, 5) l, generate_series(1, 40) s
  WHERE random() < 0.3;
INSERT INTO dataplane.list_block SELECT a, l FROM generate_series(1, 40) a, generate_series(1, 5) l
  WHERE random() < 0.1;
INSERT INTO dataplane.list_mute SELECT a, l FROM generate_series(1, 40) a, generate_series(1, 5) l
  WHERE random() < 0.1;

SELECT dataplane.rebuild();
SELECT dptest.index_reads() AS before \gset
SELECT pg_temp.bad() AS mismatches;
SELECT dptest.index_reads() - :before >= 40 AS from_the_index;
SELECT count(*) FILTER (WHERE following) AS following, count(*) FILTER (WHERE blocking) AS blocking,
       count(*) FILTER (WHERE blocked_by_list) AS blocked_by_list,
       count(*) FILTER (WHERE muting_by_list) AS muting_by_list
FROM generate_series(1, 40) v, dataplane.relationships(v, ARRAY(SELECT generate_series(1, 40)));

-- After changes of every kind, including a list's removal.
DELETE FROM dataplane.block WHERE blocker % 3 = 0;
UPDATE dataplane.mute SET muted = muted % 40 + 1 WHERE muter % 2 = 0
  AND NOT EXISTS (SELECT 1 FROM dataplane.mute m2 WHERE m2.muter = mute.muter AND m2.muted = mute.muted % 40 + 1);
DELETE FROM dataplane.list WHERE id = 2;
INSERT INTO dataplane.list_item SELECT 1, s FROM generate_series(1, 40) s ON CONFLICT DO NOTHING;
SELECT pg_temp.bad() AS mismatches_after_changes;

-- Inside a transaction that wrote, from the tables (its own writes).
BEGIN;
INSERT INTO dataplane.block VALUES (1, 2), (2, 1) ON CONFLICT DO NOTHING;
SELECT blocking, blocked_by FROM dataplane.relationships(1, ARRAY[2]);
SELECT pg_temp.bad() AS mismatches_own_writes;
ROLLBACK;
SELECT pg_temp.bad() AS mismatches_after_rollback;

-- Shapes: one row per distinct non-NULL element, ascending; nothing for a
-- NULL or empty array; a NULL viewer relates to no one.
SELECT * FROM dataplane.relationships(3, ARRAY[7, NULL, 3, 7, -2, 1000]);
SELECT count(*) FROM dataplane.relationships(3, NULL);
SELECT count(*) FROM dataplane.relationships(3, '{}');
SELECT * FROM dataplane.relationships(NULL, ARRAY[1, 2]);
SELECT * FROM dataplane.relationships(3, '{{1,2},{3,4}}');
SELECT verify_rows FROM (SELECT count(*) AS verify_rows FROM dataplane.verify()) v;
