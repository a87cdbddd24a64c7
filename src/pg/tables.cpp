#include "tables.hpp"

#include "guc.hpp"

extern "C" {
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "miscadmin.h"
}

namespace dpg {

const char *const kCaptureTableNames[kNumCaptureTables] = {
    "follow", "post", "repost", "actor", "block", "mute", "list_item", "list_block", "list_mute"};

namespace {

Oid cached_oid[kNumCaptureTables];
bool oids_valid = false;
bool moderation = false;  // the moderation tables exist (oids_valid)
bool capture_valid = false;
bool capture_ok = false;
char capture_reason[kReasonLen];
bool callback_registered = false;

void relcache_callback(Datum, Oid relid) {
    for (int t = 0; t < kNumCaptureTables; t++)
        if (relid == InvalidOid || relid == cached_oid[t]) {
            oids_valid = false;
            capture_valid = false;
            return;
        }
}

// The table's OID in schema nsp, from the catalog (InvalidOid if absent).
Oid oid_by_name(CaptureTable t, Oid nsp) {
    return OidIsValid(nsp) ? get_relname_relid(kCaptureTableNames[t], nsp) : InvalidOid;
}

void load_oids() {
    if (oids_valid)
        return;
    if (!callback_registered) {
        CacheRegisterRelcacheCallback(relcache_callback, Datum(0));
        callback_registered = true;
    }
    Oid nsp = get_namespace_oid("dataplane", true);
    bool all = OidIsValid(nsp), mod = true;
    for (int t = 0; t < kNumCaptureTables; t++) {
        cached_oid[t] = oid_by_name(CaptureTable(t), nsp);
        if (t < kFirstModerationTable)
            all = all && OidIsValid(cached_oid[t]);
        else if (t > kTblActor)
            mod = mod && OidIsValid(cached_oid[t]);
    }
    oids_valid = all;
    moderation = all && mod;
}

// The mode a capture trigger of the 0.2.0 layout must have.
char expected_mode(const char *tgname) {
    if (strcmp(tgname, "dataplane_capture_row") == 0)
        return TRIGGER_FIRES_ON_REPLICA;
    if (strcmp(tgname, "dataplane_capture_truncate") == 0)
        return TRIGGER_FIRES_ALWAYS;
    return TRIGGER_FIRES_ON_ORIGIN;
}

bool is_capture_trigger(const Trigger &tg) {
    return !tg.tgisinternal && strncmp(tg.tgname, "dataplane_capture_", 18) == 0;
}

// A foreign key's own check of new rows, which the extension's reference
// triggers replace (dataplane_a_refs_*, see the install script): it stays
// disabled, also after ENABLE TRIGGER ALL (pg_restore --disable-triggers).
// Which of them (inserts, key updates) the table's own triggers replace.
bool is_fk_check_trigger(const Trigger &tg, bool ins, bool upd) {
    return tg.tgisinternal && ((ins && tg.tgfoid == F_RI_FKEY_CHECK_INS) ||
                               (upd && tg.tgfoid == F_RI_FKEY_CHECK_UPD));
}

// Inspects one table's capture triggers (see inspect_capture).
bool inspect_table(int t, bool fix_modes, char *reason) {
    const char *tbl = kCaptureTableNames[t];
    // The relcache entry without a lock: a read must not wait behind a
    // TRUNCATE, and a stale view is corrected by the next invalidation.
    Relation rel = RelationIdGetRelation(cached_oid[t]);
    if (rel == nullptr) {
        snprintf(reason, kReasonLen, "dataplane.%s is missing", tbl);
        return false;
    }
    static const char *const kStatement[] = {"dataplane_capture_insert", "dataplane_capture_update",
                                             "dataplane_capture_delete", "dataplane_capture_truncate"};
    bool found[4] = {false, false, false, false};
    bool has_row = false, refs_ins = false, refs_upd = false, ok = true, wrong_mode = false;
    TriggerDesc *td = rel->trigdesc;
    for (int i = 0; td != nullptr && i < td->numtriggers; i++) {
        refs_ins = refs_ins || strcmp(td->triggers[i].tgname, "dataplane_a_refs_insert") == 0;
        refs_upd = refs_upd || strcmp(td->triggers[i].tgname, "dataplane_a_refs_update") == 0;
    }
    bool fk_checks_on = false;
    for (int i = 0; td != nullptr && i < td->numtriggers; i++) {
        const Trigger &tg = td->triggers[i];
        fk_checks_on = fk_checks_on ||
                       (is_fk_check_trigger(tg, refs_ins, refs_upd) && tg.tgenabled != TRIGGER_DISABLED);
        if (!is_capture_trigger(tg))
            continue;
        for (int k = 0; k < 4; k++)
            found[k] = found[k] || strcmp(tg.tgname, kStatement[k]) == 0;
        has_row = has_row || strcmp(tg.tgname, "dataplane_capture_row") == 0;
        if (tg.tgenabled == TRIGGER_DISABLED) {
            if (ok)
                snprintf(reason, kReasonLen,
                         "capture trigger %s on dataplane.%s is disabled", tg.tgname, tbl);
            ok = false;
        } else if (tg.tgenabled != expected_mode(tg.tgname)) {
            wrong_mode = true;
        }
    }
    for (int k = 0; k < 4 && ok; k++)
        if (!found[k]) {
            snprintf(reason, kReasonLen, "capture trigger %s on dataplane.%s is missing",
                     kStatement[k], tbl);
            ok = false;
        }
    // Restore the 0.2.0 layout's modes (ENABLE TRIGGER ALL makes every
    // trigger plain ENABLE). A 0.1.0 layout (no row trigger, ALWAYS
    // statement triggers) is left as it is until ALTER EXTENSION UPDATE.
    // Only a superuser may change a foreign key's own (system) triggers.
    bool fix_fk = fk_checks_on && superuser();
    if (ok && fix_modes && ((wrong_mode && has_row) || fix_fk)) {
        // The names first: the catalog updates below may rebuild the
        // relcache entry that td belongs to.
        NameData fix[16];
        char mode[16];
        int n_fix = 0;
        for (int i = 0; i < td->numtriggers && n_fix < 16; i++) {
            const Trigger &tg = td->triggers[i];
            if (has_row && is_capture_trigger(tg) && tg.tgenabled != expected_mode(tg.tgname)) {
                mode[n_fix] = expected_mode(tg.tgname);
                namestrcpy(&fix[n_fix++], tg.tgname);
            } else if (fix_fk && is_fk_check_trigger(tg, refs_ins, refs_upd) &&
                       tg.tgenabled != TRIGGER_DISABLED) {
                mode[n_fix] = TRIGGER_DISABLED;
                namestrcpy(&fix[n_fix++], tg.tgname);
            }
        }
        LockRelationOid(cached_oid[t], ShareRowExclusiveLock);
        for (int i = 0; i < n_fix; i++)
            EnableDisableTrigger(rel, NameStr(fix[i]), mode[i], false, ShareRowExclusiveLock);
        CommandCounterIncrement();
    }
    RelationClose(rel);
    return ok;
}

}  // namespace

Oid current_generation() {
    load_oids();
    return oids_valid ? cached_oid[kTblFollow] : InvalidOid;
}

Oid capture_table(CaptureTable t) {
    load_oids();
    if (t >= kFirstModerationTable && !moderation)
        return InvalidOid;
    return oids_valid ? cached_oid[t] : InvalidOid;
}

bool is_capture_table(Oid relid, CaptureTable t) {
    if (relid == capture_table(t))
        return true;
    // The cache is dropped when a table it holds changes, not when a table
    // it lacks is created (the moderation tables, in the update from
    // 0.1.0): then the catalog.
    return OidIsValid(relid) && relid == oid_by_name(t, get_namespace_oid("dataplane", true));
}

bool moderation_schema() {
    load_oids();
    return moderation;
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

bool inspect_capture(bool fix_modes, char *reason) {
    reason[0] = '\0';
    load_oids();
    if (!oids_valid) {
        snprintf(reason, kReasonLen, "the dataplane tables are missing");
        return false;
    }
    bool ok = true;
    char scratch[kReasonLen];
    int n = moderation ? kNumCaptureTables : kFirstModerationTable;
    for (int t = 0; t < n; t++)  // every table: each may need its modes fixed
        ok = inspect_table(t, fix_modes, ok ? reason : scratch) && ok;
    return ok;
}

bool capture_complete_cached(const char **reason) {
    if (!capture_valid || !oids_valid) {
        load_oids();
        capture_ok = inspect_capture(false, capture_reason);
        capture_valid = oids_valid;
    }
    *reason = capture_reason;
    return capture_ok;
}

}  // namespace dpg
