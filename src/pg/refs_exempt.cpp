#include "refs_exempt.hpp"

#include "entry.hpp"

extern "C" {
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "storage/proc.h"
#include "utils/rel.h"
}

namespace dpg {

namespace {

// The one armed statement (lxid invalid: none).
struct Armed {
    LocalTransactionId lxid;
    CommandId cid;
    Oid rel;
    uint8 targets;
};
Armed armed = {InvalidLocalTransactionId, 0, InvalidOid, 0};

const char *const kWritten[] = {"actor", "follow", "block", "post", "repost", "repost_pending",
                                "list", "list_item", "list_block", "graph_record"};

Oid dataplane_rel(const char *name) {
    Oid ns = get_namespace_oid("dataplane", true);
    return OidIsValid(ns) ? get_relname_relid(name, ns) : InvalidOid;
}

// Only the extension's triggers and PostgreSQL's internal ones (the
// foreign keys' own) fire on r.
bool only_own_triggers(Relation r, Oid ext) {
    TriggerDesc *td = r->trigdesc;
    for (int i = 0; td != nullptr && i < td->numtriggers; i++) {
        const Trigger &t = td->triggers[i];
        if (t.tgenabled == TRIGGER_DISABLED || t.tgisinternal)
            continue;
        if (strncmp(t.tgname, "dataplane_", 10) != 0 ||
            getExtensionOfObject(ProcedureRelationId, t.tgfoid) != ext)
            return false;
    }
    return true;
}

}  // namespace

bool refs_exemptable() {
    Oid ext = get_extension_oid("dataplane", true);
    if (!OidIsValid(ext))
        return false;
    for (const char *name : kWritten) {
        Oid rel = dataplane_rel(name);
        if (!OidIsValid(rel))
            return false;
        Relation r = table_open(rel, AccessShareLock);
        bool plain = r->rd_rules == nullptr && only_own_triggers(r, ext);
        table_close(r, NoLock);
        if (!plain)
            return false;
    }
    return true;
}

void run_exempt(Statement *st, Datum *values, int expect, const char *table, uint8 targets) {
    if (targets == 0) {
        run_statement(st, values, expect);
        return;
    }
    // After this, the INSERT is the first to use the command id: SPI's own
    // CommandCounterIncrement before it finds the id unused and keeps it.
    CommandCounterIncrement();
    armed = Armed{MyProc->lxid, GetCurrentCommandId(false), dataplane_rel(table), targets};
    PG_TRY();
    {
        run_statement(st, values, expect);
    }
    PG_FINALLY();
    {
        armed.lxid = InvalidLocalTransactionId;
    }
    PG_END_TRY();
}

}  // namespace dpg

using namespace dpg;

// dataplane._refs_checked(regclass) returns regclass[]: the tables whose
// references the statement now firing the reference trigger on `rel` need
// not check (see refs_exempt.hpp); empty for every statement but the
// ingest's own.
DP_FUNCTION(dataplane_refs_checked) {
    Oid rel = PG_GETARG_OID(0);
    Datum out[3];
    int n = 0;
    if (armed.lxid == MyProc->lxid && armed.rel == rel &&
        GetCurrentCommandId(false) == armed.cid + 1) {
        if (armed.targets & kRefActor)
            out[n++] = ObjectIdGetDatum(dataplane_rel("actor"));
        if (armed.targets & kRefPost)
            out[n++] = ObjectIdGetDatum(dataplane_rel("post"));
        if (armed.targets & kRefList)
            out[n++] = ObjectIdGetDatum(dataplane_rel("list"));
    }
    PG_RETURN_ARRAYTYPE_P(construct_array(out, n, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT));
}
