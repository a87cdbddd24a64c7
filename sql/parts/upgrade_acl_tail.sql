-- ---------------------------------------------- privileges kept (0.2.0)

-- The functions dropped and created again by this update get back the
-- privileges their 0.1.0 declarations had (see status_upgrade.sql): a
-- REVOKE from PUBLIC, and every GRANT.
DO $acl$
DECLARE
    f record;
    a record;
    acl aclitem[];
BEGIN
    FOR f IN SELECT * FROM (VALUES
            ('status', 'dataplane.status()'),
            ('get_timeline', 'dataplane.get_timeline(int, int, timestamptz, bigint, text, boolean, boolean)'),
            ('get_author_feed', 'dataplane.get_author_feed(int, int, timestamptz, bigint, text, int)')
        ) v(name, sig) LOOP
        acl := NULLIF(pg_catalog.current_setting('dataplane_upgrade.' || f.name, true),
                                 '')::aclitem[];
        CONTINUE WHEN acl IS NULL;  -- the default: EXECUTE for PUBLIC, as now
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.sig);
        FOR a IN SELECT * FROM pg_catalog.aclexplode(acl) x WHERE x.privilege_type = 'EXECUTE' LOOP
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', f.sig,
                CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;
END
$acl$;
