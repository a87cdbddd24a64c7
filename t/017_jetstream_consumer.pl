# The live Jetstream consumer (dataplane.jetstream_url): it subscribes to a
# local Jetstream server replaying a generated stream (with replayed
# windows, malformed lines, dropped connections), survives a kill -9 of its
# process and an immediate restart of the server mid-stream, and ends with
# exactly the rows a clean ingest_jetstream() pass over the same stream
# writes, compared by natural keys; the index then matches the reference
# SQL. Without a URL the worker holds no database connection; a URL it
# cannot use shows in status().
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use DataplaneTest;

my $root = $ENV{DP_ROOT} or BAIL_OUT('DP_ROOT is not set (run through scripts/test.sh)');
my $jetgen = "$root/build/jetgen";
BAIL_OUT("$jetgen is missing (the CMake build makes it)") unless -x $jetgen;
my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';

# The stream: 40k lines, 1500 accounts, replayed windows; then a sentinel
# account event one microsecond after the last line, so that the consumer
# is known to be done when its cursor reaches it.
my $dir = PostgreSQL::Test::Utils::tempdir();
my $file = "$dir/stream.jsonl";
system($jetgen, '--events', 40000, '--accounts', 1500, '--seed', 17, '--replays', 40,
	'--output', $file) == 0 or BAIL_OUT('jetgen failed');
my $max = 0;
open(my $fh, '<', $file) or die $!;
while (<$fh>)
{
	$max = $1 if /"time_us":(\d+)/ && $1 > $max;
}
close $fh;
my $end = $max + 1;
my $sentinel = 'did:plc:zzzzzzzzzzzzzzzzzzzzzzzz';
open($fh, '>>', $file) or die $!;
print $fh qq({"did":"$sentinel","time_us":$end,"kind":"account","account":)
  . qq({"active":true,"did":"$sentinel","seq":1,"time":"2024-09-05T01:00:00.000Z"}}\n);
close $fh;

# The server: 2500 events a second (about 6 s of stream), and one
# connection in 2000 dropped without a close frame.
my ($out, $err) = ('', '');
my $server = IPC::Run::start(
	[ $python, "$root/test/jetstream/replay_server.py", $file, '--port', 0,
	  '--rate', 2500, '--close-random', 0.0005, '--abort', '--seed', 5 ],
	'>', \$out, '2>', \$err);
my $deadline = time + 30;
$server->pump until $out =~ /READY port=(\d+)/ || time > $deadline;
my ($port) = $out =~ /READY port=(\d+)/ or BAIL_OUT("replay server did not start: $err");
my $url = "ws://127.0.0.1:$port/subscribe";

# Without a URL: the worker runs, holds no database connection, says off.
my $node = dp_node('consumer', conf => "restart_after_crash = on\n"
	  . "dataplane.jetstream_batch = 400\n"
	  . "dataplane.jetstream_flush_interval = 100ms\ndataplane.jetstream_rewind = 1s\n");
my $pid_sql = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dataplane jetstream consumer'";
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity "
		  . "WHERE backend_type = 'dataplane jetstream consumer'"), '0',
	'without a URL the consumer holds no database connection');
is(status_field($node, 'jetstream_state'), 'off', 'without a URL status() says off');

# A URL the client cannot use.
$node->safe_psql('postgres', "ALTER SYSTEM SET dataplane.jetstream_url = 'http://nowhere'");
$node->reload;
ok(wait_until($node, 'SELECT jetstream_state FROM dataplane.status()', 'error'),
	'a URL that is not ws:// or wss:// puts the consumer in error');
like(status_field($node, 'jetstream_reason'), qr/ws/, 'status() says why');

# The real server.
$node->safe_psql('postgres', "ALTER SYSTEM SET dataplane.jetstream_url = '$url'");
$node->reload;
ok(wait_until($node, 'SELECT jetstream_events > 2000 FROM dataplane.status()', 't'),
	'the consumer applies events');
is(status_field($node, 'jetstream_url'), $url, 'status() names the URL');
ok(status_field($node, 'jetstream_lag_ms') > 0, 'status() reports the lag');

# kill -9 of the consumer: the postmaster reinitializes shared memory, the
# worker starts again and resumes from its committed cursor.
my $pid = $node->safe_psql('postgres', $pid_sql);
my $cursor1 = $node->safe_psql('postgres', 'SELECT time_us FROM dataplane.jetstream_cursor');
ok($cursor1 > 0, 'a cursor is committed');
kill 'KILL', $pid;
ok(wait_until($node, 'SELECT jetstream_events > 2000 FROM dataplane.status()', 't'),
	'after kill -9 the consumer goes on');
cmp_ok($node->safe_psql('postgres', 'SELECT time_us FROM dataplane.jetstream_cursor'),
	'>=', $cursor1, 'the cursor did not go back');

# An immediate shutdown of the server mid-stream.
$node->stop('immediate');
$node->start;
ok(wait_until($node, "SELECT time_us FROM dataplane.jetstream_cursor", $end, 180),
	'the consumer reaches the end of the stream');
my $consumed = canonical_records($node);

# The reference: a clean pass over the same file, in another cluster.
my $ref = dp_node('reference');
is(ingest_file($ref, $file, 5000), $end, 'the reference pass reads the whole file');
my $expected = canonical_records($ref);
my @lines = split /\n/, $expected;
cmp_ok(scalar(@lines), '>', 5000, 'the reference holds records (' . scalar(@lines) . ')');
ok($consumed eq $expected, 'the consumer wrote exactly the rows of a clean pass')
  or diag_difference($consumed, $expected);

# The index agrees with the tables it was built from, and with the
# reference SQL.
ok(wait_state($node, 'ready'), 'the index is ready');
verify_clean($node, 'after consuming');
my $actors = $node->safe_psql('postgres', 'SELECT max(uid) FROM dataplane.actor');
check_functions($node, 'after consuming', actors => $actors);
check_timelines($node, 'after consuming', actors => $actors);

# Clearing the URL stops consuming.
$node->safe_psql('postgres', 'ALTER SYSTEM RESET dataplane.jetstream_url');
$node->reload;
ok(wait_until($node, 'SELECT jetstream_state FROM dataplane.status()', 'off'),
	'clearing the URL turns the consumer off');

$server->kill_kill;
$node->stop;
$ref->stop;
done_testing();

sub diag_difference
{
	my ($got, $want) = @_;
	my %g = map { $_ => 1 } split /\n/, $got;
	my %w = map { $_ => 1 } split /\n/, $want;
	my @extra = grep { !$w{$_} } sort keys %g;
	my @missing = grep { !$g{$_} } sort keys %w;
	diag 'extra: ' . scalar(@extra) . ', missing: ' . scalar(@missing);
	diag "extra: $_" for @extra[ 0 .. ($#extra < 9 ? $#extra : 9) ];
	diag "missing: $_" for @missing[ 0 .. ($#missing < 9 ? $#missing : 9) ];
}
