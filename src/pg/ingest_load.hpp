// Loading the rows a batch of Jetstream events touches (ing::Keys) into the
// batch model's State, with one SELECT per class of keys.
#pragma once

#include "ingest_model.hpp"
#include "ingest_vouched.hpp"

#include "pg_prelude.hpp"

namespace dpg {

// Inside SPI and run_as_tables_owner. Posts and lists are loaded FOR KEY
// SHARE and their ids added to *locked. Throws std::bad_alloc.
void load_keys(const ing::Keys &keys, ing::State *state, Vouched *locked);

// Collection <-> graph_record.collection.
const char *collection_text(ing::Collection c);
ing::Collection collection_of(std::string_view text);

}  // namespace dpg
