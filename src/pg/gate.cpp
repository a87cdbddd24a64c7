#include "gate.hpp"

#include "build.hpp"
#include "capture.hpp"
#include "commit.hpp"
#include "guc.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace dpg {

static Oid cached_gen = InvalidOid;
static bool gen_valid = false;
static bool callback_registered = false;

static void relcache_callback(Datum, Oid relid) {
    if (relid == InvalidOid || relid == cached_gen)
        gen_valid = false;
}

Oid current_generation() {
    if (gen_valid)
        return cached_gen;
    if (!callback_registered) {
        CacheRegisterRelcacheCallback(relcache_callback, Datum(0));
        callback_registered = true;
    }
    Oid nsp = get_namespace_oid("dataplane", true);
    cached_gen = OidIsValid(nsp) ? get_relname_relid("follow", nsp) : InvalidOid;
    gen_valid = OidIsValid(cached_gen);
    return cached_gen;
}

bool serves_this_database() {
    static int serves = -1;  // MyDatabaseId never changes in a backend
    if (serves < 0) {
        const char *db = get_database_name(MyDatabaseId);
        serves = db != nullptr && guc_database != nullptr && strcmp(db, guc_database) == 0;
    }
    return serves == 1;
}

void check_served_database(const char *what) {
    if (!serves_this_database())
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("dataplane.%s() only works in database \"%s\"", what, guc_database),
                 errdetail("The index serves dataplane.database; this database (a copy, or "
                           "restored into) is answered from its own tables."),
                 errhint("Connect to \"%s\", or set dataplane.database and restart.",
                         guc_database)));
}

bool read_gate(Fallback *why) {
    if (txn_has_changes()) {
        *why = kFbOwnWrites;
        return false;
    }
    if (!shmem_attach()) {
        *why = kFbWarming;
        return false;
    }
    if (!serves_this_database()) {
        *why = kFbNotServed;
        return false;
    }
    Oid gen = current_generation();
    if (pg_atomic_read_u32(&L.sh->state) != kStateReady || L.sh->gen_relid != gen ||
        L.sh->dbid != MyDatabaseId) {
        maybe_launch_build(gen);
        *why = kFbWarming;
        return false;
    }
    if (!fence_visible_commits()) {
        *why = kFbInFlight;
        return false;
    }
    return true;
}

}  // namespace dpg
