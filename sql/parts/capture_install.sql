-- -------------------------------------------------------- change capture

-- Changes are queued per transaction and reach the index only when it
-- commits. Each table has two sets of capture triggers, and exactly one of
-- them fires for any write:
--  * statement triggers with transition tables (origin and local mode: the
--    default), so that a bulk load costs one call per statement;
--  * a row trigger, ENABLE REPLICA: it fires where PostgreSQL fires no
--    INSERT/UPDATE/DELETE statement triggers, under session_replication_role
--    = replica: logical replication's apply worker, and bulk loads that skip
--    foreign-key checks that way.
-- TRUNCATE has one statement trigger, ENABLE ALWAYS. A repost's feed item
-- carries its post's author, which the repost row does not have: the
-- trigger looks it up (with the tables' owner's rights, as the foreign key
-- check does).
CREATE FUNCTION dataplane._capture_follow() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_follow' LANGUAGE C;
CREATE FUNCTION dataplane._capture_post() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_post' LANGUAGE C;
CREATE FUNCTION dataplane._capture_repost() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_repost' LANGUAGE C;

DO $capture$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('follow', '_capture_follow'), ('post', '_capture_post'),
                                   ('repost', '_capture_repost')) v(tbl, fn) LOOP
        EXECUTE format($f$
            CREATE TRIGGER dataplane_capture_insert AFTER INSERT ON dataplane.%1$I
                REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION dataplane.%2$I();
            CREATE TRIGGER dataplane_capture_update AFTER UPDATE ON dataplane.%1$I
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION dataplane.%2$I();
            CREATE TRIGGER dataplane_capture_delete AFTER DELETE ON dataplane.%1$I
                REFERENCING OLD TABLE AS old_rows
                FOR EACH STATEMENT EXECUTE FUNCTION dataplane.%2$I();
            CREATE TRIGGER dataplane_capture_truncate AFTER TRUNCATE ON dataplane.%1$I
                FOR EACH STATEMENT EXECUTE FUNCTION dataplane.%2$I();
            ALTER TABLE dataplane.%1$I ENABLE ALWAYS TRIGGER dataplane_capture_truncate;
            CREATE TRIGGER dataplane_capture_row AFTER INSERT OR UPDATE OR DELETE ON dataplane.%1$I
                FOR EACH ROW EXECUTE FUNCTION dataplane.%2$I();
            ALTER TABLE dataplane.%1$I ENABLE REPLICA TRIGGER dataplane_capture_row;
        $f$, t.tbl, t.fn);
    END LOOP;
END
$capture$;

-- Writes that bypass the capture triggers (ALTER TABLE ... DISABLE TRIGGER,
-- which pg_restore --disable-triggers issues around each table) would leave
-- the index stale. This event trigger watches every ALTER TABLE: while a
-- capture trigger is disabled, reads answer from the tables and status()
-- says why; once they are all enabled again, it restores their modes (ENABLE
-- TRIGGER ALL turns them all into plain ENABLE) and rebuilds the index in
-- the background.
CREATE FUNCTION dataplane._capture_guard() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_guard' LANGUAGE C;
CREATE EVENT TRIGGER dataplane_capture_guard ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION dataplane._capture_guard();
ALTER EVENT TRIGGER dataplane_capture_guard ENABLE ALWAYS;

