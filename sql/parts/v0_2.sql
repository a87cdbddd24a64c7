-- ------------------------------------------------ atproto records (0.2.0)
--
-- What an AppView operator has is the atproto event stream: DIDs, AT-URIs,
-- record keys; and a timeline must honour blocks, mutes, moderation lists
-- and reply settings. These columns and tables hold them. New columns have
-- defaults, so that every 0.1.0 call keeps its meaning. Both the install
-- script and the upgrade from 0.1.0 end with this part.

-- An account's state from the firehose: inactive accounts (deactivated,
-- takendown, suspended, deleted, ...) are hidden from timelines.
ALTER TABLE dataplane.actor
    ADD COLUMN active boolean NOT NULL DEFAULT true,
    ADD COLUMN status text;
-- The inactive accounts, which every timeline read from the tables hides
-- (the reference query's `hidden`): without it that read scans every actor.
CREATE INDEX actor_inactive_idx ON dataplane.actor (uid) WHERE NOT active;

-- A post's record key and CID; the uids of the authors of its thread's root
-- and of its parent (from the DIDs in their AT-URIs: plain uids, the parent
-- may be a post this AppView never indexed), both NULL or both set; whether
-- it embeds a record (a quote), and the media it embeds.
ALTER TABLE dataplane.post
    ADD COLUMN rkey text COLLATE pg_catalog."C",
    ADD COLUMN cid text,
    ADD COLUMN reply_root_author int CONSTRAINT post_reply_root_author_check
        CHECK (reply_root_author > 0),
    ADD COLUMN reply_parent_author int CONSTRAINT post_reply_parent_author_check
        CHECK (reply_parent_author > 0),
    ADD COLUMN quote boolean NOT NULL DEFAULT false,
    ADD COLUMN media text CONSTRAINT post_media_check
        CHECK (media IN ('images', 'video', 'external')),
    ADD CONSTRAINT post_reply_check
        CHECK ((reply_root_author IS NULL) = (reply_parent_author IS NULL)),
    ADD CONSTRAINT post_author_rkey_key UNIQUE (author, rkey);

ALTER TABLE dataplane.repost
    ADD COLUMN rkey text COLLATE pg_catalog."C",
    ADD COLUMN cid text,
    ADD CONSTRAINT repost_reposter_rkey_key UNIQUE (reposter, rkey);

-- Blocks: public records (app.bsky.graph.block), as edges.
CREATE TABLE dataplane.block (
    blocker int NOT NULL CONSTRAINT block_blocker_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (blocker > 0),
    blocked int NOT NULL CONSTRAINT block_blocked_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (blocked > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker, blocked)
);
CREATE INDEX block_blocked_idx ON dataplane.block (blocked, blocker);

-- Mutes: private, written by the AppView, never from the firehose.
CREATE TABLE dataplane.mute (
    muter int NOT NULL CONSTRAINT mute_muter_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (muter > 0),
    muted int NOT NULL CONSTRAINT mute_muted_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (muted > 0),
    PRIMARY KEY (muter, muted)
);
CREATE INDEX mute_muted_idx ON dataplane.mute (muted, muter);

-- Lists (app.bsky.graph.list). purpose is the last segment of the record's
-- purpose (modlist, curatelist, referencelist), or NULL for a list only
-- referenced so far (a list item or list block before the list's record).
-- Ids come from their own sequence; explicit ids are allowed.
CREATE SEQUENCE dataplane.list_id_seq;
CREATE TABLE dataplane.list (
    id bigint PRIMARY KEY DEFAULT nextval('dataplane.list_id_seq'),
    owner int NOT NULL CONSTRAINT list_owner_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (owner > 0),
    rkey text COLLATE pg_catalog."C",
    purpose text,
    UNIQUE (owner, rkey)
);

CREATE TABLE dataplane.list_item (
    list_id bigint NOT NULL CONSTRAINT list_item_list_id_fkey
        REFERENCES dataplane.list (id) ON DELETE CASCADE,
    subject int NOT NULL CONSTRAINT list_item_subject_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (subject > 0),
    PRIMARY KEY (list_id, subject)
);
CREATE INDEX list_item_subject_idx ON dataplane.list_item (subject, list_id);

-- An actor's subscription to a moderation list: list_block blocks every
-- member (both ways, as a block does), list_mute (private) mutes them.
CREATE TABLE dataplane.list_block (
    actor int NOT NULL CONSTRAINT list_block_actor_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (actor > 0),
    list_id bigint NOT NULL CONSTRAINT list_block_list_id_fkey
        REFERENCES dataplane.list (id) ON DELETE CASCADE,
    PRIMARY KEY (actor, list_id)
);
CREATE INDEX list_block_list_idx ON dataplane.list_block (list_id, actor);

CREATE TABLE dataplane.list_mute (
    actor int NOT NULL CONSTRAINT list_mute_actor_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (actor > 0),
    list_id bigint NOT NULL CONSTRAINT list_mute_list_id_fkey
        REFERENCES dataplane.list (id) ON DELETE CASCADE,
    PRIMARY KEY (actor, list_id)
);
CREATE INDEX list_mute_list_idx ON dataplane.list_mute (list_id, actor);

-- The ingest's record keys (ingest_jetstream): a Jetstream delete names only
-- the repository and record key, and one account may hold two records of
-- the same edge. follow, block, list_item and list_block stay sets of
-- edges: an edge exists while at least one of its records does. subject is
-- the follow's, block's or list item's subject uid; list_id the list item's
-- or list block's list.
CREATE TABLE dataplane.graph_record (
    repo int NOT NULL CONSTRAINT graph_record_repo_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (repo > 0),
    collection text COLLATE pg_catalog."C" NOT NULL
        CHECK (collection IN ('follow', 'block', 'listitem', 'listblock')),
    rkey text COLLATE pg_catalog."C" NOT NULL,
    subject int CHECK (subject > 0),
    list_id bigint CONSTRAINT graph_record_list_id_fkey
        REFERENCES dataplane.list (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (repo, collection, rkey)
);
-- The records that keep one edge or list item alive. subject leads, so
-- that no lookup by the primary key's columns can take this index instead
-- (the planner, which thinks a repository holds a record or two, would
-- otherwise scan all of a prolific account's records for one rkey).
CREATE INDEX graph_record_subject_idx ON dataplane.graph_record (subject, repo, collection);
-- Only list items and list blocks name a list: follows and blocks, most of
-- the rows, stay out of this index.
CREATE INDEX graph_record_list_idx ON dataplane.graph_record (list_id, subject)
    WHERE list_id IS NOT NULL;

-- Repost records held aside: their post is not in post yet (or the reposter
-- already has a row for it); one becomes a repost when the post arrives.
-- subject_author is the post's author's uid (a plain uid, as reply authors).
CREATE TABLE dataplane.repost_pending (
    reposter int NOT NULL CONSTRAINT repost_pending_reposter_fkey
        REFERENCES dataplane.actor (uid) ON DELETE CASCADE CHECK (reposter > 0),
    rkey text COLLATE pg_catalog."C" NOT NULL,
    cid text,
    subject_author int NOT NULL CHECK (subject_author > 0),
    subject_rkey text COLLATE pg_catalog."C" NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (reposter, rkey)
);
CREATE INDEX repost_pending_subject_idx ON dataplane.repost_pending (subject_author, subject_rkey);

-- Where a live Jetstream consumer is: the time_us of the last event it
-- applied, written in the same transaction as its batch.
CREATE TABLE dataplane.jetstream_cursor (
    endpoint text PRIMARY KEY,
    time_us bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

SELECT pg_catalog.pg_extension_config_dump('dataplane.block', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.mute', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.list', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.list_item', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.list_block', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.list_mute', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.graph_record', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.repost_pending', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.jetstream_cursor', '');
SELECT pg_catalog.pg_extension_config_dump('dataplane.list_id_seq', '');

-- ---------------------------------------------- references of new tables
--
-- As for follow, post and repost (see "references" above): the foreign
-- keys' own check of inserted rows is replaced by a statement trigger that
-- checks them the same way and lets rows wait while the named table is
-- being filled for the first time (parallel pg_restore). Key updates keep
-- the foreign keys' own check. One function per table, generated here.
INSERT INTO dataplane._referenced
SELECT 'dataplane.list'::regclass,
       CASE WHEN EXISTS (SELECT FROM dataplane.list) THEN 'filled' ELSE 'new' END;

DO $refs$
DECLARE
    t record;
    fks record;
    branches text;
    errors text;
    n int;
BEGIN
    -- (Names are written out with their schema: inside CREATE EXTENSION the
    -- search_path is the extension's, and regclass would print them bare.)
    FOR t IN SELECT c.oid AS relid, 'dataplane.' || quote_ident(c.relname) AS tbl, c.relname
               FROM pg_catalog.pg_class c
              WHERE c.oid IN ('dataplane.block'::regclass, 'dataplane.mute'::regclass,
                              'dataplane.list'::regclass, 'dataplane.list_item'::regclass,
                              'dataplane.list_block'::regclass, 'dataplane.list_mute'::regclass,
                              'dataplane.graph_record'::regclass,
                              'dataplane.repost_pending'::regclass)
    LOOP
        -- One branch per foreign key: the first inserted row whose reference
        -- is missing, unless the named table already let rows wait.
        SELECT string_agg(format(
                   'SELECT %s AS k, %L::regclass AS target, n.%I::text AS v FROM new_rows n '
                   'WHERE n.%I IS NOT NULL AND NOT (%L::regclass = ANY (kept)) AND NOT EXISTS '
                   '(SELECT FROM %s x WHERE x.%I = n.%I FOR KEY SHARE OF x)',
                   k, f.reftbl, f.col, f.col, f.reftbl, f.reftbl, f.refcol, f.col), ' UNION ALL '
                   ORDER BY k),
               string_agg(format('WHEN %s THEN RAISE EXCEPTION ''insert or update on table "%s" '
                                 'violates foreign key constraint "%s"'' USING ERRCODE = '
                                 '''foreign_key_violation'', DETAIL = format(''Key (%s)=(%%s) is not '
                                 'present in table "%s".'', v), SCHEMA = ''dataplane'', TABLE = %L, '
                                 'CONSTRAINT = %L;',
                                 k, t.relname, f.conname, f.col, f.refname, t.relname, f.conname),
                          ' ' ORDER BY k)
          INTO branches, errors
          FROM (SELECT row_number() OVER (ORDER BY c.conname) AS k, c.conname,
                       'dataplane.' || quote_ident(rt.relname) AS reftbl, rt.relname AS refname,
                       a.attname AS col, r.attname AS refcol
                  FROM pg_catalog.pg_constraint c
                  JOIN pg_catalog.pg_class rt ON rt.oid = c.confrelid
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                  JOIN pg_catalog.pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = c.confkey[1]
                 WHERE c.contype = 'f' AND c.conrelid = t.relid) f;
        EXECUTE format($f$
            CREATE FUNCTION dataplane.%1$I() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
            DECLARE
                -- Not checked: tables a deferral kept, or the ingest checked.
                kept regclass[] := dataplane._refs_checked(TG_RELID);
                locked boolean := false;
                k int;
                target regclass;
                v text;
            BEGIN
                LOOP
                    SELECT m.k, m.target, m.v INTO k, target, v FROM (%2$s) m ORDER BY m.k LIMIT 1;
                    IF NOT FOUND THEN
                        RETURN NULL;
                    END IF;
                    IF locked THEN
                        EXIT WHEN NOT dataplane._refs_defer(target);
                        kept := kept || target;
                    ELSE
                        EXIT WHEN NOT dataplane._refs_may_defer(target);
                        locked := true;
                    END IF;
                END LOOP;
                CASE k %3$s END CASE;
                RETURN NULL;
            END $body$;
            REVOKE ALL ON FUNCTION dataplane.%1$I() FROM PUBLIC;
            CREATE TRIGGER dataplane_a_refs_insert AFTER INSERT ON %4$s
                REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION dataplane.%1$I();
        $f$, '_refs_' || t.relname || '_insert', branches, errors, t.tbl);
        -- The foreign keys' own insert checks give way to it.
        n := 0;
        FOR fks IN
            SELECT g.tgname FROM pg_catalog.pg_trigger g
              JOIN pg_catalog.pg_constraint c ON c.oid = g.tgconstraint
             WHERE c.contype = 'f' AND g.tgrelid = c.conrelid AND c.conrelid = t.relid
               AND g.tgfoid = 'pg_catalog."RI_FKey_check_ins"'::regproc
        LOOP
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', t.tbl, fks.tgname);
            n := n + 1;
        END LOOP;
        IF n = 0 THEN
            RAISE EXCEPTION 'dataplane: no foreign key check trigger on %', t.tbl;
        END IF;
    END LOOP;
END
$refs$;

-- An insert into list fills it, as one into actor or post does.
CREATE FUNCTION dataplane._refs_table_filled() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (SELECT r.state FROM dataplane._referenced r WHERE r.tbl = TG_RELID) <> 'filled' THEN
        PERFORM dataplane._refs_filled(TG_RELID);
    END IF;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION dataplane._refs_table_filled() FROM PUBLIC;
CREATE TRIGGER dataplane_a_refs_filled AFTER INSERT ON dataplane.list
    FOR EACH STATEMENT EXECUTE FUNCTION dataplane._refs_table_filled();

-- ------------------------------------------------------------------ ingest

-- Jetstream v1 events (one JSON event per line, blank lines ignored) applied
-- in order in the caller's transaction; returns the largest time_us among
-- the readable events (NULL for none). See the README's ingest section for
-- the mapping. It writes every table with their owner's rights, so it is
-- not for PUBLIC: grant EXECUTE to the role that ingests.
CREATE FUNCTION dataplane.ingest_jetstream(events text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'dataplane_ingest_jetstream'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION dataplane.ingest_jetstream(text) FROM PUBLIC;
COMMENT ON FUNCTION dataplane.ingest_jetstream(text) IS
    'Applies Jetstream v1 events (one per line) to the tables; returns the last time_us read';
