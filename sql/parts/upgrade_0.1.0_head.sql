-- dataplane 0.1.0 -> 0.2.0. Every 0.1.0 call keeps its meaning.

\echo Use "ALTER EXTENSION dataplane UPDATE TO '0.2.0'" to load this file. \quit

-- ------------------------------------------------------- DID collation

-- DIDs are compared byte by byte, as in a fresh install (install_head.sql):
-- the DID index is rebuilt, the table is not rewritten.
ALTER TABLE dataplane.actor ALTER COLUMN did TYPE text COLLATE pg_catalog."C";

-- ------------------------------------------------------- uid constraints

-- Rows the index would drop cannot exist, even where foreign keys are
-- bypassed. A table that holds such rows makes the update fail here: fix
-- (or delete) them, then update again.
ALTER TABLE dataplane.follow
    ADD CONSTRAINT follow_follower_check CHECK (follower > 0),
    ADD CONSTRAINT follow_followee_check CHECK (followee > 0);
ALTER TABLE dataplane.post ADD CONSTRAINT post_author_check CHECK (author > 0);
ALTER TABLE dataplane.repost ADD CONSTRAINT repost_reposter_check CHECK (reposter > 0);

