# ALTER EXTENSION dataplane UPDATE from 0.1.0 on a populated database: the
# rows stay, verify() is clean, every answer is what it was, and the schema
# is the same as a fresh install of the current version (tables, columns,
# constraints, indexes, triggers and their modes, the foreign keys' own
# triggers' modes, functions with their bodies, settings and privileges, the
# event trigger, config dumps), so no upgrade step can be forgotten.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $N = 2000;
my $node = dp_node('upgrade', extension => 0);
$node->safe_psql('postgres', q{CREATE EXTENSION dataplane VERSION '0.1.0'});
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'dataplane'}),
	'0.1.0', 'installed at 0.1.0');
load_graph($node, actors => $N, follows => 20000, big => 5, big_degree => 300);
load_items($node, actors => $N, posts => 6000, reposts => 1200);
ok(wait_state($node, 'ready'), '0.1.0: the index is built');
check_functions($node, '0.1.0', actors => $N);
check_timelines($node, '0.1.0', actors => $N);
verify_clean($node, '0.1.0');

# Answers before the update, to compare after it.
my $answers = q{
SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
  SELECT format('t %s %s', u, array_agg(ROW(t.*)::text)) AS x
    FROM generate_series(1, 200) u, LATERAL dataplane.get_timeline(u, 30) t GROUP BY u
  UNION ALL
  SELECT format('f %s %s %s %s', u, dataplane.follower_count(u), dataplane.following_count(u),
                dataplane.social_proof_count(u, 1))
    FROM generate_series(1, 400) u) s};
my $before = $node->safe_psql('postgres', $answers);

$node->safe_psql('postgres', 'ALTER EXTENSION dataplane UPDATE');
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'dataplane'}),
	$node->safe_psql('postgres',
		q{SELECT default_version FROM pg_available_extensions WHERE name = 'dataplane'}),
	'updated to the default version');
ok(wait_state($node, 'ready'), 'after the update: the index is ready');
is($node->safe_psql('postgres', $answers), $before, 'after the update: every answer is unchanged');
verify_clean($node, 'after the update');
check_functions($node, 'after the update', actors => $N);
check_timelines($node, 'after the update', actors => $N);

# Writes after the update reach the index, in both replication roles.
$node->safe_psql('postgres', q{
INSERT INTO dataplane.follow (follower, followee) VALUES (11, 1999) ON CONFLICT DO NOTHING;
SET session_replication_role = replica;
INSERT INTO dataplane.follow (follower, followee) VALUES (12, 1998) ON CONFLICT DO NOTHING;
INSERT INTO dataplane.post (author, created_at) VALUES (12, '2027-01-01');
});
is($node->safe_psql('postgres', 'SELECT dataplane.follows(11, 1999), dataplane.follows(12, 1998)'),
	't|t', 'after the update: writes in origin and replica mode reach the index');
verify_clean($node, 'after writes');

# The populated tables are filled: a reference to a missing row fails at
# once, as the foreign key's own check failed it.
is($node->safe_psql('postgres',
		"SELECT string_agg(tbl::text || '=' || state, ' ' ORDER BY tbl::text) FROM dataplane._referenced WHERE tbl::text IN ('dataplane.actor', 'dataplane.post')"),
	'dataplane.actor=filled dataplane.post=filled', 'after the update: actor and post are filled');
my ($rc, $out, $err) = $node->psql('postgres',
	'INSERT INTO dataplane.follow (follower, followee) VALUES (1, 999999)');
like($err, qr/violates foreign key constraint "follow_followee_fkey"/,
	'after the update: a follow of a missing actor is refused');

# The schema equals a fresh install's.
my $schema = q{
SELECT string_agg(x, E'\n' ORDER BY x) FROM (
  SELECT format('column %s.%s %s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                a.attcollation::regcollation, a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS x
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE n.nspname = 'dataplane' AND c.relkind IN ('r', 'c') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = 'dataplane'::regnamespace
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(indexrelid))
    FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'dataplane'::regnamespace)
  UNION ALL
  SELECT format('trigger %s %s %s', tgrelid::regclass, tgenabled, pg_get_triggerdef(oid))
    FROM pg_trigger WHERE NOT tgisinternal
     AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'dataplane'::regnamespace)
  UNION ALL
  SELECT format('function %s(%s) %s %s %s %s %s %s %s %s', proname, pg_get_function_arguments(oid),
                pg_get_function_result(oid), provolatile, proisstrict, proparallel, prosecdef,
                proconfig, proacl, md5(prosrc))
    FROM pg_proc WHERE pronamespace = 'dataplane'::regnamespace
  UNION ALL
  -- the foreign keys' own triggers: their check triggers are disabled
  SELECT format('fk trigger %s %s %s %s', g.tgrelid::regclass, c.conname, g.tgfoid::regproc,
                g.tgenabled)
    FROM pg_trigger g JOIN pg_constraint c ON c.oid = g.tgconstraint
   WHERE g.tgisinternal AND c.connamespace = 'dataplane'::regnamespace
  UNION ALL
  SELECT format('event trigger %s %s %s %s', evtname, evtevent, evtenabled, evttags)
    FROM pg_event_trigger
  UNION ALL
  SELECT format('dumped %s', unnest(extconfig)::regclass) FROM pg_extension WHERE extname = 'dataplane'
  UNION ALL
  SELECT format('sequence %s', c.relname) FROM pg_class c
   WHERE c.relnamespace = 'dataplane'::regnamespace AND c.relkind = 'S'
) s};
my $upgraded = $node->safe_psql('postgres', $schema);
# A fresh install needs the served database: compare in a second cluster.
my $fresh_node = dp_node('fresh');
my $fresh = $fresh_node->safe_psql('postgres', $schema);
is($upgraded, $fresh, 'the updated schema equals a fresh install of the current version')
  or diag(join("\n", grep { my $l = $_; index($fresh, $l) < 0 } split /\n/, $upgraded)
	  . "\n---- missing after the update:\n"
	  . join("\n", grep { my $l = $_; index($upgraded, $l) < 0 } split /\n/, $fresh));

$fresh_node->stop;
$node->stop;
done_testing();
