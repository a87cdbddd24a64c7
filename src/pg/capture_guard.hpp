// Keeping the index honest when writes bypass the capture triggers.
//
// `ALTER TABLE ... DISABLE TRIGGER` (which pg_restore --disable-triggers
// issues around each table) lets rows in that the index never sees. The
// event trigger dataplane_capture_guard runs after every ALTER TABLE and
// inspects the capture triggers (tables.hpp); the transaction's commit then
// publishes the outcome:
//  - a capture trigger is disabled: DpShared.capture_off is set and the
//    index invalidated. Reads answer from the tables, builds wait, status()
//    says why. (The transaction that disabled it reads from the tables too.)
//  - all are enabled again after being off: their modes were restored by the
//    event trigger (ENABLE TRIGGER ALL makes every one plain ENABLE), so
//    capture_off is cleared, the index invalidated once more (it missed the
//    writes in between) and a build launched in the background.
// A writer cannot slip between: DISABLE/ENABLE TRIGGER hold a lock that
// excludes writers until after the commit callbacks have run.
//
// Each transaction checks the triggers before it commits: two that
// re-enable triggers on different tables at once (pg_restore -j
// --disable-triggers) may each see the other's still disabled, and both
// publish "off" although every trigger is enabled once both committed.
// Hence the backstops, also for when the event trigger did not run
// (dropped, or a single-user server): every reading backend inspects the
// triggers again after any invalidation of the tables' relcache entries,
// and a backend that finds capture_off set while every trigger is enabled
// clears it (and rebuilds), at most once a second for reads, at once for
// verify(), rebuild() and status() (heal_capture). The other way round, a
// re-enabling commit that checked before another table's DISABLE committed
// clears a mark that should stay: reads see the disabled trigger at their
// own check and set it again, and status() checks as they do
// (sync_capture_mark).
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

// Did this transaction disable a capture trigger? Its own reads must then
// use the tables, like those of a transaction that wrote.
bool guard_txn_off();

// Transaction end (commit.cpp's callback): publish, or forget.
void guard_at_commit();
void guard_at_abort();

// For read_gate: false when writes may bypass the index now; then *reason
// says why. May mark the index for a rebuild, or clear a stale mark.
bool capture_trustworthy(const char **reason);

// Whether capture is on, looking in the catalog when it is marked off: a
// mark left by commits that each saw another table's trigger still
// disabled (two transactions re-enabling triggers on different tables at
// once, as pg_restore -j --disable-triggers does) is cleared, and the
// index invalidated (it missed the writes in between) and, with `launch`,
// a build started. For verify(), rebuild() and status(), which must not
// report "capture is off" once every trigger is enabled.
bool heal_capture(bool launch);

// For status(): the mark made to agree with the triggers as this backend
// sees them, both ways. Healed as heal_capture(true) does; and set when a
// capture trigger is disabled although the mark is clear, which a commit
// that re-enabled one table's triggers leaves when it checked before
// another's DISABLE committed and commits after it (reads find that out
// themselves before they use the index; status() must not say ready).
void sync_capture_mark();

}  // namespace dpg
