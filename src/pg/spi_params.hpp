// SQL array parameters for SPI, built from C++ values, and statements run
// with them through plans kept for the backend's life: the ingest loads and
// writes whole batches of rows with one statement per table and kind, the
// rows passed as parallel arrays and read back with unnest().
#pragma once

#include "pg_prelude.hpp"

#include <optional>
#include <string_view>

#include "entry.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace dpg {

// A one-dimensional array of n elements of `type`, element i from get(i):
// a Datum, or nullopt for NULL. In the current memory context.
template <typename Get>
Datum make_array(size_t n, Oid type, Get get) {
    int16 len;
    bool byval;
    char align;
    get_typlenbyvalalign(type, &len, &byval, &align);
    Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n + 1)));
    bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * (n + 1)));
    for (size_t i = 0; i < n; i++) {
        std::optional<Datum> d = get(i);
        nulls[i] = !d.has_value();
        elems[i] = d.value_or(Datum(0));
    }
    int dims[1] = {int(n)}, lbs[1] = {1};
    return PointerGetDatum(
        construct_md_array(elems, nulls, 1, dims, lbs, type, len, byval, align));
}

inline std::optional<Datum> int4_datum(int32 v) { return Int32GetDatum(v); }
inline std::optional<Datum> int8_datum(int64 v) { return Int64GetDatum(v); }
inline std::optional<Datum> bool_datum(bool v) { return BoolGetDatum(v); }
inline std::optional<Datum> text_datum(std::string_view s) {
    return PointerGetDatum(cstring_to_text_with_len(s.data(), int(s.size())));
}
// NULL when absent.
inline std::optional<Datum> text_datum(const std::optional<std::string_view> &s) {
    if (!s.has_value())
        return std::nullopt;
    return text_datum(*s);
}
// NULL for 0 (a uid that is not there).
inline std::optional<Datum> uid_datum(uint32 u) {
    if (u == 0)
        return std::nullopt;
    return Int32GetDatum(int32(u));
}

// A statement with parameters, planned once for the backend's life (the
// plan is made under run_as_tables_owner's pinned search_path).
struct Statement {
    const char *sql;
    int nargs;
    Oid types[9];
    SPIPlanPtr plan;
};
DP_PG_FRAME(Statement);

// Runs st with values (inside SPI and run_as_tables_owner); errors unless
// the result is `expect` (SPI_OK_SELECT, SPI_OK_INSERT, ...).
void run_statement(Statement *st, Datum *values, int expect);

// Until AtEOXact_GUC(true, level) (or an error) pops the returned level,
// plans probe indexes key by key: no hash or merge joins, no bitmap or
// sequential scans where an index serves. The batch statements' keys are a
// few thousand among millions of rows and each names a row or two, but a
// generic plan cannot know it: planned while a table was still small (the
// first batches), it scans or hashes the whole table, and keeps doing so
// until the table's statistics change (measured: a sequential scan testing
// did = ANY (15,000 DIDs) made the first pass of 1 million events 7 times
// slower); and it reads single rows through a bitmap. Set around the whole
// batch, it also reaches the statements the tables' triggers run for it.
int prefer_index_probes();

}  // namespace dpg
