-- ------------------------------------------ internal functions (0.2.0)

-- The functions whose names start with an underscore are the extension's
-- own: trigger and event trigger functions, and the reference checks'
-- helpers. None is for callers, and CREATE TRIGGER needs EXECUTE on its
-- function: with PUBLIC's EXECUTE, any role with USAGE on the schema could
-- attach a capture trigger to a table of its own and feed the shared index
-- rows that are not the tables' (or crash its backend with columns of other
-- types), or attach a SECURITY DEFINER reference check and take row locks
-- as the owner. Triggers fire without an EXECUTE check, so the tables' own
-- triggers still fire for every writer. Last in the script: every such
-- function exists by now, also those an update created.
DO $internal$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
              WHERE p.pronamespace OPERATOR(pg_catalog.=) 'dataplane'::regnamespace
                AND pg_catalog.left(p.proname::text, 1) OPERATOR(pg_catalog.=) '_'
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$internal$;
