# TRUNCATE of dataplane.follow while directory leaves are lost (memory
# pressure: dataplane.memory_limit = 1MB, uids spread so that their leaves
# do not fit). A lost leaf stands for every set and ring of its 4096 users,
# not only their follow sets, and a commit may lose leaves of its own after
# its truncate. Proves that reads stay exact
#  - when one transaction truncates follow and then inserts follows whose
#    leaves cannot be created (the inserts must stay lost, not be forgotten);
#  - for authors whose posts were lost before a truncate of follow (their
#    author feeds and their followers' timelines still come from the tables).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DataplaneTest;

my $node = dp_node('truncate_lost', conf => 'dataplane.memory_limit = 1');
# The first read starts the build.
$node->safe_psql('postgres', 'SELECT dataplane.follows(1, 2)');
ok(wait_until($node, "SELECT state <> 'warming' FROM dataplane.status()", 't', 60),
	'the first build ends');

# 40,000 actors, 100 uids apart: 977 leaves of 96 kB do not fit in 1 MB.
$node->safe_psql('postgres', q{
INSERT INTO dataplane.actor (uid, did)
  SELECT g * 100, 'did:plc:t' || g FROM generate_series(1, 40000) g;
INSERT INTO dataplane.follow (follower, followee)
  SELECT g * 100, (g % 40000 + 1) * 100 FROM generate_series(1, 40000) g;
-- Posts by authors all over the uid range: most of their leaves are lost.
INSERT INTO dataplane.post (author, created_at)
  SELECT (1 + (g * 7919) % 40000) * 100, '2026-01-01'::timestamptz + g * interval '1 min'
    FROM generate_series(1, 2000) g;
SELECT setval(pg_get_serial_sequence('dataplane.actor', 'uid'), 5000000);
INSERT INTO dataplane.actor (uid, did)
  SELECT 4000000 + g * 10000, 'did:plc:x' || g FROM generate_series(1, 99) g;
});
is(dp_state($node), 'degraded', 'under pressure: status() says degraded');
ok(status_field($node, 'lost_leaves') > 0, 'under pressure: leaves were lost');

my $sample = "(SELECT array_agg(u) FROM (SELECT g * 100 AS u FROM generate_series(1, 40000, 997) g "
  . "UNION ALL SELECT 4000000 + g * 10000 FROM generate_series(1, 99) g) s)";

# A truncate of follow alone: the authors' lost posts must not become an
# empty author feed.
$node->safe_psql('postgres', 'TRUNCATE dataplane.follow');
check_timelines($node, 'after TRUNCATE follow', sample => $sample);
verify_clean($node, 'after TRUNCATE follow');

# One transaction: truncate, then follows among uids whose leaves are lost.
$node->safe_psql('postgres', q{
BEGIN;
TRUNCATE dataplane.follow;
INSERT INTO dataplane.follow (follower, followee)
  SELECT 4000000 + g * 10000, 4000000 + (g % 99 + 1) * 10000 FROM generate_series(1, 99) g
  UNION ALL
  SELECT 4000000 + g * 10000, (1 + (g * 7919) % 40000) * 100 FROM generate_series(1, 99) g;
COMMIT;
});
check_functions($node, 'TRUNCATE and INSERT in one transaction', sample => $sample,
	no_proof_check => 1);
check_timelines($node, 'TRUNCATE and INSERT in one transaction', sample => $sample);
verify_clean($node, 'TRUNCATE and INSERT in one transaction');

# The same through TRUNCATE actor CASCADE, then a new graph.
$node->safe_psql('postgres', q{
BEGIN;
TRUNCATE dataplane.actor CASCADE;
INSERT INTO dataplane.actor (uid, did)
  SELECT 4000000 + g * 10000, 'did:plc:y' || g FROM generate_series(1, 99) g;
INSERT INTO dataplane.follow (follower, followee)
  SELECT 4000000 + g * 10000, 4000000 + ((g * 7) % 99 + 1) * 10000 FROM generate_series(1, 99) g
   WHERE g <> (g * 7) % 99 + 1;
INSERT INTO dataplane.post (author, created_at)
  SELECT 4000000 + (g % 99 + 1) * 10000, '2026-02-01'::timestamptz + g * interval '1 s'
    FROM generate_series(1, 500) g;
COMMIT;
});
check_functions($node, 'TRUNCATE actor CASCADE and a new graph', sample => $sample,
	no_proof_check => 1);
check_timelines($node, 'TRUNCATE actor CASCADE and a new graph', sample => $sample);
verify_clean($node, 'TRUNCATE actor CASCADE and a new graph');

$node->stop;
done_testing();
