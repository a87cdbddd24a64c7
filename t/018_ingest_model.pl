# ingest_jetstream against a model (issue 14, item 7's randomized test):
# generated Jetstream streams go through ingest_jetstream in random batches,
# then random suffixes of the same stream are applied again, several times
# (a consumer that reconnects with a rewound cursor, out of order with
# respect to what it already applied); after every step the tables must
# equal a model's, verify() must return no rows, and every read function
# must match the reference SQL.
#
# The model is test/jetstream/ingest_model.py: Python, the standard
# library's json module, plain dictionaries keyed by DIDs and record keys,
# written from DESIGN.md's mapping and nothing of src/ingest (neither its
# parser nor its rules). A C++ tool over test/unit/ingest_ref.hpp would have
# shared src/ingest's parser and its conversion of events (createdAt, reply
# authors, embeds, the listitem rule), so that a mistake there would be in
# both; the Python model reads every line on its own and is short enough to
# audit against DESIGN.md. Where DESIGN.md leaves a choice open it takes the
# one ingest_ref.hpp and the README document (listed in its header). It
# prints the tables in exactly the text of canonical_records(), so the
# comparison is of text; any difference fails the test and shows the first
# differing lines. The model also counts lines read, applied, skipped and
# unreadable, and the largest time_us, which status()'s ingest_* counters
# and ingest_jetstream's results must match.
#
# Each stream is jetgen's (with replayed windows and malformed lines) with
# events added by the model's "mix" (updates that move or keep follows,
# blocks, list items and reposts, second reposts of a post and deletes of
# the first, post deletes before and after their reposts, post updates,
# listitems in another account's list, account events, other createdAt
# forms), so that the rules a generated stream seldom meets are met.
# Batches are 1 to 2,500 lines; most commit alone, some share a
# transaction with the next (a batch then reads the one before it
# uncommitted). DP_MODEL_SEED=N picks other random batches, suffixes and
# added events.
use strict;
use warnings;

use Cwd ();
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use Time::HiRes qw(time);
use DataplaneTest;

# The checkout: DP_ROOT (scripts/test.sh sets it), else the one holding
# this file (make prove_installcheck). Its CMake build must have made jetgen.
my $root = $ENV{DP_ROOT} // Cwd::abs_path("$FindBin::RealBin/..");
my $jetgen = "$root/build/jetgen";
plan skip_all => "$jetgen is missing (the CMake build makes it; scripts/test.sh tap does)"
  unless -x $jetgen;
my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
my $model = "$root/test/jetstream/ingest_model.py";

my $seed = $ENV{DP_MODEL_SEED} // 18;
srand($seed);
note "random batches and suffixes from seed $seed (DP_MODEL_SEED)";

my $dir = PostgreSQL::Test::Utils::tempdir();
# Timestamps print in UTC, as the model prints them.
my $node = dp_node('model', conf => "timezone = 'UTC'\n");
$node->safe_psql('postgres', q{
CREATE TABLE public.dp_events (n int PRIMARY KEY, line text NOT NULL);
CREATE TABLE public.dp_returned (got bigint);
-- Applies lines cuts[1]+1 .. cuts[last], one batch per pair of cuts; a
-- batch commits unless commits[i] is false (then it shares its transaction
-- with the next). Records what each call returned.
CREATE PROCEDURE public.dp_apply(cuts int[], commits boolean[]) LANGUAGE plpgsql AS $$
DECLARE
    ret bigint;
BEGIN
    FOR i IN 2 .. cardinality(cuts) LOOP
        SELECT dataplane.ingest_jetstream(string_agg(line, E'\n' ORDER BY n)) INTO ret
          FROM public.dp_events WHERE n > cuts[i - 1] AND n <= cuts[i];
        INSERT INTO public.dp_returned VALUES (ret);
        IF commits[i] THEN
            COMMIT;
        END IF;
    END LOOP;
    COMMIT;
END $$;
});

my @counters = qw(ingest_events ingest_applied ingest_skipped ingest_unreadable);

for my $stream ([ 101, 20000, 1500 ], [ 202, 25000, 3000 ], [ 303, 15000, 600 ])
{
	my ($gseed, $events, $accounts) = @$stream;
	my $t0 = time;
	my $raw = "$dir/jetgen-$gseed.jsonl";
	my $file = "$dir/stream-$gseed.jsonl";
	system($jetgen, '--events', $events, '--accounts', $accounts, '--seed', $gseed,
		'--replays', 150, '--output', $raw) == 0
	  or BAIL_OUT('jetgen failed');
	run_or_bail([ $python, $model, 'mix', $raw, $file, '--seed', $gseed * 1000 + $seed ]);

	# A fresh extension, and the stream's non-blank lines numbered 1..N.
	my $n = $node->safe_psql('postgres', qq{
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS dataplane CASCADE;
CREATE EXTENSION dataplane;
TRUNCATE public.dp_events;
INSERT INTO public.dp_events
  SELECT row_number() OVER (ORDER BY k), line
    FROM regexp_split_to_table(pg_read_file('$file'), E'\\n') WITH ORDINALITY AS t(line, k)
   WHERE btrim(line, E' \\t\\r') <> '';
SELECT count(*) FROM public.dp_events;});
	# The comparisons below must meet the index, not the tables' fallback.
	ok(wait_state($node, 'ready'), "stream $gseed: the index is ready");

	# The steps: the whole stream, then random suffixes of it.
	my @steps = ([ 0, $n ]);
	push @steps, [ int(rand($n)), $n ] for 1 .. 4;
	my $spec = join(',', map { "$_->[0]:$_->[1]" } @steps);
	my $out = run_or_bail([ $python, $model, 'apply', $file, '--steps', $spec,
		'--out', "$dir/model-$gseed" ]);
	my @want_counts = map { [ /lines (\d+) applied (\d+) skipped (\d+) unreadable (\d+) last (-?\d+)/ ] }
	  grep { /^step / } split /\n/, $out;
	is(scalar(@want_counts), scalar(@steps), "stream $gseed: the model ran every step");
	note sprintf('stream %d: %d lines, steps %s', $gseed, $n, $spec);

	for my $i (0 .. $#steps)
	{
		my ($from, $to) = @{ $steps[$i] };
		my $label = sprintf('stream %d, step %d (lines %d..%d)', $gseed, $i + 1, $from + 1, $to);

		# Random batches: mostly hundreds of lines, some single lines, a few
		# of thousands; one in five shares its transaction with the next.
		my @cuts = ($from);
		my @commits = ('true');
		while ($cuts[-1] < $to)
		{
			my $r = rand();
			my $size = $r < 0.1 ? 1 : $r < 0.8 ? 1 + int(rand(600)) : 1 + int(rand(2500));
			push @cuts, $cuts[-1] + $size > $to ? $to : $cuts[-1] + $size;
			push @commits, rand() < 0.2 ? 'false' : 'true';
		}
		my $before = status_counts($node);
		$node->safe_psql('postgres', 'TRUNCATE public.dp_returned');
		$node->safe_psql('postgres', sprintf("CALL public.dp_apply('{%s}', '{%s}')",
				join(',', @cuts), join(',', @commits)));
		my $after = status_counts($node);

		my ($lines, $applied, $skipped, $unreadable, $last) = @{ $want_counts[$i] };
		my @delta = map { $after->[$_] - $before->[$_] } 0 .. $#counters;
		is("@delta", "$lines $applied $skipped $unreadable",
			"$label: status() counts lines, applied, skipped, unreadable as the model ("
			  . (scalar(@cuts) - 1) . ' batches)');
		is($node->safe_psql('postgres', 'SELECT coalesce(max(got), -1) FROM public.dp_returned'),
			$last, "$label: ingest_jetstream returned the largest time_us read");

		my $want = slurp_file("$dir/model-$gseed." . ($i + 1) . '.txt');
		my $got = canonical_records($node);
		my $rows = () = $want =~ /\n/g;
		ok($got eq $want, "$label: the tables are the model's (" . ($rows + 1) . ' rows)')
		  or diag_first_difference($got, $want);

		verify_clean($node, $label);
		my $actors = $node->safe_psql('postgres', 'SELECT max(uid) FROM dataplane.actor');
		# (The streams' follow graphs are small: social proofs may all be empty.)
		check_functions($node, $label, actors => $actors, no_proof_check => 1);
		check_timelines($node, $label, actors => $actors, sample => sample_sql($actors, 60));
	}
	note sprintf('stream %d took %.1f s', $gseed, time - $t0);
}
cmp_ok(status_field($node, 'pages_index'), '>', 0, 'timeline pages were answered by the index');
is(status_field($node, 'state'), 'ready', 'the index stayed ready');

$node->stop;
done_testing();

# The status() counters of @counters, as numbers.
sub status_counts
{
	my ($node) = @_;
	return [ split /\|/,
		$node->safe_psql('postgres', 'SELECT ' . join(', ', @counters) . ' FROM dataplane.status()') ];
}

# Runs a command; its stdout, or BAIL_OUT with its stderr.
sub run_or_bail
{
	my ($cmd) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run($cmd, '>', \$out, '2>', \$err)
	  or BAIL_OUT("@$cmd failed: $err");
	return $out;
}

# The first lines where the tables (got) and the model (want) differ, with
# the line before them, and how many lines each has that the other lacks.
sub diag_first_difference
{
	my ($got, $want) = @_;
	my @g = split /\n/, $got;
	my @w = split /\n/, $want;
	my $i = 0;
	$i++ while $i < @g && $i < @w && $g[$i] eq $w[$i];
	diag sprintf('first difference at line %d (tables %d lines, model %d lines)',
		$i + 1, scalar(@g), scalar(@w));
	diag "  both:   $g[$i - 1]" if $i > 0;
	diag "  tables: " . ($g[$_] // '(end)') for $i .. ($i + 4 < $#g ? $i + 4 : ($#g > $i ? $#g : $i));
	diag "  model:  " . ($w[$_] // '(end)') for $i .. ($i + 4 < $#w ? $i + 4 : ($#w > $i ? $#w : $i));
	my %gs = map { $_ => 1 } @g;
	my %ws = map { $_ => 1 } @w;
	my @extra = grep { !$ws{$_} } @g;
	my @missing = grep { !$gs{$_} } @w;
	diag 'only in the tables: ' . scalar(@extra) . ', only in the model: ' . scalar(@missing);
	diag "  only in the tables: $_" for @extra[ 0 .. ($#extra < 9 ? $#extra : 9) ];
	diag "  only in the model:  $_" for @missing[ 0 .. ($#missing < 9 ? $#missing : 9) ];
}
