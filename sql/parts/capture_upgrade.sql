-- -------------------------------------------------------- change capture

-- 0.1.0's statement triggers fired ALWAYS; logical replication's apply
-- worker fires no statement triggers, so its rows never reached the index.
-- Now the statement triggers fire in origin and local mode, a row trigger
-- in replica mode, and TRUNCATE always (see the install script).
DO $capture$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('follow', '_capture_follow'), ('post', '_capture_post'),
                                   ('repost', '_capture_repost')) v(tbl, fn) LOOP
        EXECUTE format($f$
            ALTER TABLE dataplane.%1$I ENABLE TRIGGER dataplane_capture_insert;
            ALTER TABLE dataplane.%1$I ENABLE TRIGGER dataplane_capture_update;
            ALTER TABLE dataplane.%1$I ENABLE TRIGGER dataplane_capture_delete;
            ALTER TABLE dataplane.%1$I ENABLE ALWAYS TRIGGER dataplane_capture_truncate;
            CREATE TRIGGER dataplane_capture_row AFTER INSERT OR UPDATE OR DELETE ON dataplane.%1$I
                FOR EACH ROW EXECUTE FUNCTION dataplane.%2$I();
            ALTER TABLE dataplane.%1$I ENABLE REPLICA TRIGGER dataplane_capture_row;
        $f$, t.tbl, t.fn);
    END LOOP;
END
$capture$;

CREATE FUNCTION dataplane._capture_guard() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'dataplane_capture_guard' LANGUAGE C;
CREATE EVENT TRIGGER dataplane_capture_guard ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION dataplane._capture_guard();
ALTER EVENT TRIGGER dataplane_capture_guard ENABLE ALWAYS;

