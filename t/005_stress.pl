# Concurrency stress: pgbench, 8 clients on 2 threads for 30 s, against a
# graph of 2000 actors: random follows and unfollows, contended toggles of a
# few hot edges (some with a widened commit window, test_apply_delay),
# rolled-back transactions, rolled-back savepoints, multi-statement
# transactions touching several edges (INSERT ... ON CONFLICT DO UPDATE,
# UPDATE), and readers; meanwhile rebuild() runs every few seconds. Proves
# that at the end verify() returns no rows and every function matches the
# reference SQL for 200 users (followers and following lists included).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use DataplaneTest;

my $N = 2000;
my $SECONDS = 30;
my $node = dp_node('stress', conf => 'max_connections = 40');
load_graph($node, actors => $N, follows => 20000, big => 5, big_degree => 300);
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

$node->stop;
done_testing();
