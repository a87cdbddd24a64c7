# Timelines where the rings cannot hold everything, across restarts and
# crashes, and under memory pressure:
#  - tiny rings (feed_capacity 5, author_capacity 4) and a low fanout_limit
#    (30): most pages reach past a horizon and come from the tables, first
#    pages from memory, large accounts are merged at read time; every page
#    equals the reference query, before and after a burst of writes;
#  - after a restart and after a crash (kill -9), the index is rebuilt
#    while reads use the tables, then reads use memory again; every page
#    equals the reference query in both phases;
#  - a memory_limit that cannot hold every viewer's feed ring: rings are
#    evicted (status().evictions > 0), writes succeed, pages stay exact.
# verify() (sets and rings) returns no rows after each phase.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 400;
my $node = dp_node('timelines',
	conf => "dataplane.feed_capacity = 5\ndataplane.author_capacity = 4\n"
	  . "dataplane.fanout_limit = 30\nrestart_after_crash = on");
load_graph($node, actors => $N, follows => 6000, big => 5, big_degree => 100);
load_items($node, actors => $N, posts => 6000, reposts => 1200);
verify_clean($node, 'tiny rings, built');
is(dp_state($node), 'ready', 'tiny rings: the index is ready');

check_timelines($node, 'tiny rings', actors => $N);
my $st = $node->safe_psql('postgres',
	'SELECT pages_index, pages_fallback_horizon, feed_rings FROM dataplane.status()');
my ($pages_index, $horizon, $rings) = split /\|/, $st;
ok($pages_index > 0, "tiny rings: some pages came from memory ($pages_index)");
ok($horizon > 0, "tiny rings: deeper pages came from the tables ($horizon)");
ok($rings > 0, "tiny rings: viewers who read have feed rings ($rings)");

# Writes while feed rings exist: new posts (popular accounts post too, and
# become celebrities), deletions, reposts, follows and unfollows.
$node->safe_psql(
	'postgres', qq{
SELECT setseed(0.3);
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + (g % 40), '2026-02-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 300) g;
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + (random() * ($N - 1))::int, '2026-01-05'::timestamptz + random() * interval '5 days'
    FROM generate_series(1, 200);
DELETE FROM dataplane.post WHERE id IN (SELECT id FROM dataplane.post ORDER BY hashint8(id) LIMIT 150);
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT DISTINCT ON (1, 2) 1 + (g * 13) % $N, p.id, '2026-02-02'::timestamptz + g * interval '1 second'
    FROM generate_series(1, 200) g
    JOIN LATERAL (SELECT id FROM dataplane.post ORDER BY id DESC OFFSET g LIMIT 1) p ON true
  ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE (follower + followee) % 17 = 0;
INSERT INTO dataplane.follow (follower, followee)
  SELECT 1 + (g * 7) % $N, 1 + (g * 11) % 60 FROM generate_series(1, 400) g
   WHERE 1 + (g * 7) % $N <> 1 + (g * 11) % 60 ON CONFLICT DO NOTHING;
UPDATE dataplane.post SET created_at = created_at - interval '1 hour' WHERE id % 97 = 0;
});
check_timelines($node, 'tiny rings, after writes', actors => $N);
ok(status_field($node, 'celebrities') > 0, 'tiny rings: accounts above fanout_limit became celebrities');
ok(status_field($node, 'fanout_changes') > 0, 'tiny rings: commits were fanned out to feed rings');
verify_clean($node, 'tiny rings, after writes');

# A restart: reads use the tables until the index is rebuilt.
$node->restart;
check_timelines($node, 'after a restart, warming', sample => sample_sql($N, 40));
ok(wait_state($node, 'ready', 60), 'after a restart: the index becomes ready');
check_timelines($node, 'after a restart, ready', actors => $N);
verify_clean($node, 'after a restart');

# A crash: a backend killed while the server runs. The postmaster resets
# shared memory; the index comes back from the tables.
$node->safe_psql('postgres',
	"INSERT INTO dataplane.post (author, created_at) VALUES (3, '2026-03-01')");
my $bg = $node->background_psql('postgres', on_error_stop => 0);
my $victim = $bg->query_safe('SELECT pg_backend_pid()');
kill 'KILL', $victim;
$bg->{run}->kill_kill;
ok(wait_until($node, 'SELECT 1', '1', 60), 'after a crash: the server is back');
check_timelines($node, 'after a crash, warming', sample => sample_sql($N, 40));
ok(wait_state($node, 'ready', 60), 'after a crash: the index becomes ready');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM dataplane.get_author_feed(3, 1) WHERE sort_at = '2026-03-01'"),
	'1', 'after a crash: the last committed post is there');
check_timelines($node, 'after a crash, ready', actors => $N);
verify_clean($node, 'after a crash');
$node->stop;

# Memory pressure: 3 MB cannot hold a feed ring for every viewer; viewers
# beyond what it holds are read without one (merged from the author rings),
# or cost a less read viewer their ring.
my $small = dp_node('timelines_small', conf => 'dataplane.memory_limit = 3');
load_graph($small, actors => $N, follows => 8000, big => 5, big_degree => 100);
load_items($small, actors => $N, posts => 12000, reposts => 2000);
# The index is built on first use.
$small->safe_psql('postgres', 'SELECT count(*) FROM dataplane.get_timeline(1)');
ok(wait_state($small, 'ready', 60), 'memory pressure: the index is ready');
$small->safe_psql('postgres',
	"SELECT count(*) FROM generate_series(1, $N) v, dataplane.get_timeline(v, 20)");
$small->safe_psql('postgres',
	"SELECT count(*) FROM generate_series($N, 1, -1) v, dataplane.get_timeline(v, 20)");
$st = $small->safe_psql('postgres',
	'SELECT evictions, feed_rings, memory_used, memory_limit, pages_without_ring FROM dataplane.status()');
my ($evictions, $frings, $used, $limit, $ringless) = split /\|/, $st;
ok($frings < $N && ($evictions > 0 || $ringless > 0),
	"memory pressure: $frings rings held for $N viewers; $ringless pages read without one, $evictions rings evicted");
ok($used <= $limit, "memory pressure: memory used ($used) within the limit ($limit)");
$small->safe_psql('postgres',
	"INSERT INTO dataplane.post (author, created_at) SELECT 1 + g % $N, '2026-04-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 2000) g");
check_timelines($small, 'memory pressure', actors => $N);
verify_clean($small, 'memory pressure');
$small->stop;

done_testing();
