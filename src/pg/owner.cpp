#include "owner.hpp"

#include "gate.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_class.h"
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

}  // namespace dpg
