# Writes that bypass the capture triggers are never served stale (issue
# 12, item 3). Four ways to write rows the capture triggers do not see:
#   1. ALTER TABLE dataplane.follow DISABLE TRIGGER ALL, inserts and
#      deletes, ENABLE TRIGGER ALL;
#   2. ALTER TABLE dataplane.post DISABLE TRIGGER dataplane_capture_insert,
#      inserts, ENABLE TRIGGER dataplane_capture_insert;
#   3. a data-only pg_restore --disable-triggers (which disables and enables
#      every trigger around each table's COPY) of another database's dump
#      into the served database, its tables empty and its index ready;
#   4. writes under session_replication_role = replica (after 3, which
#      today leaves the capture triggers in ORIGIN mode, which does not fire
#      in replica mode).
# While a capture trigger is disabled, every read must equal the reference
# SQL, and status() must say 'capture_disabled' with a reason naming the
# table. Once it is enabled again, the extension's triggers must be in the
# mode CREATE EXTENSION gave them (ENABLE TRIGGER turns ALWAYS into
# ORIGIN), and the index must rebuild itself in the background (no
# rebuild() call): ready, verify() clean, reads exact.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 300;
my $node = dp_node('main');

# The extension's triggers and their modes right after CREATE EXTENSION.
my $triggers_sql = q{
SELECT string_agg(format('%s.%s=%s', c.relname, t.tgname, t.tgenabled), ' '
                  ORDER BY c.relname, t.tgname)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'dataplane' AND t.tgname LIKE 'dataplane\_%'};
my $triggers = $node->safe_psql('postgres', $triggers_sql);
note "the extension's triggers: $triggers";
like($triggers, qr/follow\.dataplane_capture_insert=/, 'the capture triggers are listed');

load_graph($node, actors => $N, follows => 4000, big => 3, big_degree => 100);
load_items($node, actors => $N, posts => 900, reposts => 200);

sub index_ready
{
	my ($label, $n) = @_;
	ok( wait_until(
			$node,
			"SELECT dataplane.follows(1, 2) IS NOT NULL AND state = 'ready' FROM dataplane.status()",
			't', 60),
		"$label: the index is ready (within 60 s)");
}

sub exact
{
	my ($label, $n) = @_;
	check_functions($node, $label, actors => $n);
	check_timelines($node, $label, actors => $n);
}

index_ready('start');
exact('start', $N);
verify_clean($node, 'start');

# While the capture of $table is disabled: status() says so and why, and
# every read answers what the tables hold.
sub while_disabled
{
	my ($label, $table, $n) = @_;
	is(dp_state($node), 'capture_disabled', "$label: status().state is capture_disabled");
	my ($rc, $out, $err) = $node->psql('postgres', 'SELECT reason FROM dataplane.status()');
	is($rc, 0, "$label: status() has a reason") or diag $err;
	like($out, qr/\b$table\b/, "$label: the reason names dataplane.$table");
	exact("$label, triggers disabled", $n);
}

# Once the triggers are back: their modes, a rebuild by itself, exact reads.
sub after_enable
{
	my ($label, $builds_before, $n) = @_;
	is($node->safe_psql('postgres', $triggers_sql),
		$triggers, "$label: the extension's triggers are as CREATE EXTENSION made them");
	index_ready($label);
	ok(status_field($node, 'builds') > $builds_before,
		"$label: the index was rebuilt in the background");
	verify_clean($node, $label);
	exact($label, $n);
}

# Between cases: whatever a failed case left behind (trigger modes, a stale
# index) is repaired, so that each case's failures are its own. Nothing to
# do once every case passes.
sub repair
{
	my ($label) = @_;
	if ($node->safe_psql('postgres', $triggers_sql) ne $triggers)
	{
		note "$label: restoring the triggers' modes";
		my %how = (A => 'ENABLE ALWAYS', R => 'ENABLE REPLICA', O => 'ENABLE', D => 'DISABLE');
		for my $t (split / /, $triggers)
		{
			my ($rel, $tg, $mode) = $t =~ /^(\w+)\.(\w+)=(\w)$/ or die "cannot parse $t";
			$node->safe_psql('postgres', "ALTER TABLE dataplane.$rel $how{$mode} TRIGGER $tg");
		}
	}
	if ($node->safe_psql('postgres', 'SELECT count(*) FROM dataplane.verify()') ne '0')
	{
		note "$label: rebuilding the stale index";
		$node->safe_psql('postgres', 'SELECT dataplane.rebuild()');
	}
}

# ------------------------------------------- 1. DISABLE TRIGGER ALL (follow)

my $builds = status_field($node, 'builds');
$node->safe_psql('postgres', 'ALTER TABLE dataplane.follow DISABLE TRIGGER ALL');
$node->safe_psql(
	'postgres', qq{
-- the sample's users follow new accounts, and unfollow some
INSERT INTO dataplane.follow (follower, followee)
  SELECT f, 1 + (f * 31 + g * 17) % $N FROM generate_series(1, 30) f, generate_series(1, 4) g
  WHERE f <> 1 + (f * 31 + g * 17) % $N ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower IN (1, 2, 3) AND followee % 5 = 0;
DELETE FROM dataplane.follow WHERE followee = 4 AND follower % 3 = 0;
});
while_disabled('DISABLE TRIGGER ALL on follow', 'follow', $N);
$node->safe_psql('postgres', 'ALTER TABLE dataplane.follow ENABLE TRIGGER ALL');
after_enable('ENABLE TRIGGER ALL on follow', $builds, $N);

# ------------------------------- 2. DISABLE TRIGGER dataplane_capture_insert

repair('before case 2');
$builds = status_field($node, 'builds');
$node->safe_psql('postgres',
	'ALTER TABLE dataplane.post DISABLE TRIGGER dataplane_capture_insert');
$node->safe_psql(
	'postgres', qq{
-- the newest posts of all, by accounts the sample's users follow
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % 30, '2026-02-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 150) g;
});
while_disabled('DISABLE TRIGGER dataplane_capture_insert on post', 'post', $N);
$node->safe_psql('postgres',
	'ALTER TABLE dataplane.post ENABLE TRIGGER dataplane_capture_insert');
after_enable('ENABLE TRIGGER dataplane_capture_insert on post', $builds, $N);

# ------------------------------- 3. pg_restore -a --disable-triggers

my $M = 400;
my $src = dp_node('source');
load_graph($src, actors => $M, follows => 5000, big => 3, big_degree => 120, seed => 0.7);
load_items($src, actors => $M, posts => 1000, reposts => 250, seed => 0.3);
my $dump = $src->basedir . '/data.dump';
$src->command_ok([ 'pg_dump', '-Fc', '-a', '-d', 'postgres', '-f', $dump ],
	'pg_dump -Fc -a of the source');
my $rows_sql = q{
SELECT (SELECT count(*) FROM dataplane.actor), (SELECT count(*) FROM dataplane.follow),
       (SELECT count(*) FROM dataplane.post), (SELECT count(*) FROM dataplane.repost)};
my $rows = $src->safe_psql('postgres', $rows_sql);
$src->stop;

# The served database with the extension and empty tables, its index ready.
$node->safe_psql('postgres', 'DROP EXTENSION dataplane CASCADE');
$node->safe_psql('postgres', 'CREATE EXTENSION dataplane');
is($node->safe_psql('postgres', $triggers_sql),
	$triggers, 'restore: a new CREATE EXTENSION makes the same triggers');
index_ready('restore, empty tables');
$builds = status_field($node, 'builds');
$node->command_ok(
	[ 'pg_restore', '-a', '--disable-triggers', '--exit-on-error', '-d', 'postgres', $dump ],
	'pg_restore -a --disable-triggers into the served database');
is($node->safe_psql('postgres', $rows_sql), $rows, 'restore: every row is back');
after_enable('pg_restore -a --disable-triggers', $builds, $M);

# ------------------------------- 4. session_replication_role = replica

# No repair here: the modes pg_restore left behind are part of this case
# (writes in replica mode reach the index only if the capture triggers are
# ALWAYS or REPLICA; on a fresh install they are).

my $b = $node->safe_psql('postgres',
	"SELECT max(u) FROM generate_series(1, $M) u WHERE u <> 7 AND NOT EXISTS "
	  . '(SELECT 1 FROM dataplane.follow WHERE follower = 7 AND followee = u)');
$node->safe_psql(
	'postgres', qq{
SET session_replication_role = replica;
INSERT INTO dataplane.follow (follower, followee) VALUES (7, $b);
INSERT INTO dataplane.follow (follower, followee)
  SELECT f, 1 + (f * 41 + g * 7) % $M FROM generate_series(1, 30) f, generate_series(1, 3) g
  WHERE f <> 1 + (f * 41 + g * 7) % $M ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE follower IN (4, 5) AND followee % 3 = 0;
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + g % 30, '2026-03-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 100) g;
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT 1 + (p.id * 3) % 25, p.id, p.created_at + interval '1 hour'
    FROM dataplane.post p WHERE p.created_at >= '2026-03-01' AND p.id % 3 = 0 ON CONFLICT DO NOTHING;
DELETE FROM dataplane.post WHERE created_at >= '2026-03-01' AND id % 7 = 0;
});
is(dp_state($node), 'ready', 'replica role: the index stays ready (no trigger was disabled)');
is($node->safe_psql('postgres', "SELECT dataplane.follows(7, $b)"),
	't', "replica role: follows(7, $b) sees the edge written in replica mode");
verify_clean($node, 'replica role');
exact('replica role', $M);

$node->stop;
done_testing();
