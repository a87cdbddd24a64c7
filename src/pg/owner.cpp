#include "owner.hpp"

#include "tables.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

namespace dpg {

Oid tables_owner() {
    Oid rel = current_generation();
    HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
    if (!HeapTupleIsValid(tup))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("dataplane.follow does not exist"),
                        errhint("Is the extension installed in this database?")));
    Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->relowner;
    ReleaseSysCache(tup);
    return owner;
}

Oid extension_owner() {
    Oid ext = get_extension_oid("dataplane", true);
    if (!OidIsValid(ext))
        return InvalidOid;
    // A catalog scan, not SQL: nothing the caller's search_path can reach.
    Relation rel = table_open(ExtensionRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(ext));
    SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, nullptr, 1, &key);
    HeapTuple tup = systable_getnext(scan);
    Oid owner = HeapTupleIsValid(tup)
                    ? reinterpret_cast<Form_pg_extension>(GETSTRUCT(tup))->extowner
                    : InvalidOid;
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return owner;
}

void check_admin(const char *what) {
    if (superuser())
        return;
    Oid owner = extension_owner();
    if (OidIsValid(owner) && has_privs_of_role(GetUserId(), owner))
        return;
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied for dataplane.%s()", what),
                    errdetail("It locks the dataplane tables against writers while it runs."),
                    errhint("Only superusers and members of the role that owns extension "
                            "dataplane may call it.")));
}

int pin_search_path() {
    int level = NewGUCNestLevel();
    (void) set_config_option("search_path", kPinnedSearchPath, PGC_USERSET, PGC_S_SESSION,
                             GUC_ACTION_SAVE, true, 0, false);
    return level;
}

}  // namespace dpg
