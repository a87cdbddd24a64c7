-- The moderation relations in the index: blocks, mutes, list items, list
-- blocks, list mutes and inactive accounts are captured at commit like
-- follows. verify() compares every one of those sets with the tables after
-- each kind of write: inserts, updates of either key, deletes, rollbacks,
-- savepoints, cascades, TRUNCATE, rebuilds, and list ids the index cannot
-- hold.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(60);

CREATE FUNCTION pg_temp.check(label text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  first text;
BEGIN
  SELECT count(*), min(problem || ' ' || uid || ' ' || coalesce(other::text, '-') || ' ' || detail)
    INTO n, first FROM dataplane.verify();
  RETURN label || ': ' || CASE WHEN n = 0 THEN 'clean' ELSE n || ' differences, e.g. ' || first END;
END $$;

-- Inserts, as an AppView and the ingest write them.
INSERT INTO dataplane.block (blocker, blocked)
  SELECT a, 1 + (a * 7) % 60 FROM generate_series(1, 60) a WHERE a % 3 = 0 AND a <> 1 + (a * 7) % 60;
INSERT INTO dataplane.mute (muter, muted)
  SELECT a, 1 + (a * 11) % 60 FROM generate_series(1, 60) a WHERE a % 4 = 0;
INSERT INTO dataplane.list (id, owner, rkey, purpose)
  VALUES (1, 1, 'l1', 'modlist'), (2, 2, 'l2', 'modlist'), (3, 3, 'l3', 'curatelist');
INSERT INTO dataplane.list_item (list_id, subject)
  SELECT 1 + s % 3, s FROM generate_series(1, 60) s;
INSERT INTO dataplane.list_block (actor, list_id) SELECT a, 1 FROM generate_series(10, 20) a;
INSERT INTO dataplane.list_mute (actor, list_id) SELECT a, 2 FROM generate_series(15, 25) a;
UPDATE dataplane.actor SET active = false, status = 'deactivated' WHERE uid % 10 = 0;
SELECT pg_temp.check('inserts');
SELECT (SELECT count(*) FROM dataplane.block) AS blocks, (SELECT count(*) FROM dataplane.mute) AS mutes,
       (SELECT count(*) FROM dataplane.list_item) AS items,
       (SELECT count(*) FROM dataplane.actor WHERE NOT active) AS inactive;

-- Updates of either end, and of other columns.
UPDATE dataplane.block SET blocked = blocked % 59 + 1 WHERE blocker % 2 = 0 AND blocker <> blocked % 59 + 1
  AND NOT EXISTS (SELECT 1 FROM dataplane.block b2 WHERE b2.blocker = block.blocker AND b2.blocked = block.blocked % 59 + 1);
UPDATE dataplane.mute SET muter = muter + 1 WHERE muter < 59
  AND NOT EXISTS (SELECT 1 FROM dataplane.mute m2 WHERE m2.muter = mute.muter + 1 AND m2.muted = mute.muted);
UPDATE dataplane.list_item SET list_id = 3 WHERE list_id = 1 AND subject % 2 = 0
  AND NOT EXISTS (SELECT 1 FROM dataplane.list_item i2 WHERE i2.list_id = 3 AND i2.subject = list_item.subject);
UPDATE dataplane.actor SET active = NOT active WHERE uid % 15 = 0;
UPDATE dataplane.actor SET status = 'takendown' WHERE NOT active;
UPDATE dataplane.block SET created_at = created_at - interval '1 day';
SELECT pg_temp.check('updates');

-- Rollbacks and savepoints leave no trace.
BEGIN;
DELETE FROM dataplane.block;
INSERT INTO dataplane.mute VALUES (1, 2), (2, 1) ON CONFLICT DO NOTHING;
ROLLBACK;
BEGIN;
INSERT INTO dataplane.list_item SELECT 2, s FROM generate_series(1, 60) s ON CONFLICT DO NOTHING;
SAVEPOINT a;
DELETE FROM dataplane.list_item WHERE list_id = 2;
UPDATE dataplane.actor SET active = false WHERE uid < 5;
ROLLBACK TO a;
DELETE FROM dataplane.list_block WHERE actor = 10;
SAVEPOINT b;
INSERT INTO dataplane.list_mute VALUES (1, 3);
RELEASE b;
COMMIT;
SELECT pg_temp.check('savepoints');
SELECT count(*) AS list2_members FROM dataplane.list_item WHERE list_id = 2;

-- Insert, delete and insert again in one transaction; a statement that
-- swaps two rows' keys.
BEGIN;
INSERT INTO dataplane.block VALUES (1, 2);
DELETE FROM dataplane.block WHERE blocker = 1 AND blocked = 2;
INSERT INTO dataplane.block VALUES (1, 2);
UPDATE dataplane.mute SET muted = CASE muted WHEN 12 THEN 45 ELSE 12 END
  WHERE (muter, muted) IN ((8, 12), (8, 45)) ;
COMMIT;
SELECT pg_temp.check('same key twice');

-- Cascades: a deleted list takes its items and subscriptions, a deleted
-- actor their blocks, mutes, lists and memberships.
DELETE FROM dataplane.list WHERE id = 2;
DELETE FROM dataplane.actor WHERE uid IN (9, 30);
SELECT pg_temp.check('cascades');

-- In replica mode (logical replication's apply worker) the row triggers
-- capture.
SET session_replication_role = replica;
INSERT INTO dataplane.block VALUES (2, 3), (3, 2) ON CONFLICT DO NOTHING;
DELETE FROM dataplane.mute WHERE muter = 12;
UPDATE dataplane.actor SET active = false WHERE uid = 1;
UPDATE dataplane.list_item SET subject = 59 WHERE list_id = 3 AND subject = 4
  AND NOT EXISTS (SELECT 1 FROM dataplane.list_item WHERE list_id = 3 AND subject = 59);
RESET session_replication_role;
SELECT pg_temp.check('replica mode');

-- TRUNCATE of one relation leaves the others.
TRUNCATE dataplane.mute;
SELECT pg_temp.check('truncate mute');
SELECT count(*) > 0 AS blocks_kept FROM dataplane.block;
BEGIN;
INSERT INTO dataplane.mute VALUES (5, 6);
TRUNCATE dataplane.list_item;
INSERT INTO dataplane.list_item VALUES (1, 7);
COMMIT;
SELECT pg_temp.check('truncate and insert in one transaction');

-- A list id the list directory cannot hold: its rows stay, reads that need
-- lists use the tables, verify() compares what the index holds.
INSERT INTO dataplane.list (id, owner, rkey) VALUES (3000000000, 4, 'big');
INSERT INTO dataplane.list_item VALUES (3000000000, 5);
INSERT INTO dataplane.list_block VALUES (6, 3000000000);
SELECT pg_temp.check('odd list id');

-- verify() does see the new sets: changes whose capture is skipped on
-- purpose are reported.
SET dataplane.test_skip_capture = on;
INSERT INTO dataplane.block VALUES (7, 8) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.mute VALUES (7, 8) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.list_block VALUES (7, 3) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.list_mute VALUES (7, 3) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.list_item VALUES (3, 8) ON CONFLICT DO NOTHING;
UPDATE dataplane.actor SET active = false WHERE uid = 7;
RESET dataplane.test_skip_capture;
SELECT problem, uid, other, detail FROM dataplane.verify() ORDER BY detail;

-- A rebuild reads every relation back from the tables.
SELECT dataplane.rebuild();
SELECT pg_temp.check('rebuilt');
DELETE FROM dataplane.list WHERE id = 3000000000;
SELECT dataplane.rebuild();
SELECT pg_temp.check('rebuilt without the odd list');
