// Loading the rows a batch of Jetstream events touches (ing::Keys) into the
// batch model's State, with one SELECT per class of keys.
#pragma once

#include "ingest_model.hpp"

#include "pg_prelude.hpp"

namespace dpg {

// Inside SPI and run_as_tables_owner. Throws std::bad_alloc (State::add_*).
void load_keys(const ing::Keys &keys, ing::State *state);

// Collection <-> graph_record.collection.
const char *collection_text(ing::Collection c);
ing::Collection collection_of(std::string_view text);

}  // namespace dpg
