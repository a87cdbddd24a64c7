-- ---------------------------------------- change capture, moderation (0.2.0)
--
-- Blocks, mutes, list items, list subscriptions and inactive accounts reach
-- the index as the follows do (see "change capture" above): statement
-- triggers with transition tables, a row trigger ENABLE REPLICA for
-- logical replication's apply worker, and TRUNCATE ENABLE ALWAYS. On actor
-- only the `active` column matters to the index; its trigger skips the rest.
CREATE FUNCTION dataplane._capture_block() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_block' LANGUAGE C;
CREATE FUNCTION dataplane._capture_mute() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_mute' LANGUAGE C;
CREATE FUNCTION dataplane._capture_list_item() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_list_item' LANGUAGE C;
CREATE FUNCTION dataplane._capture_list_block() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_list_block' LANGUAGE C;
CREATE FUNCTION dataplane._capture_list_mute() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_list_mute' LANGUAGE C;
CREATE FUNCTION dataplane._capture_actor() RETURNS trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_actor' LANGUAGE C;

DO $capture$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('block', '_capture_block'), ('mute', '_capture_mute'),
                                   ('list_item', '_capture_list_item'),
                                   ('list_block', '_capture_list_block'),
                                   ('list_mute', '_capture_list_mute'),
                                   ('actor', '_capture_actor')) v(tbl, fn) LOOP
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
