-- dataplane 0.1.0 -> 0.2.0. Every 0.1.0 call keeps its meaning.

\echo Use "ALTER EXTENSION dataplane UPDATE TO '0.2.0'" to load this file. \quit

-- ------------------------------------------------------- uid constraints

-- Rows the index would drop cannot exist, even where foreign keys are
-- bypassed. A table that holds such rows makes the update fail here: fix
-- (or delete) them, then update again.
ALTER TABLE dataplane.follow
    ADD CONSTRAINT follow_follower_check CHECK (follower > 0),
    ADD CONSTRAINT follow_followee_check CHECK (followee > 0);
ALTER TABLE dataplane.post ADD CONSTRAINT post_author_check CHECK (author > 0);
ALTER TABLE dataplane.repost ADD CONSTRAINT repost_reposter_check CHECK (reposter > 0);

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

-- ------------------------------------------------------------ operations

-- status() gains columns at its end: the reason for its state, and reads
-- answered from the tables on a standby or while capture is off.
DROP FUNCTION dataplane.status();
CREATE FUNCTION dataplane.status(
    OUT state text,
    OUT database text,
    OUT follow_edges bigint,
    OUT memory_used bigint,
    OUT memory_limit bigint,
    OUT bytes_per_edge float8,
    OUT invalid_sets bigint,
    OUT lost_leaves bigint,
    OUT reads_index bigint,
    OUT reads_fallback bigint,
    OUT fallback_warming bigint,
    OUT fallback_own_writes bigint,
    OUT fallback_unknown bigint,
    OUT fallback_in_flight bigint,
    OUT fallback_not_served bigint,
    OUT commits_applied bigint,
    OUT changes_applied bigint,
    OUT stale_changes bigint,
    OUT compactions bigint,
    OUT evictions bigint,
    OUT builds bigint,
    OUT last_build_ms float8,
    OUT last_build_at timestamptz,
    OUT last_error text,
    OUT pages_index bigint,
    OUT pages_fallback bigint,
    OUT pages_fallback_horizon bigint,
    OUT pages_fallback_warming bigint,
    OUT pages_fallback_own_writes bigint,
    OUT pages_fallback_memory bigint,
    OUT pages_fallback_other bigint,
    OUT feed_rings bigint,
    OUT feed_items bigint,
    OUT author_rings bigint,
    OUT author_items bigint,
    OUT lost_rings bigint,
    OUT celebrities bigint,
    OUT items_applied bigint,
    OUT stale_items bigint,
    OUT fanout_changes bigint,
    OUT backfills bigint,
    OUT feed_builds bigint,
    OUT feeds_dropped bigint,
    OUT graph_bytes bigint,
    OUT author_ring_bytes bigint,
    OUT feed_ring_bytes bigint,
    OUT reason text,
    OUT fallback_standby bigint,
    OUT fallback_capture bigint)
    AS 'MODULE_PATHNAME', 'dataplane_status'
    LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dataplane.status() IS
    'State of the shared-memory index (ready, warming, degraded, standby, capture_disabled), why, sizes and counters';
