#include "spi_stream.hpp"

namespace dpg {

void SpiStream::open(const char *sql, bool read_only, long batch) {
    SPIPlanPtr plan = SPI_prepare(sql, 0, nullptr);
    if (plan == nullptr)
        elog(ERROR, "dataplane: could not plan a scan: %s", SPI_result_code_string(SPI_result));
    portal_ = SPI_cursor_open(nullptr, plan, nullptr, nullptr, read_only);
    batch_ = nullptr;
    batch_size_ = batch;
    n_ = i_ = 0;
    fetch();
}

void SpiStream::fetch() {
    if (batch_ != nullptr)
        SPI_freetuptable(batch_);
    SPI_cursor_fetch(portal_, true, batch_size_);
    batch_ = SPI_tuptable;
    n_ = SPI_processed;
    i_ = 0;
    CHECK_FOR_INTERRUPTS();
}

void SpiStream::next() {
    if (++i_ == n_ && n_ > 0)
        fetch();
}

Datum SpiStream::value(int col) const {
    bool isnull;
    Datum d = SPI_getbinval(batch_->vals[i_], batch_->tupdesc, col, &isnull);
    return isnull ? Datum(0) : d;
}

int64 SpiStream::i64(int col) const { return DatumGetInt64(value(col)); }
int32 SpiStream::i32(int col) const { return DatumGetInt32(value(col)); }

dp::AuthorItem SpiStream::item(int col) const {
    return dp::AuthorItem{i64(col),     i64(col + 1), i64(col + 2), uid(col + 3), uid(col + 4),
                          uid(col + 5), uid(col + 6), uid(col + 7)};
}

void SpiStream::close() {
    if (batch_ != nullptr)
        SPI_freetuptable(batch_);
    batch_ = nullptr;
    SPI_cursor_close(portal_);
}

}  // namespace dpg
