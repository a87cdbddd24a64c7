# A hot standby does not leak background worker slots (issue 12, item 7).
# A primary and a streaming standby, both with the extension preloaded. On
# the standby, reads spread over 25 s must be exact (they answer from the
# tables), must raise no WARNING (in the client or in the standby's log),
# must not try to start an index builder (no dataplane process, no worker
# slot taken: a parallel query still gets its workers afterwards), and
# status() must say 'standby'. Once promoted, the node builds its index and
# serves from it.
#
# Today each read on the standby registers a builder (at most one per 10 s)
# that can never start during recovery; its slot stays taken. Both nodes run
# with max_worker_processes = 3 (a standby needs at least the primary's
# value) so that the 25 s of reads fill the slots: one is the logical
# replication launcher's, the leaked builders take the others. (With 8
# slots the leak would need about 70 s to show.)
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use DataplaneTest;

my $N = 500;
my $primary = dp_node('primary',
	    conf => "wal_level = replica\nmax_wal_senders = 10\nhot_standby = on\n"
	  . "max_worker_processes = 3\nmax_parallel_workers = 8");
load_graph($primary, actors => $N, follows => 6000, big => 3, big_degree => 150);
load_items($primary, actors => $N, posts => 1500, reposts => 300);
ok( wait_until(
		$primary,
		"SELECT dataplane.follows(1, 2) IS NOT NULL AND state = 'ready' FROM dataplane.status()",
		't', 60),
	'the primary\'s index is ready');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "max_worker_processes = 3\n");
$standby->start;
my $log_offset = 0;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# Workers Launched of a parallel count over dataplane.follow.
sub parallel_workers
{
	my ($node) = @_;
	my $plan = $node->safe_psql(
		'postgres', q{
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM dataplane.follow;});
	my ($launched) = $plan =~ /"Workers Launched":\s*(\d+)/;
	return $launched // 0;
}

my $w = parallel_workers($standby);
ok($w >= 1, "before the reads, a parallel query on the standby gets workers ($w launched)");

# 40 reads over 25 s, each compared with SQL over the standby's tables.
my $read = q{
SELECT (SELECT array_agg(ROW(t.*)::text) FROM dataplane.get_timeline(%1$d, 10) t)
       IS NOT DISTINCT FROM
       (SELECT array_agg(ROW(t.*)::text) FROM (
          WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = %1$d
                       UNION SELECT %1$d)
          SELECT * FROM (
            SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter,
                   p.created_at AS sort_at
              FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
            UNION ALL
            SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
              FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
             WHERE r.reposter IN (SELECT uid FROM src)) t
          ORDER BY t.sort_at DESC, t.item_id DESC LIMIT 10) t)
   AND dataplane.follows(%1$d, %2$d) =
       EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = %1$d AND followee = %2$d)
   AND dataplane.follows(%2$d, %1$d) =
       EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = %2$d AND followee = %1$d)
   AND dataplane.follower_count(%2$d) = (SELECT count(*) FROM dataplane.follow WHERE followee = %2$d),
   (SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'dataplane%%');
};
my ($exact, $warnings, $processes) = (0, '', 0);
my $t0 = time;
for my $i (0 .. 39)
{
	my $due = $t0 + $i * 25.0 / 39;
	my $wait = $due - time;
	usleep(int($wait * 1e6)) if $wait > 0;
	my $v = 1 + ($i * 37) % $N;
	my $x = 1 + ($i * 11) % 20;
	my ($rc, $out, $err) = $standby->psql('postgres', sprintf($read, $v, $x));
	my ($same, $procs) = split /\|/, $out;
	$exact++ if $rc == 0 && defined $same && $same eq 't';
	$processes++ if defined $procs && $procs ne '0';
	$warnings .= "read $i: $err\n" if $err ne '';
}
note sprintf('40 reads in %.1f s', time - $t0);
is($exact, 40, 'every read on the standby is exact');
is($warnings, '', 'no read on the standby gets a WARNING (or an error)');
is($processes, 0, 'no dataplane process runs on the standby');
my @log = grep { /index builder|worker slot|max_worker_processes/i }
  split /\n/, slurp_file($standby->logfile, $log_offset);
is(join("\n", @log), '',
	'the standby\'s log has no message about the index builder or worker slots');
is(dp_state($standby), 'standby', 'status().state is standby');
$w = parallel_workers($standby);
ok($w >= 1, "after the reads, a parallel query on the standby still gets workers ($w launched)");

# Promotion: the index is built (reads launch the build) and serves.
$standby->promote;
ok( wait_until(
		$standby,
		"SELECT dataplane.follows(1, 2) IS NOT NULL AND state = 'ready' FROM dataplane.status()",
		't', 60),
	'after promotion, the index becomes ready');
verify_clean($standby, 'promoted');
check_functions($standby, 'promoted', actors => $N);
check_timelines($standby, 'promoted', actors => $N);
ok(status_field($standby, 'reads_index') > 0, 'after promotion, reads are answered by the index');

$standby->stop;
$primary->stop;
done_testing();
