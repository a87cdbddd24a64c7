-- The ingest's tables by their natural keys, for bench/ingest: one row per
-- table with its row count and a checksum of its rows (the sum of a 64-bit
-- hash of each row's text: no sort, whatever the order). Surrogate
-- ids (post, repost and list ids, uids) are replaced by what they name
-- (DIDs, record keys), so that two loads of one stream compare equal when
-- they hold the same records, whatever ids they drew.
CREATE TEMP VIEW did_of AS SELECT uid, did FROM dataplane.actor;
CREATE TEMP VIEW list_key AS
    SELECT l.id, a.did AS owner, l.rkey FROM dataplane.list l JOIN did_of a ON a.uid = l.owner;

SELECT 'actor' AS tbl, count(*) AS n,
       sum(hashtextextended(row(did, active, status)::text, 0)::numeric) AS checksum
  FROM dataplane.actor
UNION ALL
SELECT 'follow', count(*), sum(hashtextextended(row(a.did, b.did, f.created_at)::text, 0)::numeric)
  FROM dataplane.follow f JOIN did_of a ON a.uid = f.follower JOIN did_of b ON b.uid = f.followee
UNION ALL
SELECT 'block', count(*), sum(hashtextextended(row(a.did, b.did, f.created_at)::text, 0)::numeric)
  FROM dataplane.block f JOIN did_of a ON a.uid = f.blocker JOIN did_of b ON b.uid = f.blocked
UNION ALL
SELECT 'post', count(*),
       sum(hashtextextended(row(a.did, p.rkey, p.cid, p.created_at, r.did, q.did, p.quote, p.media)::text, 0)::numeric)
  FROM dataplane.post p JOIN did_of a ON a.uid = p.author
  LEFT JOIN did_of r ON r.uid = p.reply_root_author LEFT JOIN did_of q ON q.uid = p.reply_parent_author
UNION ALL
SELECT 'repost', count(*),
       sum(hashtextextended(row(a.did, r.rkey, r.cid, r.created_at, b.did, p.rkey)::text, 0)::numeric)
  FROM dataplane.repost r JOIN did_of a ON a.uid = r.reposter
  JOIN dataplane.post p ON p.id = r.post_id JOIN did_of b ON b.uid = p.author
UNION ALL
SELECT 'repost_pending', count(*),
       sum(hashtextextended(row(a.did, q.rkey, q.cid, b.did, q.subject_rkey, q.created_at)::text, 0)::numeric)
  FROM dataplane.repost_pending q JOIN did_of a ON a.uid = q.reposter JOIN did_of b ON b.uid = q.subject_author
UNION ALL
SELECT 'list', count(*), sum(hashtextextended(row(k.owner, k.rkey, l.purpose)::text, 0)::numeric)
  FROM dataplane.list l JOIN list_key k ON k.id = l.id
UNION ALL
SELECT 'list_item', count(*),
       sum(hashtextextended(row(k.owner, k.rkey, a.did)::text, 0)::numeric)
  FROM dataplane.list_item i JOIN list_key k ON k.id = i.list_id JOIN did_of a ON a.uid = i.subject
UNION ALL
SELECT 'list_block', count(*),
       sum(hashtextextended(row(a.did, k.owner, k.rkey)::text, 0)::numeric)
  FROM dataplane.list_block b JOIN list_key k ON k.id = b.list_id JOIN did_of a ON a.uid = b.actor
UNION ALL
SELECT 'graph_record', count(*),
       sum(hashtextextended(row(a.did, g.collection, g.rkey, s.did, k.owner, k.rkey, g.created_at)::text, 0)::numeric)
  FROM dataplane.graph_record g JOIN did_of a ON a.uid = g.repo
  LEFT JOIN did_of s ON s.uid = g.subject LEFT JOIN list_key k ON k.id = g.list_id;
