#include "page_rows.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/timestamp.h"
}

namespace dpg {

namespace {

// The page row's columns as stored: length and alignment (all by value).
struct Col {
    int16 len;
    char align;
};
constexpr Col kCols[] = {{8, TYPALIGN_DOUBLE}, {8, TYPALIGN_DOUBLE}, {4, TYPALIGN_INT},
                         {4, TYPALIGN_INT},    {8, TYPALIGN_DOUBLE}};
constexpr int kNatts = 5;

// The row's data, after the header: item_id, post_id, author at 0, 8, 16;
// reposter at 20 when it is not NULL; sort_at at 24 (aligned to 8 after
// author or reposter alike). 32 bytes either way.
constexpr uint32 kDataLen = 32;
// The header (with the one-byte null bitmap when reposter is NULL) padded
// to MAXALIGN: 24 bytes either way.
constexpr uint32 kHoff = MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(kNatts));
static_assert(kHoff == MAXALIGN(SizeofHeapTupleHeader), "the bitmap fits the header's padding");

bool direct_layout(TupleDesc desc) {
    if (desc == nullptr || desc->natts != kNatts)
        return false;
    for (int i = 0; i < kNatts; i++) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (a->attisdropped || !a->attbyval || a->attlen != kCols[i].len ||
            a->attalign != kCols[i].align)
            return false;
    }
    return true;
}

}  // namespace

PageRows::PageRows(Tuplestorestate *store, TupleDesc desc)
    : store_(store), desc_(desc), direct_(direct_layout(desc)) {}

void PageRows::put(const dp::AuthorItem &it) {
    bool repost = it.reposter != 0;
    if (!direct_) {
        Datum v[kNatts] = {Int64GetDatum(it.id), Int64GetDatum(it.post_id),
                           Int32GetDatum(int32(it.author)), Int32GetDatum(int32(it.reposter)),
                           TimestampTzGetDatum(it.ts)};
        bool n[kNatts] = {false, false, false, !repost, false};
        tuplestore_putvalues(store_, desc_, v, n);
        return;
    }
    // What heap_form_tuple would write for these values: header, then the
    // data at kHoff. tuplestore_puttuple copies it (as a minimal tuple).
    union {
        HeapTupleHeaderData hdr;
        char bytes[kHoff + kDataLen];
        double align;
    } buf;
    memset(&buf, 0, kHoff);
    HeapTupleHeader td = &buf.hdr;
    HeapTupleHeaderSetDatumLength(td, kHoff + kDataLen);
    HeapTupleHeaderSetNatts(td, kNatts);
    td->t_hoff = kHoff;
    if (!repost) {
        td->t_infomask = HEAP_HASNULL;
        td->t_bits[0] = 0x17;  // attributes 1, 2, 3 and 5 are not null
    }
    char *data = buf.bytes + kHoff;
    int64 id = it.id, post = it.post_id;
    int32 author = int32(it.author), reposter = int32(it.reposter);  // 0 (padding) when NULL
    TimestampTz ts = it.ts;
    memcpy(data, &id, 8);
    memcpy(data + 8, &post, 8);
    memcpy(data + 16, &author, 4);
    memcpy(data + 20, &reposter, 4);
    memcpy(data + 24, &ts, 8);
    HeapTupleData tuple;
    tuple.t_len = kHoff + kDataLen;
    ItemPointerSetInvalid(&tuple.t_self);
    tuple.t_tableOid = InvalidOid;
    tuple.t_data = td;
    tuplestore_puttuple(store_, &tuple);
}

}  // namespace dpg
