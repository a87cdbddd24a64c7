# The commit-order window: a transaction's commit becomes visible before
# its changes reach the index (XACT_EVENT_COMMIT runs after the commit
# record). dataplane.test_apply_delay widens that window. Proves that
#  - a second transaction that sees the first one's row and commits a change
#    to the same edge inside the window wins, as in the table (insert then
#    delete, delete then re-insert, 1000 edges at once of which half are
#    deleted, on one user and spread over many);
#  - a read inside the window already sees the visible commit;
#  - verify() returns no rows afterwards.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use DataplaneTest;

my $N = 5000;
my $node = dp_node('race');
load_graph($node, actors => $N, follows => 50000, big => 5, big_degree => 200);
verify_clean($node, 'initial build');
is(dp_state($node), 'ready', 'the index is ready');

my $DELAY = 3000;    # ms

# Starts $sql in a session with the apply delay; returns once its commit is
# visible to others ($visible_sql returns 't').
sub delayed_commit
{
	my ($label, $sql, $visible_sql) = @_;
	my $sa = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $sa->query_safe('SELECT pg_backend_pid()');
	$sa->query_safe("SET dataplane.test_apply_delay = $DELAY");
	my $t0 = time;
	$sa->query_until(qr/a_sent/, "\\echo a_sent\n$sql\n\\echo a_done\n");
	ok(wait_until($node, $visible_sql, 't', 30), "$label: A's commit is visible");
	return ($sa, $pid, $t0);
}

# Waits for A; checks that it was still applying when $checked_at was taken.
sub finish_a
{
	my ($label, $sa, $pid, $t0, $checked_at) = @_;
	ok($checked_at - $t0 < $DELAY / 1000.0,
		sprintf("$label: B committed inside A's apply delay (%.2f s after A began)",
			$checked_at - $t0));
	my $out = $sa->query_until(qr/a_done/, '');
	my $err = $sa->{stderr};
	$sa->quit;
	unlike($err, qr/ERROR/, "$label: A committed without error");
	ok(time - $t0 >= $DELAY / 1000.0 - 0.1, "$label: A's commit took the apply delay");
}

sub graph_matches
{
	my ($label, $users, $may_degrade) = @_;
	is( $node->safe_psql(
			'postgres', qq{
SELECT count(*) FROM unnest(ARRAY[$users]) u
 WHERE dataplane.follower_count(u) <> (SELECT count(*) FROM dataplane.follow WHERE followee = u)
    OR dataplane.following_count(u) <> (SELECT count(*) FROM dataplane.follow WHERE follower = u)
    OR ARRAY(SELECT dataplane.followers(u, 100000)) <> ARRAY(SELECT follower FROM dataplane.follow WHERE followee = u ORDER BY 1)
    OR ARRAY(SELECT dataplane.following(u, 100000)) <> ARRAY(SELECT followee FROM dataplane.follow WHERE follower = u ORDER BY 1)}
		),
		'0',
		"$label: counts and lists of the users involved match the table");
	my $st = $node->safe_psql('postgres',
		'SELECT state, invalid_sets, stale_changes FROM dataplane.status()');
	note "$label: state, invalid_sets, stale_changes: $st";
	like($st, qr/^ready\|0\|/, "$label: the index is ready (nothing invalidated)")
	  unless $may_degrade;
	verify_clean($node, $label);
}

# Two users with no edge between them.
my ($u, $v) = (4001, 4002);
$node->safe_psql('postgres',
	"DELETE FROM dataplane.follow WHERE (follower, followee) IN (($u, $v), ($v, $u))");

# ----------------------------------- A inserts (delayed), B deletes it
{
	my $label = 'insert then delete';
	my ($sa, $pid, $t0) = delayed_commit($label,
		"INSERT INTO dataplane.follow (follower, followee) VALUES ($u, $v);",
		"SELECT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = $u AND followee = $v)");
	# A reader inside the window sees A's commit.
	is($node->safe_psql('postgres', "SELECT dataplane.follows($u, $v)"),
		't', "$label: a read inside the window sees A's edge");
	is( $node->safe_psql(
			'postgres',
			"SELECT dataplane.follower_count($v) = (SELECT count(*) FROM dataplane.follow WHERE followee = $v)"
		),
		't',
		"$label: follower_count inside the window matches the table");
	is($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $pid"),
		'active', "$label: A is still applying during the read");
	$node->safe_psql('postgres',
		"DELETE FROM dataplane.follow WHERE follower = $u AND followee = $v");
	my $tb = time;
	finish_a($label, $sa, $pid, $t0, $tb);
	is($node->safe_psql('postgres', "SELECT dataplane.follows($u, $v)"),
		'f', "$label: follows() is false after both commits");
	graph_matches($label, "$u, $v");
}

# ----------------------------- A deletes (delayed), B re-inserts it
{
	my $label = 'delete then re-insert';
	$node->safe_psql('postgres',
		"INSERT INTO dataplane.follow (follower, followee) VALUES ($u, $v)");
	is($node->safe_psql('postgres', "SELECT dataplane.follows($u, $v)"),
		't', "$label: the edge is there");
	my ($sa, $pid, $t0) = delayed_commit($label,
		"DELETE FROM dataplane.follow WHERE follower = $u AND followee = $v;",
		"SELECT NOT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = $u AND followee = $v)");
	is($node->safe_psql('postgres', "SELECT dataplane.follows($u, $v)"),
		'f', "$label: a read inside the window sees A's delete");
	$node->safe_psql('postgres',
		"INSERT INTO dataplane.follow (follower, followee) VALUES ($u, $v)");
	my $tb = time;
	finish_a($label, $sa, $pid, $t0, $tb);
	is($node->safe_psql('postgres', "SELECT dataplane.follows($u, $v)"),
		't', "$label: follows() is true after both commits");
	graph_matches($label, "$u, $v");
}

# ----------------------- A inserts then B deletes then C re-inserts
{
	my $label = 'insert, delete, re-insert';
	$node->safe_psql('postgres',
		"DELETE FROM dataplane.follow WHERE follower = $v AND followee = $u");
	my ($sa, $pid, $t0) = delayed_commit($label,
		"INSERT INTO dataplane.follow (follower, followee) VALUES ($v, $u);",
		"SELECT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = $v AND followee = $u)");
	# B's commit is delayed too (1.5 s): both are in their window when C
	# commits, and the applies run in the order C, B, A.
	my $sb = bg_start($node, "SET dataplane.test_apply_delay = 1500;
DELETE FROM dataplane.follow WHERE follower = $v AND followee = $u;");
	ok( wait_until(
			$node,
			"SELECT NOT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = $v AND followee = $u)",
			't', 30),
		"$label: B's delete is visible");
	is($node->safe_psql('postgres', "SELECT dataplane.follows($v, $u)"),
		'f', "$label: a read inside both windows sees B's delete");
	$node->safe_psql('postgres',
		"INSERT INTO dataplane.follow (follower, followee) VALUES ($v, $u)");
	my $tb = time;
	my ($out, $err) = bg_finish($sb);
	is($err, '', "$label: B committed without error");
	finish_a($label, $sa, $pid, $t0, $tb);
	is($node->safe_psql('postgres', "SELECT dataplane.follows($v, $u)"),
		't', "$label: follows() is true after the three commits");
	graph_matches($label, "$u, $v");
}

# ------------------ many edges: A inserts 1000 (delayed), B deletes half
sub many_edges
{
	my ($label, $edges_sql, $users_sql, $may_degrade) = @_;
	# Start from a ready index: an earlier case may have dropped sets.
	$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
	is(dp_state($node), 'ready', "$label: the index is ready before the race");
	$node->safe_psql('postgres', "CREATE TABLE IF NOT EXISTS race_edges (k int, follower int, followee int);
TRUNCATE race_edges;
INSERT INTO race_edges SELECT row_number() OVER (), * FROM ($edges_sql) e;
DELETE FROM dataplane.follow f USING race_edges r WHERE f.follower = r.follower AND f.followee = r.followee;");
	my ($sa, $pid, $t0) = delayed_commit(
		$label,
		'INSERT INTO dataplane.follow (follower, followee) SELECT follower, followee FROM race_edges;',
		'SELECT count(*) = 1000 FROM dataplane.follow f JOIN race_edges r USING (follower, followee)');
	# B deletes every other edge.
	$node->safe_psql('postgres',
		'DELETE FROM dataplane.follow f USING race_edges r WHERE f.follower = r.follower '
		  . 'AND f.followee = r.followee AND r.k % 2 = 0');
	# Reads inside the window (A still applying, B applied).
	is( $node->safe_psql(
			'postgres',
			'SELECT count(*) FILTER (WHERE dataplane.follows(follower, followee)) FROM race_edges WHERE k <= 10'),
		'5', "$label: reads inside the window see A's and B's commits");
	finish_a($label, $sa, $pid, $t0, time);
	is( $node->safe_psql(
			'postgres',
			'SELECT count(*) FILTER (WHERE dataplane.follows(follower, followee)), '
			  . 'count(*) FILTER (WHERE dataplane.follows(follower, followee) <> (k % 2 = 1)) '
			  . 'FROM race_edges'),
		'500|0',
		"$label: the 500 deleted edges are gone, the 500 others are there");
	my $users = $node->safe_psql('postgres', "SELECT string_agg(DISTINCT u::text, ',') FROM ($users_sql) x(u)");
	graph_matches($label, $users, $may_degrade);
}

# 500 keys of one set overtaken in one stripe: more than the commit-order
# table of a stripe holds; the set may be dropped from the index (read from
# the tables) rather than risk a wrong order.
many_edges('1000 edges of one follower',
	"SELECT 4003, g FROM generate_series(1, 1000) g",
	'SELECT follower FROM race_edges UNION SELECT followee FROM race_edges', 1);
many_edges('1000 edges of 50 followers',
	"SELECT 4100 + g % 50, 1 + (g * 37) % $N FROM generate_series(1, 1000) g",
	'SELECT follower FROM race_edges UNION SELECT followee FROM race_edges');
many_edges('1000 followers of one account',
	"SELECT g, 7 FROM generate_series(2000, 2999) g",
	'SELECT follower FROM race_edges UNION SELECT followee FROM race_edges', 1);

check_functions($node, 'after the races', actors => $N);

$node->stop;
done_testing();
