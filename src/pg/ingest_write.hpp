// Writing a batch's difference (ing::Diff) to the tables.
#pragma once

#include "ingest_model.hpp"
#include "ingest_vouched.hpp"

#include "pg_prelude.hpp"

namespace dpg {

struct WriteCounts {
    uint64 deleted = 0, inserted = 0, updated = 0;
};

// Inside SPI and run_as_tables_owner: every DELETE, then the INSERTs
// (parents first), then the UPDATEs. The reference triggers skip the
// references of an INSERT's rows that `vouched` holds (refs_exempt.hpp);
// write_diff updates it with the posts and lists it deletes and inserts.
// Throws std::bad_alloc.
void write_diff(const ing::Diff &d, Vouched *vouched, WriteCounts *n);

}  // namespace dpg
