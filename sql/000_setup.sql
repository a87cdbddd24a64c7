-- Helpers for the other tests: each compares a read function with the
-- contract's reference SQL and counts the disagreements (0 is a pass).
CREATE SCHEMA dptest;

-- Every function over users 1..n (and all pairs for the pairwise ones).
CREATE FUNCTION dptest.mismatches(n int)
RETURNS TABLE (fn text, bad bigint) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT 'follows', count(*)
      FROM generate_series(1, n) a, generate_series(1, n) b
     WHERE dataplane.follows(a, b) IS DISTINCT FROM
           EXISTS (SELECT 1 FROM dataplane.follow f WHERE f.follower = a AND f.followee = b);
    RETURN QUERY SELECT 'follower_count', count(*)
      FROM generate_series(1, n) u
     WHERE dataplane.follower_count(u) <>
           (SELECT count(*) FROM dataplane.follow WHERE followee = u);
    RETURN QUERY SELECT 'following_count', count(*)
      FROM generate_series(1, n) u
     WHERE dataplane.following_count(u) <>
           (SELECT count(*) FROM dataplane.follow WHERE follower = u);
    RETURN QUERY SELECT 'followers', count(*)
      FROM generate_series(1, n) u, (VALUES (1000000, 0), (1, 0), (3, 2), (2, n / 2), (5, n)) p(lim, aft)
     WHERE ARRAY(SELECT dataplane.followers(u, p.lim, p.aft)) IS DISTINCT FROM
           ARRAY(SELECT follower FROM dataplane.follow WHERE followee = u AND follower > p.aft
                  ORDER BY 1 LIMIT p.lim);
    RETURN QUERY SELECT 'following', count(*)
      FROM generate_series(1, n) u, (VALUES (1000000, 0), (1, 0), (3, 2), (2, n / 2), (5, n)) p(lim, aft)
     WHERE ARRAY(SELECT dataplane.following(u, p.lim, p.aft)) IS DISTINCT FROM
           ARRAY(SELECT followee FROM dataplane.follow WHERE follower = u AND followee > p.aft
                  ORDER BY 1 LIMIT p.lim);
    RETURN QUERY SELECT 'social_proof', count(*)
      FROM generate_series(1, n) a, generate_series(1, n) b, (VALUES (1000), (2)) p(lim)
     WHERE ARRAY(SELECT dataplane.social_proof(a, b, p.lim)) IS DISTINCT FROM
           ARRAY(SELECT f.followee FROM dataplane.follow f
                   JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = b
                  WHERE f.follower = a ORDER BY 1 LIMIT p.lim);
    RETURN QUERY SELECT 'social_proof_count', count(*)
      FROM generate_series(1, n) a, generate_series(1, n) b
     WHERE dataplane.social_proof_count(a, b) <>
           (SELECT count(*) FROM dataplane.follow f
              JOIN dataplane.follow g ON g.follower = f.followee AND g.followee = b
             WHERE f.follower = a);
END $$;

-- Only the functions that disagree, so that a passing run prints nothing.
CREATE FUNCTION dptest.failures(n int)
RETURNS TABLE (fn text, bad bigint) LANGUAGE sql AS $$
    SELECT * FROM dptest.mismatches(n) m WHERE m.bad <> 0
$$;

-- Index reads so far: tests compare it before and after to prove that the
-- index, not only the fallback, answered.
CREATE FUNCTION dptest.index_reads() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT reads_index FROM dataplane.status());
END $$;

-- A fresh extension, with actors 1..n and the index built.
CREATE FUNCTION dptest.fresh(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DROP EXTENSION IF EXISTS dataplane CASCADE;
    CREATE EXTENSION dataplane;
    INSERT INTO dataplane.actor (uid, did)
    SELECT g, 'did:plc:test' || g FROM generate_series(1, n) g;
    PERFORM setval('dataplane.actor_uid_seq', greatest(n, 1), n > 0);
END $$;
