# Pages below the author rings' age bound (dataplane.ring_max_age, issue
# 15): the page's first items come from the author rings and the rest from
# the tables below the highest horizon (sql::timeline_rest). With a bound
# of a few hours almost every page is cut so; every one must equal the
# reference query, with and without the moderation filters, from the first
# page and from cursors, before and after writes below the horizons.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 600;
my $node = dp_node('recency', conf => "dataplane.ring_max_age = '6h'");
load_graph($node, actors => $N, follows => 6000, big => 3, big_degree => 200);
load_items($node, actors => $N, posts => 12000, reposts => 2400);
load_moderation($node, actors => $N);
$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
verify_clean($node, 'after the build');

my $h0 = status_field($node, 'pages_fallback_horizon');
check_timelines($node, 'ring_max_age = 6h', actors => $N);
check_moderation($node, 'ring_max_age = 6h', actors => $N);
my $h1 = status_field($node, 'pages_fallback_horizon');
cmp_ok($h1 - $h0, '>', 0, "pages reached below an author ring's horizon (" . ($h1 - $h0) . ')');

# The rest of such a page is read by timeline_rest (its LATERAL over the
# sources), not by the whole reference query.
my $log0 = -s $node->logfile;
$node->safe_psql('postgres', q{
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SELECT count(*) FROM generate_series(1, 60) v, LATERAL dataplane.get_timeline(v, 50) t;
});
my $log = slurp_file($node->logfile, $log0);
like($log, qr/CROSS JOIN LATERAL/, 'the rest of a page is read source by source');

# Writes below the horizons (old created_at), deletes and unfollows: the
# rings do not hold them, the tables do.
$node->safe_psql('postgres', q{
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % 50, '2026-01-03'::timestamptz + g * interval '1 minute' FROM generate_series(1, 500) g;
DELETE FROM dataplane.post WHERE id IN (SELECT id FROM dataplane.post WHERE id % 41 = 0);
DELETE FROM dataplane.follow WHERE (follower + followee) % 13 = 0;
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % 30, '2026-01-15 12:00'::timestamptz + g * interval '1 second' FROM generate_series(1, 300) g;
});
check_timelines($node, 'after writes below the horizons', actors => $N);
check_moderation($node, 'after writes below the horizons', actors => $N);
verify_clean($node, 'after writes below the horizons');

# A viewer whose moderation list blocks nine in ten of the accounts they
# follow: the rows the rest reads from the tables are mostly hidden, so it
# reads again below them, deeper (sql_page_rest's runs), until the page is
# full or the sources end. (A rebuild first: the pages above gave their
# rows to the author rings, t/023, and these would come from memory.)
$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
$node->safe_psql('postgres', q{
INSERT INTO dataplane.list (id, owner, rkey, purpose) VALUES (990001, 2, 'recency-block', 'app.bsky.graph.defs#modlist');
INSERT INTO dataplane.list_item (list_id, subject)
  SELECT 990001, followee FROM dataplane.follow WHERE follower = 5 AND followee % 10 <> 0;
INSERT INTO dataplane.list_block (actor, list_id) VALUES (5, 990001);
});
# The page read first with auto_explain (a read deepens the rings it reads
# below, t/023: the next read of it comes from memory).
my $h2 = status_field($node, 'pages_fallback_horizon');
my $log1 = -s $node->logfile;
$node->safe_psql('postgres', q{
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SELECT count(*) FROM dataplane.get_timeline(5, 50);
});
my $runs = () = slurp_file($node->logfile, $log1) =~ /Query Text: SELECT t\.\* FROM unnest/g;
cmp_ok($runs, '>=', 2, "the rest was read in $runs runs, each deeper");
cmp_ok(status_field($node, 'pages_fallback_horizon') - $h2, '>', 0,
	'that page reached below a horizon');
check_moderation($node, 'a list blocks most of what the viewer follows', sample => 'ARRAY[5, 6, 7]');
verify_clean($node, 'after the list block');

$node->stop;
done_testing();
