// Rows of a query, read through an SPI cursor in batches, one row at a
// time: the build's table scans and verify()'s comparisons stream tables far
// larger than memory this way. Inside an SPI connection, under the caller's
// snapshot handling (read_only = false takes a new snapshot at open).
#pragma once

#include "pg_prelude.hpp"
#include "entry.hpp"

#include <type_traits>

#include "ring.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace dpg {

class SpiStream {
  public:
    // Prepares and opens the query (no parameters), on its first row;
    // errors if it cannot.
    void open(const char *sql, bool read_only, long batch = 10000);
    // Is there a current row (false past the last)?
    bool valid() const { return i_ < n_; }
    // Moves to the next row.
    void next();
    // Moves past the rows whose column `col` is `uid`.
    void skip_uid(int col, uint32 uid) {
        while (valid() && this->uid(col) == uid)
            next();
    }
    // Column values of the current row (1-based); NULL reads as 0.
    int64 i64(int col) const;
    int32 i32(int col) const;
    uint32 uid(int col) const { return uint32(i32(col)); }
    // A feed item from eight columns starting at `col`: sort_at, item_id,
    // post_id, author, reposter (0 for a post), parent, root, attrs.
    dp::AuthorItem item(int col) const;
    void close();

  private:
    void fetch();
    Datum value(int col) const;

    Portal portal_ = nullptr;
    SPITupleTable *batch_ = nullptr;
    long batch_size_ = 0;
    uint64 n_ = 0, i_ = 0;
};
DP_PG_FRAME(SpiStream);

}  // namespace dpg
