-- Timelines as an AppView serves them (DESIGN.md, "Timeline semantics,
-- second part"): blocks both ways, direct and through lists, mutes and
-- list mutes, inactive accounts, replies under blocked parents or roots,
-- the replies / reposts / quotes switches, and the author feed's filters
-- and viewer. Every page, walked with cursors, is compared with the
-- reference query written out verbatim; the pages must come from the index.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(40);
SELECT setseed(0.31);

-- DESIGN.md's reference query, verbatim but for the parameters.
CREATE FUNCTION pg_temp.ref(v int, lim int, before_ts timestamptz, before_id bigint,
                            replies text, reposts boolean, quotes boolean)
RETURNS SETOF dataplane.feed_item LANGUAGE sql STABLE AS $$
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = v
             UNION SELECT v),
blocked AS (
  SELECT blocked AS uid FROM dataplane.block WHERE blocker = v
  UNION SELECT blocker FROM dataplane.block WHERE blocked = v
  UNION SELECT i.subject FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id) WHERE b.actor = v
  UNION SELECT b.actor FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id) WHERE i.subject = v),
hidden AS (
  SELECT uid FROM blocked
  UNION SELECT muted FROM dataplane.mute WHERE muter = v
  UNION SELECT i.subject FROM dataplane.list_mute m JOIN dataplane.list_item i USING (list_id) WHERE m.actor = v
  UNION SELECT uid FROM dataplane.actor WHERE NOT active),
items AS (
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at,
         p.reply_parent_author, p.reply_root_author, p.quote
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at,
         p.reply_parent_author, p.reply_root_author, p.quote
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src))
SELECT t.item_id, t.post_id, t.author, t.reposter, t.sort_at
  FROM items t
 WHERE t.author NOT IN (SELECT uid FROM hidden)
   AND (t.reposter IS NULL OR t.reposter NOT IN (SELECT uid FROM hidden))
   AND (t.reply_parent_author IS NULL
        OR (t.reply_parent_author NOT IN (SELECT uid FROM blocked)
            AND t.reply_root_author NOT IN (SELECT uid FROM blocked)))
   AND (reposts OR t.reposter IS NULL)
   AND (quotes OR NOT t.quote)
   AND (replies = 'all' OR t.reply_parent_author IS NULL OR t.reposter IS NOT NULL
        OR (replies = 'followed'
            AND (t.reply_parent_author = t.author OR t.reply_parent_author IN (SELECT uid FROM src))
            AND (t.reply_root_author = t.author OR t.reply_root_author IN (SELECT uid FROM src))))
   AND (before_ts IS NULL OR (t.sort_at, t.item_id) < (before_ts, before_id))
 ORDER BY t.sort_at DESC, t.item_id DESC
 LIMIT lim $$;

-- The author feed: the 0.1.0 query with src = {author}, the filter, and
-- with a viewer the hidden and blocked rules.
CREATE FUNCTION pg_temp.ref_author(a int, lim int, before_ts timestamptz, before_id bigint,
                                   filter text, v int)
RETURNS SETOF dataplane.feed_item LANGUAGE sql STABLE AS $$
WITH blocked AS (
  SELECT blocked AS uid FROM dataplane.block WHERE blocker = v
  UNION SELECT blocker FROM dataplane.block WHERE blocked = v
  UNION SELECT i.subject FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id) WHERE b.actor = v
  UNION SELECT b.actor FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id) WHERE i.subject = v),
hidden AS (
  SELECT uid FROM blocked
  UNION SELECT muted FROM dataplane.mute WHERE muter = v
  UNION SELECT i.subject FROM dataplane.list_mute m JOIN dataplane.list_item i USING (list_id) WHERE m.actor = v
  UNION SELECT uid FROM dataplane.actor WHERE NOT active),
items AS (
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at,
         p.reply_parent_author, p.reply_root_author, p.quote, p.media
    FROM dataplane.post p WHERE p.author = a
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at,
         p.reply_parent_author, p.reply_root_author, p.quote, p.media
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter = a)
SELECT t.item_id, t.post_id, t.author, t.reposter, t.sort_at
  FROM items t
 WHERE CASE coalesce(filter, 'posts_with_replies')
         WHEN 'posts_with_replies' THEN true
         WHEN 'posts_no_replies' THEN t.reposter IS NOT NULL OR t.reply_parent_author IS NULL
         WHEN 'posts_with_media' THEN t.reposter IS NULL AND t.media = 'images'
         WHEN 'posts_with_video' THEN t.reposter IS NULL AND t.media = 'video'
         WHEN 'posts_and_author_threads' THEN t.reposter IS NOT NULL OR t.reply_parent_author IS NULL
                                              OR t.reply_root_author = t.author
       END
   AND (v IS NULL OR (t.author NOT IN (SELECT uid FROM hidden)
        AND (t.reposter IS NULL OR t.reposter NOT IN (SELECT uid FROM hidden))
        AND (t.reply_parent_author IS NULL
             OR (t.reply_parent_author NOT IN (SELECT uid FROM blocked)
                 AND t.reply_root_author NOT IN (SELECT uid FROM blocked)))))
   AND (before_ts IS NULL OR (t.sort_at, t.item_id) < (before_ts, before_id))
 ORDER BY t.sort_at DESC, t.item_id DESC
 LIMIT lim $$;

-- Every page of a timeline (or author feed) of `lim`, following cursors.
CREATE FUNCTION pg_temp.walk(v int, lim int, replies text, reposts boolean, quotes boolean,
                             author_feed boolean DEFAULT false, filter text DEFAULT NULL,
                             viewer int DEFAULT NULL)
RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
  out bigint[] := '{}';
  ts timestamptz := NULL;
  id bigint := NULL;
  n int;
  r record;
BEGIN
  LOOP
    n := 0;
    FOR r IN SELECT * FROM (SELECT * FROM dataplane.get_timeline(v, lim, ts, id, replies, reposts, quotes)
                             WHERE NOT author_feed
                            UNION ALL
                            SELECT * FROM dataplane.get_author_feed(v, lim, ts, id, filter, viewer)
                             WHERE author_feed) p LOOP
      out := out || r.item_id;
      ts := r.sort_at;
      id := r.item_id;
      n := n + 1;
    END LOOP;
    EXIT WHEN n < lim;
  END LOOP;
  RETURN out;
END $$;

-- A graph with everything the rules look at: follows; posts, a third of
-- them replies (parent and root authors, some self-threads, some under
-- accounts that are not followed), quotes, media; reposts; blocks, mutes,
-- three lists with list blocks and list mutes; inactive accounts.
INSERT INTO dataplane.follow SELECT a, b FROM generate_series(1, 40) a, generate_series(1, 40) b
  WHERE a <> b AND random() < 0.25;
INSERT INTO dataplane.post (author, created_at, reply_parent_author, reply_root_author, quote, media)
  SELECT a, '2026-03-01'::timestamptz + g * interval '1 minute',
         CASE WHEN g % 3 = 0 THEN CASE WHEN g % 7 = 0 THEN a ELSE 1 + (g * 13) % 40 END END,
         CASE WHEN g % 3 = 0 THEN CASE WHEN g % 5 = 0 THEN a ELSE 1 + (g * 17) % 40 END END,
         g % 4 = 0, (ARRAY[NULL, 'images', 'video', 'external'])[1 + g % 4]
  FROM generate_series(1, 1200) g, LATERAL (SELECT 1 + (g * 7) % 40 AS a) x;
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT 1 + (p.id * 11) % 40, p.id, p.created_at + interval '90 seconds'
  FROM dataplane.post p WHERE p.id % 5 = 0 AND 1 + (p.id * 11) % 40 <> p.author;
INSERT INTO dataplane.block SELECT a, b FROM generate_series(1, 40) a, generate_series(1, 40) b
  WHERE a <> b AND random() < 0.03;
INSERT INTO dataplane.mute SELECT a, b FROM generate_series(1, 40) a, generate_series(1, 40) b
  WHERE a <> b AND random() < 0.03;
INSERT INTO dataplane.list (id, owner, purpose) VALUES (1, 1, 'modlist'), (2, 2, 'modlist'), (3, 3, 'modlist');
INSERT INTO dataplane.list_item SELECT l, s FROM generate_series(1, 3) l, generate_series(1, 40) s
  WHERE random() < 0.1;
INSERT INTO dataplane.list_block SELECT a, 1 + a % 3 FROM generate_series(1, 40) a WHERE a % 4 = 0;
INSERT INTO dataplane.list_mute SELECT a, 1 + (a + 1) % 3 FROM generate_series(1, 40) a WHERE a % 5 = 0;
UPDATE dataplane.actor SET active = false WHERE uid IN (7, 23);
SELECT dataplane.rebuild();

-- The switches, and the pages they are walked in.
CREATE TEMP TABLE modes (replies text, reposts boolean, quotes boolean);
INSERT INTO modes VALUES ('all', true, true), ('followed', true, true), ('none', true, true),
  (NULL, NULL, NULL), ('all', false, true), ('all', true, false), ('followed', false, false);
CREATE FUNCTION pg_temp.bad_timelines() RETURNS TABLE (walks bigint, bad bigint) LANGUAGE sql AS $$
SELECT count(*), count(*) FILTER (WHERE pg_temp.walk(v, l, m.replies, m.reposts, m.quotes) IS DISTINCT FROM
         ARRAY(SELECT item_id FROM pg_temp.ref(v, NULL, NULL, NULL, m.replies, m.reposts, m.quotes)))
FROM generate_series(1, 41) v, modes m, (VALUES (50), (9)) ls(l) $$;
CREATE FUNCTION pg_temp.bad_author_feeds() RETURNS TABLE (walks bigint, bad bigint) LANGUAGE sql AS $$
SELECT count(*), count(*) FILTER (WHERE pg_temp.walk(a, 6, NULL, NULL, NULL, true, f, v) IS DISTINCT FROM
         ARRAY(SELECT item_id FROM pg_temp.ref_author(a, NULL, NULL, NULL, f, v)))
FROM generate_series(1, 40, 3) g(a),
     (VALUES (NULL), ('posts_with_replies'), ('posts_no_replies'), ('posts_with_media'),
             ('posts_with_video'), ('posts_and_author_threads')) fs(f),
     LATERAL (VALUES (NULL::int), (4), (12), (g.a)) vs(v) $$;

SELECT pages_index AS pages_before FROM dataplane.status() \gset
SELECT * FROM pg_temp.bad_timelines();
SELECT * FROM pg_temp.bad_author_feeds();
-- The index answered (most pages; a few reach below a ring's horizon).
SELECT pages_index - :pages_before > 2000 AS from_the_index FROM dataplane.status();
-- The filters did drop items: the rules are exercised.
SELECT (SELECT count(*) FROM dataplane.get_timeline(v, NULL)) AS shown,
       (SELECT count(*) FROM dataplane.get_timeline(v, NULL, NULL, NULL, 'none', false, false)) AS none_shown
FROM (VALUES (4)) x(v);

-- Single rules, each on a small case of its own.
-- A repost by a muted account of a followed author's post is hidden, the
-- post itself is not.
INSERT INTO dataplane.actor (uid, did) SELECT g, 'did:plc:rule' || g FROM generate_series(101, 110) g;
INSERT INTO dataplane.follow VALUES (101, 102), (101, 103), (101, 104), (101, 105);
INSERT INTO dataplane.post (id, author, created_at) VALUES (90001, 102, '2026-04-01 10:00');
INSERT INTO dataplane.repost (id, reposter, post_id, created_at) VALUES (90002, 103, 90001, '2026-04-01 11:00');
INSERT INTO dataplane.mute VALUES (101, 103);
SELECT item_id, reposter FROM dataplane.get_timeline(101);
-- A reply under a blocked root, and one under a parent who blocks the viewer.
INSERT INTO dataplane.post (id, author, created_at, reply_parent_author, reply_root_author)
  VALUES (90003, 104, '2026-04-01 12:00', 104, 106), (90004, 104, '2026-04-01 12:30', 107, 104);
INSERT INTO dataplane.block VALUES (101, 106), (107, 101);
SELECT item_id FROM dataplane.get_timeline(101);
-- A list block in each direction: the viewer list-blocks an author; an
-- author list-blocks a list the viewer is on.
INSERT INTO dataplane.list (id, owner) VALUES (9001, 108), (9002, 109);
INSERT INTO dataplane.list_item VALUES (9001, 105), (9002, 101);
INSERT INTO dataplane.list_block VALUES (101, 9001), (104, 9002);
INSERT INTO dataplane.post (id, author, created_at) VALUES (90005, 105, '2026-04-01 13:00');
SELECT item_id FROM dataplane.get_timeline(101);
-- The list item removed: 105 shows again; the list block removed: 104 too.
DELETE FROM dataplane.list_item WHERE list_id = 9001 AND subject = 105;
DELETE FROM dataplane.list_block WHERE actor = 104;
SELECT item_id FROM dataplane.get_timeline(101);
-- An inactive reposter hides the repost; reactivated, it shows.
DELETE FROM dataplane.mute WHERE muter = 101;
UPDATE dataplane.actor SET active = false, status = 'deactivated' WHERE uid = 103;
SELECT item_id, reposter FROM dataplane.get_timeline(101);
UPDATE dataplane.actor SET active = true, status = NULL WHERE uid = 103;
SELECT item_id, reposter FROM dataplane.get_timeline(101);
-- replies => 'followed': a self-thread shows, a reply to someone not
-- followed does not, a reply whose root is not followed does not.
INSERT INTO dataplane.post (id, author, created_at, reply_parent_author, reply_root_author) VALUES
  (90006, 102, '2026-04-01 14:00', 102, 102),
  (90007, 102, '2026-04-01 14:10', 110, 110),
  (90008, 102, '2026-04-01 14:20', 103, 110),
  (90009, 102, '2026-04-01 14:30', 101, 103);
SELECT item_id FROM dataplane.get_timeline(101, 10, NULL, NULL, 'followed');
SELECT item_id FROM dataplane.get_timeline(101, 10, NULL, NULL, 'none');
-- Cursors through filtered regions: pages of one.
SELECT count(*) AS mismatches FROM generate_series(101, 101) v, modes m
WHERE pg_temp.walk(v, 1, m.replies, m.reposts, m.quotes) IS DISTINCT FROM
      ARRAY(SELECT item_id FROM pg_temp.ref(v, NULL, NULL, NULL, m.replies, m.reposts, m.quotes));

-- A filtered page's first cut is as large as the viewer's last page
-- needed (a hint kept in the feed ring): pages read after a filter that
-- dropped most items, after one that drops none, and after the first
-- again, are each the reference's.
CREATE TEMP TABLE saved_mutes AS SELECT * FROM dataplane.mute WHERE muter = 5;
CREATE FUNCTION pg_temp.bad_walks(v int) RETURNS bigint LANGUAGE sql AS $$
SELECT count(*) FROM modes m, (VALUES (50), (9), (50)) ls(l)
WHERE pg_temp.walk(v, l, m.replies, m.reposts, m.quotes) IS DISTINCT FROM
      ARRAY(SELECT item_id FROM pg_temp.ref(v, NULL, NULL, NULL, m.replies, m.reposts, m.quotes)) $$;
INSERT INTO dataplane.mute SELECT 5, followee FROM dataplane.follow
  WHERE follower = 5 AND followee % 4 <> 0 ON CONFLICT DO NOTHING;
SELECT pg_temp.bad_walks(5) AS mismatches_most_muted;
DELETE FROM dataplane.mute WHERE muter = 5;
SELECT pg_temp.bad_walks(5) AS mismatches_none_muted;
INSERT INTO dataplane.mute SELECT 5, followee FROM dataplane.follow
  WHERE follower = 5 AND followee % 4 <> 0 ON CONFLICT DO NOTHING;
SELECT pg_temp.bad_walks(5) AS mismatches_most_muted_again;
DELETE FROM dataplane.mute WHERE muter = 5;
INSERT INTO dataplane.mute SELECT * FROM saved_mutes;

-- A post's reply authors changed by an UPDATE reach its reposts in every
-- ring (verify() compares them).
UPDATE dataplane.post SET reply_parent_author = 106, reply_root_author = 106 WHERE id = 90001;
SELECT item_id, reposter FROM dataplane.get_timeline(101);
SELECT count(*) AS verify_rows FROM dataplane.verify();

-- After random changes, all over again.
DELETE FROM dataplane.block WHERE random() < 0.3;
INSERT INTO dataplane.block SELECT a, b FROM generate_series(1, 40) a, generate_series(1, 40) b
  WHERE a <> b AND random() < 0.01 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.list_item WHERE random() < 0.3;
UPDATE dataplane.actor SET active = NOT active WHERE uid IN (7, 9);
UPDATE dataplane.post SET quote = NOT quote WHERE id % 11 = 0;
SELECT * FROM pg_temp.bad_timelines();
SELECT * FROM pg_temp.bad_author_feeds();
SELECT count(*) AS verify_rows FROM dataplane.verify();

-- Bad switches are errors; NULLs act as the reference query makes them.
\set VERBOSITY terse
SELECT * FROM dataplane.get_timeline(1, 5, NULL, NULL, 'friends');
SELECT * FROM dataplane.get_author_feed(1, 5, NULL, NULL, 'posts_with_everything');
\set VERBOSITY default
SELECT * FROM dataplane.get_timeline(1, 5, NULL, NULL, 'Followed');
