// The extension's tables in this database: which incarnation of them the
// index serves, whether this database is the served one, and whether every
// capture trigger on them is in place (see capture.hpp), cached per backend
// and recomputed when PostgreSQL invalidates one of the tables' relcache
// entries (ALTER TABLE, DROP, ...).
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

// The tables whose writes the index captures, by their name in schema
// dataplane. From kTblActor on, the moderation tables of schema 0.2.0
// (actor for its accounts' `active`): a 0.1.0 schema, not yet updated
// with ALTER EXTENSION, has no capture there, and no moderation at all.
enum CaptureTable {
    kTblFollow,
    kTblPost,
    kTblRepost,
    kTblActor,
    kTblBlock,
    kTblMute,
    kTblListItem,
    kTblListBlock,
    kTblListMute,
    kNumCaptureTables
};
constexpr int kFirstModerationTable = kTblActor;
extern const char *const kCaptureTableNames[kNumCaptureTables];

// Does this database's schema have the moderation tables (0.2.0 or later)?
bool moderation_schema();

// OID of dataplane.follow in this database (InvalidOid if absent). It names
// the incarnation of the tables the index belongs to: DROP and CREATE
// EXTENSION make a new one.
Oid current_generation();

// OID of one capture table (InvalidOid if absent).
Oid capture_table(CaptureTable t);

// Is relid the capture table t (also one created after the OIDs were
// cached)?
bool is_capture_table(Oid relid, CaptureTable t);

// Is this dataplane.database, the one database whose tables the index
// serves? A copy made with CREATE DATABASE ... TEMPLATE has the extension
// too, with the same table OIDs: it is answered from its own tables and
// its writes are not captured.
bool serves_this_database();

// Errors unless this is dataplane.database: what = the function's name.
void check_served_database(const char *what);

// Whether every write to the capture tables reaches the index: every
// capture statement trigger exists and none of the capture triggers is
// disabled. `reason` (at least kReasonLen bytes) says what is wrong.
constexpr size_t kReasonLen = 160;
bool inspect_capture(bool fix_modes, char *reason);

// The same, cached until a capture table's relcache entry is invalidated.
bool capture_complete_cached(const char **reason);

}  // namespace dpg
