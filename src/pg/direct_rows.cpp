#include "direct_rows.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace dpg {

DirectRows::DirectRows(Tuplestorestate *store, TupleDesc desc, const FixedCol *cols, int n)
    : store_(store), desc_(desc), natts_(n), direct_(false) {
    if (desc == nullptr || desc->natts != n || n > MaxTupleAttributeNumber)
        return;
    uint32 len = 0;
    for (int i = 0; i < n; i++) {
        Form_pg_attribute a = TupleDescAttr(desc, i);
        if (a->attisdropped || !a->attbyval || a->attlen != cols[i].len ||
            a->attalign != cols[i].align)
            return;
        len = att_align_nominal(len, cols[i].align) + uint32(cols[i].len);
    }
    direct_ = len <= kMaxData;
    memset(&buf_, 0, MAXALIGN(SizeofHeapTupleHeader + 1));
    HeapTupleHeaderSetNatts(&buf_.hdr, natts_);
}

char *DirectRows::start(uint8 nulls) {
    Assert(direct_ && (nulls == 0 || natts_ <= 8));
    HeapTupleHeader td = &buf_.hdr;
    if (nulls != 0) {
        hoff_ = MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(natts_));
        td->t_infomask = HEAP_HASNULL;
        td->t_bits[0] = uint8(~nulls & ((1u << natts_) - 1));  // a set bit: not NULL
    } else {
        hoff_ = MAXALIGN(SizeofHeapTupleHeader);
        td->t_infomask = 0;
    }
    td->t_hoff = uint8(hoff_);
    return buf_.bytes + hoff_;
}

void DirectRows::finish(uint32 len) {
    Assert(len <= kMaxData);
    HeapTupleHeaderSetDatumLength(&buf_.hdr, hoff_ + len);
    HeapTupleData tuple;
    tuple.t_len = hoff_ + len;
    ItemPointerSetInvalid(&tuple.t_self);
    tuple.t_tableOid = InvalidOid;
    tuple.t_data = &buf_.hdr;
    tuplestore_puttuple(store_, &tuple);  // copies it, as a minimal tuple
}

namespace {

constexpr FixedCol kPageCols[] = {{8, TYPALIGN_DOUBLE}, {8, TYPALIGN_DOUBLE}, {4, TYPALIGN_INT},
                                  {4, TYPALIGN_INT},    {8, TYPALIGN_DOUBLE}};

}  // namespace

PageRows::PageRows(Tuplestorestate *store, TupleDesc desc) : rows_(store, desc, kPageCols, 5) {}

void PageRows::put(const dp::AuthorItem &it) {
    bool repost = it.reposter != 0;
    if (!rows_.direct()) {
        Datum v[5] = {Int64GetDatum(it.id), Int64GetDatum(it.post_id),
                      Int32GetDatum(int32(it.author)), Int32GetDatum(int32(it.reposter)),
                      TimestampTzGetDatum(it.ts)};
        bool n[5] = {false, false, false, !repost, false};
        rows_.put_values(v, n);
        return;
    }
    // item_id, post_id and author at 0, 8 and 16; reposter at 20 (zero, as
    // padding, when NULL); sort_at at 24 either way.
    char *data = rows_.start(repost ? 0 : uint8(1u << 3));
    int64 id = it.id, post = it.post_id;
    int32 author = int32(it.author), reposter = int32(it.reposter);
    TimestampTz ts = it.ts;
    memcpy(data, &id, 8);
    memcpy(data + 8, &post, 8);
    memcpy(data + 16, &author, 4);
    memcpy(data + 20, &reposter, 4);
    memcpy(data + 24, &ts, 8);
    rows_.finish(32);
}

}  // namespace dpg
