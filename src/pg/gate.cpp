#include "gate.hpp"

#include "build.hpp"
#include "capture.hpp"
#include "capture_guard.hpp"
#include "commit.hpp"
#include "guc.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace dpg {

void check_lim(int32 lim, bool null_means_all) {
    if (lim < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("lim must not be negative"), errdetail("lim was %d.", lim),
                        errhint(null_means_all
                                    ? "Pass the number of rows wanted, 0 for none, or NULL for all."
                                    : "Pass the number of rows wanted, or 0 for none.")));
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
    // A standby cannot run the builder (it would wait for the end of
    // recovery, holding a worker slot) and applies no commits of its own:
    // it answers from its tables until it is promoted.
    if (RecoveryInProgress()) {
        *why = kFbStandby;
        return false;
    }
    const char *reason;
    if (!capture_trustworthy(&reason)) {
        *why = kFbCapture;
        return false;
    }
    Oid gen = current_generation();
    uint32 state = pg_atomic_read_u32(&L.sh->state);
    if (state != kStateReady || L.sh->gen_relid != gen || L.sh->dbid != MyDatabaseId) {
        maybe_launch_build(gen);
        *why = state == kStateFailed ? kFbUnknown : kFbWarming;
        return false;
    }
    if (!fence_visible_commits()) {
        *why = kFbInFlight;
        return false;
    }
    return true;
}

bool quiet_index(uint64 *started) {
    return spin_until(
        [&] {
            *started = pg_atomic_read_u64(&L.sh->applies_started);
            pg_read_barrier();
            return pg_atomic_read_u64(&L.sh->applies_finished) == *started;
        },
        50);
}

}  // namespace dpg
