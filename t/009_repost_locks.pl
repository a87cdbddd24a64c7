# The row locks that keep a repost's author right (src/pg/capture_items.cpp)
# must not add deadlocks: a statement that changes an existing repost holds
# that repost's row from its UPDATE to its commit, so its capture must not
# also wait for the post, which an author change or a deletion of the post
# holds while it waits for the post's reposts. Each case widens the gap
# between the repost's row update and its capture trigger (RETURNING
# pg_sleep), starts the post's change inside it, and needs both to succeed
# and every timeline to match the reference query.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use DataplaneTest;

my $node = dp_node('repost_locks');
$node->safe_psql('postgres', q{
INSERT INTO dataplane.actor (uid, did) SELECT g, 'did:plc:' || g FROM generate_series(1, 6) g;
INSERT INTO dataplane.follow (follower, followee) VALUES (1, 2), (3, 2), (4, 1), (5, 6);
INSERT INTO dataplane.post (id, author, created_at) VALUES
  (1, 1, '2026-01-01'), (2, 1, '2026-01-02'), (3, 1, '2026-01-03');
INSERT INTO dataplane.repost (id, reposter, post_id, created_at) VALUES
  (100, 2, 1, '2026-01-04'), (101, 2, 2, '2026-01-05'), (102, 2, 3, '2026-01-06');
SELECT setval('dataplane.item_id_seq', 1000);
SELECT count(*) FROM generate_series(1, 6) v, dataplane.get_timeline(v);
});

# ($label, the repost's change, the post's change)
my @cases = (
	[ 'new repost time against an author change',
	  "UPDATE dataplane.repost SET created_at = '2026-02-01' WHERE id = 100",
	  'UPDATE dataplane.post SET author = 3 WHERE id = 1' ],
	[ 'new reposter against an author change',
	  'UPDATE dataplane.repost SET reposter = 5 WHERE id = 101',
	  'UPDATE dataplane.post SET author = 4 WHERE id = 2' ],
	[ 'new repost time against a deletion of the post',
	  "UPDATE dataplane.repost SET created_at = '2026-02-02' WHERE id = 102",
	  'DELETE FROM dataplane.post WHERE id = 3' ],
);
for my $c (@cases)
{
	my ($label, $repost_sql, $post_sql) = @$c;
	my $bg = bg_start($node, "$repost_sql RETURNING pg_sleep(1.5);");
	usleep(300_000);
	my ($rc, $out, $err) = $node->psql('postgres', $post_sql);
	is($rc, 0, "$label: the post's change succeeds") or diag $err;
	my ($bout, $berr) = bg_finish($bg);
	unlike($berr, qr/ERROR/, "$label: the repost's change succeeds") or diag $berr;
	check_timelines($node, $label, sample => 'ARRAY[1, 2, 3, 4, 5, 6]');
	verify_clean($node, $label);
}

$node->stop;
done_testing();
