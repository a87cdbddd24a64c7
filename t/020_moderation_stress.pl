# Moderation under concurrency, tiny rings and restarts: pgbench writes
# blocks, unblocks, mutes, list items, list subscriptions, account status
# flips, replies and their reply authors' updates, posts and reposts (some
# in a widened commit window) while readers read filtered timelines,
# author feeds and relationships, and rebuild() runs now and then. Rings
# hold 24 items, so that pages under heavy filtering reach below their
# horizons and are answered by the tables. At the end, and again after an
# immediate restart, verify() returns no rows and every filtered page and
# relationships() matches DESIGN.md's second-part reference query.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 1500;
my $SECONDS = 20;
my $node = dp_node('moderation',
	conf => "dataplane.feed_capacity = 24\ndataplane.author_capacity = 24\n"
	  . "dataplane.fanout_limit = 120\nmax_connections = 40");
load_graph($node, actors => $N, follows => 15000, big => 5, big_degree => 300);
load_items($node, actors => $N, posts => 9000, reposts => 1800);
load_moderation($node, actors => $N);
$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
verify_clean($node, 'before the run');
check_moderation($node, 'before the run', actors => $N);

my %scripts = (
	# blocks and unblocks, hot among 30 accounts (the popular ones)
	'001_block@4' => q{
\set a random(1, 30)
\set b random(1, 30)
\set op random(0, 1)
INSERT INTO dataplane.block (blocker, blocked) SELECT :a::int, :b::int WHERE :op = 1 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.block WHERE blocker = :a::int AND blocked = :b::int AND :op = 0;
},
	# the same with the apply delayed after the commit is visible
	'002_block_delayed@2' => q{
\set a random(1, 30)
\set b random(1, 30)
\set op random(0, 1)
BEGIN;
SET LOCAL dataplane.test_apply_delay = 15;
INSERT INTO dataplane.block (blocker, blocked) SELECT :a::int, :b::int WHERE :op = 1 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.block WHERE blocker = :a::int AND blocked = :b::int AND :op = 0;
COMMIT;
},
	# mutes
	'003_mute@2' => qq{
\\set a random(1, $N)
\\set b random(1, 40)
\\set op random(0, 1)
INSERT INTO dataplane.mute (muter, muted) SELECT :a::int, :b::int WHERE :op = 1 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.mute WHERE muter = :a::int AND muted = :b::int AND :op = 0;
},
	# list members of the hot lists
	'004_list_item@4' => q{
\set l random(1, 8)
\set s random(1, 60)
\set op random(0, 1)
INSERT INTO dataplane.list_item (list_id, subject) SELECT :l::bigint, :s::int WHERE :op = 1 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.list_item WHERE list_id = :l::bigint AND subject = :s::int AND :op = 0;
},
	# list subscriptions, in a savepoint sometimes rolled back
	'005_list_sub@2' => qq{
\\set a random(1, $N)
\\set l random(1, 8)
\\set op random(0, 2)
BEGIN;
INSERT INTO dataplane.list_block (actor, list_id) SELECT :a::int, :l::bigint WHERE :op = 1 ON CONFLICT DO NOTHING;
SAVEPOINT s;
INSERT INTO dataplane.list_mute (actor, list_id) SELECT :a::int, :l::bigint ON CONFLICT DO NOTHING;
DELETE FROM dataplane.list_block WHERE actor = :a::int AND :op = 0;
ROLLBACK TO SAVEPOINT s;
DELETE FROM dataplane.list_mute WHERE actor = :a::int AND list_id = :l::bigint AND :op = 2;
COMMIT;
},
	# account status flips
	'006_active@1' => q{
\set a random(1, 60)
UPDATE dataplane.actor SET active = NOT active WHERE uid = :a::int;
},
	# posts: replies, quotes, media
	'007_post@4' => qq{
\\set a random(1, $N)
\\set h random(1, 20)
\\set p random(1, 60)
\\set k random(0, 3)
INSERT INTO dataplane.post (author, created_at, reply_parent_author, reply_root_author, quote, media)
  VALUES (CASE WHEN :k = 0 THEN :a::int ELSE :h::int END, now(),
          CASE WHEN :k = 1 THEN :p::int END, CASE WHEN :k = 1 THEN :h::int END, :k = 2,
          CASE WHEN :k = 3 THEN 'images' END);
},
	# a post's reply authors changed (its reposts follow)
	'008_post_update@2' => q{
\set k random(0, 300)
\set p random(1, 60)
UPDATE dataplane.post SET reply_parent_author = :p::int, reply_root_author = :p::int
 WHERE id = (SELECT id FROM dataplane.post WHERE id % 3 = 0 ORDER BY id DESC OFFSET :k LIMIT 1);
},
	# reposts
	'009_repost@2' => qq{
\\set a random(1, $N)
\\set k random(0, 300)
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT :a::int, id, now() FROM dataplane.post ORDER BY id DESC OFFSET :k LIMIT 1
  ON CONFLICT DO NOTHING;
},
	# readers
	'010_read@6' => qq{
\\set a random(1, $N)
\\set h random(1, 60)
SELECT count(*) FROM dataplane.get_timeline(:h::int, 30);
SELECT count(*) FROM dataplane.get_timeline(:a::int, 20, NULL, NULL, 'followed', true, false);
SELECT count(*) FROM dataplane.get_author_feed(:h::int, 10, NULL, NULL, 'posts_no_replies', :a::int);
SELECT count(*) FROM dataplane.relationships(:a::int, ARRAY(SELECT generate_series(1, 50)));
},
);

my $rebuilder = bg_start(
	$node, qq{
DO \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  PERFORM pg_sleep(3);
  WHILE clock_timestamp() < t0 + interval '@{[ $SECONDS - 5 ]} s' LOOP
    PERFORM dataplane.rebuild();
    PERFORM pg_sleep(5);
  END LOOP;
END \$\$;});

$node->pgbench(
	"-n -c 6 -j 2 -T $SECONDS -M prepared --max-tries=50 --failures-detailed",
	0,
	[
		qr/number of transactions actually processed: [1-9]/,
		qr/number of failed transactions: 0 /
	],
	[],
	'pgbench moderation run',
	\%scripts);
bg_finish($rebuilder);

ok(wait_state($node, 'ready'), 'the index is ready after the run');
verify_clean($node, 'after the run');
check_functions($node, 'after the run', actors => $N);
check_timelines($node, 'after the run', actors => $N);
my $pages = check_moderation($node, 'after the run', actors => $N);
my ($index, $horizon) = split /\|/,
  $node->safe_psql('postgres', 'SELECT pages_index, pages_fallback_horizon FROM dataplane.status()');
cmp_ok($index, '>', 0, "pages were answered by the index ($index)");
cmp_ok($horizon, '>', 0, "pages reached below tiny rings' horizons ($horizon)");

$node->stop('immediate');
$node->start;
ok(wait_state($node, 'ready'), 'the index is built again after an immediate restart');
verify_clean($node, 'after the restart');
check_moderation($node, 'after the restart', actors => $N);

$node->stop;
done_testing();
