// Writing a batch's difference (ing::Diff) to the tables.
#pragma once

#include "ingest_model.hpp"

#include "pg_prelude.hpp"

namespace dpg {

struct WriteCounts {
    uint64 deleted = 0, inserted = 0, updated = 0;
};

// Inside SPI and run_as_tables_owner: every DELETE, then the INSERTs
// (parents first), then the UPDATEs.
void write_diff(const ing::Diff &d, WriteCounts *n);

}  // namespace dpg
