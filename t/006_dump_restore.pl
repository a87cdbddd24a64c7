# pg_dump and restore. Proves that a dump of the dataplane database keeps
# the rows of the extension's tables, the value of actor's identity sequence
# and of item_id_seq, and that restoring it into a fresh database of another
# cluster (with the extension preloaded) gives the same rows, sequences that
# continue where they were, and an exact index (verify() returns no rows).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 3000;
my $src = dp_node('source');
load_graph($src, actors => $N, follows => 30000, big => 5, big_degree => 300);
$src->safe_psql(
	'postgres', qq{
-- uids from the identity sequence, past the loaded ones
INSERT INTO dataplane.actor (did) SELECT 'did:plc:seq' || g FROM generate_series(1, 5) g;
INSERT INTO dataplane.follow (follower, followee)
  SELECT a.uid, 1 FROM dataplane.actor a WHERE a.did LIKE 'did:plc:seq%';
-- a gap in the sequence: a rolled-back insert consumes values
BEGIN;
INSERT INTO dataplane.actor (did) SELECT 'did:plc:gone' || g FROM generate_series(1, 7) g;
ROLLBACK;
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % $N, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 300) g;
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT 1 + (g * 7) % $N, p.id, p.created_at + interval '1 hour'
    FROM generate_series(1, 100) g JOIN dataplane.post p ON p.id = (SELECT min(id) FROM dataplane.post) + g;
SELECT nextval('dataplane.item_id_seq');  -- a gap in item ids too
});
verify_clean($src, 'source');

my $seq = "pg_get_serial_sequence('dataplane.actor', 'uid')";
my $seq_sql = qq{
SELECT (SELECT last_value FROM dataplane.item_id_seq),
       (SELECT pg_sequence_last_value(${seq}::regclass))};
my $rows_sql = qq{
SELECT (SELECT count(*) FROM dataplane.actor), (SELECT count(*) FROM dataplane.follow),
       (SELECT count(*) FROM dataplane.post), (SELECT count(*) FROM dataplane.repost),
       (SELECT md5(string_agg(uid || ' ' || did, ',' ORDER BY uid)) FROM dataplane.actor),
       (SELECT md5(string_agg(follower || ' ' || followee || ' ' || created_at, ',' ORDER BY follower, followee)) FROM dataplane.follow),
       (SELECT md5(string_agg(id || ' ' || author || ' ' || created_at, ',' ORDER BY id)) FROM dataplane.post),
       (SELECT md5(string_agg(id || ' ' || reposter || ' ' || post_id || ' ' || created_at, ',' ORDER BY id)) FROM dataplane.repost)};
my $rows_before = $src->safe_psql('postgres', $rows_sql);
my $seq_before = $src->safe_psql('postgres', $seq_sql);
my ($item_last, $actor_last) = split /\|/, $seq_before;
note "source: item_id_seq at $item_last, actor uid sequence at $actor_last";
ok($actor_last > $N + 5, 'source: the actor sequence is past the uids in use');

# Dump in both formats.
my $plain = $src->basedir . '/dump.sql';
my $custom = $src->basedir . '/dump.custom';
$src->command_ok([ 'pg_dump', '-d', 'postgres', '-f', $plain ], 'pg_dump (plain) succeeds');
$src->command_ok([ 'pg_dump', '-Fc', '-d', 'postgres', '-f', $custom ],
	'pg_dump (custom) succeeds');
my $dump = slurp_file($plain);
like($dump, qr/CREATE EXTENSION IF NOT EXISTS dataplane/, 'the dump creates the extension');
like($dump, qr/^COPY dataplane\.follow /m, 'the dump has the rows of dataplane.follow');
like($dump, qr/setval\('dataplane\.item_id_seq'/, 'the dump sets item_id_seq');
like($dump, qr/setval\('dataplane\.actor_uid_seq'/, 'the dump sets the actor uid sequence');

# Restore into fresh databases of another cluster.
my $dst = dp_node('target', db => 'appview', extension => 0);
$dst->safe_psql('postgres', 'CREATE DATABASE appview2');
$dst->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'appview', '-f', $plain ],
	'the plain dump restores into appview');

sub check_restored
{
	my ($label, $db, $exact_index) = @_;
	is($dst->safe_psql($db, $rows_sql), $rows_before, "$label: same rows as the source");
	is($dst->safe_psql($db, $seq_sql), $seq_before,
		"$label: same sequence values as the source (item_id_seq, actor uid)");
	# The sequences continue where they were.
	my ($next_item, $next_uid) = split /\|/, $dst->safe_psql(
		$db, qq{BEGIN;
SELECT nextval('dataplane.item_id_seq'), nextval(${seq}::regclass);
ROLLBACK;});
	is($next_item, $item_last + 1, "$label: item_id_seq continues after the source's last value");
	is($next_uid, $actor_last + 1, "$label: the actor uid sequence continues after the source's last value");
	my ($rc, $out, $err) = $dst->psql(
		$db, qq{BEGIN;
INSERT INTO dataplane.actor (did) VALUES ('did:plc:after-restore');
INSERT INTO dataplane.post (author) VALUES (1);
ROLLBACK;});
	is($rc, 0, "$label: new actors and posts can be inserted") or diag $err;
	return unless $exact_index;
	verify_clean($dst, $label, db => $db);
	is(dp_state($dst, $db), 'ready', "$label: the index is ready");
	is(status_field($dst, 'follow_edges', $db),
		$dst->safe_psql($db, 'SELECT count(*) FROM dataplane.follow'),
		"$label: the index holds every follow");
	check_functions($dst, $label, db => $db, actors => $N);
}
check_restored('plain dump', 'appview', 1);

# pg_restore of the custom format into a database the index does not
# serve: CREATE EXTENSION refuses there, so the restore fails loudly.
my ($stdout, $stderr);
my $ok = IPC::Run::run(
	[ 'pg_restore', '-d', $dst->connstr('appview2'), '--exit-on-error', $custom ],
	'>', \$stdout, '2>', \$stderr);
ok(!$ok, 'pg_restore into a database other than dataplane.database fails');
like($stderr, qr/dataplane can only be installed in database "appview"/,
	'pg_restore into another database: the error names dataplane.database');

# pg_restore into the served database, dropped and created again.
$dst->safe_psql('postgres', 'DROP DATABASE appview');
$dst->safe_psql('postgres', 'CREATE DATABASE appview');
$dst->command_ok([ 'pg_restore', '-d', 'appview', '--exit-on-error', $custom ],
	'pg_restore (custom) into appview succeeds');
check_restored('custom dump', 'appview', 1);

$src->stop;
$dst->stop;
done_testing();
