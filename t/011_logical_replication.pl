# A logical replication subscriber is exact (issue 12, item 2). A publisher
# (wal_level = logical) and a subscriber, both with the extension preloaded
# and created; a publication of the extension's tables (actor, follow, post,
# repost) and a subscription that copies the rows first. The subscriber's
# index is built and ready before the publisher writes, so that what the
# apply worker writes must reach the index: follows inserted and deleted,
# posts and reposts inserted, posts deleted (their reposts with them),
# created_at and author updates, a TRUNCATE of repost, more inserts after
# it. Once the subscriber has caught up, its reads must equal SQL over its
# own tables and verify() must find nothing.
#
# PostgreSQL's apply worker fires row-level triggers only (statement
# triggers fire for the initial copy and for TRUNCATE): with statement-level
# capture triggers the subscriber's index misses every replicated change
# while status() says 'ready'.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 300;
my $pub = dp_node('publisher',
	conf => "wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10");
my $sub = dp_node('subscriber', conf => "max_replication_slots = 10");

load_graph($pub, actors => $N, follows => 4000, big => 3, big_degree => 100);
load_items($pub, actors => $N, posts => 900, reposts => 200);

# Extension member tables in a publication.
my ($rc, $out, $err) = $pub->psql('postgres',
	'CREATE PUBLICATION dp_pub FOR TABLE dataplane.actor, dataplane.follow, '
	  . 'dataplane.post, dataplane.repost');
is($rc, 0, 'CREATE PUBLICATION accepts the extension\'s tables') or diag $err;
is( $pub->safe_psql('postgres',
		"SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'dp_pub'"),
	'actor,follow,post,repost',
	'the publication holds the four tables');

my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION dp_sub CONNECTION '$connstr' PUBLICATION dp_pub WITH (copy_data = true)");
$sub->wait_for_subscription_sync($pub, 'dp_sub');

my $counts = 'SELECT (SELECT count(*) FROM dataplane.actor), (SELECT count(*) FROM dataplane.follow), '
  . '(SELECT count(*) FROM dataplane.post), (SELECT count(*) FROM dataplane.repost)';
is($sub->safe_psql('postgres', $counts), $pub->safe_psql('postgres', $counts),
	'the initial copy brought every row');

# The subscriber's index, built from the copied rows, with feed rings for
# the sample's viewers (check_timelines reads them).
ok( wait_until(
		$sub,
		"SELECT dataplane.follows(1, 2) IS NOT NULL AND state = 'ready' FROM dataplane.status()",
		't', 60),
	'the subscriber\'s index is ready after the initial copy');
check_functions($sub, 'subscriber after the initial copy', actors => $N);
check_timelines($sub, 'subscriber after the initial copy', actors => $N);
verify_clean($sub, 'subscriber after the initial copy');
my $commits_before = status_field($sub, 'commits_applied');

# An edge that does not exist yet: 14 -> $b.
my $b = $pub->safe_psql('postgres',
	"SELECT max(u) FROM generate_series(1, $N) u WHERE u <> 14 AND NOT EXISTS "
	  . '(SELECT 1 FROM dataplane.follow WHERE follower = 14 AND followee = u)');

# The publisher's writes, one transaction per statement unless grouped.
$pub->safe_psql(
	'postgres', qq{
-- follows: one edge, then a batch
INSERT INTO dataplane.follow (follower, followee) VALUES (14, $b);
INSERT INTO dataplane.follow (follower, followee)
  SELECT f, 1 + (f * 37 + g * 11) % $N FROM generate_series(1, 40) f, generate_series(1, 5) g
  WHERE f <> 1 + (f * 37 + g * 11) % $N
  ON CONFLICT DO NOTHING;
-- unfollows: some of 1's and 2's edges, and followers of a popular account
DELETE FROM dataplane.follow WHERE follower = 1
   AND followee IN (SELECT followee FROM dataplane.follow WHERE follower = 1 ORDER BY followee LIMIT 5);
DELETE FROM dataplane.follow WHERE followee = 3 AND follower % 4 = 0;
-- a transaction that follows and unfollows
BEGIN;
INSERT INTO dataplane.follow (follower, followee)
  SELECT 2, u FROM generate_series(1, 30) u WHERE u <> 2 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower = 2 AND followee > 250;
COMMIT;
-- a rolled-back transaction (never replicated)
BEGIN;
DELETE FROM dataplane.follow WHERE follower = 5;
ROLLBACK;
-- new posts, newest of all, by authors the sample's viewers follow
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % 25, '2026-02-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 120) g;
-- reposts of new and of old posts
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT 1 + (p.id * 7) % $N, p.id, p.created_at + interval '1 hour'
    FROM dataplane.post p WHERE p.created_at >= '2026-02-01' AND p.id % 3 = 0
  ON CONFLICT DO NOTHING;
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT 1 + (p.id * 13) % 20, p.id, '2026-02-02'::timestamptz + (p.id % 100) * interval '1 minute'
    FROM dataplane.post p WHERE p.created_at < '2026-02-01' AND p.id % 9 = 0
  ON CONFLICT DO NOTHING;
-- deleted posts take their reposts with them (on the publisher; the
-- repost deletions are replicated as rows of their own)
DELETE FROM dataplane.post WHERE id IN
  (SELECT post_id FROM dataplane.repost GROUP BY post_id ORDER BY post_id LIMIT 10);
DELETE FROM dataplane.post WHERE created_at >= '2026-02-01' AND id % 10 = 1;
-- a post moved in time (to the top), and one moved to another author
UPDATE dataplane.post SET created_at = '2026-03-01'
 WHERE id = (SELECT min(id) FROM dataplane.post WHERE author <= 20);
UPDATE dataplane.post SET author = 1 + author % 20
 WHERE id = (SELECT min(post_id) FROM dataplane.repost WHERE post_id IN
             (SELECT id FROM dataplane.post WHERE author <= 20));
});
$pub->safe_psql('postgres', 'TRUNCATE dataplane.repost');
$pub->safe_psql(
	'postgres', qq{
-- more after the TRUNCATE
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % 30, '2026-02-05'::timestamptz + g * interval '1 minute' FROM generate_series(1, 60) g;
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT 1 + (p.id * 3) % 20, p.id, '2026-02-06'::timestamptz + (p.id % 50) * interval '1 minute'
    FROM dataplane.post p WHERE p.id % 4 = 0
  ON CONFLICT DO NOTHING;
INSERT INTO dataplane.follow (follower, followee)
  SELECT 20 + f, 1 + (f * 53) % 40 FROM generate_series(1, 30) f
  WHERE 20 + f <> 1 + (f * 53) % 40 ON CONFLICT DO NOTHING;
});

$pub->wait_for_catchup('dp_sub');
is($sub->safe_psql('postgres', $counts), $pub->safe_psql('postgres', $counts),
	'the subscriber has every row of the publisher');
is($sub->safe_psql('postgres',
		"SELECT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = 14 AND followee = $b)"),
	't', "the subscriber's table has the edge (14, $b)");

# The subscriber's reads.
is(dp_state($sub), 'ready', 'the subscriber\'s index is ready');
is($sub->safe_psql('postgres', "SELECT dataplane.follows(14, $b)"),
	't', "follows(14, $b) on the subscriber: the edge inserted after the copy");
ok(status_field($sub, 'commits_applied') > $commits_before,
	'the subscriber applied the replicated commits to its index');
check_functions($sub, 'subscriber after the replicated writes', actors => $N);
check_timelines($sub, 'subscriber after the replicated writes', actors => $N);
verify_clean($sub, 'subscriber after the replicated writes');
ok(status_field($sub, 'reads_index') > 0, 'the subscriber\'s reads are answered by its index');

# The publisher is exact too.
verify_clean($pub, 'publisher');
check_functions($pub, 'publisher', actors => $N);

$sub->stop;
$pub->stop;
done_testing();
