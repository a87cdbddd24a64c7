# Author rings bounded by age and by use (issue 15): a page that reads
# below the rings' age bound gives the rows it read from the tables to the
# sources' author rings (ring_deepen.hpp), so that the same pages, read
# again, come from memory. What a ring holds must stay exactly its items
# above its horizon: verify() and the reference query say so after sparse
# pages are read, while writers insert, backdate and delete items inside
# the deepened ranges and post new ones (which trim them), under a
# memory_limit whose eviction sweep trims deep rings back, and with author
# rings of 3 items.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 1500;
my $SECONDS = 8;
my $node = dp_node('deep', conf => "dataplane.ring_max_age = '6h'");
# Few follows each: most timelines are sparse, their pages span days.
load_graph($node, actors => $N, follows => 9000, big => 3, big_degree => 150);
load_items($node, actors => $N, posts => 15000, reposts => 3000);
load_moderation($node, actors => $N);
$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
verify_clean($node, 'after the build');

my $cols = 'pages_fallback_horizon, author_rings_deepened, author_items';
my @s0 = split /\|/, $node->safe_psql('postgres', "SELECT $cols FROM dataplane.status()");
check_timelines($node, 'first reads', actors => $N);
my @s1 = split /\|/, $node->safe_psql('postgres', "SELECT $cols FROM dataplane.status()");
my $h1 = $s1[0] - $s0[0];
cmp_ok($h1, '>', 0, "pages reached below the age bound ($h1)");
cmp_ok($s1[1] - $s0[1], '>', 0, 'author rings took the rows those pages read (' . ($s1[1] - $s0[1]) . ')');
cmp_ok($s1[2], '>', $s0[2], "the rings hold more items ($s0[2] -> $s1[2])");
verify_clean($node, 'after the rings took older items');

# The same pages again: most now come from memory.
check_timelines($node, 'read again', actors => $N);
my @s2 = split /\|/, $node->safe_psql('postgres', "SELECT $cols FROM dataplane.status()");
my $h2 = $s2[0] - $s1[0];
cmp_ok($h2, '<', $h1 / 2, "read again, fewer pages reach the tables ($h1 -> $h2)");
check_moderation($node, 'deep rings, filtered', actors => $N);

# Writers inside the deepened ranges (backdated posts, deletes, a created_at
# moved back) and at the newest end (new posts trim the deep parts), while
# readers page through sparse timelines and deepen rings again.
$node->pgbench(
	"--no-vacuum --client=4 --jobs=2 --time=$SECONDS",
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'readers deepen rings while writers change them',
	{
		'001_read@6' => qq{
\\set v random(1, $N)
SELECT count(*) FROM dataplane.get_timeline(:v, 50);
SELECT count(*) FROM dataplane.get_timeline(:v, 20, '2026-01-08', NULL);
},
		'002_backdated@2' => qq{
\\set a random(1, $N)
\\set s random(0, 1209600)
INSERT INTO dataplane.post (author, created_at)
  VALUES (:a, '2026-01-01'::timestamptz + :s * interval '1 second');
},
		'003_delete@2' => q{
\set k random(1, 15000)
DELETE FROM dataplane.post
 WHERE id = (SELECT min(id) FROM dataplane.post) + :k;
},
		'004_move_back@1' => q{
\set k random(1, 15000)
UPDATE dataplane.post SET created_at = created_at - interval '2 days'
 WHERE id = (SELECT min(id) FROM dataplane.post) + :k;
},
		'005_new@1' => qq{
\\set a random(1, $N)
INSERT INTO dataplane.post (author, created_at)
  VALUES (:a, '2026-01-15 00:00'::timestamptz + random() * interval '2 hours');
},
	});
my @s3 = split /\|/, $node->safe_psql('postgres', "SELECT $cols FROM dataplane.status()");
cmp_ok($s3[1] - $s2[1], '>', 0,
	'rings were deepened while writers ran (' . ($s3[1] - $s2[1]) . ')');
verify_clean($node, 'after readers and writers');
check_timelines($node, 'after readers and writers', actors => $N);
check_moderation($node, 'after readers and writers', actors => $N);

# Under a memory_limit that holds a fraction of the feed rings, the sweep
# trims deep rings back (the second time it passes them) while readers
# deepen them again.
$node->append_conf('postgresql.conf', "dataplane.memory_limit = 3MB\n");
$node->restart;
ok(wait_state($node, 'ready'), 'the index is built again under a small memory_limit');
my @e0 = split /\|/, $node->safe_psql('postgres', 'SELECT evictions, author_rings_deepened FROM dataplane.status()');
$node->pgbench(
	"--no-vacuum --client=2 --jobs=2 --time=$SECONDS",
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'readers under pressure',
	{
		'011_read' => qq{
\\set v random(1, $N)
SELECT count(*) FROM dataplane.get_timeline(:v, 50);
},
		'012_new@1' => qq{
\\set a random(1, $N)
INSERT INTO dataplane.post (author, created_at)
  VALUES (:a, '2026-01-15 02:00'::timestamptz + random() * interval '1 hour');
},
	});
my @e1 = split /\|/, $node->safe_psql('postgres', 'SELECT evictions, author_rings_deepened FROM dataplane.status()');
cmp_ok($e1[0] - $e0[0], '>', 0, 'the sweep ran (' . ($e1[0] - $e0[0]) . ' evictions)');
cmp_ok($e1[1] - $e0[1], '>', 0, 'rings were deepened under pressure (' . ($e1[1] - $e0[1]) . ')');
verify_clean($node, 'under pressure');
check_timelines($node, 'under pressure', actors => $N);

# Tiny author rings (author_capacity = 3): a ring takes only the newest of
# the rows a page read, up to its capacity, and its horizon stays above the
# rest; pages read twice stay exact.
$node->append_conf('postgresql.conf', "dataplane.memory_limit = 64MB\ndataplane.author_capacity = 3\n");
$node->restart;
ok(wait_state($node, 'ready'), 'the index is built again with author_capacity = 3');
my $d0 = status_field($node, 'author_rings_deepened');
check_timelines($node, 'author_capacity = 3', actors => $N);
check_timelines($node, 'author_capacity = 3, read again', actors => $N);
cmp_ok(status_field($node, 'author_rings_deepened') - $d0, '>', 0,
	'rings under their capacity took rows (' . (status_field($node, 'author_rings_deepened') - $d0) . ')');
verify_clean($node, 'author_capacity = 3');

$node->stop;
done_testing();
