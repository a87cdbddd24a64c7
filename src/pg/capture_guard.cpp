#include "capture_guard.hpp"
#include "entry.hpp"

#include "build.hpp"
#include "shmem.hpp"
#include "tables.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "utils/timestamp.h"

}

namespace dpg {

namespace {

// What this transaction's ALTER TABLEs found (the last one counts).
struct GuardTxn {
    bool ran = false;
    bool off_at_end = false;  // a capture trigger was disabled at the last check
    bool saw_off = false;     // ... at any check of this transaction
    Oid gen = InvalidOid;
    char reason[kReasonLen] = {0};
};
GuardTxn g;

TimestampTz last_heal = 0;

void set_capture_off(const char *reason) {
    SpinLockAcquire(&L.sh->mutex);
    strlcpy(L.sh->capture_reason, reason, sizeof(L.sh->capture_reason));
    SpinLockRelease(&L.sh->mutex);
    pg_atomic_write_u32(&L.sh->capture_off, 1);
    invalidate_index();
}

}  // namespace

bool guard_txn_off() { return g.saw_off; }

void guard_at_commit() {
    if (!g.ran || L.sh == nullptr) {
        g = GuardTxn();
        return;
    }
    if (g.off_at_end) {
        set_capture_off(g.reason);
    } else if (g.saw_off || pg_atomic_read_u32(&L.sh->capture_off) != 0) {
        // Every capture trigger is enabled again: from now on every write is
        // captured, and a new build reads what was written in between.
        pg_atomic_write_u32(&L.sh->capture_off, 0);
        invalidate_index();
        maybe_launch_build(g.gen);
    }
    g = GuardTxn();
}

void guard_at_abort() { g = GuardTxn(); }

namespace {

// Whether this transaction sees every capture trigger enabled (its own
// ALTER TABLEs, then the catalog as cached); if not, *reason says which,
// and the shared mark is set if it is clear (the event trigger did not
// run, or a re-enabling commit that raced with a DISABLE cleared it).
bool triggers_seen_enabled(const char **reason) {
    if (g.saw_off) {
        *reason = g.reason;
        return false;
    }
    if (!capture_complete_cached(reason)) {
        if (pg_atomic_read_u32(&L.sh->capture_off) == 0)
            set_capture_off(*reason);
        return false;
    }
    return true;
}

}  // namespace

bool capture_trustworthy(const char **reason) {
    if (!triggers_seen_enabled(reason))
        return false;
    if (pg_atomic_read_u32(&L.sh->capture_off) == 0)
        return true;
    // Marked off, but this backend sees every trigger enabled: a commit
    // that re-enabled them raced with one that saw them disabled, or the
    // event trigger did not run. Look again in the catalog, once a second.
    *reason = L.sh->capture_reason;
    TimestampTz now = GetCurrentTimestamp();
    if (last_heal != 0 && !TimestampDifferenceExceeds(last_heal, now, 1000))
        return false;
    last_heal = now;
    heal_capture(true);
    return false;  // this read still uses the tables: the index is rebuilding
}

bool heal_capture(bool launch) {
    if (pg_atomic_read_u32(&L.sh->capture_off) == 0)
        return true;
    // A transaction that wrote (an ENABLE TRIGGER not yet committed, say)
    // sees the catalog as it may never be: only one that wrote nothing sees
    // what every other will.
    if (RecoveryInProgress() || !serves_this_database() ||
        GetTopTransactionIdIfAny() != InvalidTransactionId)
        return false;
    static char fresh[kReasonLen];
    if (!inspect_capture(false, fresh))
        return false;  // still off
    uint32 expected = 1;
    if (pg_atomic_compare_exchange_u32(&L.sh->capture_off, &expected, 0)) {
        invalidate_index();
        if (launch)
            maybe_launch_build(current_generation());
    }
    return true;
}

void sync_capture_mark() {
    if (L.sh == nullptr || RecoveryInProgress() || !serves_this_database())
        return;
    const char *reason;
    if (triggers_seen_enabled(&reason))
        heal_capture(true);
}

}  // namespace dpg

using namespace dpg;

// The event trigger on ddl_command_end for ALTER TABLE (see the top).
DP_FUNCTION(dataplane_capture_guard) {
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("dataplane_capture_guard: not called by event trigger manager")));
    // Extension scripts set the modes they mean to set.
    if (creating_extension || !shmem_attach() || !serves_this_database())
        PG_RETURN_VOID();
    char reason[kReasonLen];
    bool ok = inspect_capture(true, reason);
    g.ran = true;
    g.off_at_end = !ok;
    if (!ok) {
        g.saw_off = true;
        strlcpy(g.reason, reason, sizeof(g.reason));
    }
    g.gen = current_generation();
    PG_RETURN_VOID();
}
