// Rows of a fixed layout appended to a materialized SRF's tuplestore
// without the generic tuple-forming path.
//
// tuplestore_putvalues forms each row through heap_form_minimal_tuple: a
// pass to size it, palloc0, a pass to fill it, attribute by attribute. For
// a 50-row timeline page that was a fifth of the call's time in the
// server. A page row, or a relationships() row, has one physical layout,
// fixed by the function's declaration; so when the result descriptor has
// that layout (checked once per call, not assumed), the caller lays out
// the row's data itself (start), and finish writes the header before it
// and hands the tuple to the tuplestore, which copies it once. Any other
// descriptor takes the generic path (put_values).
#pragma once

#include "pg_prelude.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/tuplestore.h"
}

namespace dpg {

// A column as stored, by value: its length and alignment (TYPALIGN_*).
struct FixedCol {
    int16 len;
    char align;
};

class DirectRows {
  public:
    // The room for a row's data (the largest layout here needs 32 bytes).
    static constexpr uint32 kMaxData = 64;

    // Whether desc holds exactly `cols` (n of them, none dropped).
    DirectRows(Tuplestorestate *store, TupleDesc desc, const FixedCol *cols, int n);
    bool direct() const { return direct_; }
    // A row, only when direct(): start() gives where its data goes, for a
    // row whose NULL columns are the set bits of `nulls` (of the first 8
    // columns; 0: none); the caller writes every byte of it, padding
    // included, as heap_fill_tuple would lay it out (each value at its
    // alignment, NULLs taking no room); finish() appends it.
    char *start(uint8 nulls);
    void finish(uint32 len);
    // The generic path, for any descriptor.
    void put_values(const Datum *values, const bool *nulls) {
        tuplestore_putvalues(store_, desc_, const_cast<Datum *>(values), const_cast<bool *>(nulls));
    }

  private:
    Tuplestorestate *store_;
    TupleDesc desc_;
    int natts_;
    bool direct_;
    uint32 hoff_ = 0;  // of the row started
    // The row: what heap_form_tuple writes, the header (with the null
    // bitmap when some column is NULL) padded to MAXALIGN, then the data.
    union {
        HeapTupleHeaderData hdr;
        char bytes[MAXALIGN(SizeofHeapTupleHeader + 1) + kMaxData];
        double align;
    } buf_;
};

// Timeline and author-feed rows: (item_id bigint, post_id bigint, author
// int, reposter int, NULL for a post, sort_at timestamptz).
class PageRows {
  public:
    PageRows(Tuplestorestate *store, TupleDesc desc);
    void put(const dp::AuthorItem &it);

  private:
    DirectRows rows_;
};

}  // namespace dpg
