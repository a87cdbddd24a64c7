# No privilege escalation through the extension's own SQL (issue 12, item
# 1). A role "mallory" with USAGE on schema dataplane and CREATE on the
# database (and, for the triggers, INSERT/SELECT/UPDATE on the item tables)
# creates schema m with objects that shadow what the extension's SQL
# resolves by name:
#   operators m.= (int4, int4) and (int8, int8), m.> (int4, int4),
#   an aggregate m.count(*), a domain m.timestamptz
# whose functions run ALTER ROLE mallory SUPERUSER whenever a superuser
# other than mallory executes them (and otherwise return the normal
# result, so that every query still answers). With search_path = m,
# pg_catalog she then drives every entry point that runs SQL:
#   (a) the read functions' fallbacks (get_timeline / get_author_feed with
#       a NULL lim, and every graph function inside a transaction that
#       wrote to dataplane.follow);
#   (b) the capture triggers (INSERT INTO repost joins post; an UPDATE of a
#       post's author looks up its reposts);
#   (c) the index builder (ALTER DATABASE ... SET search_path as the
#       database's owner, then a restart);
#   (d) verify() and rebuild() called by a superuser whose session gets
#       that search_path from the database;
# and after each, mallory must still not be a superuser and every answer
# must equal the reference SQL. Also:
#   (e) verify() by a role with only SELECT on the tables, and by a role
#       with no privileges, fails at once with 42501 (also while a writer
#       holds a lock verify() would wait for) and holds no lock afterwards;
#   (f) row comparisons in the timeline fallback are not hijacked either: a
#       hostile m.< (which PostgreSQL cannot use in a row comparison) does
#       not break the reads;
#   (g) a page below an author ring's horizon (ring_max_age), whose rest
#       is read from the tables, escalates nothing either;
#   (h) ingest_jetstream run by a superuser with mallory's search_path
#       (and her m.= for text), and the skeleton functions, escalate
#       nothing, and the ingested rows are those the events name.
# m.hits records, for the diagnostics, which shadowing object ran as which
# superuser in which backend.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use DataplaneTest;

my $N = 200;
my $db = 'appview';
my $node = dp_node('attack', db => $db);
load_graph($node, db => $db, actors => $N, follows => 2500, big => 3, big_degree => 60);
load_items($node, db => $db, actors => $N, posts => 600, reposts => 150);

$node->safe_psql(
	$db, qq{
CREATE ROLE mallory LOGIN;
GRANT CREATE ON DATABASE $db TO mallory;
GRANT USAGE ON SCHEMA dataplane TO mallory;
GRANT SELECT, INSERT ON dataplane.follow, dataplane.post, dataplane.repost TO mallory;
GRANT UPDATE ON dataplane.post TO mallory;
GRANT USAGE ON SEQUENCE dataplane.item_id_seq TO mallory;
CREATE ROLE reader LOGIN;
GRANT USAGE ON SCHEMA dataplane TO reader;
GRANT SELECT ON dataplane.actor, dataplane.follow, dataplane.post, dataplane.repost TO reader;
CREATE ROLE nobody LOGIN;
GRANT USAGE ON SCHEMA dataplane TO nobody;
});

# mallory's objects. Each shadowing function calls m.pwn, which escalates
# when it runs as a superuser other than mallory and records where it ran
# (once per object and backend: a backend-local setting remembers it, so
# that the per-row calls stay cheap). m.pwn pins its own search_path; the
# shadowing functions qualify what they use.
my $attack = q{
CREATE SCHEMA m;
CREATE TABLE m.hits (who name, backend text, app text, tag text);
CREATE FUNCTION m.pwn(k text, what text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF current_user <> 'mallory' AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory') THEN
      EXECUTE 'ALTER ROLE mallory SUPERUSER';
    END IF;
    INSERT INTO m.hits (who, backend, app, tag)
      SELECT current_user, a.backend_type, current_setting('application_name'), what
        FROM pg_stat_get_activity(pg_backend_pid()) a;
    PERFORM set_config('mallory.' || k, 'done', false);
  END IF;
END $f$;
CREATE FUNCTION m.eq4(a int4, b int4) RETURNS bool LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_catalog.current_setting('mallory.eq4', true) OPERATOR(pg_catalog.=) 'done' THEN NULL;
  ELSE PERFORM m.pwn('eq4', '= (int4, int4)'); END IF;
  RETURN a OPERATOR(pg_catalog.=) b;
END $f$;
CREATE OPERATOR m.= (LEFTARG = int4, RIGHTARG = int4, FUNCTION = m.eq4);
CREATE FUNCTION m.eq8(a int8, b int8) RETURNS bool LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_catalog.current_setting('mallory.eq8', true) OPERATOR(pg_catalog.=) 'done' THEN NULL;
  ELSE PERFORM m.pwn('eq8', '= (int8, int8)'); END IF;
  RETURN a OPERATOR(pg_catalog.=) b;
END $f$;
CREATE OPERATOR m.= (LEFTARG = int8, RIGHTARG = int8, FUNCTION = m.eq8);
CREATE FUNCTION m.gt4(a int4, b int4) RETURNS bool LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_catalog.current_setting('mallory.gt4', true) OPERATOR(pg_catalog.=) 'done' THEN NULL;
  ELSE PERFORM m.pwn('gt4', '> (int4, int4)'); END IF;
  RETURN a OPERATOR(pg_catalog.>) b;
END $f$;
CREATE OPERATOR m.> (LEFTARG = int4, RIGHTARG = int4, FUNCTION = m.gt4);
CREATE FUNCTION m.cnt(s int8) RETURNS int8 LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_catalog.current_setting('mallory.cnt', true) OPERATOR(pg_catalog.=) 'done' THEN NULL;
  ELSE PERFORM m.pwn('cnt', 'count(*)'); END IF;
  RETURN s OPERATOR(pg_catalog.+) 1;
END $f$;
CREATE AGGREGATE m.count(*) (SFUNC = m.cnt, STYPE = int8, INITCOND = '0');
CREATE FUNCTION m.chk(v pg_catalog.timestamptz) RETURNS bool LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_catalog.current_setting('mallory.chk', true) OPERATOR(pg_catalog.=) 'done' THEN NULL;
  ELSE PERFORM m.pwn('chk', 'domain timestamptz'); END IF;
  RETURN true;
END $f$;
CREATE DOMAIN m.timestamptz AS pg_catalog.timestamptz CHECK (m.chk(VALUE));
};

# SQL as mallory, with her search_path.
sub as_mallory
{
	my ($sql) = @_;
	return $node->psql($db, "SET search_path = m, pg_catalog;\n$sql",
		extra_params => [ '-U', 'mallory' ]);
}

my ($rc, $out, $err) = $node->psql($db, $attack, extra_params => [ '-U', 'mallory' ]);
is($rc, 0, 'mallory creates her schema, operators, aggregate and domain') or diag $err;

sub mallory_is_superuser
{
	return $node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'");
}

# After an attempt: mallory must not be a superuser. Shows what ran as a
# superuser, then puts mallory back for the next attempt.
sub no_escalation
{
	my ($label) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $ok = is(mallory_is_superuser(), 'f', "$label: mallory is still not a superuser");
	my $hits = $node->safe_psql($db,
		    'SET search_path = pg_catalog; '
		  . "SELECT DISTINCT format('%s, as %s in %s (%s)', tag, who, backend, app) "
		  . 'FROM m.hits ORDER BY 1');
	diag "$label: mallory's objects ran as a superuser:\n$hits" if !$ok || $hits ne '';
	$node->safe_psql('postgres', 'ALTER ROLE mallory NOSUPERUSER');
	$node->safe_psql($db, 'SET search_path = pg_catalog; TRUNCATE m.hits');
	return $ok;
}

# The reference answers (a clean session of the test's superuser).
my $ref_page = q{
CREATE FUNCTION pg_temp.ref_page(feed bool, v int, lim int, bts timestamptz, bid bigint)
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
WHERE bts IS NULL OR (t.sort_at, t.item_id) < (bts, bid)
ORDER BY t.sort_at DESC, t.item_id DESC
LIMIT lim
$r$;
};

# A page as "rows|md5 of its rows as text", for the function and for the
# reference.
sub page_sql
{
	my ($fn, $args) = @_;
	return "(SELECT count(*) || '|' || coalesce(md5(string_agg(t::text, ',')), '') "
	  . "FROM dataplane.$fn($args) t)";
}

sub ref_page
{
	my ($feed, $args) = @_;
	return $node->safe_psql($db,
		    $ref_page
		  . "SELECT count(*) || '|' || coalesce(md5(string_agg(t::text, ',')), '') "
		  . "FROM pg_temp.ref_page($feed, $args) t");
}

sub all_exact
{
	my ($label) = @_;
	check_functions($node, $label, db => $db, actors => $N);
	check_timelines($node, $label, db => $db, actors => $N);
	verify_clean($node, $label, db => $db);
}

is(dp_state($node, $db), 'warming', 'the index is warming before the first read');
ok(wait_until($node, 'SELECT dataplane.follows(1, 2) IS NOT NULL AND state = \'ready\' FROM dataplane.status()',
		't', 60, $db),
	'the index becomes ready');
all_exact('before the attacks');

# --------------------------------------------------- (a) read fallbacks

# A NULL lim always answers from the tables.
($rc, $out, $err) = as_mallory(
	'SELECT ' . page_sql('get_timeline', '1, NULL') . ', ' . page_sql('get_author_feed', '1, NULL') . ';');
is($rc, 0, '(a) get_timeline(1, NULL) and get_author_feed(1, NULL) run for mallory') or diag $err;
no_escalation('(a) get_timeline / get_author_feed with a NULL lim');
is($out,
	ref_page('false', '1, NULL, NULL, NULL') . '|' . ref_page('true', '1, NULL, NULL, NULL'),
	'(a) their answers equal the reference query');

# A followee that $f does not follow yet.
sub new_followee
{
	my ($f) = @_;
	return $node->safe_psql($db,
		"SELECT min(u) FROM generate_series(1, $N) u WHERE u <> $f AND NOT EXISTS "
		  . "(SELECT 1 FROM dataplane.follow WHERE follower = $f AND followee = u)");
}

# A transaction that wrote to dataplane.follow answers every read from the
# tables. An edge 1 -> e that does not exist yet; 2 is popular (social proof).
my $e = new_followee(1);
my ($cts, $cid) = split /\|/, $node->safe_psql($db,
	'SELECT sort_at, item_id FROM dataplane.get_timeline(1, 7) ORDER BY sort_at, item_id LIMIT 1');
my $graph_reads = qq{SELECT dataplane.follows(1, $e), dataplane.follower_count($e),
       dataplane.following_count(1),
       ARRAY(SELECT dataplane.followers(2, 10, 5)), ARRAY(SELECT dataplane.following(1, 10, 3)),
       ARRAY(SELECT dataplane.social_proof(1, 2, 10)), dataplane.social_proof_count(1, 2),
       } . page_sql('get_timeline', '1, 20') . ', '
  . page_sql('get_timeline', "1, 20, '$cts', $cid") . ', '
  . page_sql('get_author_feed', "2, 20, '$cts', $cid") . ';';
($rc, $out, $err) = as_mallory(qq{BEGIN;
INSERT INTO dataplane.follow (follower, followee) VALUES (1, $e);
$graph_reads
COMMIT;});
is($rc, 0, '(a) the graph functions run for mallory in a transaction that wrote') or diag $err;
no_escalation('(a) graph functions and pages over own writes');
my $want = $node->safe_psql(
	$db, qq{
SELECT EXISTS (SELECT 1 FROM dataplane.follow WHERE follower = 1 AND followee = $e),
       (SELECT count(*) FROM dataplane.follow WHERE followee = $e),
       (SELECT count(*) FROM dataplane.follow WHERE follower = 1),
       ARRAY(SELECT follower FROM dataplane.follow WHERE followee = 2 AND follower > 5 ORDER BY 1 LIMIT 10),
       ARRAY(SELECT followee FROM dataplane.follow WHERE follower = 1 AND followee > 3 ORDER BY 1 LIMIT 10),
       ARRAY(SELECT f.followee FROM dataplane.follow f JOIN dataplane.follow g
               ON g.follower = f.followee AND g.followee = 2 WHERE f.follower = 1 ORDER BY 1 LIMIT 10),
       (SELECT count(*) FROM dataplane.follow f JOIN dataplane.follow g
               ON g.follower = f.followee AND g.followee = 2 WHERE f.follower = 1)});
$want .= '|' . ref_page('false', '1, 20, NULL, NULL') . '|'
  . ref_page('false', "1, 20, '$cts', $cid") . '|'
  . ref_page('true', "2, 20, '$cts', $cid");
is($out, $want,
	'(a) their answers equal the reference SQL');
all_exact('(a)');

# ------------------------------------------------------- (b) triggers

my $pid = $node->safe_psql($db,
	'SELECT min(id) FROM dataplane.post p WHERE NOT EXISTS '
	  . '(SELECT 1 FROM dataplane.repost r WHERE r.reposter = 5 AND r.post_id = p.id)');
($rc, $out, $err) = as_mallory(
	"INSERT INTO dataplane.repost (reposter, post_id, created_at) VALUES (5, $pid, '2026-01-20');");
is($rc, 0, '(b) mallory inserts a repost') or diag $err;
no_escalation('(b) the repost capture trigger');
is($node->safe_psql($db,
		"SELECT count(*) FROM dataplane.get_author_feed(5, 5) WHERE post_id = $pid AND reposter = 5"),
	'1', '(b) the repost is in its reposter\'s feed');
all_exact('(b) repost');

my ($moved, $old_author) = split /\|/, $node->safe_psql($db,
	'SELECT p.id, p.author FROM dataplane.post p WHERE EXISTS '
	  . '(SELECT 1 FROM dataplane.repost r WHERE r.post_id = p.id) ORDER BY p.id LIMIT 1');
my $new_author = $old_author % $N + 1;
($rc, $out, $err) = as_mallory("UPDATE dataplane.post SET author = $new_author WHERE id = $moved;");
is($rc, 0, '(b) mallory changes a reposted post\'s author') or diag $err;
no_escalation('(b) the post capture trigger (author change)');
all_exact('(b) author change');

# ------------------------------------------------------------ (e) verify()

# A writer holds a lock that verify() waits for.
my $writer = $node->background_psql($db);
my $we = new_followee($e);
$writer->query_safe("BEGIN; INSERT INTO dataplane.follow (follower, followee) VALUES ($e, $we);");

sub dataplane_locks
{
	my ($backend) = @_;
	return $node->safe_psql($db,
		    'SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation '
		  . "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE l.pid = $backend "
		  . "AND n.nspname = 'dataplane'");
}

# verify() as $role: fails within 2 s with 42501 and leaves no lock.
sub verify_refused
{
	my ($role, $label) = @_;
	my $s = $node->background_psql($db, on_error_stop => 0, extra_params => [ '-U', $role ]);
	my $backend = $s->query_safe('SELECT pg_backend_pid()');
	$s->query_safe("\\set VERBOSITY verbose\nSET statement_timeout = '5s';");
	$s->{stderr} = '';
	my $t0 = time;
	$s->query('BEGIN; SELECT count(*) FROM dataplane.verify();');
	my $elapsed = time - $t0;
	my $e = $s->{stderr};
	like($e, qr/ERROR:\s+42501/, "(e) $label: verify() fails with 42501")
	  or diag "got: $e";
	ok($elapsed < 2, sprintf("(e) %s: verify() fails at once (%.1f s)", $label, $elapsed));
	is(dataplane_locks($backend), '0', "(e) $label: no lock on the dataplane tables afterwards");
	$s->{stderr} = '';
	$s->query('ROLLBACK;');
	$s->quit;
}
verify_refused('reader', 'a role with SELECT only, while a writer holds its lock');
verify_refused('nobody', 'a role without privileges, while a writer holds its lock');
$writer->query_safe('ROLLBACK;');
$writer->quit;
verify_refused('reader', 'a role with SELECT only, no writer');
verify_refused('nobody', 'a role without privileges, no writer');

# ------------------------------------------------------- (c) the builder

# The builder marks the index ready just before its transaction commits:
# wait for it to be gone before looking at what it did.
sub builder_gone
{
	ok( wait_until(
			$node,
			"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'dataplane%'",
			'0', 60, 'postgres'),
		'the builder has exited');
}

$node->safe_psql('postgres', "ALTER DATABASE $db OWNER TO mallory");
($rc, $out, $err) = as_mallory("ALTER DATABASE $db SET search_path = m, pg_catalog;");
is($rc, 0, '(c) mallory, owner of the database, sets its search_path') or diag $err;
$node->restart;
# The read that launches the build runs with a search_path of its own, so
# that only the builder gets the database's.
$node->safe_psql($db, 'SET search_path = pg_catalog; SELECT dataplane.follows(1, 2);');
ok(wait_state($node, 'ready', 60, $db), '(c) the index is built after the restart');
builder_gone();
no_escalation('(c) the index builder');

# Feed rings to verify, read in sessions with a search_path of their own.
$node->safe_psql($db,
	'SET search_path = pg_catalog; '
	  . 'SELECT sum((SELECT count(*) FROM dataplane.get_timeline(u, 20))) FROM generate_series(1, 40) u;');

# ---------------------------------------- (d) verify(), rebuild() as superuser

# This session of the test's superuser gets search_path = m, pg_catalog from
# the database (only the calls themselves are made: no operator of ours).
($rc, $out, $err) = $node->psql($db, 'SHOW search_path; SELECT * FROM dataplane.verify();');
is($rc, 0, '(d) a superuser runs verify() with the database\'s search_path') or diag $err;
is($out, 'm, pg_catalog', '(d) verify() returns no rows (the session has mallory\'s search_path)');
no_escalation('(d) verify() by a superuser');
($rc, $out, $err) = $node->psql($db, 'SELECT dataplane.rebuild();');
is($rc, 0, '(d) a superuser runs rebuild() with the database\'s search_path') or diag $err;
builder_gone();
no_escalation('(d) rebuild() by a superuser');

$node->safe_psql('postgres', "ALTER DATABASE $db RESET search_path");
is(dp_state($node, $db), 'ready', '(c, d) the index is ready');
all_exact('(c, d)');

# --------------------------------- (f) row comparisons with a hostile m.<

# PostgreSQL cannot use an operator outside a btree family in a row
# comparison: with these, an unpinned "(t.sort_at, t.item_id) < ($3, $4)"
# fails to plan instead of answering.
($rc, $out, $err) = $node->psql(
	$db, q{
CREATE FUNCTION m.lt_ts(a pg_catalog.timestamptz, b pg_catalog.timestamptz) RETURNS bool
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$ BEGIN RETURN a < b; END $f$;
CREATE OPERATOR m.< (LEFTARG = pg_catalog.timestamptz, RIGHTARG = pg_catalog.timestamptz, FUNCTION = m.lt_ts);
CREATE FUNCTION m.lt8(a int8, b int8) RETURNS bool
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$ BEGIN RETURN a < b; END $f$;
CREATE OPERATOR m.< (LEFTARG = int8, RIGHTARG = int8, FUNCTION = m.lt8);
}, extra_params => [ '-U', 'mallory' ]);
is($rc, 0, '(f) mallory creates m.< for timestamptz and bigint') or diag $err;
($cts, $cid) = split /\|/, $node->safe_psql($db,
	'SELECT sort_at, item_id FROM dataplane.get_timeline(3, 9) ORDER BY sort_at, item_id LIMIT 1');
($rc, $out, $err) = as_mallory(qq{BEGIN;
INSERT INTO dataplane.follow (follower, followee) VALUES ($N, } . new_followee($N) . qq{);
SELECT } . page_sql('get_timeline', "3, 20, '$cts', $cid") . ', '
	  . page_sql('get_author_feed', "3, 20, '$cts', $cid") . qq{;
COMMIT;});
is($rc, 0, '(f) pages with a cursor answer under mallory\'s search_path') or diag $err;
is($out,
	ref_page('false', "3, 20, '$cts', $cid") . '|' . ref_page('true', "3, 20, '$cts', $cid"),
	'(f) their answers equal the reference query');
no_escalation('(f) pages with a cursor');

# ------------------------- (g) the rest of a page below a ring's horizon

# With ring_max_age, an author ring keeps the items younger than the bound
# (and its newest ring_keep_newest, 0 by default): a page that reaches below it takes the rest from
# the tables (sql::timeline_rest, run by sql_page_rest). Author 2 posts 60
# times an hour apart, so its ring holds the last hour, and a follower's
# first page of 50 reaches below that.
$node->safe_psql('postgres', "ALTER SYSTEM SET dataplane.ring_max_age = '1h'");
$node->reload;
$node->safe_psql($db,
	"INSERT INTO dataplane.post (author, created_at) "
	  . "SELECT 2, now() - g * interval '1 hour' FROM generate_series(1, 60) g");
# The followers' feed rings got the 60 posts at commit: a rebuild makes
# them again from the trimmed author rings.
$node->safe_psql($db, 'SELECT dataplane.rebuild()');
ok(wait_until($node, "SELECT state FROM dataplane.status()", 'ready', 60, $db),
	'(g) the index is ready again');
my $v = $node->safe_psql($db, 'SELECT min(follower) FROM dataplane.follow WHERE followee = 2');
my $h0 = $node->safe_psql($db, 'SELECT pages_fallback_horizon FROM dataplane.status()');
($rc, $out, $err) = as_mallory('SELECT ' . page_sql('get_timeline', "$v, 50") . ';');
is($rc, 0, '(g) a page below a horizon answers under mallory\'s search_path') or diag $err;
is($out, ref_page('false', "$v, 50, NULL, NULL"), '(g) it equals the reference query');
cmp_ok($node->safe_psql($db, 'SELECT pages_fallback_horizon FROM dataplane.status()'),
	'>', $h0, '(g) the page reached below the horizon');
no_escalation('(g) the rest of a page from the tables');
# The page gave what it read to author 2's ring (deep rings): the same
# page again comes from memory, and equals the reference query.
my $h_again = $node->safe_psql($db, 'SELECT pages_fallback_horizon FROM dataplane.status()');
cmp_ok($node->safe_psql($db, 'SELECT author_rings_deepened FROM dataplane.status()'),
	'>', 0, '(g) the ring took the rows the page read');
($rc, $out, $err) = as_mallory('SELECT ' . page_sql('get_timeline', "$v, 50") . ';');
is($out, ref_page('false', "$v, 50, NULL, NULL"), '(g) read again, it equals the reference query');
is($node->safe_psql($db, 'SELECT pages_fallback_horizon FROM dataplane.status()'),
	$h_again, '(g) read again, it came from memory');
# Author 2's own feed of 50 reaches below its ring too (once the rebuild
# has trimmed it again): its rest is read by the same query, with the
# author as its one source.
$node->safe_psql($db, 'SELECT dataplane.rebuild()');
ok(wait_until($node, "SELECT state FROM dataplane.status()", 'ready', 60, $db),
	'(g) the index is ready again, its rings trimmed');
my $h1 = $node->safe_psql($db, 'SELECT pages_fallback_horizon FROM dataplane.status()');
($rc, $out, $err) = as_mallory('SELECT ' . page_sql('get_author_feed', '2, 50') . ';');
is($rc, 0, '(g) an author feed below its horizon answers under mallory\'s search_path') or diag $err;
is($out, ref_page('true', '2, 50, NULL, NULL'), '(g) it equals the reference query');
cmp_ok($node->safe_psql($db, 'SELECT pages_fallback_horizon FROM dataplane.status()'),
	'>', $h1, '(g) the author feed reached below the horizon');
no_escalation('(g) the rest of an author feed from the tables');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET dataplane.ring_max_age');
$node->reload;

# ------------------------------ (h) ingest and skeletons as a superuser

# ingest_jetstream is the DBA's (not PUBLIC's): a superuser runs it, here
# in a session with mallory's search_path, to which she adds m.= for text
# (what the ingest's lookups by DID, rkey and AT-URI would resolve were
# they not pinned). Events of every kind go in; nothing escalates, and
# the rows are those the events name. Then the skeletons, as that
# superuser and as mallory.
($rc, $out, $err) = as_mallory(q{
CREATE FUNCTION m.eqt(a pg_catalog.text, b pg_catalog.text) RETURNS bool LANGUAGE plpgsql AS $f$
BEGIN
  IF pg_catalog.current_setting('mallory.eqt', true) OPERATOR(pg_catalog.=) 'done' THEN NULL;
  ELSE PERFORM m.pwn('eqt', '= (text, text)'); END IF;
  RETURN a OPERATOR(pg_catalog.=) b;
END $f$;
CREATE OPERATOR m.= (LEFTARG = pg_catalog.text, RIGHTARG = pg_catalog.text, FUNCTION = m.eqt);
});
is($rc, 0, '(h) mallory creates m.= for text') or diag $err;

my %did = map { $_ => 'did:plc:' . ($_ x 24) } qw(h i j);
sub ev
{
	my ($who, $t, $op, $coll, $rkey, $rec) = @_;
	my $commit = qq{"operation":"$op","collection":"$coll","rkey":"$rkey"};
	$commit .= qq{,"cid":"bafy$rkey","record":$rec} if defined $rec;
	return qq({"did":"$did{$who}","time_us":${t}000000,"kind":"commit","commit":{$commit}});
}
my $at = '"createdAt":"2026-11-01T10:00:00.000Z"';
my $post_uri = "at://$did{i}/app.bsky.feed.post/3kpost";
my $list_uri = "at://$did{h}/app.bsky.graph.list/3klist";
my $events = join "\n",
  ev('h', 1700000001, 'create', 'app.bsky.graph.follow', '3kf1', qq({"subject":"$did{i}",$at})),
  ev('h', 1700000002, 'create', 'app.bsky.graph.follow', '3kf2', qq({"subject":"$did{j}",$at})),
  ev('i', 1700000003, 'create', 'app.bsky.feed.post', '3kpost', qq({"text":"hi",$at})),
  ev('h', 1700000004, 'create', 'app.bsky.feed.repost', '3krp',
	qq({"subject":{"uri":"$post_uri","cid":"bafyp"},$at})),
  ev('h', 1700000005, 'create', 'app.bsky.graph.block', '3kb', qq({"subject":"$did{j}",$at})),
  ev('h', 1700000006, 'create', 'app.bsky.graph.list', '3klist',
	qq({"purpose":"app.bsky.graph.defs#modlist","name":"l",$at})),
  ev('h', 1700000007, 'create', 'app.bsky.graph.listitem', '3kli',
	qq({"list":"$list_uri","subject":"$did{j}",$at})),
  ev('i', 1700000008, 'create', 'app.bsky.graph.listblock', '3klb', qq({"subject":"$list_uri",$at})),
  ev('h', 1700000009, 'delete', 'app.bsky.graph.follow', '3kf2');
($rc, $out, $err) = $node->psql($db,
	"SET search_path = m, pg_catalog; SELECT dataplane.ingest_jetstream(\$ev\$$events\$ev\$);");
is($rc, 0, '(h) a superuser ingests events with mallory\'s search_path') or diag $err;
is($out, '1700000009000000', '(h) it returns the last event\'s time_us');
no_escalation('(h) ingest_jetstream by a superuser');
my $uid = sub { "(SELECT uid FROM dataplane.actor WHERE did = '$did{$_[0]}')" };
is( $node->safe_psql(
		$db,
		'SET search_path = pg_catalog; SELECT '
		  . join(', ',
			"(SELECT string_agg(followee::text, ',') FROM dataplane.follow WHERE follower = "
			  . $uid->('h') . ") = " . $uid->('i') . '::text',
			"(SELECT count(*) FROM dataplane.post WHERE author = " . $uid->('i') . ")",
			"(SELECT count(*) FROM dataplane.repost WHERE reposter = " . $uid->('h') . ")",
			"(SELECT count(*) FROM dataplane.block WHERE blocker = " . $uid->('h') . ")",
			"(SELECT count(*) FROM dataplane.list_item i JOIN dataplane.list l ON l.id = i.list_id "
			  . "WHERE l.owner = " . $uid->('h') . " AND i.subject = " . $uid->('j') . ")",
			"(SELECT count(*) FROM dataplane.list_block WHERE actor = " . $uid->('i') . ")")),
	't|1|1|1|1|1',
	'(h) the rows are those the events name (the deleted follow gone)');
my $skel = "SELECT string_agg(coalesce(repost_uri, uri), ' ' ORDER BY cursor DESC) "
  . "FROM dataplane.timeline_skeleton('$did{h}')";
my $want_skel = "at://$did{h}/app.bsky.feed.repost/3krp";
($rc, $out, $err) = $node->psql($db, "SET search_path = m, pg_catalog; $skel;");
is($rc, 0, '(h) a superuser reads a skeleton with mallory\'s search_path') or diag $err;
like($out, qr/\Q$want_skel\E/, '(h) the skeleton holds the repost');
($rc, $out, $err) = as_mallory("$skel; SELECT count(*) FROM dataplane.author_feed_skeleton('$did{i}');");
is($rc, 0, '(h) mallory reads the skeletons') or diag $err;
no_escalation('(h) the skeletons');
all_exact('at the end');

$node->stop;
done_testing();
