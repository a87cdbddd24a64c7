# Restart and crash: the shared-memory index is lost and rebuilt from the
# tables. Proves that
#  - right after a restart or a crash every read is already exact (it uses
#    the tables while status().state is 'warming'), and the index becomes
#    'ready' and agrees with the tables (verify() returns no rows);
#  - writes committed while a build runs are not lost: concurrent writers
#    (follows, unfollows, multi-edge transactions, rollbacks, savepoints,
#    updates, new accounts whose uids are beyond every uid the build saw)
#    commit during rebuild() and during the first build after a crash;
#  - a commit that is visible but not yet applied when its backend is killed
#    (SIGKILL, the postmaster reinitializes shared memory) is in the index
#    after the crash.
# Graph: 200k actors, about 2M follows (a build takes about a second).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use DataplaneTest;

my $N = 200_000;
my $node = dp_node('main', conf => 'restart_after_crash = on');
load_graph($node, actors => $N, follows => 2_000_000);
my $small = sample_sql($N, 40);
my $full = sample_sql($N, 120);

# ------------------------------------------------------------ first build
is(dp_state($node), 'warming', 'before the first read the index is warming');
verify_clean($node, 'first build');
is(dp_state($node), 'ready', 'after the first build the index is ready');
check_functions($node, 'first build', sample => $full);
ok(status_field($node, 'reads_index') > 0, 'first build: reads are answered by the index');

# ----------------------------------------------------------------- restart
# Reads right after a restart: exact, from the tables.
sub check_after_start
{
	my ($label, $while_warming) = @_;
	is(dp_state($node), 'warming', "$label: the index is warming right after the start");
	$while_warming->() if $while_warming;
	check_functions($node, "$label, warming", sample => $small);
	ok(status_field($node, 'fallback_warming') > 0,
		"$label: reads used the tables while warming");
	ok(wait_state($node, 'ready'), "$label: the index becomes ready");
	verify_clean($node, $label);
	check_functions($node, "$label, ready", sample => $full);
	ok(status_field($node, 'reads_index') > 0, "$label: reads are answered by the index again");
}

$node->restart;
check_after_start('restart');

# ---------------------------------------------------- writes during a build
# A writer: a DO block that commits one transaction per iteration until,
# after the build was started, it has seen the index 'warming' and then
# 'ready' 150 times. Writer $w of $nw touches only
# followers f with f % $nw = $w (so that writers do not deadlock on rows);
# followees are anyone. Every committed iteration logs the state it saw.
sub writer_sql
{
	my ($w, $nw, $round) = @_;
	my $leaf_base = $N + 8192 + 4096 * (250 * $round + 120 * $w);
	return qq{
DO \$dp\$
DECLARE
  n int := $N;
  after_ready int := 0;
  st text;
  r float8;
  f int; e int; u int; k int;
  leaves int := 0;
  last_leaf timestamptz := '-infinity';
  seen_build bool := false;
  t0 timestamptz := clock_timestamp();
BEGIN
  LOOP
    st := (SELECT state FROM dataplane.status());
    IF st = 'warming' AND (SELECT go FROM wctl) THEN seen_build := true; END IF;
    IF st = 'ready' AND seen_build THEN after_ready := after_ready + 1; END IF;
    EXIT WHEN after_ready > 150 OR clock_timestamp() > t0 + interval '100 s';
    r := random();
    f := (1 + (random() * (n - 1))::int) / $nw * $nw + $w;
    IF f > n THEN f := f - $nw; END IF;
    IF f < 1 THEN f := f + $nw; END IF;
    IF r < 0.06 THEN
      -- a rolled-back transaction
      INSERT INTO dataplane.follow (follower, followee)
        VALUES (f, 1 + floor((n - 1) * power(random(), 3))::int) ON CONFLICT DO NOTHING;
      DELETE FROM dataplane.follow WHERE follower = f;
      ROLLBACK;
      CONTINUE;
    ELSIF st = 'warming' AND leaves < 100 AND clock_timestamp() > last_leaf + interval '80 ms'
          AND (SELECT go FROM wctl) THEN
      -- a new account whose uid is beyond every uid so far (a new
      -- directory leaf): it follows and is followed, and in a later
      -- transaction unfollows and is unfollowed again
      u := $leaf_base + 4096 * leaves;
      leaves := leaves + 1;
      last_leaf := clock_timestamp();
      INSERT INTO dataplane.actor (uid, did) VALUES (u, 'did:plc:new' || u), (u + 1, 'did:plc:new' || u + 1);
      INSERT INTO dataplane.follow (follower, followee) VALUES (u, 3), (u, 5), (u + 1, u), (f, u + 1);
      INSERT INTO wlog (state) VALUES (st);
      COMMIT;
      DELETE FROM dataplane.follow WHERE (follower, followee) IN ((u, 3), (u + 1, u), (f, u + 1));
      INSERT INTO wlog (state) VALUES (st);
      COMMIT;
      CONTINUE;
    END IF;
    BEGIN
      IF r < 0.35 THEN
        -- follow
        INSERT INTO dataplane.follow (follower, followee)
          VALUES (f, 1 + floor((n - 1) * power(random(), 3))::int) ON CONFLICT DO NOTHING;
      ELSIF r < 0.60 THEN
        -- unfollow an edge the build may have read
        DELETE FROM dataplane.follow
         WHERE follower = f AND followee = (SELECT min(followee) FROM dataplane.follow WHERE follower = f);
      ELSIF r < 0.70 THEN
        -- several edges in one transaction, in two statements
        INSERT INTO dataplane.follow (follower, followee)
          SELECT f, 1 + (random() * (n - 1))::int FROM generate_series(1, 5) ON CONFLICT DO NOTHING;
        DELETE FROM dataplane.follow
         WHERE follower = f AND followee = (SELECT max(followee) FROM dataplane.follow WHERE follower = f);
      ELSIF r < 0.76 THEN
        -- a savepoint rolled back, the rest committed
        INSERT INTO dataplane.follow (follower, followee) VALUES (f, 1 + (random() * 9)::int)
          ON CONFLICT DO NOTHING;
        BEGIN
          DELETE FROM dataplane.follow WHERE follower = f;
          INSERT INTO dataplane.follow (follower, followee) VALUES (f, n - 1) ON CONFLICT DO NOTHING;
          RAISE EXCEPTION 'roll back to the savepoint';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
      ELSIF r < 0.82 THEN
        -- an update that moves an edge, and one that changes nothing of the graph
        UPDATE dataplane.follow SET followee = 1 + (random() * (n - 1))::int
         WHERE follower = f AND followee = (SELECT min(followee) FROM dataplane.follow WHERE follower = f);
        UPDATE dataplane.follow SET created_at = now() WHERE follower = f;
      ELSE
        -- popular accounts: large sets
        e := 1 + (random() * 4)::int;
        IF EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = f AND followee = e) THEN
          DELETE FROM dataplane.follow WHERE follower = f AND followee = e;
        ELSE
          INSERT INTO dataplane.follow (follower, followee) VALUES (f, e);
        END IF;
      END IF;
    EXCEPTION WHEN unique_violation THEN NULL;
    END;
    INSERT INTO wlog (state) VALUES (st);
    COMMIT;
  END LOOP;
END
\$dp\$;};
}

# Runs $nw writers, starts a build with $trigger once they are writing, and
# waits for them. Returns the number of commits seen 'warming' after the
# build was started.
sub writes_during_build
{
	my ($label, $round, $trigger) = @_;
	my $nw = 2;
	$node->safe_psql('postgres',
		'CREATE TABLE IF NOT EXISTS wlog (ts timestamptz DEFAULT clock_timestamp(), state text);'
		  . 'TRUNCATE wlog;'
		  . 'CREATE TABLE IF NOT EXISTS wctl (go bool); TRUNCATE wctl; INSERT INTO wctl VALUES (false);');
	my @w = map { bg_start($node, writer_sql($_, $nw, $round)) } 0 .. $nw - 1;
	ok(wait_until($node, 'SELECT count(*) > 20 FROM wlog', 't', 60),
		"$label: the writers are committing");
	my $t_launch = $node->safe_psql('postgres',
		"UPDATE wctl SET go = true; SELECT clock_timestamp(); $trigger");
	($t_launch) = split /\n/, $t_launch;
	for my $bg (@w)
	{
		my ($out, $err) = bg_finish($bg);
		is($err, '', "$label: a writer ran without error");
	}
	my $during = $node->safe_psql('postgres',
		"SELECT count(*) FROM wlog WHERE ts > '$t_launch' AND state = 'warming'");
	my $total = $node->safe_psql('postgres', 'SELECT count(*) FROM wlog');
	note "$label: $total writer commits, $during while the build ran";
	ok($during > 0, "$label: writers committed while the build ran ($during commits)");
	is(dp_state($node), 'ready', "$label: the index is ready after the build");
	verify_clean($node, "$label");
	check_functions($node, "$label", sample => $full);
	# The new accounts: one edge left each, (u, 5).
	is( $node->safe_psql(
			'postgres', qq{
SELECT count(*) FROM dataplane.actor a
 WHERE a.uid > $N AND (dataplane.following_count(a.uid) <> (SELECT count(*) FROM dataplane.follow WHERE follower = a.uid)
    OR dataplane.follower_count(a.uid) <> (SELECT count(*) FROM dataplane.follow WHERE followee = a.uid)
    OR dataplane.follows(a.uid, 5) <> EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = a.uid AND followee = 5)
    OR dataplane.follows(a.uid, 3) <> EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = a.uid AND followee = 3)
    OR dataplane.social_proof_count(a.uid, 1) <> (SELECT count(*) FROM dataplane.follow f
         WHERE f.follower = a.uid AND (SELECT true FROM dataplane.follow g WHERE g.follower = f.followee AND g.followee = 1)))}),
		'0',
		"$label: new accounts created during the build have exact counts");
	return $during;
}

# A rebuild of a ready index.
writes_during_build('writes during rebuild()', 0, 'SELECT dataplane.rebuild()');

# ------------------------------------------------------------------- crash
# The first build after a crash (immediate stop), started by a read.
$node->stop('immediate');
$node->start;
is(dp_state($node), 'warming', 'immediate stop: the index is warming right after the start');
writes_during_build('writes during the first build after a crash', 1,
	'SELECT dataplane.follows(1, 2)');

# SIGKILL of a backend whose commit is visible but not yet applied: the
# postmaster kills every backend and reinitializes shared memory.
my ($ka, $kb) = split /\|/, $node->safe_psql('postgres', qq{
SELECT f.follower, x FROM dataplane.follow f, LATERAL (SELECT 2 + (f.follower % 1000) AS x) y
 WHERE NOT EXISTS (SELECT 1 FROM dataplane.follow g WHERE g.follower = f.follower AND g.followee = x)
   AND f.follower <> x LIMIT 1});
my ($dc, $dd) = split /\|/, $node->safe_psql('postgres',
	'SELECT follower, followee FROM dataplane.follow WHERE followee = 1 ORDER BY follower LIMIT 1');
my $victim = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $victim->query_safe('SELECT pg_backend_pid()');
$victim->query_until(qr/sent/, qq{SET dataplane.test_apply_delay = 60000;
\\echo sent
BEGIN;
INSERT INTO dataplane.follow (follower, followee) VALUES ($ka, $kb);
DELETE FROM dataplane.follow WHERE follower = $dc AND followee = $dd;
COMMIT;
});
ok( wait_until(
		$node,
		"SELECT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = $ka AND followee = $kb)",
		't', 30),
	'kill -9: the commit is visible');
is($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $pid"),
	'active', 'kill -9: the committing backend is still in its apply delay');
is($node->safe_psql('postgres', "SELECT dataplane.follows($ka, $kb), dataplane.follows($dc, $dd)"),
	't|f', 'kill -9: a read during the apply delay sees the visible commit');
my $log_offset = -s $node->logfile;
kill 'KILL', $pid;
eval { $victim->quit; };
ok($node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset),
	'kill -9: the postmaster reinitializes after the crash');
ok(wait_until($node, 'SELECT 1', '1', 60), 'kill -9: the server is back after the crash');
check_after_start(
	'kill -9',
	sub {
		is( $node->safe_psql(
				'postgres', "SELECT dataplane.follows($ka, $kb), dataplane.follows($dc, $dd)"),
			't|f',
			'kill -9: the killed backend\'s commit is kept (read from the tables)');
	});
is($node->safe_psql('postgres', "SELECT dataplane.follows($ka, $kb), dataplane.follows($dc, $dd)"),
	't|f', 'kill -9: the killed backend\'s commit is in the rebuilt index');

$node->stop;
done_testing();
