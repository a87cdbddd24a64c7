# Memory pressure: dataplane.memory_limit = 1MB (the minimum) with a graph
# that does not fit (100k actors, about 1M follows). Proves that
#  - every write succeeds and every read is exact (what the index does not
#    hold is read from the tables);
#  - status().state is 'degraded' (invalid_sets or lost_leaves > 0) and
#    verify() returns no rows, saying in a NOTICE that it skipped sets;
#  - after most follows are dropped, dataplane.rebuild() makes the index
#    'ready' again, and it is exact.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 100_000;
my $node = dp_node('memlimit', conf => 'dataplane.memory_limit = 1');
is($node->safe_psql('postgres', 'SHOW dataplane.memory_limit'), '1MB', 'memory_limit is 1MB');
load_graph($node, actors => $N, follows => 1_000_000);

# The first build runs out of memory.
my $err = verify_clean($node, 'degraded build');
like($err, qr/NOTICE:  dataplane.verify skipped \d+ sets or rings that the index does not hold/,
	'degraded build: verify() says it skipped sets');
is(dp_state($node), 'degraded', 'degraded build: status() says degraded');
my ($invalid, $lost, $used, $limit) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT invalid_sets, lost_leaves, memory_used, memory_limit FROM dataplane.status()');
ok($invalid + $lost > 0, "degraded build: sets were dropped ($invalid invalid sets, $lost lost leaves)");
ok($used <= $limit, "degraded build: memory used ($used) within the limit ($limit)");
check_functions($node, 'degraded build', actors => $N);
ok(status_field($node, 'fallback_unknown') > 0,
	'degraded build: reads of dropped sets used the tables');

# Writes under pressure: all succeed, reads stay exact.
my ($rc, $out, $stderr) = $node->psql(
	'postgres', qq{
INSERT INTO dataplane.follow (follower, followee)
  SELECT 1 + (g * 7919) % $N, 1 + (g * 104729) % 50 FROM generate_series(1, 20000) g
  ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE followee = 3 AND follower % 2 = 0;
INSERT INTO dataplane.follow (follower, followee)
  SELECT 1 + (g * 31) % $N, 1 + (g * 17) % $N FROM generate_series(1, 5000) g
  WHERE 1 + (g * 31) % $N <> 1 + (g * 17) % $N ON CONFLICT DO NOTHING;
BEGIN;
DELETE FROM dataplane.follow WHERE follower BETWEEN 100 AND 200;
SAVEPOINT s;
DELETE FROM dataplane.follow WHERE follower BETWEEN 200 AND 300;
ROLLBACK TO s;
COMMIT;
});
is($rc, 0, 'under pressure: writes succeed') or diag $stderr;
# Single-edge transactions, as an AppView makes them.
for my $i (1 .. 10)
{
	my $f = 1 + ($i * 4999) % $N;
	$node->safe_psql('postgres',
		"INSERT INTO dataplane.follow (follower, followee) VALUES ($f, $i), ($i, $f) ON CONFLICT DO NOTHING;"
		  . "DELETE FROM dataplane.follow WHERE follower = $f AND followee = "
		  . "(SELECT max(followee) FROM dataplane.follow WHERE follower = $f);");
}
check_functions($node, 'under pressure, after writes', actors => $N);
$err = verify_clean($node, 'under pressure, after writes');
is(dp_state($node), 'degraded', 'under pressure: still degraded');

# A restart with the same limit: degraded again, still exact.
$node->restart;
check_functions($node, 'after a restart, warming', sample => sample_sql($N, 40));
ok(wait_until($node, "SELECT state <> 'warming' FROM dataplane.status()", 't', 60),
	'after a restart: the build ends');
is(dp_state($node), 'degraded', 'after a restart: degraded');
verify_clean($node, 'after a restart');
check_functions($node, 'after a restart', actors => $N);

# Drop most follows (keep those among the first 1000 uids, about 0.3%):
# the graph fits again after a rebuild.
($rc, $out, $stderr) = $node->psql('postgres',
	'DELETE FROM dataplane.follow WHERE follower > 1000 OR followee > 1000');
is($rc, 0, 'most follows dropped');
my $left = $node->safe_psql('postgres', 'SELECT count(*) FROM dataplane.follow');
note "$left follows left";
sub check_small_graph
{
	my ($label) = @_;
	is(dp_state($node), 'ready', "$label: the index is ready again");
	is($node->safe_psql('postgres', 'SELECT invalid_sets, lost_leaves FROM dataplane.status()'),
		'0|0', "$label: no dropped sets");
	note "$label: status " . $node->safe_psql('postgres',
		'SELECT state, follow_edges, memory_used, memory_limit, invalid_sets FROM dataplane.status()');
	my $err = verify_clean($node, $label);
	unlike($err, qr/skipped/, "$label: verify() skipped nothing");
	check_functions($node, $label, sample => sample_sql(1000, 200));
	my $ri0 = status_field($node, 'reads_index');
	check_functions($node, "$label, again", sample => sample_sql(1000, 100), no_proof_check => 1);
	ok(status_field($node, 'reads_index') > $ri0, "$label: reads are answered by the index");
}
($rc, $out, $stderr) = $node->psql('postgres', 'SELECT dataplane.rebuild()');
is($rc, 0, 'rebuild() succeeds') or diag $stderr;
check_small_graph('after rebuild()');

# The same graph in a freshly started server.
$node->restart;
ok(wait_until($node, "SELECT count(*) >= 0 FROM dataplane.verify()", 't', 60),
	'after a restart: the build ends');
check_small_graph('small graph after a restart');

$node->stop;
done_testing();
