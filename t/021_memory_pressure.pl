# Memory pressure (issue 15): many viewers read in turn under a
# memory_limit that holds a fraction of their feed rings. The index must
# not thrash (a ring built for every read): viewers it holds no ring for
# get pages merged from the author rings, ring builds stay a small share of
# reads, status() reports the pressure and the log says which memory_limit
# would fit. Every page stays exact (the reference query), also with a
# short dataplane.ring_max_age, which trims the author rings.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 3000;
my $SECONDS = 12;
my $node = dp_node('pressure',
	conf => "dataplane.memory_limit = 6MB\ndataplane.pressure_window = 2s\n"
	  . "dataplane.ring_max_age = 0");
load_graph($node, actors => $N, follows => 45000, big => 5, big_degree => 400);
load_items($node, actors => $N, posts => 30000, reposts => 6000);
$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
verify_clean($node, 'after the build');

my $cols = 'feed_builds, evictions, pages_index, pages_without_ring, rings_not_admitted, '
  . 'feed_rings, memory_used, memory_limit';
my @before = split /\|/, $node->safe_psql('postgres', "SELECT $cols FROM dataplane.status()");
note "before: $cols = @before";

# Readers: every viewer, uniformly at random: a working set several times
# what memory holds.
$node->pgbench(
	"--no-vacuum --client=2 --jobs=2 --time=$SECONDS",
	0, [qr{processed: [1-9]}], [qr{^$}],
	'readers cycle through every viewer',
	{ '001_read' => qq{
\\set v random(1, $N)
SELECT count(*) FROM dataplane.get_timeline(:v, 50);
} });

my @after = split /\|/, $node->safe_psql('postgres', "SELECT $cols FROM dataplane.status()");
note "after:  $cols = @after";
my ($builds, $evictions, $pages, $ringless, $denied) =
  map { $after[$_] - $before[$_] } 0 .. 4;
cmp_ok($pages, '>', 1000, "readers read ($pages pages from the index)");
cmp_ok($ringless, '>', $pages / 3,
	"most pages were merged from the author rings ($ringless of $pages)");
cmp_ok($denied, '>', 0, "viewers were refused a ring ($denied)");
cmp_ok($builds / $pages, '<', 0.15,
	sprintf("ring builds stay a small share of reads (%d builds, %.3f per read)", $builds,
		$builds / $pages));
cmp_ok($after[6], '<=', $after[7], 'memory stays within memory_limit');

# status() reports the window, and a memory_limit that would hold it all.
is($node->safe_psql('postgres',
	q{SELECT pressure_window_s IS NOT NULL AND ring_builds_per_s IS NOT NULL
	     AND evictions_per_s IS NOT NULL AND active_viewers > 0
	   FROM dataplane.status()}),
	't', 'status() reports a complete pressure window');
# One more window of reads, so that the last complete one is under pressure.
$node->pgbench(
	"--no-vacuum --client=2 --jobs=2 --time=4",
	0, [qr{processed: [1-9]}], [qr{^$}],
	'readers read on for a window',
	{ '002_read' => qq{
\\set v random(1, $N)
SELECT count(*) FROM dataplane.get_timeline(:v, 50);
} });
my ($share, $viewers, $needed, $limit) = split /\|/, $node->safe_psql('postgres',
	'SELECT pages_without_ring_share, active_viewers, memory_needed, memory_limit FROM dataplane.status()');
note "share $share, viewers $viewers, needed $needed, limit $limit";
cmp_ok($share, '>', 0.3, 'status(): the share of pages without a ring');
cmp_ok($viewers, '>', $N / 2, "status(): the viewers who read ($viewers of $N)");
cmp_ok($needed, '>', $limit, 'status(): memory_needed is above memory_limit');

my $log = slurp_file($node->logfile);
like($log, qr/memory_limit is short of the timelines being read.*\n.*DETAIL:.*viewers read.*\n.*HINT:  Set dataplane\.memory_limit = '\d+MB'/,
	'the log says memory_limit is short, and which would do');

# Under the same pressure, every page is exact.
check_timelines($node, 'under pressure', actors => $N);
verify_clean($node, 'under pressure');

# A short ring_max_age trims the author rings; pages that reach below them
# are read from the tables, exactly.
my $items_before = status_field($node, 'author_items');
# What the rings should keep: per source, its newest $keep items whatever
# their age, and the others no older than 2 days before the newest item
# (at most author_capacity, 1000, in all).
sub ring_model {
	my ($keep) = @_;
	return $node->safe_psql('postgres', qq{
WITH items AS (
  SELECT author AS src, created_at, id, 1 AS rank FROM dataplane.post
  UNION ALL SELECT reposter, created_at, id, 2 FROM dataplane.repost),
newest AS (SELECT least(max(created_at), now()) AS t FROM items),
ranked AS (SELECT src, created_at,
                  row_number() OVER (PARTITION BY src ORDER BY created_at DESC, id DESC, rank DESC) AS rn
             FROM items)
SELECT count(*) FROM ranked, newest
 WHERE rn <= 1000 AND (rn <= $keep OR created_at >= newest.t - interval '2 days')});
}
# ring_keep_newest = 16: rare posters keep their newest 16.
$node->safe_psql('postgres', "ALTER SYSTEM SET dataplane.ring_max_age = '2d'");
$node->safe_psql('postgres', "ALTER SYSTEM SET dataplane.ring_keep_newest = 16");
$node->reload;
$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
my $items_16 = status_field($node, 'author_items');
cmp_ok($items_16, '<', $items_before,
	"ring_max_age trims the author rings ($items_before -> $items_16 items)");
is($items_16, ring_model(16), 'with ring_keep_newest = 16 the rings keep what the bound says (a model in SQL)');
check_timelines($node, 'with ring_max_age = 2d, ring_keep_newest = 16', actors => $N);
verify_clean($node, 'with ring_max_age = 2d, ring_keep_newest = 16');
# The default, ring_keep_newest = 0: only items younger than the bound
# (an author with none keeps a header alone).
$node->safe_psql('postgres', "ALTER SYSTEM RESET dataplane.ring_keep_newest");
$node->reload;
$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
my $items_after = status_field($node, 'author_items');
cmp_ok($items_after, '<', $items_16,
	"ring_keep_newest = 0 keeps fewer ($items_16 -> $items_after items)");
is($items_after, ring_model(0), 'with ring_keep_newest = 0 the rings keep what the bound says (a model in SQL)');
check_timelines($node, 'with ring_max_age = 2d', actors => $N);
verify_clean($node, 'with ring_max_age = 2d');
# New posts keep trimming the rings they reach.
$node->safe_psql('postgres', q{
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % 20, '2026-01-16'::timestamptz + g * interval '1 second' FROM generate_series(1, 2000) g;
});
check_timelines($node, 'after new posts with ring_max_age', actors => $N);
verify_clean($node, 'after new posts with ring_max_age');

$node->stop;
done_testing();
