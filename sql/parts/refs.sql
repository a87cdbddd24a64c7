-- ------------------------------------------------------------ references
--
-- The foreign keys above keep PostgreSQL's own handling of deletes (ON
-- DELETE CASCADE), of key updates and of TRUNCATE on actor and post. Their
-- check of new rows in follow, post and repost is done by the triggers
-- below instead (the foreign keys' own check triggers are disabled), for
-- parallel restore: pg_dump writes the rows of each table as a TABLE DATA
-- entry that depends only on its table, which is not in the archive
-- (CREATE EXTENSION makes it), so pg_restore -j loads actor, follow, post
-- and repost in any order and at the same time, each in a transaction of
-- its own. (pg_dump orders the entries by these foreign keys; plain
-- pg_restore and psql follow that order, the parallel scheduler does not.)
-- The actors a follow names may be loaded after it, or by a transaction
-- that has not committed yet: no check at insert time can pass then.
--
-- So a reference may wait, while the tables are filled for the first time.
-- An insert whose references all exist is checked as the foreign key
-- checks it: the rows it names are locked FOR KEY SHARE until commit, and
-- a missing one fails with the foreign key's error. A row that names a
-- missing actor (post) is kept only if no row has ever been inserted into
-- actor (post) since CREATE EXTENSION and it has none, in a READ COMMITTED
-- transaction; actor (post) is then marked pending in _referenced, and the
-- first insert into it checks every row that names it and fails with the
-- same error if any reference is still missing. Once a row has been
-- inserted into actor (post), its state is filled and every reference to
-- it holds, as with the plain foreign key. A key update never waits. The
-- checks run as the tables' owner, as the foreign key's own check does: a
-- role may insert a follow without any privilege on actor.
--
-- A deferral and an insert into the named table are ordered by a lock: the
-- insert reads _referenced (ACCESS SHARE, held to commit), and moves it to
-- filled; a deferral takes it ACCESS EXCLUSIVE and only then looks again.
-- Either the insert commits first and the deferring statement sees its rows
-- and the filled state, or the deferral commits first and the insert sees
-- pending. A REPEATABLE READ or SERIALIZABLE insert that does not see the
-- table filled reads its state again FOR KEY SHARE, so that a deferral
-- committed after its snapshot is a serialization failure rather than
-- unseen; such transactions never defer. Filled is for good: an insert
-- that sees it has nothing more to do.
--
-- The check of repost inserts runs before the repost capture (statement
-- triggers fire in name order: dataplane_a_refs_* before
-- dataplane_capture_*), so that the capture, which reads each repost's
-- post, runs after any wait for a post load. Reposts kept while post was
-- empty were not captured (their items carry the post's author): the
-- insert that checks them re-queues them with a no-op update.

-- new: nothing inserted since CREATE EXTENSION; pending: rows that name
-- missing rows of the table were kept; filled: rows have been inserted.
CREATE TABLE dataplane._referenced (
    tbl regclass PRIMARY KEY,
    state text NOT NULL CHECK (state IN ('new', 'pending', 'filled'))
);
-- A 0.1.0 table with rows is filled: references to it are checked as the
-- foreign key checked them (its rows already satisfy it). An empty one (an
-- installation never written to) is new, as after CREATE EXTENSION.
INSERT INTO dataplane._referenced
SELECT 'dataplane.actor'::regclass,
       CASE WHEN EXISTS (SELECT FROM dataplane.actor) THEN 'filled' ELSE 'new' END
UNION ALL
SELECT 'dataplane.post'::regclass,
       CASE WHEN EXISTS (SELECT FROM dataplane.post) THEN 'filled' ELSE 'new' END;

-- Disable the check triggers of the foreign keys (those on the referencing
-- tables: RI_FKey_check_ins and RI_FKey_check_upd); the triggers below take
-- their place. The foreign keys' triggers on actor and post stay.
DO $$
DECLARE
    t record;
    n int := 0;
BEGIN
    FOR t IN
        SELECT g.tgrelid::regclass AS tbl, g.tgname
          FROM pg_catalog.pg_trigger g
          JOIN pg_catalog.pg_constraint c ON c.oid = g.tgconstraint
         WHERE c.contype = 'f' AND g.tgrelid = c.conrelid
           AND c.conrelid IN ('dataplane.follow'::regclass, 'dataplane.post'::regclass,
                              'dataplane.repost'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', t.tbl, t.tgname);
        n := n + 1;
    END LOOP;
    IF n <> 10 THEN
        RAISE EXCEPTION 'dataplane: expected 10 foreign key check triggers, found %', n;
    END IF;
END $$;

-- The tables whose references the statement now firing a reference
-- trigger on rel need not check: those that ingest_jetstream() has already
-- looked up and locked FOR KEY SHARE itself, for its own INSERTs; empty for
-- every other statement (src/pg/refs_exempt.hpp says how it knows). The
-- trigger functions call it first, before any query, and must stay
-- VOLATILE: it counts on the command counter PL/pgSQL advances then.
CREATE FUNCTION dataplane._refs_checked(rel regclass) RETURNS regclass[]
    AS 'MODULE_PATHNAME', 'dataplane_refs_checked' LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION dataplane._refs_checked(regclass) FROM PUBLIC;

-- May an insert that names missing rows of target keep them? Only in READ
-- COMMITTED, while target has no rows. If so, takes the lock that orders
-- deferrals against inserts into target and returns true: the caller then
-- looks again (what it missed may have committed meanwhile), and calls
-- _refs_defer for what is still missing.
CREATE FUNCTION dataplane._refs_may_defer(target regclass)
    RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    has_rows boolean;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN false;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT FROM %s)', target) INTO has_rows;
    IF has_rows THEN
        RETURN false;
    END IF;
    LOCK TABLE dataplane._referenced IN ACCESS EXCLUSIVE MODE;
    RETURN true;
END $$;

-- Under that lock: marks target pending if nothing was ever inserted into
-- it and it has no rows (rows loaded with the triggers off count too).
CREATE FUNCTION dataplane._refs_defer(target regclass)
    RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    has_rows boolean;
BEGIN
    IF (SELECT r.state FROM dataplane._referenced r WHERE r.tbl = target) = 'filled' THEN
        RETURN false;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT FROM %s)', target) INTO has_rows;
    IF has_rows THEN
        RETURN false;
    END IF;
    UPDATE dataplane._referenced r SET state = 'pending' WHERE r.tbl = target;
    RETURN true;
END $$;

-- Every insert into actor and post, until the table is filled (a state it
-- never leaves): the first one checks what was kept while the table was
-- empty (every foreign key to it must hold now) and marks the table filled.
-- Reposts kept while post was empty are re-queued for the index.
CREATE FUNCTION dataplane._refs_filled(target regclass)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st text;
    fk record;
    v text;
BEGIN
    SELECT r.state INTO st FROM dataplane._referenced r WHERE r.tbl = target;
    IF st = 'filled' THEN
        RETURN;
    END IF;
    -- Not filled in this snapshot: under REPEATABLE READ, a deferral that
    -- committed after it must not go unseen (a serialization failure).
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        SELECT r.state INTO st FROM dataplane._referenced r WHERE r.tbl = target FOR KEY SHARE;
    END IF;
    IF st = 'pending' THEN
        FOR fk IN
            SELECT c.conname, c.conrelid::regclass AS tbl, t.relname, a.attname AS col,
                   r.attname AS refcol, rt.relname AS refname
              FROM pg_catalog.pg_constraint c
              JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
              JOIN pg_catalog.pg_class rt ON rt.oid = c.confrelid
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              JOIN pg_catalog.pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = c.confkey[1]
             WHERE c.contype = 'f' AND c.confrelid = target
               AND c.connamespace = 'dataplane'::regnamespace
             ORDER BY c.conrelid, c.oid
        LOOP
            EXECUTE format('SELECT t.%I::text FROM %s t WHERE NOT EXISTS '
                           '(SELECT FROM %s x WHERE x.%I = t.%I) LIMIT 1',
                           fk.col, fk.tbl, target, fk.refcol, fk.col) INTO v;
            IF v IS NOT NULL THEN
                RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                                fk.relname, fk.conname
                    USING ERRCODE = 'foreign_key_violation',
                          DETAIL = format('Key (%s)=(%s) is not present in table "%s".',
                                          fk.col, v, fk.refname),
                          HINT = format('The row was kept while "%s" was empty; the first rows '
                                        'inserted into "%s" must include every row it names.',
                                        fk.refname, fk.refname),
                          SCHEMA = 'dataplane', TABLE = fk.relname, CONSTRAINT = fk.conname;
            END IF;
        END LOOP;
        IF target = 'dataplane.post'::regclass THEN
            -- Every repost there is was kept while post was empty: the
            -- capture could not give it its post's author then.
            UPDATE dataplane.repost SET post_id = post_id;
        END IF;
    END IF;
    UPDATE dataplane._referenced r SET state = 'filled' WHERE r.tbl = target;
END $$;

REVOKE ALL ON FUNCTION dataplane._refs_may_defer(regclass), dataplane._refs_defer(regclass),
                       dataplane._refs_filled(regclass)
    FROM PUBLIC;

-- Inserts: statement triggers over the new rows. Each loop finds the first
-- row with a missing reference; if the named table may wait, it looks again
-- under the lock, and marks the table pending or fails. Which reference is
-- missing is asked again afterwards: the first query may have waited for a
-- row lock and seen the row deleted, after its snapshot was taken.
CREATE FUNCTION dataplane._refs_follow_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    checked boolean := 'dataplane.actor'::regclass = ANY (dataplane._refs_checked(TG_RELID));
    r record;
    locked boolean := false;
    no_follower boolean;
BEGIN
    IF checked THEN
        RETURN NULL;
    END IF;
    LOOP
        SELECT n.follower, n.followee INTO r FROM new_rows n
         WHERE NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = n.follower FOR KEY SHARE OF a)
            OR NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = n.followee FOR KEY SHARE OF a)
         LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        IF locked THEN
            IF dataplane._refs_defer('dataplane.actor') THEN
                RETURN NULL;
            END IF;
            EXIT;
        END IF;
        EXIT WHEN NOT dataplane._refs_may_defer('dataplane.actor');
        locked := true;
    END LOOP;
    no_follower := NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = r.follower);
    RAISE EXCEPTION 'insert or update on table "follow" violates foreign key constraint "%"',
                    CASE WHEN no_follower THEN 'follow_follower_fkey' ELSE 'follow_followee_fkey' END
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = CASE WHEN no_follower
                       THEN format('Key (follower)=(%s) is not present in table "actor".', r.follower)
                       ELSE format('Key (followee)=(%s) is not present in table "actor".', r.followee)
                       END,
              SCHEMA = 'dataplane', TABLE = 'follow',
              CONSTRAINT = CASE WHEN no_follower THEN 'follow_follower_fkey'
                           ELSE 'follow_followee_fkey' END;
END $$;

CREATE FUNCTION dataplane._refs_post_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    checked boolean := 'dataplane.actor'::regclass = ANY (dataplane._refs_checked(TG_RELID));
    v int;
    filled boolean;
    locked boolean := false;
BEGIN
    LOOP
        -- One query: the first row that names a missing actor, and whether
        -- post, a named table too (repost.post_id), is filled (then there is
        -- nothing more to do for it).
        SELECT (SELECT n.author FROM new_rows n
                 WHERE NOT checked
                   AND NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = n.author
                                     FOR KEY SHARE OF a)
                 LIMIT 1),
               (SELECT r.state FROM dataplane._referenced r
                 WHERE r.tbl = 'dataplane.post'::regclass) = 'filled'
          INTO v, filled;
        IF v IS NOT NULL AND locked THEN
            EXIT WHEN NOT dataplane._refs_defer('dataplane.actor');
        ELSIF v IS NOT NULL THEN
            EXIT WHEN NOT dataplane._refs_may_defer('dataplane.actor');
            locked := true;
            CONTINUE;
        END IF;
        IF NOT filled THEN
            PERFORM dataplane._refs_filled('dataplane.post');
        END IF;
        RETURN NULL;
    END LOOP;
    RAISE EXCEPTION 'insert or update on table "post" violates foreign key constraint "post_author_fkey"'
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Key (author)=(%s) is not present in table "actor".', v),
              SCHEMA = 'dataplane', TABLE = 'post', CONSTRAINT = 'post_author_fkey';
END $$;

CREATE FUNCTION dataplane._refs_repost_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    checked regclass[] := dataplane._refs_checked(TG_RELID);
    r record;
    locked boolean := false;
    -- Not checked: this statement marked actor (post) pending, or the
    -- ingest checked them.
    kept_actor boolean := 'dataplane.actor'::regclass = ANY (checked);
    kept_post boolean := 'dataplane.post'::regclass = ANY (checked);
    no_reposter boolean;
BEGIN
    LOOP
        SELECT n.reposter, n.post_id INTO r FROM new_rows n
         WHERE (NOT kept_actor AND NOT EXISTS
                   (SELECT FROM dataplane.actor a WHERE a.uid = n.reposter FOR KEY SHARE OF a))
            OR (NOT kept_post AND NOT EXISTS
                   (SELECT FROM dataplane.post p WHERE p.id = n.post_id FOR KEY SHARE OF p))
         LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        no_reposter := NOT kept_actor AND NOT EXISTS
            (SELECT FROM dataplane.actor a WHERE a.uid = r.reposter);
        IF locked THEN
            EXIT WHEN NOT dataplane._refs_defer(CASE WHEN no_reposter THEN 'dataplane.actor'
                                                ELSE 'dataplane.post' END::regclass);
            kept_actor := kept_actor OR no_reposter;
            kept_post := kept_post OR NOT no_reposter;
        ELSE
            EXIT WHEN NOT dataplane._refs_may_defer(CASE WHEN no_reposter THEN 'dataplane.actor'
                                                    ELSE 'dataplane.post' END::regclass);
            locked := true;
        END IF;
    END LOOP;
    RAISE EXCEPTION 'insert or update on table "repost" violates foreign key constraint "%"',
                    CASE WHEN no_reposter THEN 'repost_reposter_fkey' ELSE 'repost_post_id_fkey' END
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = CASE WHEN no_reposter
                       THEN format('Key (reposter)=(%s) is not present in table "actor".', r.reposter)
                       ELSE format('Key (post_id)=(%s) is not present in table "post".', r.post_id)
                       END,
              SCHEMA = 'dataplane', TABLE = 'repost',
              CONSTRAINT = CASE WHEN no_reposter THEN 'repost_reposter_fkey'
                           ELSE 'repost_post_id_fkey' END;
END $$;

CREATE FUNCTION dataplane._refs_actor_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (SELECT r.state FROM dataplane._referenced r
         WHERE r.tbl = 'dataplane.actor'::regclass) <> 'filled' THEN
        PERFORM dataplane._refs_filled('dataplane.actor');
    END IF;
    RETURN NULL;
END $$;

-- Key updates: row triggers for the rows whose key changed (when the
-- foreign key's own check would fire), never deferred.
CREATE FUNCTION dataplane._refs_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    con text;
    col text;
    v text;
    refd text := 'actor';
BEGIN
    -- Only changed keys are checked (and locked), in the foreign keys' order.
    IF TG_TABLE_NAME = 'follow' THEN
        IF NEW.follower <> OLD.follower THEN
            IF NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = NEW.follower
                             FOR KEY SHARE OF a) THEN
                con := 'follow_follower_fkey'; col := 'follower'; v := NEW.follower;
            END IF;
        END IF;
        IF con IS NULL AND NEW.followee <> OLD.followee THEN
            IF NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = NEW.followee
                             FOR KEY SHARE OF a) THEN
                con := 'follow_followee_fkey'; col := 'followee'; v := NEW.followee;
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'post' THEN
        IF NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = NEW.author FOR KEY SHARE OF a) THEN
            con := 'post_author_fkey'; col := 'author'; v := NEW.author;
        END IF;
    ELSE
        IF NEW.reposter <> OLD.reposter THEN
            IF NOT EXISTS (SELECT FROM dataplane.actor a WHERE a.uid = NEW.reposter
                             FOR KEY SHARE OF a) THEN
                con := 'repost_reposter_fkey'; col := 'reposter'; v := NEW.reposter;
            END IF;
        END IF;
        IF con IS NULL AND NEW.post_id <> OLD.post_id THEN
            IF NOT EXISTS (SELECT FROM dataplane.post p WHERE p.id = NEW.post_id
                             FOR KEY SHARE OF p) THEN
                con := 'repost_post_id_fkey'; col := 'post_id'; v := NEW.post_id; refd := 'post';
            END IF;
        END IF;
    END IF;
    IF con IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                        TG_TABLE_NAME, con
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (%s)=(%s) is not present in table "%s".', col, v, refd),
                  SCHEMA = 'dataplane', TABLE = TG_TABLE_NAME, CONSTRAINT = con;
    END IF;
    RETURN NULL;
END $$;

-- Enabled like the foreign keys' own triggers (not ALWAYS): a logical
-- replication subscriber, session_replication_role = replica and
-- pg_restore --disable-triggers skip them, as they skip a foreign key.
CREATE TRIGGER dataplane_a_refs_insert AFTER INSERT ON dataplane.follow
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dataplane._refs_follow_insert();
CREATE TRIGGER dataplane_a_refs_update AFTER UPDATE ON dataplane.follow
    FOR EACH ROW WHEN (OLD.follower <> NEW.follower OR OLD.followee <> NEW.followee)
    EXECUTE FUNCTION dataplane._refs_update();
CREATE TRIGGER dataplane_a_refs_insert AFTER INSERT ON dataplane.post
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dataplane._refs_post_insert();
CREATE TRIGGER dataplane_a_refs_update AFTER UPDATE ON dataplane.post
    FOR EACH ROW WHEN (OLD.author <> NEW.author)
    EXECUTE FUNCTION dataplane._refs_update();
CREATE TRIGGER dataplane_a_refs_insert AFTER INSERT ON dataplane.repost
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dataplane._refs_repost_insert();
CREATE TRIGGER dataplane_a_refs_update AFTER UPDATE ON dataplane.repost
    FOR EACH ROW WHEN (OLD.reposter <> NEW.reposter OR OLD.post_id <> NEW.post_id)
    EXECUTE FUNCTION dataplane._refs_update();
CREATE TRIGGER dataplane_a_refs_insert AFTER INSERT ON dataplane.actor
    FOR EACH STATEMENT EXECUTE FUNCTION dataplane._refs_actor_insert();

