# Concurrency stress: pgbench, 8 clients on 2 threads for 30 s, against a
# graph of 2000 actors with posts and reposts: random follows and unfollows,
# contended toggles of a few hot edges (some with a widened commit window,
# test_apply_delay), rolled-back transactions, rolled-back savepoints,
# multi-statement transactions touching several edges (INSERT ... ON
# CONFLICT DO UPDATE, UPDATE); posts (popular accounts post most: they are
# fanned out or, above fanout_limit, merged at read time), reposts, post
# deletions (cascading to reposts), contended post/delete of hot items in a
# widened window, rolled-back posts; and readers of every function,
# timelines included; meanwhile rebuild() runs every few seconds. Proves
# that at the end verify() (sets and rings) returns no rows, every graph
# function matches the reference SQL for 200 users, and every timeline and
# author feed page matches the reference query for 120 users.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use DataplaneTest;

my $N = 2000;
my $SECONDS = 30;
my $node = dp_node('stress', conf => "max_connections = 40\ndataplane.fanout_limit = 150");
load_graph($node, actors => $N, follows => 20000, big => 5, big_degree => 300);
load_items($node, actors => $N, posts => 20000, reposts => 4000);
verify_clean($node, 'before the run');
is(dp_state($node), 'ready', 'the index is ready before the run');

my %scripts = (
	# a follow
	'001_follow@6' => qq{
\\set a random(1, $N)
\\set b random(1, $N)
INSERT INTO dataplane.follow (follower, followee) SELECT :a::int, :b::int WHERE :a::int <> :b::int ON CONFLICT DO NOTHING;
},
	# an unfollow of an existing edge
	'002_unfollow@5' => qq{
\\set a random(1, $N)
\\set b random(1, $N)
DELETE FROM dataplane.follow WHERE follower = :a::int
  AND followee = (SELECT min(followee) FROM dataplane.follow WHERE follower = :a::int AND followee >= :b::int);
},
	# contended toggles of hot edges among 20 accounts (self-follows too)
	'003_hot@4' => q{
\set a random(1, 20)
\set b random(1, 20)
\set op random(0, 1)
INSERT INTO dataplane.follow (follower, followee) SELECT :a::int, :b::int WHERE :op = 1 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower = :a::int AND followee = :b::int AND :op = 0;
},
	# the same, with the apply delayed after the commit became visible
	'004_hot_delayed@2' => q{
\set a random(1, 20)
\set b random(1, 20)
\set op random(0, 1)
BEGIN;
SET LOCAL dataplane.test_apply_delay = 20;
INSERT INTO dataplane.follow (follower, followee) SELECT :a::int, :b::int WHERE :a::int <> :b::int AND :op = 1 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower = :a::int AND followee = :b::int AND :op = 0;
COMMIT;
},
	# a rolled-back transaction
	'005_rollback@1' => qq{
\\set a random(1, $N)
\\set b random(1, $N)
BEGIN;
INSERT INTO dataplane.follow (follower, followee) SELECT :a::int, :b::int WHERE :a::int <> :b::int ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower = :b::int;
SELECT dataplane.following_count(:a::int);
ROLLBACK;
},
	# a savepoint rolled back, the rest committed
	'006_savepoint@2' => qq{
\\set a random(1, $N)
\\set b random(1, $N)
\\set c random(1, 20)
BEGIN;
INSERT INTO dataplane.follow (follower, followee) SELECT :a::int, :b::int WHERE :a::int <> :b::int ON CONFLICT DO NOTHING;
SAVEPOINT s;
DELETE FROM dataplane.follow WHERE follower = :a::int;
INSERT INTO dataplane.follow (follower, followee) SELECT :a::int, :c::int WHERE :a::int <> :c::int ON CONFLICT DO NOTHING;
ROLLBACK TO SAVEPOINT s;
INSERT INTO dataplane.follow (follower, followee) SELECT :b::int, :c::int WHERE :b::int <> :c::int ON CONFLICT DO NOTHING;
SAVEPOINT t;
DELETE FROM dataplane.follow WHERE follower = :c::int AND followee = :a::int;
RELEASE SAVEPOINT t;
COMMIT;
},
	# several edges, several statements
	'007_multi@2' => qq{
\\set a random(1, $N)
\\set b random(1, $N - 10)
\\set c random(1, $N)
\\set d random(1, 20)
BEGIN;
INSERT INTO dataplane.follow (follower, followee)
  SELECT :a::int, x FROM generate_series(:b::int, :b::int + 6) x WHERE x <> :a::int ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower = :c::int AND followee BETWEEN :b::int AND :b::int + 100;
UPDATE dataplane.follow SET created_at = now() WHERE follower = :a::int AND followee > :b::int;
INSERT INTO dataplane.follow (follower, followee) SELECT :c::int, :d::int WHERE :c::int <> :d::int
  ON CONFLICT (follower, followee) DO UPDATE SET created_at = now();
DELETE FROM dataplane.follow WHERE follower = :a::int AND followee = :b::int + 3;
COMMIT;
},
	# a post: popular accounts (1..20) post half of them; some in the past
	'009_post@5' => qq{
\\set a random(1, $N)
\\set h random(1, 20)
\\set p random(0, 1)
\\set back random(0, 3)
INSERT INTO dataplane.post (author, created_at)
  VALUES (CASE WHEN :p = 1 THEN :h::int ELSE :a::int END, now() - :back * interval '1 hour');
},
	# a repost of a recent post (odd ids: the deletions below take even
	# ones, so that no repost races the deletion of its post)
	'010_repost@2' => qq{
\\set a random(1, $N)
\\set k random(0, 200)
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT :a::int, id, now() FROM dataplane.post WHERE id % 2 = 1 AND id < 900000000
   ORDER BY id DESC OFFSET :k LIMIT 1
  ON CONFLICT DO NOTHING;
},
	# a post deleted (its reposts go with it)
	'011_delete_post@1' => qq{
\\set k random(0, 500)
DELETE FROM dataplane.post WHERE id = (SELECT id FROM dataplane.post WHERE id % 2 = 0
   AND id < 900000000 ORDER BY id DESC OFFSET :k LIMIT 1);
},
	# hot items, posted and deleted again and again, in a widened window
	'012_hot_item@2' => q{
\set h random(1, 8)
\set op random(0, 1)
BEGIN;
SET LOCAL dataplane.test_apply_delay = 10;
INSERT INTO dataplane.post (id, author, created_at)
  SELECT 900000000 + :h, 1 + :h % 5, '2026-06-01'::timestamptz + :h * interval '1 s' WHERE :op = 1
  ON CONFLICT DO NOTHING;
DELETE FROM dataplane.post WHERE id = 900000000 + :h AND :op = 0;
COMMIT;
},
	# a rolled-back post, and a post kept under a rolled-back savepoint
	'013_post_rollback@1' => qq{
\\set a random(1, $N)
BEGIN;
INSERT INTO dataplane.post (author, created_at) VALUES (:a::int, now());
SAVEPOINT s;
DELETE FROM dataplane.post WHERE author = :a::int;
ROLLBACK TO SAVEPOINT s;
INSERT INTO dataplane.post (author, created_at) VALUES (:a::int, now() - interval '1 day');
ROLLBACK;
},
	# timeline readers (their first read builds their feed ring)
	'014_timeline@6' => qq{
\\set a random(1, $N)
\\set h random(1, 50)
SELECT count(*) FROM dataplane.get_timeline(:a::int, 20);
SELECT count(*) FROM dataplane.get_timeline(:h::int, 50);
SELECT count(*) FROM dataplane.get_author_feed(:h::int, 10);
},
	# readers
	'008_read@5' => qq{
\\set a random(1, $N)
\\set b random(1, $N)
\\set h random(1, 20)
SELECT dataplane.follows(:a::int, :b::int), dataplane.follows(:h::int, :a::int);
SELECT dataplane.follower_count(:a::int), dataplane.following_count(:h::int);
SELECT dataplane.social_proof_count(:a::int, :b::int), dataplane.social_proof_count(:h::int, :b::int);
SELECT count(*) FROM dataplane.followers(:h::int, 50, :a::int);
SELECT count(*) FROM dataplane.social_proof(:a::int, :h::int, 5);
},
);

# rebuild() every 3 s while pgbench runs: builds race the writers too.
my $rebuilder = bg_start(
	$node, qq{
DO \$\$
DECLARE t0 timestamptz := clock_timestamp(); n int := 0;
BEGIN
  PERFORM pg_sleep(2);
  WHILE clock_timestamp() < t0 + interval '@{[ $SECONDS - 4 ]} s' LOOP
    PERFORM dataplane.rebuild();
    n := n + 1;
    PERFORM pg_sleep(3);
  END LOOP;
  RAISE NOTICE 'rebuilds: %', n;
END \$\$;});

my $t0 = time;
$node->pgbench(
	"-n -c 8 -j 2 -T $SECONDS -M prepared --max-tries=50 --failures-detailed",
	0,
	[
		qr/number of transactions actually processed: [1-9]/,
		qr/number of failed transactions: 0 /
	],
	[],
	'pgbench stress run',
	\%scripts);
note sprintf('pgbench ran %.1f s', time - $t0);
my ($rout, $rerr) = bg_finish($rebuilder);
like($rerr, qr/NOTICE:  rebuilds: [1-9]/, 'rebuild() ran during the stress run');
unlike($rerr, qr/ERROR/, 'rebuild() did not fail');

my $st = $node->safe_psql('postgres',
	'SELECT state, commits_applied, stale_changes, invalid_sets, builds, reads_index, reads_fallback FROM dataplane.status()');
note "state, commits_applied, stale_changes, invalid_sets, builds, reads_index, reads_fallback: $st";
like($st, qr/^ready\|/, 'after the run the index is ready');
my (undef, $commits) = split /\|/, $st;
ok($commits > 1000, "the run committed many transactions ($commits applied)");
verify_clean($node, 'after the run');
check_functions($node, 'after the run', sample => sample_sql($N, 200));
check_timelines($node, 'after the run', actors => $N);
my $tl = $node->safe_psql('postgres',
	'SELECT pages_index, pages_fallback, feed_rings, fanout_changes, backfills, celebrities, stale_items FROM dataplane.status()');
note "pages_index, pages_fallback, feed_rings, fanout_changes, backfills, celebrities, stale_items: $tl";
my ($pi, undef, $fr, $fo) = split /\|/, $tl;
ok($pi > 1000 && $fr > 100 && $fo > 0, 'the run read timelines from memory and fanned posts out');
# Every user, counts only.
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM generate_series(1, $N) u
 WHERE dataplane.follower_count(u) <> (SELECT count(*) FROM dataplane.follow WHERE followee = u)
    OR dataplane.following_count(u) <> (SELECT count(*) FROM dataplane.follow WHERE follower = u)}
	),
	'0',
	'after the run: follower and following counts of every user match the table');
# The hot edges: every pair.
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM generate_series(1, 20) a, generate_series(1, 20) b
 WHERE dataplane.follows(a, b) <> EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = a AND followee = b)}
	),
	'0',
	'after the run: follows() of every hot pair matches the table');

# Deleting an actor cascades to its follows.
$node->safe_psql('postgres', 'DELETE FROM dataplane.actor WHERE uid IN (1, 2, 1999)');
is( $node->safe_psql(
		'postgres',
		'SELECT dataplane.follower_count(1) + dataplane.following_count(2) + dataplane.following_count(1999) '
		  . '+ (SELECT count(*) FROM generate_series(3, 20) u WHERE dataplane.follows(u, 1) OR dataplane.follows(u, 2))'
	),
	'0',
	'a deleted actor\'s follows are gone from the index (ON DELETE CASCADE)');
verify_clean($node, 'after the cascade');
check_timelines($node, 'after the cascade', sample => sample_sql($N, 60));

$node->stop;
done_testing();
