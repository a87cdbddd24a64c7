-- ------------------------------------------------------------ operations

-- Functions this update drops and creates again (their declarations
-- change) keep the privileges a DBA gave them: each one's ACL is kept in a
-- transaction-local setting here and granted again at the end
-- (upgrade_acl_tail.sql).
SELECT pg_catalog.set_config('dataplane_upgrade.' || f.name,
                             coalesce(p.proacl::text, ''), true)
  FROM (VALUES ('status', 'dataplane.status()'),
               ('get_timeline', 'dataplane.get_timeline(int, int, timestamptz, bigint)'),
               ('get_author_feed', 'dataplane.get_author_feed(int, int, timestamptz, bigint)')
       ) f(name, sig)
  JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(f.sig);

-- status() gains columns at its end: the reason for its state, reads
-- answered from the tables on a standby or while capture is off, the
-- ingest's and the live consumer's counters.
DROP FUNCTION dataplane.status();
