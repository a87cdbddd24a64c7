-- The helpers of the other tests (schema dptest) are in
-- sql/include/dptest.psql, which each test that uses them loads first, so
-- that every test runs alone too. Loading them twice is harmless (no
-- output, no error), and here they all are.
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/dptest.psql
\i :abs_srcdir/sql/include/dptest.psql
\set ECHO all
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
  FROM pg_proc p
 WHERE p.pronamespace = 'dptest'::regnamespace
 ORDER BY 1;
