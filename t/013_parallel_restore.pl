# Parallel pg_restore (-j N). pg_dump gives the data of each of the
# extension's tables its own TABLE DATA entry whose only dependency is the
# table itself, which is not in the archive (CREATE EXTENSION makes it), so
# pg_restore -j loads actor, follow, post and repost in any order and at the
# same time, each in its own transaction. Proves that a populated database
# comes back whole from pg_restore -j 4 and -j 2 (directory and custom
# format, several runs: the order is a race), into a fresh served database:
# the same rows and sequence values, sequences that continue, an exact
# index (verify() returns no rows, every function matches the reference
# SQL), and that the restored tables still keep their references.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 4000;
my $src = dp_node('source');
load_graph($src, actors => $N, follows => 20000, big => 5, big_degree => 300);
load_items($src, actors => $N, posts => 10000, reposts => 4000);
$src->safe_psql(
	'postgres', qq{
-- cascades before the dump: an actor with follows, posts and reposts, and
-- a post with reposts, deleted
DELETE FROM dataplane.actor WHERE uid = 17;
DELETE FROM dataplane.post WHERE id IN (SELECT post_id FROM dataplane.repost ORDER BY id LIMIT 3);
-- a gap in the sequences
SELECT nextval('dataplane.item_id_seq');
INSERT INTO dataplane.actor (did) SELECT 'did:plc:seq' || g FROM generate_series(1, 3) g;
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
note "source rows: $rows_before";

my $dir = $src->basedir . '/dump.dir';
my $custom = $src->basedir . '/dump.custom';
$src->command_ok([ 'pg_dump', '-Fd', '-d', 'postgres', '-f', $dir ], 'pg_dump -Fd succeeds');
$src->command_ok([ 'pg_dump', '-Fc', '-d', 'postgres', '-f', $custom ], 'pg_dump -Fc succeeds');

my $dst = dp_node('target', db => 'appview', extension => 0);

sub check_restored
{
	my ($label, $db) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is($dst->safe_psql($db, $rows_sql), $rows_before, "$label: every row back");
	is($dst->safe_psql($db, $seq_sql), $seq_before, "$label: the same sequence values");
	my ($next_item, $next_uid) = split /\|/, $dst->safe_psql(
		$db, qq{BEGIN;
SELECT nextval('dataplane.item_id_seq'), nextval(${seq}::regclass);
ROLLBACK;});
	is($next_item, $item_last + 1, "$label: item_id_seq continues");
	is($next_uid, $actor_last + 1, "$label: the actor uid sequence continues");
	verify_clean($dst, $label, db => $db);
	is(dp_state($dst, $db), 'ready', "$label: the index is ready");
	is(status_field($dst, 'follow_edges', $db),
		$dst->safe_psql($db, 'SELECT count(*) FROM dataplane.follow'),
		"$label: the index holds every follow");
	check_functions($dst, $label, db => $db, actors => $N);
	check_timelines($dst, $label, db => $db, actors => $N);
}

# The restored tables keep their references and cascades.
sub check_integrity
{
	my ($label, $db) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($rc, $out, $err) = $dst->psql($db,
		'INSERT INTO dataplane.follow (follower, followee) VALUES (1, 999999)');
	is($rc, 3, "$label: a follow of an unknown actor is refused");
	like($err, qr/violates foreign key constraint|is not present in table/,
		"$label: ... as a foreign key violation");
	($rc, $out, $err) = $dst->psql($db,
		'INSERT INTO dataplane.repost (reposter, post_id) VALUES (1, 999999999)');
	is($rc, 3, "$label: a repost of an unknown post is refused");
	is($dst->safe_psql($db, q{
BEGIN;
DELETE FROM dataplane.actor WHERE uid = 1;
SELECT (SELECT count(*) FROM dataplane.follow WHERE follower = 1 OR followee = 1)
     + (SELECT count(*) FROM dataplane.post WHERE author = 1)
     + (SELECT count(*) FROM dataplane.repost WHERE reposter = 1);
ROLLBACK;}), '0', "$label: deleting an actor cascades");
}

# A fresh served database.
sub fresh_db
{
	$dst->safe_psql('postgres', 'DROP DATABASE IF EXISTS appview');
	$dst->safe_psql('postgres', 'CREATE DATABASE appview');
}

sub restore_ok
{
	my ($label, @args) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run([ 'pg_restore', '-d', $dst->connstr('appview'), @args ],
		'>', \$stdout, '2>', \$stderr);
	ok($ok, "$label: succeeds") or diag $stderr;
}

# The restore pg_restore -j does: every load at the same time, in any order.
# (The deterministic worst order below covers what repeated runs would only
# hit by chance: two runs per format keep the suite short.)
my @runs = ([ 'd', 4, $dir ], [ 'c', 2, $custom ]);
for my $run (@runs)
{
	my ($fmt, $jobs, $path) = @$run;
	my $label = "pg_restore -F$fmt -j $jobs";
	fresh_db();
	restore_ok($label, '-j', $jobs, $path);
	check_restored($label, 'appview');
	check_integrity($label, 'appview');
	is($dst->safe_psql('appview',
			"SELECT string_agg(tbl::text || '=' || state, ' ' ORDER BY tbl::text) FROM dataplane._referenced WHERE tbl::text IN ('dataplane.actor', 'dataplane.post')"),
		'dataplane.actor=filled dataplane.post=filled', "$label: actor and post are filled");
}

# The worst order, deterministically: one job, the data entries listed
# reposts first, then posts, follows, actors; and the index built before the
# data, so that every load is captured at its commit (reposts kept while
# post was empty reach it when the post load checks them).
my ($list) = run_command([ 'pg_restore', '-l', $dir ]);
my @data = grep { /TABLE DATA dataplane (repost|post|follow|actor) / } split /\n/, $list;
my %rank = (repost => 0, post => 1, follow => 2, actor => 3);
@data = sort { $rank{ ($a =~ /TABLE DATA dataplane (\w+)/)[0] } <=> $rank{ ($b =~ /TABLE DATA dataplane (\w+)/)[0] } } @data;
my @rest = grep { !/TABLE DATA dataplane (repost|post|follow|actor) / } split /\n/, $list;
my $listfile = $dst->basedir . '/worst_order.list';
open my $fh, '>', $listfile or die $!;
print $fh join("\n", @rest, @data), "\n";
close $fh;
fresh_db();
restore_ok('pre-data', '--section=pre-data', $dir);
$dst->safe_psql('appview', 'SELECT dataplane.rebuild()');
restore_ok('worst order, one job', '--section=data', '-L', $listfile, $dir);
check_restored('worst order, index built', 'appview');
check_integrity('worst order, index built', 'appview');

# The same index built before the loads, with -j 4.
fresh_db();
restore_ok('pre-data', '--section=pre-data', $dir);
$dst->safe_psql('appview', 'SELECT dataplane.rebuild()');
restore_ok('data, -j 4, index built', '--section=data', '-j', '4', $dir);
check_restored('data -j 4, index built', 'appview');

# A data-only parallel restore with --disable-triggers (ALTER TABLE ...
# DISABLE TRIGGER ALL around each load: no check, no capture; the index,
# not built yet, is built from the tables at the first read).
fresh_db();
$dst->safe_psql('appview', 'CREATE EXTENSION dataplane');
restore_ok('data only, --disable-triggers, -j 4', '-a', '--disable-triggers', '-j', '4', $dir);
check_restored('data only, --disable-triggers, -j 4', 'appview');

$src->stop;
$dst->stop;
done_testing();
