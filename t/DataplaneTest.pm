# Shared helpers of the dataplane TAP tests: a cluster with the extension
# preloaded, a generated follow graph, and the comparison of every graph
# function with the reference SQL over the tables (the SQL contract of
# DESIGN.md).
package DataplaneTest;

use strict;
use warnings;

# PostgreSQL::Test::Utils creates $TESTDIR/tmp_check with a plain mkdir in
# its INIT block, which fails when $TESTDIR itself does not exist yet (as
# with scripts/test.sh, which points TESTDIR at a directory it never
# creates). This module is loaded at compile time, before that INIT block
# runs: create $TESTDIR here.
BEGIN
{
	if (defined $ENV{TESTDIR} && $ENV{TESTDIR} ne '' && !-d $ENV{TESTDIR})
	{
		mkdir $ENV{TESTDIR} or die "could not create TESTDIR $ENV{TESTDIR}: $!";
	}
}

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

our @EXPORT = qw(dp_node load_graph load_items sample_sql check_functions
  check_timelines verify_clean dp_state wait_state wait_until status_field
  bg_start bg_finish canonical_records ingest_file check_moderation load_moderation);

# dp_node($name, %opts): a started cluster with dataplane preloaded.
#   preload => 0          do not preload the library
#   conf => "..."         more postgresql.conf lines
#   extension => 0        do not CREATE EXTENSION
#   db => 'postgres'      dataplane.database (and where the extension goes)
sub dp_node
{
	my ($name, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $conf = "dataplane.database = '$db'\n"
	  . "max_worker_processes = 16\n"
	  . "max_connections = 40\n"
	  . "shared_buffers = 64MB\n"
	  . "max_wal_size = 1GB\n"
	  . "checkpoint_timeout = 30min\n"
	  # Cluster.pm logs every statement; pgbench runs would flood the log.
	  . "log_statement = none\n"
	  . "log_min_messages = warning\n";
	$conf = "shared_preload_libraries = 'dataplane'\n" . $conf
	  unless defined $opts{preload} && !$opts{preload};
	$conf .= $opts{conf} . "\n" if defined $opts{conf};
	$node->append_conf('postgresql.conf', $conf);
	$node->start;
	if ($db ne 'postgres')
	{
		$node->safe_psql('postgres', "CREATE DATABASE $db");
	}
	$node->safe_psql($db, 'CREATE EXTENSION dataplane')
	  unless defined $opts{extension} && !$opts{extension};
	return $node;
}

# load_graph($node, %opts): $opts{actors} actors, about $opts{follows}
# follows. Followees are skewed towards low uids (popular accounts), so that
# social proof is not empty; a few accounts (uid 1..$opts{big}) follow many.
# A bulk load: the foreign keys are checked by one query at the end instead
# of per row (session_replication_role = replica; the capture triggers are
# ENABLE ALWAYS and fire as usual), the rows go in primary key order, and the
# (followee, follower) index is dropped during the load and created again
# (random-order inserts into it would take most of the time).
sub load_graph
{
	my ($node, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	my $n = $opts{actors};
	my $m = $opts{follows};
	my $big = $opts{big} // 20;
	my $big_deg = $opts{big_degree} // 500;
	my $seed = $opts{seed} // 0.42;
	my $t0 = time;
	$node->safe_psql(
		$db, qq{
SET session_replication_role = replica;
SET maintenance_work_mem = '256MB';
SET work_mem = '256MB';
SELECT setseed($seed);
INSERT INTO dataplane.actor (uid, did)
  SELECT g, 'did:plc:' || g FROM generate_series(1, $n) g;
SELECT setval(pg_get_serial_sequence('dataplane.actor', 'uid'), $n);
DROP INDEX dataplane.follow_followee_idx;
INSERT INTO dataplane.follow (follower, followee)
  SELECT DISTINCT f, e FROM (
    SELECT 1 + (random() * ($n - 1))::int AS f,
           1 + floor(($n - 1) * power(random(), 3))::int AS e
      FROM generate_series(1, $m)
    UNION ALL
    SELECT b, 1 + (random() * ($n - 1))::int
      FROM generate_series(1, $big) b, generate_series(1, $big_deg)
  ) x WHERE f <> e ORDER BY f, e;
CREATE INDEX follow_followee_idx ON dataplane.follow (followee, follower);
});
	my $bad = $node->safe_psql($db,
		'SELECT count(*) FROM dataplane.follow f WHERE NOT EXISTS '
		  . '(SELECT 1 FROM dataplane.actor a WHERE a.uid = f.follower) '
		  . 'OR NOT EXISTS (SELECT 1 FROM dataplane.actor a WHERE a.uid = f.followee)'
	);
	die "load_graph: $bad follows without actor" if $bad ne '0';
	$node->safe_psql($db, 'VACUUM ANALYZE dataplane.actor, dataplane.follow');
	my $edges = $node->safe_psql($db, 'SELECT count(*) FROM dataplane.follow');
	note sprintf("loaded %d actors, %d follows in %.1f s", $n, $edges, time - $t0);
	return $edges;
}

# load_items($node, %opts): about $opts{posts} posts by actors 1..$opts{actors}
# (authors skewed towards low uids: popular accounts post more), created
# over two weeks, one in 20 with a created_at in the past relative to its
# id; and $opts{reposts} reposts of random posts. Ids come from
# dataplane.item_id_seq, as an AppView's would.
sub load_items
{
	my ($node, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	my $n = $opts{actors};
	my $posts = $opts{posts};
	my $reposts = $opts{reposts} // int($posts / 5);
	my $seed = $opts{seed} // 0.17;
	my $t0 = time;
	$node->safe_psql(
		$db, qq{
SELECT setseed($seed);
INSERT INTO dataplane.post (author, created_at)
  SELECT 1 + floor(($n - 1) * power(random(), 2))::int,
         '2026-01-01'::timestamptz + g * interval '1 second' * (1209600.0 / $posts)
           - CASE WHEN random() < 0.05 THEN interval '3 days' * random() ELSE interval '0' END
    FROM generate_series(1, $posts) g;
INSERT INTO dataplane.repost (reposter, post_id, created_at)
  SELECT DISTINCT ON (r, pid) r, pid, '2026-01-01'::timestamptz + random() * interval '15 days'
    FROM (SELECT 1 + (random() * ($n - 1))::int AS r,
                 (SELECT min(id) FROM dataplane.post) + (random() * $posts * 0.99)::bigint AS pid
            FROM generate_series(1, $reposts)) x
   WHERE EXISTS (SELECT 1 FROM dataplane.post p WHERE p.id = x.pid);
});
	$node->safe_psql($db, 'VACUUM ANALYZE dataplane.post, dataplane.repost');
	note sprintf("loaded %s posts, %s reposts in %.1f s",
		$node->safe_psql($db, 'SELECT count(*) FROM dataplane.post'),
		$node->safe_psql($db, 'SELECT count(*) FROM dataplane.repost'), time - $t0);
}

# check_timelines($node, $label, %opts): get_timeline and get_author_feed
# agree with the reference query of DESIGN.md for the sample (default:
# sample_sql($opts{actors}, 120)): first pages of several sizes, the next
# page after each (cursor = its last row), a cursor without before_id.
# Returns the number of pages compared.
sub check_timelines
{
	my ($node, $label, %opts) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $db = $opts{db} // 'postgres';
	my $sample = $opts{sample} // sample_sql($opts{actors}, 120);
	# The reference query: DESIGN.md's second part where the schema has the
	# moderation tables (0.2.0: the timeline without what the viewer must not
	# see; an author feed without a viewer hides nothing), else the first.
	my $moderation = $node->safe_psql($db,
		"SELECT to_regclass('dataplane.block') IS NOT NULL") eq 't';
	my $items = $moderation
	  ? q{
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at,
         p.reply_parent_author AS parent, p.reply_root_author AS root
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at, p.reply_parent_author, p.reply_root_author
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src)}
	  : q{
  SELECT p.id AS item_id, p.id AS post_id, p.author, NULL::int AS reposter, p.created_at AS sort_at,
         NULL::int AS parent, NULL::int AS root
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, r.post_id, p.author, r.reposter, r.created_at, NULL, NULL
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src)};
	my $hidden = $moderation
	  ? q{,
blocked AS (
  SELECT blocked AS uid FROM dataplane.block WHERE blocker = v AND NOT feed
  UNION SELECT blocker FROM dataplane.block WHERE blocked = v AND NOT feed
  UNION SELECT i.subject FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id)
   WHERE b.actor = v AND NOT feed
  UNION SELECT b.actor FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id)
   WHERE i.subject = v AND NOT feed),
hidden AS (
  SELECT uid FROM blocked
  UNION SELECT muted FROM dataplane.mute WHERE muter = v AND NOT feed
  UNION SELECT i.subject FROM dataplane.list_mute m JOIN dataplane.list_item i USING (list_id)
   WHERE m.actor = v AND NOT feed
  UNION SELECT uid FROM dataplane.actor WHERE NOT active AND NOT feed)}
	  : q{,
blocked AS (SELECT NULL::int AS uid WHERE false),
hidden AS (SELECT NULL::int AS uid WHERE false)};
	my $ref = qq{
CREATE OR REPLACE FUNCTION pg_temp.ref_page(feed bool, v int, lim int, bts timestamptz, bid bigint)
RETURNS TABLE (item_id bigint, post_id bigint, author int, reposter int, sort_at timestamptz)
LANGUAGE sql STABLE AS \$r\$
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = v AND NOT feed
             UNION SELECT v)$hidden
SELECT t.item_id, t.post_id, t.author, t.reposter, t.sort_at FROM ($items
) t
WHERE t.author NOT IN (SELECT uid FROM hidden)
  AND (t.reposter IS NULL OR t.reposter NOT IN (SELECT uid FROM hidden))
  AND (t.parent IS NULL OR (t.parent NOT IN (SELECT uid FROM blocked)
                            AND t.root NOT IN (SELECT uid FROM blocked)))
  AND (bts IS NULL OR (t.sort_at, t.item_id) < (bts, bid))
ORDER BY t.sort_at DESC, t.item_id DESC
LIMIT lim
\$r\$;
} . q{
CREATE OR REPLACE FUNCTION pg_temp.got_page(feed bool, v int, lim int, bts timestamptz, bid bigint)
RETURNS SETOF text LANGUAGE sql STABLE AS $g$
SELECT ROW(t.*)::text FROM dataplane.get_timeline(v, lim, bts, bid) t WHERE NOT feed
UNION ALL
SELECT ROW(t.*)::text FROM dataplane.get_author_feed(v, lim, bts, bid) t WHERE feed
$g$;
};
	my $sql = $ref . qq{
WITH s AS (SELECT unnest($sample) AS u),
q AS (SELECT u, feed, lim FROM s, (VALUES (false), (true)) f(feed),
             (VALUES (1), (20), (50), (400)) l(lim)),
-- the page after each first page, and one cursor without before_id
c AS (SELECT q.*, NULL::timestamptz AS bts, NULL::bigint AS bid FROM q
      UNION ALL
      SELECT q.*, last.sort_at, last.item_id FROM q,
             LATERAL (SELECT * FROM pg_temp.ref_page(q.feed, q.u, q.lim, NULL, NULL)
                       ORDER BY sort_at, item_id LIMIT 1) last
      UNION ALL
      SELECT q.*, last.sort_at, NULL FROM q,
             LATERAL (SELECT * FROM pg_temp.ref_page(q.feed, q.u, q.lim, NULL, NULL)
                       ORDER BY sort_at, item_id LIMIT 1) last WHERE q.lim = 20),
r AS (SELECT c.*,
             ARRAY(SELECT pg_temp.got_page(c.feed, c.u, c.lim, c.bts, c.bid)) AS got,
             ARRAY(SELECT ROW(t.*)::text FROM pg_temp.ref_page(c.feed, c.u, c.lim, c.bts, c.bid) t) AS want
        FROM c)
SELECT count(*), count(*) FILTER (WHERE cardinality(want) > 0),
       count(*) FILTER (WHERE got IS DISTINCT FROM want),
       string_agg(CASE WHEN got IS DISTINCT FROM want
                  THEN format('%s(%s, %s, %s, %s): got %s rows, want %s', CASE WHEN feed
                       THEN 'get_author_feed' ELSE 'get_timeline' END, u, lim, bts, bid,
                       cardinality(got), cardinality(want)) END, E'\n')
  FROM r;
};
	my $out = $node->safe_psql($db, $sql);
	my ($pages, $nonempty, $bad, @diffs) = split /\||\n/, $out;
	is($bad, '0', "$label: timelines match the reference query ($pages pages, $nonempty non-empty)")
	  or diag join("\n", @diffs[0 .. ($#diffs < 9 ? $#diffs : 9)]);
	return $pages;
}

# A SQL expression: an int[] of sample uids. Popular accounts (low uids),
# the heavy followers, random users, and the highest uids (installed last by
# a build).
sub sample_sql
{
	my ($n, $count) = @_;
	$count //= 200;
	my $r = $count - 40;
	return "(SELECT array_agg(DISTINCT u) FROM ("
	  . "SELECT generate_series(1, 20) u "
	  . "UNION ALL SELECT generate_series(GREATEST($n - 9, 1), $n) "
	  . "UNION ALL SELECT 1 + (hashint4(g) & 2147483647) % $n FROM generate_series(1, $r) g "
	  . "UNION ALL SELECT x FROM unnest(ARRAY[$n + 1, $n + 5000, 0, -1]) x) s)";
}

# The comparison query: one row per (function, arguments) whose answer
# differs from the reference SQL, at most 20; and the number of checks and of
# non-empty social proofs.
sub _check_query
{
	my ($sample) = @_;
	# The reference social proof is
	#   f JOIN follow g ON g.follower = f.followee AND g.followee = x
	# As (follower, followee) is the primary key, g matches at most one row:
	# the join is written as a correlated lookup, which the planner cannot
	# turn into a scan of all followers of a popular x.
	my $proof_cond = '(SELECT true FROM dataplane.follow g '
	  . 'WHERE g.follower = f.followee AND g.followee = x)';
	return qq{
CREATE TEMP TABLE IF NOT EXISTS dp_checks (fn text, args text, got text, want text);
TRUNCATE dp_checks;
WITH s AS (SELECT unnest($sample) AS u),
-- pairs (u, x): x = some accounts u follows, some it does not, popular ones
p AS (
  SELECT u, x FROM s, LATERAL (
    (SELECT followee AS x FROM dataplane.follow WHERE follower = s.u ORDER BY followee LIMIT 3)
    UNION (SELECT followee FROM dataplane.follow WHERE follower = s.u ORDER BY followee DESC LIMIT 1)
    UNION (SELECT follower FROM dataplane.follow WHERE followee = s.u ORDER BY follower LIMIT 2)
    UNION SELECT v FROM unnest(ARRAY[1, 2, 3, 7, 50, abs(u) + 1, abs(u) * 7 % 1000 + 1]) v) z
)
INSERT INTO dp_checks
SELECT 'follower_count', u::text, dataplane.follower_count(u)::text,
       (SELECT count(*) FROM dataplane.follow WHERE followee = u)::text FROM s
UNION ALL
SELECT 'following_count', u::text, dataplane.following_count(u)::text,
       (SELECT count(*) FROM dataplane.follow WHERE follower = u)::text FROM s
UNION ALL
SELECT 'followers', format('%s, %s, %s', u, lim, aft),
       (SELECT array_agg(x)::text FROM dataplane.followers(u, lim, aft) x),
       (SELECT array_agg(follower)::text FROM (SELECT follower FROM dataplane.follow
          WHERE followee = u AND follower > aft ORDER BY 1 LIMIT lim) r)
  FROM s, (VALUES (100000, 0), (7, 0), (5, -3), (10, 1000), (3, 150000), (1, 2147483647)) v(lim, aft)
UNION ALL
SELECT 'following', format('%s, %s, %s', u, lim, aft),
       (SELECT array_agg(x)::text FROM dataplane.following(u, lim, aft) x),
       (SELECT array_agg(followee)::text FROM (SELECT followee FROM dataplane.follow
          WHERE follower = u AND followee > aft ORDER BY 1 LIMIT lim) r)
  FROM s, (VALUES (100000, 0), (7, 0), (10, 1000), (3, 150000)) v(lim, aft)
UNION ALL
SELECT 'follows', format('%s, %s', u, x), dataplane.follows(u, x)::text,
       EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = u AND followee = x)::text
  FROM p
UNION ALL
SELECT 'follows', format('%s, %s', x, u), dataplane.follows(x, u)::text,
       EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = x AND followee = u)::text
  FROM p
UNION ALL
SELECT 'social_proof', format('%s, %s, %s', u, x, lim),
       (SELECT array_agg(y)::text FROM dataplane.social_proof(u, x, lim) y),
       (SELECT array_agg(followee)::text FROM (SELECT f.followee FROM dataplane.follow f
         WHERE f.follower = u AND $proof_cond ORDER BY 1 LIMIT lim) r)
  FROM p, (VALUES (10), (100000)) v(lim)
UNION ALL
SELECT 'social_proof_count', format('%s, %s', u, x),
       dataplane.social_proof_count(u, x)::text,
       (SELECT count(*) FROM dataplane.follow f WHERE f.follower = u AND $proof_cond)::text
  FROM p;
SELECT (SELECT count(*) FROM dp_checks),
       (SELECT count(*) FROM dp_checks WHERE fn = 'social_proof_count' AND want <> '0'),
       (SELECT count(*) FROM dp_checks WHERE got IS DISTINCT FROM want);
SELECT fn || '(' || args || '): got ' || coalesce(got, 'none') || ', want ' || coalesce(want, 'none')
  FROM dp_checks WHERE got IS DISTINCT FROM want LIMIT 10;
};
}

# check_functions($node, $label, %opts): every function agrees with the
# reference SQL on the sample; returns the number of checks made.
#   sample => SQL int[] expression (default: sample_sql($opts{actors}))
sub check_functions
{
	my ($node, $label, %opts) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $db = $opts{db} // 'postgres';
	my $sample = $opts{sample} // sample_sql($opts{actors});
	my $out = $node->safe_psql($db, _check_query($sample));
	my ($summary, @diffs) = split /\n/, $out;
	my ($checks, $proofs, $bad) = split /\|/, $summary;
	is($bad, '0', "$label: every function matches the reference SQL ($checks checks)")
	  or diag join("\n", @diffs);
	ok($proofs > 0, "$label: the sample has non-empty social proofs ($proofs)")
	  unless $opts{no_proof_check};
	return $checks;
}

# verify() returns no rows.
sub verify_clean
{
	my ($node, $label, %opts) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $db = $opts{db} // 'postgres';
	my ($rc, $out, $err) = $node->psql($db,
		"SELECT concat_ws(' ', problem, uid, coalesce(other::text, '-'), detail) "
		  . "FROM dataplane.verify() LIMIT 20");
	is($rc, 0, "$label: verify() runs") or diag $err;
	is($out, '', "$label: verify() returns no rows");
	return $err;
}

sub status_field
{
	my ($node, $field, $db) = @_;
	return $node->safe_psql($db // 'postgres',
		"SELECT $field FROM dataplane.status()");
}

sub dp_state
{
	my ($node, $db) = @_;
	return status_field($node, 'state', $db);
}

# wait_until($node, $sql, $expected, $timeout_s): polls every 50 ms; true if
# the query returned $expected in time.
sub wait_until
{
	my ($node, $sql, $expected, $timeout, $db) = @_;
	$timeout //= 60;
	my $deadline = time + $timeout;
	my $last = '';
	while (time < $deadline)
	{
		# A server that is still starting may refuse the connection before
		# psql has read its input: IPC::Run then dies of the broken pipe.
		my ($rc, $out, $err) = eval { $node->psql($db // 'postgres', $sql) };
		if (!defined $rc)
		{
			$last = $@;
			usleep(50_000);
			next;
		}
		$last = "$out$err";
		return 1 if $rc == 0 && $out eq $expected;
		usleep(50_000);
	}
	diag "wait_until timed out: $sql => $last (want $expected)";
	return 0;
}

# wait_state($node, $state): polls status().state.
sub wait_state
{
	my ($node, $state, $timeout, $db) = @_;
	return wait_until($node, 'SELECT state FROM dataplane.status()',
		$state, $timeout, $db);
}

# bg_start($node, $sql): a background psql session that has started to run
# $sql (which must end with a semicolon).
sub bg_start
{
	my ($node, $sql, $db) = @_;
	my $bg = $node->background_psql($db // 'postgres', on_error_stop => 0);
	$bg->query_until(qr/bg_started/, "\\echo bg_started\n$sql\n\\echo bg_done\n");
	return $bg;
}

# bg_finish($bg): waits until the session's $sql is done, quits, and returns
# (stdout, stderr) of $sql.
sub bg_finish
{
	my ($bg) = @_;
	my $out = $bg->query_until(qr/bg_done/, '');
	my $err = $bg->{stderr};
	$bg->quit;
	$out =~ s/\n?bg_done\n?//;
	return ($out, $err);
}

# load_moderation($node, actors => N): replies (parent and root authors,
# self-threads among them), quotes and media on a third of the posts;
# blocks, mutes, moderation lists with list blocks and list mutes, and a few
# inactive accounts, among the N actors.
sub load_moderation
{
	my ($node, %opts) = @_;
	my $db = $opts{db} // 'postgres';
	my $n = $opts{actors};
	$node->safe_psql(
		$db, qq{
SELECT setseed(0.29);
UPDATE dataplane.post SET
  reply_parent_author = CASE WHEN id % 4 = 0 THEN author ELSE 1 + (id * 13) % $n END,
  reply_root_author = CASE WHEN id % 5 = 0 THEN author ELSE 1 + (id * 29) % $n END
 WHERE id % 3 = 0;
UPDATE dataplane.post SET quote = true WHERE id % 7 = 0;
UPDATE dataplane.post SET media = (ARRAY['images', 'video', 'external'])[1 + id % 3] WHERE id % 2 = 0;
INSERT INTO dataplane.block (blocker, blocked)
  SELECT 1 + (random() * ($n - 1))::int, 1 + floor(($n - 1) * power(random(), 2))::int
    FROM generate_series(1, $n) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.mute (muter, muted)
  SELECT 1 + (random() * ($n - 1))::int, 1 + floor(($n - 1) * power(random(), 2))::int
    FROM generate_series(1, $n / 2) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.list (id, owner, purpose)
  SELECT l, 1 + (l * 37) % $n, 'modlist' FROM generate_series(1, 8) l;
INSERT INTO dataplane.list_item (list_id, subject)
  SELECT 1 + (random() * 7)::int, 1 + floor(($n - 1) * power(random(), 1.5))::int
    FROM generate_series(1, $n) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.list_block (actor, list_id)
  SELECT 1 + (random() * ($n - 1))::int, 1 + (random() * 7)::int
    FROM generate_series(1, $n / 5) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.list_mute (actor, list_id)
  SELECT 1 + (random() * ($n - 1))::int, 1 + (random() * 7)::int
    FROM generate_series(1, $n / 5) ON CONFLICT DO NOTHING;
UPDATE dataplane.actor SET active = false, status = 'deactivated' WHERE uid % 97 = 5;
});
}

# check_moderation($node, $label, actors => N): every filtered timeline
# (each replies / reposts / quotes mode), author feed (each filter, with and
# without a viewer) and relationships() of a sample, at several page sizes
# and from the first page and a cursor inside it, against DESIGN.md's
# second-part reference query.
sub check_moderation
{
	my ($node, $label, %opts) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $db = $opts{db} // 'postgres';
	my $sample = $opts{sample} // sample_sql($opts{actors}, 40);
	my $sql = q{
CREATE OR REPLACE FUNCTION pg_temp.mref(v int, lim int, bts timestamptz, bid bigint, replies text,
                                        reposts boolean, quotes boolean, feed boolean, filter text,
                                        fv int)
RETURNS SETOF bigint LANGUAGE sql STABLE AS $r$
WITH src AS (SELECT followee AS uid FROM dataplane.follow WHERE follower = v AND NOT feed
             UNION SELECT v),
mv AS (SELECT CASE WHEN feed THEN fv ELSE v END AS v),
blocked AS (
  SELECT blocked AS uid FROM dataplane.block, mv WHERE blocker = mv.v
  UNION SELECT blocker FROM dataplane.block, mv WHERE blocked = mv.v
  UNION SELECT i.subject FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id), mv
   WHERE b.actor = mv.v
  UNION SELECT b.actor FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id), mv
   WHERE i.subject = mv.v),
hidden AS (
  SELECT uid FROM blocked
  UNION SELECT muted FROM dataplane.mute, mv WHERE muter = mv.v
  UNION SELECT i.subject FROM dataplane.list_mute m JOIN dataplane.list_item i USING (list_id), mv
   WHERE m.actor = mv.v
  UNION SELECT uid FROM dataplane.actor WHERE NOT active),
items AS (
  SELECT p.id AS item_id, p.author, NULL::int AS reposter, p.created_at AS sort_at,
         p.reply_parent_author, p.reply_root_author, p.quote, p.media
    FROM dataplane.post p WHERE p.author IN (SELECT uid FROM src)
  UNION ALL
  SELECT r.id, p.author, r.reposter, r.created_at, p.reply_parent_author, p.reply_root_author,
         p.quote, p.media
    FROM dataplane.repost r JOIN dataplane.post p ON p.id = r.post_id
   WHERE r.reposter IN (SELECT uid FROM src))
SELECT t.item_id FROM items t
 WHERE ((feed AND fv IS NULL) OR (t.author NOT IN (SELECT uid FROM hidden)
   AND (t.reposter IS NULL OR t.reposter NOT IN (SELECT uid FROM hidden))
   AND (t.reply_parent_author IS NULL
        OR (t.reply_parent_author NOT IN (SELECT uid FROM blocked)
            AND t.reply_root_author NOT IN (SELECT uid FROM blocked)))))
   AND (feed OR ((reposts OR t.reposter IS NULL) AND (quotes OR NOT t.quote)
   AND (replies = 'all' OR t.reply_parent_author IS NULL OR t.reposter IS NOT NULL
        OR (replies = 'followed'
            AND (t.reply_parent_author = t.author OR t.reply_parent_author IN (SELECT uid FROM src))
            AND (t.reply_root_author = t.author OR t.reply_root_author IN (SELECT uid FROM src))))))
   AND (NOT feed OR CASE coalesce(filter, 'posts_with_replies')
         WHEN 'posts_with_replies' THEN true
         WHEN 'posts_no_replies' THEN t.reposter IS NOT NULL OR t.reply_parent_author IS NULL
         WHEN 'posts_with_media' THEN t.reposter IS NULL AND t.media = 'images'
         WHEN 'posts_with_video' THEN t.reposter IS NULL AND t.media = 'video'
         ELSE t.reposter IS NOT NULL OR t.reply_parent_author IS NULL
              OR t.reply_root_author = t.author END)
   AND (bts IS NULL OR (t.sort_at, t.item_id) < (bts, bid))
 ORDER BY t.sort_at DESC, t.item_id DESC LIMIT lim $r$;
CREATE OR REPLACE FUNCTION pg_temp.mgot(v int, lim int, bts timestamptz, bid bigint, replies text,
                                        reposts boolean, quotes boolean, feed boolean, filter text,
                                        fv int)
RETURNS SETOF bigint LANGUAGE sql STABLE AS $g$
SELECT item_id FROM dataplane.get_timeline(v, lim, bts, bid, replies, reposts, quotes) WHERE NOT feed
UNION ALL
SELECT item_id FROM dataplane.get_author_feed(v, lim, bts, bid, filter, fv) WHERE feed $g$;
WITH s AS (SELECT unnest(} . $sample . q{) AS u),
modes (feed, replies, reposts, quotes, filter, fvk) AS (VALUES
  (false, 'all', true, true, NULL, 0), (false, 'followed', true, true, NULL, 0),
  (false, 'none', true, true, NULL, 0), (false, NULL, NULL, NULL, NULL, 0),
  (false, 'followed', false, false, NULL, 0),
  (true, NULL, NULL, NULL, 'posts_with_replies', 1), (true, NULL, NULL, NULL, 'posts_no_replies', 0),
  (true, NULL, NULL, NULL, 'posts_with_media', 1), (true, NULL, NULL, NULL, 'posts_with_video', 2),
  (true, NULL, NULL, NULL, 'posts_and_author_threads', 1)),
q AS (SELECT s.u, m.*, l.lim, CASE m.fvk WHEN 0 THEN NULL WHEN 1 THEN 1 + s.u % 50 ELSE s.u END AS fv
        FROM s, modes m, (VALUES (1), (10), (50)) l(lim)),
c AS (SELECT q.*, NULL::timestamptz AS bts, NULL::bigint AS bid FROM q
      UNION ALL
      SELECT q.*, k.sort_at, k.item_id FROM q,
        LATERAL (SELECT x.sort_at, x.item_id
                   FROM (SELECT i AS item_id FROM pg_temp.mref(q.u, 6, NULL, NULL, q.replies,
                           q.reposts, q.quotes, q.feed, q.filter, q.fv) i) y
                   JOIN LATERAL (SELECT p.created_at AS sort_at, p.id AS item_id FROM dataplane.post p
                                  WHERE p.id = y.item_id
                                 UNION ALL
                                 SELECT r.created_at, r.id FROM dataplane.repost r WHERE r.id = y.item_id) x
                     ON true
                  ORDER BY x.sort_at, x.item_id LIMIT 1) k
       WHERE q.lim = 10),
r AS (SELECT c.*, ARRAY(SELECT pg_temp.mgot(c.u, c.lim, c.bts, c.bid, c.replies, c.reposts, c.quotes,
                                            c.feed, c.filter, c.fv)) AS got,
             ARRAY(SELECT pg_temp.mref(c.u, c.lim, c.bts, c.bid, c.replies, c.reposts, c.quotes,
                                       c.feed, c.filter, c.fv)) AS want
        FROM c),
rel AS (SELECT s.u, ARRAY(SELECT x::text FROM dataplane.relationships(s.u, (SELECT array_agg(u) FROM s)) x) AS got,
          ARRAY(SELECT ROW(o,
            EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = s.u AND followee = o),
            EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = o AND followee = s.u),
            EXISTS (SELECT 1 FROM dataplane.block WHERE blocker = s.u AND blocked = o),
            EXISTS (SELECT 1 FROM dataplane.block WHERE blocker = o AND blocked = s.u),
            EXISTS (SELECT 1 FROM dataplane.mute WHERE muter = s.u AND muted = o),
            EXISTS (SELECT 1 FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id)
                    WHERE b.actor = s.u AND i.subject = o),
            EXISTS (SELECT 1 FROM dataplane.list_block b JOIN dataplane.list_item i USING (list_id)
                    WHERE b.actor = o AND i.subject = s.u),
            EXISTS (SELECT 1 FROM dataplane.list_mute m JOIN dataplane.list_item i USING (list_id)
                    WHERE m.actor = s.u AND i.subject = o))::text
            FROM (SELECT DISTINCT u AS o FROM s WHERE u IS NOT NULL) d ORDER BY o) AS want
        FROM s)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM r WHERE cardinality(want) > 0),
       (SELECT count(*) FROM r WHERE got IS DISTINCT FROM want)
         + (SELECT count(*) FROM rel WHERE got IS DISTINCT FROM want),
       (SELECT string_agg(format('%s(%s, %s, %s, %s, %s, %s, %s, %s, %s): got %s, want %s',
                   CASE WHEN feed THEN 'get_author_feed' ELSE 'get_timeline' END, u, lim, bts, bid,
                   replies, reposts, quotes, filter, fv, got, want), E'
')
          FROM (SELECT * FROM r WHERE got IS DISTINCT FROM want LIMIT 5) b);
};
	my $out = $node->safe_psql($db, $sql);
	my ($pages, $nonempty, $bad, @diffs) = split /\||
/, $out;
	is($bad, '0', "$label: filtered pages and relationships match the reference ($pages pages, "
		  . "$nonempty non-empty)")
	  or diag join("
", @diffs);
	return $pages;
}

# canonical_records($node): every row of the record tables, named by natural
# keys (DIDs, record keys) instead of uids and ids, one line each, sorted:
# two clusters that ingested the same stream compare equal whatever ids
# their rows got.
sub canonical_records
{
	my ($node, $db) = @_;
	return $node->safe_psql($db // 'postgres', q{
WITH a AS (SELECT uid, did FROM dataplane.actor),
l AS (SELECT l.id, o.did || ' ' || coalesce(l.rkey, '-') AS name, l.purpose
      FROM dataplane.list l JOIN a o ON o.uid = l.owner)
SELECT line FROM (
  SELECT format('actor %s %s %s', did, active, status) FROM dataplane.actor
  UNION ALL
  SELECT format('post %s %s %s %s %s %s %s %s', a.did, p.rkey, p.cid, p.created_at,
                ra.did, pa.did, p.quote, p.media)
  FROM dataplane.post p JOIN a ON a.uid = p.author
    LEFT JOIN a ra ON ra.uid = p.reply_root_author LEFT JOIN a pa ON pa.uid = p.reply_parent_author
  UNION ALL
  SELECT format('repost %s %s %s %s %s %s', r1.did, r.rkey, r.cid, r.created_at, a2.did, p.rkey)
  FROM dataplane.repost r JOIN a r1 ON r1.uid = r.reposter
    JOIN dataplane.post p ON p.id = r.post_id JOIN a a2 ON a2.uid = p.author
  UNION ALL
  SELECT format('follow %s %s %s', x.did, y.did, f.created_at)
  FROM dataplane.follow f JOIN a x ON x.uid = f.follower JOIN a y ON y.uid = f.followee
  UNION ALL
  SELECT format('block %s %s %s', x.did, y.did, b.created_at)
  FROM dataplane.block b JOIN a x ON x.uid = b.blocker JOIN a y ON y.uid = b.blocked
  UNION ALL
  SELECT format('mute %s %s', x.did, y.did)
  FROM dataplane.mute m JOIN a x ON x.uid = m.muter JOIN a y ON y.uid = m.muted
  UNION ALL
  SELECT format('list %s %s', name, purpose) FROM l
  UNION ALL
  SELECT format('list_item %s %s', l.name, s.did)
  FROM dataplane.list_item i JOIN l ON l.id = i.list_id JOIN a s ON s.uid = i.subject
  UNION ALL
  SELECT format('list_block %s %s', x.did, l.name)
  FROM dataplane.list_block b JOIN a x ON x.uid = b.actor JOIN l ON l.id = b.list_id
  UNION ALL
  SELECT format('list_mute %s %s', x.did, l.name)
  FROM dataplane.list_mute m JOIN a x ON x.uid = m.actor JOIN l ON l.id = m.list_id
  UNION ALL
  SELECT format('graph_record %s %s %s %s %s %s', r.did, g.collection, g.rkey, s.did, l.name,
                g.created_at)
  FROM dataplane.graph_record g JOIN a r ON r.uid = g.repo LEFT JOIN a s ON s.uid = g.subject
    LEFT JOIN l ON l.id = g.list_id
  UNION ALL
  SELECT format('repost_pending %s %s %s %s %s %s', x.did, p.rkey, p.cid, y.did,
                p.subject_rkey, p.created_at)
  FROM dataplane.repost_pending p JOIN a x ON x.uid = p.reposter
    JOIN a y ON y.uid = p.subject_author
) s(line) ORDER BY line COLLATE "C"});
}

# ingest_file($node, $path, $chunk): applies the Jetstream file (readable
# by the server) with ingest_jetstream(), $chunk lines per transaction, as
# a clean reference pass. Returns the last time_us read.
sub ingest_file
{
	my ($node, $path, $chunk, $db) = @_;
	$db //= 'postgres';
	my $lines = $node->safe_psql($db, qq{
CREATE TABLE IF NOT EXISTS public.dp_events (n bigint PRIMARY KEY, line text);
TRUNCATE public.dp_events;
INSERT INTO public.dp_events
  SELECT n, line FROM regexp_split_to_table(pg_read_file('$path'), E'\n')
    WITH ORDINALITY AS t(line, n) WHERE line <> '';
SELECT max(n) FROM public.dp_events;});
	my $last = -1;
	for (my $from = 0; $from < $lines; $from += $chunk)
	{
		my $to = $from + $chunk;
		my $got = $node->safe_psql($db,
			"SELECT dataplane.ingest_jetstream(string_agg(line, E'\n' ORDER BY n)) "
			  . "FROM public.dp_events WHERE n > $from AND n <= $to");
		$last = $got if $got ne '' && $got > $last;
	}
	$node->safe_psql($db, 'DROP TABLE public.dp_events');
	return $last;
}

1;
