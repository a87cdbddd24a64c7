# A commit whose apply to the index runs out of process memory (injected
# with the test-only dataplane.test_fail_allocation: the Nth C++ allocation
# of the apply throws std::bad_alloc, as under vm.overcommit_memory = 2):
# the commit stays committed, the backend and the server keep running, every
# read answers exactly from the tables, status() says degraded, and
# rebuild() repairs the index.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 3000;
my $node = dp_node('oom');
load_graph($node, actors => $N, follows => 30000, big => 5, big_degree => 300);
load_items($node, actors => $N, posts => 5000, reposts => 1000);
ok(wait_state($node, 'ready'), 'the index is ready');
# Feed rings for the sample's viewers, so that the commit fans out.
check_timelines($node, 'before', actors => $N);
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

my $posts = 0;
for my $nth (1, 2, 5, 9)
{
	my $tag = "allocation $nth fails";
	my ($rc, $out, $err) = $node->psql(
		'postgres', qq{
SET dataplane.test_fail_allocation = $nth;
BEGIN;
INSERT INTO dataplane.follow (follower, followee)
  SELECT 1 + (g * 37) % $N, 1 + (g * 91) % $N FROM generate_series(1, 2000) g
  WHERE (g * 37) % $N <> (g * 91) % $N ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower IN (SELECT generate_series(1, 40)) AND followee % 5 = 0;
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % 50, '2026-02-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 500) g;
COMMIT;
SELECT 'alive';});
	is($rc, 0, "$tag: the transaction commits") or diag $err;
	like($out, qr/alive/, "$tag: the session goes on");
	# Where the core can contain the failure (a set it could not rewrite) it
	# marks just that set as not held; elsewhere the whole index is marked
	# failed, with a WARNING.
	my $invalid = status_field($node, 'invalid_sets + lost_leaves + lost_rings');
	ok($err =~ /could not be applied/ || $invalid > 0,
		"$tag: the index knows what it could not apply (WARNING, or $invalid sets not held)");
	is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started,
		"$tag: the server did not restart");
	$posts += 500;
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM dataplane.post WHERE created_at >= '2026-02-01'"),
		$posts, "$tag: the commit is durable");
	is(dp_state($node), 'degraded', "$tag: status() says degraded");
	like(status_field($node, 'reason'), qr/rebuild/, "$tag: status() says to rebuild");
	check_functions($node, "$tag, degraded", actors => $N);
	check_timelines($node, "$tag, degraded", actors => $N);
	$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
	is(dp_state($node), 'ready', "$tag: rebuild() repairs it");
	verify_clean($node, "$tag, rebuilt");
	check_functions($node, "$tag, rebuilt", actors => $N);
}

$node->stop;
done_testing();
