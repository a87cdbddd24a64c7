// The rows of a timeline or author-feed page (item_id bigint, post_id
// bigint, author int, reposter int (NULL for a post), sort_at
// timestamptz), appended to a materialized SRF's tuplestore.
//
// tuplestore_putvalues forms each row through the generic path (a pass to
// size the tuple, palloc0, a pass to fill it, attribute by attribute):
// 20 % of a 50-row page's time in the server. A page row has one layout,
// fixed by the function's declaration, so when the result's descriptor is
// that layout the row is written directly (one fixed-size header and four
// or five stores) and handed to the tuplestore, which copies it once. Any
// other descriptor (none the declarations make, but checked, not assumed)
// takes the generic path.
#pragma once

#include "pg_prelude.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace dpg {

class PageRows {
  public:
    PageRows(Tuplestorestate *store, TupleDesc desc);
    void put(const dp::AuthorItem &it);

  private:
    Tuplestorestate *store_;
    TupleDesc desc_;
    bool direct_;  // desc_ has the page row's physical layout
};

}  // namespace dpg
