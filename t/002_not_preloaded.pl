# Where the index cannot serve. Proves that
#  - without shared_preload_libraries, CREATE EXTENSION dataplane fails with
#    "dataplane must be loaded via shared_preload_libraries" and a hint, and
#    leaves nothing behind;
#  - with dataplane.database naming another database, CREATE EXTENSION fails
#    and names the right database;
#  - when the extension exists and the server is restarted without the
#    preload, writes still succeed and every read is exact (from the tables;
#    status().state is 'not preloaded'); verify() and rebuild() refuse;
#  - restarted with the preload again, the index is rebuilt from the tables,
#    including what was written meanwhile, and is exact;
#  - a database copied from the dataplane database (CREATE DATABASE ...
#    TEMPLATE) neither reads from nor writes into the index of the original.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 3000;
my $node = dp_node('nopreload', preload => 0, extension => 0);

# ------------------------------------------------ CREATE EXTENSION refuses
my ($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION dataplane');
isnt($rc, 0, 'not preloaded: CREATE EXTENSION fails');
like($err, qr/ERROR:  dataplane must be loaded via shared_preload_libraries/,
	'not preloaded: the error names shared_preload_libraries');
like($err, qr/HINT:  Add 'dataplane' to shared_preload_libraries/,
	'not preloaded: the error has a hint');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_namespace WHERE nspname = 'dataplane'")
	  . $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_extension WHERE extname = 'dataplane'"),
	'00',
	'not preloaded: the failed CREATE EXTENSION leaves no schema and no extension');

# Preloaded, but dataplane.database names another database.
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'dataplane'\ndataplane.database = 'appview'");
$node->restart;
$node->safe_psql('postgres', 'CREATE DATABASE appview');
($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION dataplane');
isnt($rc, 0, 'other database: CREATE EXTENSION in postgres fails');
like($err, qr/ERROR:  dataplane can only be installed in database "appview"/,
	'other database: the error names dataplane.database');
like($err, qr/DETAIL:  The current database is "postgres"/,
	'other database: the detail names the current database');
like($err, qr/HINT:  Run CREATE EXTENSION dataplane in "appview"/,
	'other database: the hint says where to install it');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'dataplane'"),
	'0', 'other database: nothing installed in postgres');

$node->safe_psql('appview', 'CREATE EXTENSION dataplane');
is($node->safe_psql('appview', 'SELECT database FROM dataplane.status()'),
	'appview', 'appview: status() names the database');
load_graph($node, db => 'appview', actors => $N, follows => 30000, big => 5, big_degree => 300);
verify_clean($node, 'preloaded', db => 'appview');
is(dp_state($node, 'appview'), 'ready', 'preloaded: the index is ready');
check_functions($node, 'preloaded', db => 'appview', actors => $N);

# ---------------------------------------- restarted without the preload
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
is(dp_state($node, 'appview'), 'not preloaded', 'without preload: status() says not preloaded');
check_functions($node, 'without preload, before writes', db => 'appview', actors => $N);

# Writes of every kind succeed.
($rc, $out, $err) = $node->psql(
	'appview', qq{
INSERT INTO dataplane.follow (follower, followee)
  SELECT g, 1 + (g * 7) % 10 FROM generate_series(1, 500) g WHERE g <> 1 + (g * 7) % 10
  ON CONFLICT DO NOTHING;
DELETE FROM dataplane.follow WHERE followee = 2 AND follower % 3 = 0;
UPDATE dataplane.follow SET followee = 4 WHERE followee = 3 AND follower % 5 = 0
  AND NOT EXISTS (SELECT 1 FROM dataplane.follow g WHERE g.follower = follow.follower AND g.followee = 4);
BEGIN;
INSERT INTO dataplane.follow (follower, followee) VALUES (11, 12), (12, 11) ON CONFLICT DO NOTHING;
SAVEPOINT s;
DELETE FROM dataplane.follow WHERE follower = 11;
ROLLBACK TO s;
DELETE FROM dataplane.follow WHERE follower = 13;
COMMIT;
BEGIN;
DELETE FROM dataplane.follow WHERE followee = 1;
ROLLBACK;
INSERT INTO dataplane.actor (did) VALUES ('did:plc:new');
INSERT INTO dataplane.follow (follower, followee)
  SELECT uid, 1 FROM dataplane.actor WHERE did = 'did:plc:new';
});
is($rc, 0, 'without preload: writes succeed') or diag $err;
is( $node->safe_psql('appview', qq{
BEGIN;
INSERT INTO dataplane.follow (follower, followee) VALUES (21, 22) ON CONFLICT DO NOTHING;
SELECT dataplane.follows(21, 22);
ROLLBACK;
}),
	't',
	'without preload: a transaction reads its own writes');
is(dp_state($node, 'appview'), 'not preloaded', 'without preload: still not preloaded');
check_functions($node, 'without preload, after writes', db => 'appview', actors => $N);
ok(status_field($node, 'reads_index', 'appview') eq '',
	'without preload: status() has no counters');

($rc, $out, $err) = $node->psql('appview', 'SELECT * FROM dataplane.verify()');
like($err, qr/dataplane is not loaded via shared_preload_libraries/,
	'without preload: verify() refuses');
($rc, $out, $err) = $node->psql('appview', 'SELECT dataplane.rebuild()');
like($err, qr/dataplane is not loaded via shared_preload_libraries/,
	'without preload: rebuild() refuses');

# ------------------------------------------ restarted with the preload
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dataplane'");
$node->restart;
is(dp_state($node, 'appview'), 'warming', 'preloaded again: the index is warming');
check_functions($node, 'preloaded again, warming', db => 'appview', actors => $N);
ok(wait_state($node, 'ready', 60, 'appview'), 'preloaded again: the index becomes ready');
verify_clean($node, 'preloaded again', db => 'appview');
check_functions($node, 'preloaded again, ready', db => 'appview', actors => $N);
is( $node->safe_psql(
		'appview', qq{SELECT dataplane.follows(u.uid, 1), dataplane.follows(11, 12),
  dataplane.following_count(13), dataplane.follower_count(1) = (SELECT count(*) FROM dataplane.follow WHERE followee = 1)
  FROM dataplane.actor u WHERE did = 'did:plc:new'}),
	't|t|0|t',
	'preloaded again: the writes made without the preload are in the index');
ok(status_field($node, 'reads_index', 'appview') > 0,
	'preloaded again: reads are answered by the index');

# ---------------------------------- a copy of the dataplane database
# CREATE DATABASE ... TEMPLATE copies the catalogs: the copy's
# dataplane.follow has the same OID as the original's. Its writes must not
# reach the original's index, and its reads must not come from it.
# (Retried: the builder or autovacuum may still be connected to appview.)
ok( wait_until(
		$node, 'CREATE DATABASE appview_copy TEMPLATE appview; SELECT 1', '1', 60),
	'copy: CREATE DATABASE appview_copy TEMPLATE appview');
is( $node->safe_psql('appview', "SELECT 'dataplane.follow'::regclass::oid"),
	$node->safe_psql('appview_copy', "SELECT 'dataplane.follow'::regclass::oid"),
	'copy: the copied dataplane.follow has the same OID');
my $before = $node->safe_psql('appview', 'SELECT count(*) FROM dataplane.follow WHERE followee = 1');
$node->safe_psql('appview_copy', 'DELETE FROM dataplane.follow WHERE followee = 1');
is($node->safe_psql('appview_copy', 'SELECT dataplane.follower_count(1)'),
	'0', 'copy: reads in the copy answer for the copy\'s tables');
is( $node->safe_psql('appview',
		'SELECT dataplane.follower_count(1), (SELECT count(*) FROM dataplane.follow WHERE followee = 1)'),
	"$before|$before",
	'copy: writes in the copy do not change the original\'s answers');
verify_clean($node, 'copy: the original', db => 'appview');

$node->stop;
done_testing();
