// The ingest's own INSERTs and the reference triggers (sql/parts/refs.sql).
//
// The tables' foreign keys are checked by statement triggers
// (dataplane_a_refs_insert) that look up and lock, FOR KEY SHARE, the row
// each new row names: one index lookup and one lock per reference and row.
// ingest_jetstream() writes rows whose references it has already looked up
// and locked the same way, once per batch (the DIDs it found or interned,
// the posts and lists it loaded), or that it inserted itself. For its own
// INSERT statements it tells the trigger which references it vouches for
// (dataplane._refs_checked), and the trigger checks only the others.
// Every other writer (SQL, COPY, pg_restore, a logical replication apply)
// is checked as before: nothing else can arm the exemption.
//
// The exemption names one statement: this transaction (its local id), the
// table, and the command id the INSERT runs with. The trigger function asks
// from its first expression, which PL/pgSQL (the functions are VOLATILE)
// evaluates after a CommandCounterIncrement: it sees the INSERT's command
// id + 1 exactly when nothing has written since the INSERT began, since any
// other write takes a command id of its own. And the ingest arms it only
// when every table it writes carries no trigger but the extension's own and
// no rule (refs_exemptable), so that nothing but its own statements runs
// between its locks and its INSERTs.
#pragma once

#include "pg_prelude.hpp"

#include "spi_params.hpp"

namespace dpg {

// The tables a reference can name, as bits.
enum RefTarget : uint8 { kRefActor = 1, kRefPost = 2, kRefList = 4 };

// True when no table the ingest writes has a rule, or an enabled trigger
// other than the extension's own (its name starts with dataplane_ and its
// function belongs to the extension) or PostgreSQL's internal ones.
bool refs_exemptable();

// run_statement(st, values, expect) for an INSERT into dataplane.<table>,
// whose references to the tables in `targets` the reference trigger skips.
void run_exempt(Statement *st, Datum *values, int expect, const char *table, uint8 targets);

}  // namespace dpg
