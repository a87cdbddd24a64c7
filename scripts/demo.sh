#!/usr/bin/env bash
# The newcomer's first run: installs what is needed, builds and installs the
# extension, starts a throwaway cluster with dataplane preloaded, loads a
# small demo graph with posts, shows the functions at work, then runs the
# small benchmark (bench/run small) beside the fan-in baselines.
# Usage (as root on Debian bookworm): bash scripts/demo.sh
# Set DP_KEEP=1 to leave the cluster running afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

dp_deps
dp_build

DIR=/tmp/dataplane-demo
PORT=55440
dp_cluster_stop "$DIR" 2>/dev/null || true
rm -rf "$DIR"
echo "== starting a throwaway cluster in $DIR (port $PORT)"
dp_cluster_start "$DIR" "$PORT" "dataplane.database = 'appview'" "dataplane.memory_limit = 256MB"
createdb appview
export PGDATABASE=appview
if [ "${DP_KEEP:-0}" = 1 ]; then
    trap - EXIT
    echo "== the cluster stays up: psql -h $DIR -p $PORT -U postgres appview"
fi

echo "== CREATE EXTENSION dataplane; loading a demo graph (20k users, power-law follows, 100k posts)"
dp_psql <<'SQL'
CREATE EXTENSION dataplane;
SELECT setseed(0.42);
INSERT INTO dataplane.actor (did)
SELECT 'did:plc:demo' || g FROM generate_series(1, 20000) g;
-- Each user follows ~30 accounts drawn from a Zipf-like popularity curve.
INSERT INTO dataplane.follow (follower, followee)
SELECT DISTINCT u, 1 + floor(20000 * power(random(), 3))::int
  FROM generate_series(1, 20000) u, generate_series(1, 30)
ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower = followee;
-- Posts over the last week (popular accounts post more), and reposts.
INSERT INTO dataplane.post (author, created_at)
SELECT 1 + floor(20000 * power(random(), 2))::int, now() - random() * interval '7 days'
  FROM generate_series(1, 100000);
INSERT INTO dataplane.repost (reposter, post_id, created_at)
SELECT DISTINCT ON (1, 2) 1 + (random() * 19999)::int, id, now() - random() * interval '7 days'
  FROM dataplane.post WHERE random() < 0.2
ON CONFLICT DO NOTHING;
SELECT dataplane.rebuild();
SQL

echo "== the index is built:"
dp_psql -x -c "SELECT state, follow_edges, memory_used, round(bytes_per_edge::numeric, 2) AS bytes_per_edge, last_build_ms FROM dataplane.status()"
echo "== reads answered from shared memory:"
dp_psql <<'SQL'
\echo 'Does 100 follow 1? How many follow 1, and whom does 100 follow?'
SELECT dataplane.follows(100, 1) AS follows,
       dataplane.follower_count(1) AS followers_of_1,
       dataplane.following_count(100) AS following_of_100;
\echo 'The first followers of account 2:'
SELECT array_agg(f) AS followers FROM dataplane.followers(2, 10) f;
\echo 'People 100 follows who also follow account 3 (social proof):'
SELECT array_agg(p) AS proof, dataplane.social_proof_count(100, 3) AS how_many
  FROM dataplane.social_proof(100, 3, 5) p;
\echo 'Writes reach the index when they commit:'
INSERT INTO dataplane.follow VALUES (100, 19999) ON CONFLICT DO NOTHING;
SELECT dataplane.follows(100, 19999) AS after_follow;
DELETE FROM dataplane.follow WHERE follower = 100 AND followee = 19999;
SELECT dataplane.follows(100, 19999) AS after_unfollow;
\echo 'The timeline of user 100, newest first (its first read builds a feed ring):'
SELECT * FROM dataplane.get_timeline(100, 5);
\echo 'A new post by someone 100 follows reaches that ring when it commits (fan-out):'
INSERT INTO dataplane.post (author) SELECT followee FROM dataplane.follow WHERE follower = 100 LIMIT 1;
SELECT item_id, author, reposter, sort_at FROM dataplane.get_timeline(100, 2);
\echo 'The next page: the cursor is the last row of the previous one.'
SELECT t.* FROM (SELECT * FROM dataplane.get_timeline(100, 5) ORDER BY sort_at, item_id LIMIT 1) c,
       LATERAL dataplane.get_timeline(100, 3, c.sort_at, c.item_id) t;
\echo 'An author feed:'
SELECT * FROM dataplane.get_author_feed(1, 3);
\echo 'And the index agrees with the tables (no rows = no difference):'
SELECT * FROM dataplane.verify();
SQL
dp_psql -x -c "SELECT state, reads_index, reads_fallback, pages_index, pages_fallback, feed_rings, author_items, celebrities, commits_applied FROM dataplane.status()"
echo "== done with the demo"

# The comparison a newcomer came for: the small benchmark (a few minutes),
# the index beside the fan-in SQL and the wire-protocol ceiling, on its own
# throwaway cluster. DP_SKIP_BENCH=1 skips it.
if [ -z "${DP_SKIP_BENCH:-}" ]; then
    if [ "${DP_KEEP:-0}" != 1 ]; then
        dp_cleanup
    fi
    DP_CLUSTERS=()
    echo "== bench/run small: the index against the fan-in baselines (report: bench/results/small.md)"
    bash "$DP_ROOT/bench/run" small
fi
