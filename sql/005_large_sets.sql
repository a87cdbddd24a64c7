-- Sets large enough for every representation: sorted arrays, packed
-- 16-bit groups, Roaring bitmaps, with deltas and their compaction.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT dptest.fresh(0);
INSERT INTO dataplane.actor (uid, did)
SELECT g, 'did:plc:l' || g FROM generate_series(1, 30000) g;
INSERT INTO dataplane.actor (uid, did)
SELECT g, 'did:plc:h' || g FROM generate_series(5000000, 5000200) g;

-- 1 is followed by everyone (dense), 2 by every third (Roaring), 3 by a
-- few in a wide uid range (arrays), and 4 follows many.
INSERT INTO dataplane.follow SELECT g, 1 FROM generate_series(2, 30000) g;
INSERT INTO dataplane.follow SELECT g, 2 FROM generate_series(3, 30000, 3) g;
INSERT INTO dataplane.follow SELECT g, 3 FROM generate_series(5000000, 5000200, 7) g;
INSERT INTO dataplane.follow SELECT 4, g FROM generate_series(5, 30000, 2) g ON CONFLICT DO NOTHING;
SELECT dataplane.rebuild();

CREATE TEMP TABLE probe AS
SELECT u FROM (VALUES (1), (2), (3), (4), (5), (6), (9), (5000000), (5000007), (29999), (30000)) v(u);

CREATE FUNCTION pg_temp.check() RETURNS TABLE (fn text, bad bigint) LANGUAGE sql AS $$
    SELECT 'follower_count', count(*) FROM probe
     WHERE dataplane.follower_count(u) <> (SELECT count(*) FROM dataplane.follow WHERE followee = u)
    UNION ALL
    SELECT 'following_count', count(*) FROM probe
     WHERE dataplane.following_count(u) <> (SELECT count(*) FROM dataplane.follow WHERE follower = u)
    UNION ALL
    SELECT 'followers', count(*) FROM probe, (VALUES (1000000, 0), (50, 0), (50, 15000), (3, 29990)) p(lim, aft)
     WHERE ARRAY(SELECT dataplane.followers(u, p.lim, p.aft)) IS DISTINCT FROM
           ARRAY(SELECT follower FROM dataplane.follow WHERE followee = u AND follower > p.aft ORDER BY 1 LIMIT p.lim)
    UNION ALL
    SELECT 'following', count(*) FROM probe, (VALUES (1000000, 0), (50, 0), (50, 15000)) p(lim, aft)
     WHERE ARRAY(SELECT dataplane.following(u, p.lim, p.aft)) IS DISTINCT FROM
           ARRAY(SELECT followee FROM dataplane.follow WHERE follower = u AND followee > p.aft ORDER BY 1 LIMIT p.lim)
    UNION ALL
    SELECT 'follows', count(*) FROM probe a, generate_series(1, 40) b
     WHERE dataplane.follows(a.u, b) <> EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = a.u AND followee = b)
        OR dataplane.follows(b, a.u) <> EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = b AND followee = a.u)
    UNION ALL
    SELECT 'social_proof', count(*) FROM probe v, probe t, (VALUES (10), (100000)) p(lim)
     WHERE ARRAY(SELECT dataplane.social_proof(v.u, t.u, p.lim)) IS DISTINCT FROM
           ARRAY(SELECT f.followee FROM dataplane.follow f
                   JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = t.u
                  WHERE f.follower = v.u ORDER BY 1 LIMIT p.lim)
    UNION ALL
    SELECT 'social_proof_count', count(*) FROM probe v, probe t
     WHERE dataplane.social_proof_count(v.u, t.u) <>
           (SELECT count(*) FROM dataplane.follow f
              JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = t.u
             WHERE f.follower = v.u)
$$;

SELECT * FROM pg_temp.check() WHERE bad <> 0;
SELECT dataplane.follower_count(1), dataplane.follower_count(2), dataplane.following_count(4);

-- Many small commits to the big sets: deltas fill and are compacted.
SELECT compactions AS c0 FROM dataplane.status() \gset
DO $$
BEGIN
    FOR i IN 1..400 LOOP
        DELETE FROM dataplane.follow WHERE follower = 2 + i * 11 AND followee = 1;
        INSERT INTO dataplane.follow VALUES (2 + i * 7, 2) ON CONFLICT DO NOTHING;
        COMMIT;
    END LOOP;
END $$;
SELECT compactions > :c0 AS compacted FROM dataplane.status();
SELECT * FROM pg_temp.check() WHERE bad <> 0;

-- A bulk delete and re-insert in one transaction.
BEGIN;
DELETE FROM dataplane.follow WHERE followee = 1 AND follower % 5 = 0;
INSERT INTO dataplane.follow SELECT g, 2 FROM generate_series(4, 30000, 3) g ON CONFLICT DO NOTHING;
COMMIT;
SELECT * FROM pg_temp.check() WHERE bad <> 0;
SELECT * FROM dataplane.verify();
