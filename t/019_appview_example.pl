# docs/examples/timeline_handler.py, the example of docs/appview.md, against
# a real cluster: a generated Jetstream stream goes in through
# ingest_jetstream, then the example's get_timeline and get_author_feed walk
# every page of several feeds, with several page sizes, connected as a role
# that has only the grants docs/appview.md lists; every walk must list
# exactly the items of the contract's reference query (DESIGN.md) in order,
# named by their AT-URIs. One page's full answer is also compared with
# timeline_skeleton's own rows, and the example's errors are checked.
#
# The stream is jetgen's without its blocks, lists, list items, list blocks
# and account events: with no such rows the contract's second-part query
# (which hides blocked, muted and inactive accounts) is its first, which
# is the reference here. A few posts written with plain SQL and no record
# key have no AT-URI: the example leaves them out of its pages and pages on.
use strict;
use warnings;

use Cwd ();
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use DataplaneTest;

# The checkout: DP_ROOT (scripts/test.sh sets it), else the one holding
# this file (make prove_installcheck). Its CMake build must have made jetgen.
my $root = $ENV{DP_ROOT} // Cwd::abs_path("$FindBin::RealBin/..");
my $jetgen = "$root/build/jetgen";
plan skip_all => "$jetgen is missing (the CMake build makes it; scripts/test.sh tap does)"
  unless -x $jetgen;
my $python = '/usr/bin/python3';  # Debian's, with python3-psycopg
my $example = "$root/docs/examples/timeline_handler.py";

my $dir = PostgreSQL::Test::Utils::tempdir();
my $raw = "$dir/jetgen.jsonl";
my $file = "$dir/stream.jsonl";
system($jetgen, '--events', 30000, '--accounts', 800, '--seed', 19, '--output', $raw) == 0
  or BAIL_OUT('jetgen failed');
open(my $in, '<', $raw) or die $!;
open(my $out, '>', $file) or die $!;
while (my $line = <$in>)
{
	next if $line =~ /"collection":"app\.bsky\.graph\.(?:block|list|listitem|listblock)"/
	  || $line =~ /"kind":"account"/;
	print $out $line;
}
close $in;
close $out;

my $node = dp_node('appview');
ingest_file($node, $file, 3000);
$node->safe_psql('postgres', q{
INSERT INTO dataplane.post (author, created_at)
  SELECT uid, '2024-09-05 00:00:03+00'::timestamptz + uid * interval '7 ms'
    FROM dataplane.actor ORDER BY uid LIMIT 60;
CREATE ROLE appview LOGIN;
GRANT USAGE ON SCHEMA dataplane TO appview;
GRANT SELECT ON dataplane.actor, dataplane.post, dataplane.repost TO appview;
});
is($node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM dataplane.block) + (SELECT count(*) FROM dataplane.mute)
     + (SELECT count(*) FROM dataplane.list) + (SELECT count(*) FROM dataplane.list_block)
     + (SELECT count(*) FROM dataplane.list_mute)
     + (SELECT count(*) FROM dataplane.actor WHERE NOT active)}), '0',
	'no block, mute, list or inactive actor: the first-part query is the reference');
ok(wait_state($node, 'ready'), 'the index is ready');

# The feeds: accounts that follow most, accounts most followed, a few
# others, and a DID of no actor.
my @dids = split /\n/, $node->safe_psql('postgres', q{
(SELECT a.did FROM dataplane.follow f JOIN dataplane.actor a ON a.uid = f.follower
  GROUP BY a.did ORDER BY count(*) DESC, a.did LIMIT 8)
UNION ALL
(SELECT a.did FROM dataplane.follow f JOIN dataplane.actor a ON a.uid = f.followee
  GROUP BY a.did ORDER BY count(*) DESC, a.did LIMIT 8)
UNION ALL
(SELECT did FROM dataplane.actor ORDER BY md5(did) LIMIT 8)
UNION ALL
SELECT 'did:plc:nobodyhasthisdidatall'});

my $ref_sql = q{
CREATE FUNCTION pg_temp.ref_items(feed bool, v int)
RETURNS TABLE (item_id bigint, post_id bigint, author int, reposter int, sort_at timestamptz)
LANGUAGE sql STABLE AS $r$
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = v AND NOT feed
             UNION SELECT v)
SELECT * FROM (
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src)
) t
ORDER BY t.sort_at DESC, t.item_id DESC
$r$;
};
my $did_array = 'ARRAY[' . join(',', map { "'$_'" } @dids) . ']::text[]';
my $conn = $node->connstr('postgres') . ' user=appview';

my $total = 0;
for my $feed ([ 'timeline', 'false' ], [ 'author', 'true' ])
{
	my ($name, $is_author) = @$feed;
	my $want = $node->safe_psql('postgres', $ref_sql . qq{
SELECT d.did || ' at://' || pa.did || '/app.bsky.feed.post/' || p.rkey || ' '
       || coalesce('at://' || ra.did || '/app.bsky.feed.repost/' || r.rkey, '-')
  FROM unnest($did_array) WITH ORDINALITY d(did, ord)
  LEFT JOIN dataplane.actor v ON v.did = d.did
  CROSS JOIN LATERAL pg_temp.ref_items($is_author, v.uid) WITH ORDINALITY t
  JOIN dataplane.post p ON p.id = t.post_id
  JOIN dataplane.actor pa ON pa.uid = t.author
  LEFT JOIN dataplane.repost r ON t.reposter IS NOT NULL AND r.id = t.item_id
  LEFT JOIN dataplane.actor ra ON ra.uid = t.reposter
 WHERE p.rkey IS NOT NULL
 ORDER BY d.ord, t.ordinality;});
	my $items = () = $want =~ /\n/g;
	cmp_ok($node->safe_psql('postgres', $ref_sql . qq{
SELECT count(*) FROM unnest($did_array) d(did) JOIN dataplane.actor v ON v.did = d.did
  CROSS JOIN LATERAL pg_temp.ref_items($is_author, v.uid) t
  JOIN dataplane.post p ON p.id = t.post_id WHERE p.rkey IS NULL;}), '>', 0,
		"$name: the feeds hold rows without an AT-URI, which the example leaves out");
	for my $limit (1, 7, 50, 100)
	{
		my $got = run_python([ $example, $conn, $name, @dids, '--limit', $limit ]);
		chomp $got;
		ok($got eq $want, "$name walks of " . scalar(@dids) . " feeds, pages of $limit: "
			  . ($items + 1) . ' items as the reference query')
		  or diag_first_difference($got, $want);
		$total += $items + 1;
	}
}
note "$total items compared";

# One page in full, beside timeline_skeleton's own rows; the first page
# with an empty cursor (protobuf's unset string); errors.
my $viewer = $dids[0];
my $page = run_python([ '-c', qq{
import json, sys
sys.path.insert(0, "$root/docs/examples")
import psycopg
from timeline_handler import get_timeline, get_author_feed, BadCursor
conn = psycopg.connect("$conn", autocommit=True)
first = get_timeline(conn, "$viewer", 5, "")
print(json.dumps(first, sort_keys=True))
print(json.dumps(get_timeline(conn, "$viewer", 5, first["cursor"]), sort_keys=True))
print(json.dumps(get_author_feed(conn, "did:plc:nobodyhasthisdidatall", 5, None), sort_keys=True))
for bad in ("abc", "1:2:3"):
    try:
        get_timeline(conn, "$viewer", 5, bad)
        print("no error")
    except BadCursor as e:
        print("BadCursor:", e)
try:
    get_timeline(conn, "$viewer", 0, None)
except ValueError as e:
    print("ValueError:", e)
} ]);
my $skeleton = $node->safe_psql('postgres', qq{
WITH p1 AS (SELECT * FROM dataplane.timeline_skeleton('$viewer', 5) WITH ORDINALITY s),
     p2 AS (SELECT * FROM dataplane.timeline_skeleton('$viewer', 5,
              (SELECT cursor FROM p1 ORDER BY ordinality DESC LIMIT 1)) WITH ORDINALITY s)
SELECT json_build_object('cursor', (SELECT cursor FROM p1 ORDER BY ordinality DESC LIMIT 1),
         'items', (SELECT json_agg(json_build_object('repost', repost_uri, 'uri', uri)
                                   ORDER BY ordinality) FROM p1 WHERE uri IS NOT NULL))
UNION ALL
SELECT json_build_object('cursor', (SELECT cursor FROM p2 ORDER BY ordinality DESC LIMIT 1),
         'items', (SELECT json_agg(json_build_object('repost', repost_uri, 'uri', uri)
                                   ORDER BY ordinality) FROM p2 WHERE uri IS NOT NULL));});
my @lines = split /\n/, $page;
my @sk = split /\n/, $skeleton;
is_deeply(canon_json($lines[0]), canon_json($sk[0]), 'the first page is timeline_skeleton\'s, with its last cursor');
is_deeply(canon_json($lines[1]), canon_json($sk[1]), 'the page after it too');
is($lines[2], '{"cursor": null, "items": []}', 'an unknown DID: no items, no cursor');
like($lines[3], qr/^BadCursor: invalid feed cursor "abc"/, 'a bad cursor raises BadCursor');
like($lines[4], qr/^BadCursor: invalid feed cursor "1:2:3"/, 'another one too');
like($lines[5], qr/^ValueError: limit must be between 1 and 100/, 'a limit out of range is refused');

$node->stop;
done_testing();

# Runs python3 with these arguments; its stdout, or BAIL_OUT with stderr.
sub run_python
{
	my ($args) = @_;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ $python, @$args ], '>', \$stdout, '2>', \$stderr)
	  or BAIL_OUT("python3 @$args[0 .. 1] failed: $stderr");
	return $stdout;
}

# A JSON text as Perl data, so that key order and spacing do not matter.
sub canon_json
{
	require JSON::PP;
	return JSON::PP->new->decode($_[0]);
}

# The first lines where the example's walk (got) and the reference (want)
# differ.
sub diag_first_difference
{
	my ($got, $want) = @_;
	my @g = split /\n/, $got;
	my @w = split /\n/, $want;
	my $i = 0;
	$i++ while $i < @g && $i < @w && $g[$i] eq $w[$i];
	diag sprintf('first difference at line %d (example %d lines, reference %d lines)',
		$i + 1, scalar(@g), scalar(@w));
	diag '  example:   ' . ($g[$_] // '(end)') for $i .. $i + 2;
	diag '  reference: ' . ($w[$_] // '(end)') for $i .. $i + 2;
}
