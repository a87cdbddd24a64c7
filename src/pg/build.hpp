// Building the index from the tables, in a background worker, while writes
// go on.
//
// The protocol that keeps a build exact without blocking writers:
//  1. Every stripe is emptied and switched to "building" under its lock.
//     From then on the commit apply keeps, for every set the build has not
//     installed yet, a journal: the uids added and deleted since (set_journal).
//  2. The build reads the tables with a snapshot taken after step 1: every
//     commit missing from the snapshot is in the journals, and a commit that
//     is in both agrees with itself.
//  3. Per uid, in ascending order, under the stripe lock, the set becomes
//     (read ∪ journal adds) − journal deletes, and the install cursor moves
//     past the uid, so that later commits apply to it normally.
//  4. Stripes switch to "ready", and the index answers reads.
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

// Marks the index as needing a rebuild (a commit could not be applied,
// writes bypassed the capture): reads use the tables until a new build,
// and a running build cannot declare itself ready. Never fails.
void invalidate_index();

// Marks the index failed (a commit could not be applied whole): reads use
// the tables, no build starts by itself, status() says `degraded` with
// `why`, and rebuild() (or a restart) repairs it. Never fails: it runs in
// the commit callback.
void fail_index(const char *why);

// Launches a build if the index is not built for `gen` and none is under
// way (and the last failure is not too recent). Never waits.
void maybe_launch_build(Oid gen);

// Errors unless an admin function (`what`: rebuild, verify) can work with
// the index here: the library preloaded, this the served database, and no
// change of this transaction's own to the tables (the index holds only
// committed ones).
void check_index_usable(const char *what);

// Launches a build (unless one is under way) and waits for it to end.
// Returns true if the index is then ready; `force` starts a new build even
// when the index is ready.
bool build_and_wait(Oid gen, bool force);

}  // namespace dpg

extern "C" PGDLLEXPORT void dataplane_builder_main(Datum arg);
