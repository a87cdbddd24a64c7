// The opaque page cursor of the skeleton functions (timeline_skeleton,
// author_feed_skeleton): "<sort time>:<item id>", the (before_ts, before_id)
// of get_timeline and get_author_feed in one text. The time is a
// timestamptz's own integer, microseconds since 2000-01-01 UTC: exact both
// ways over the whole range of the type (Unix microseconds would overflow
// int64 near its end). An item at 'infinity' or '-infinity' (rows written
// by hand; ingest never writes them) gets that integer too, the type's own
// INT64_MAX or INT64_MIN, so that a page holding one still has a cursor
// and the next page starts below it, as get_timeline's cursor does. Every
// text that is not such a pair gets 22023 rather than a wrong page.
#include "entry.hpp"

extern "C" {
#include "funcapi.h"
#include "access/htup_details.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include <cerrno>
#include <cstdlib>

namespace dpg {
namespace {

// Reads a decimal int64 that fills [s, end); false on anything else.
bool read_int64(const char *s, const char *end, int64 *out) {
    if (s == end || end - s > 20)
        return false;
    char buf[24];
    memcpy(buf, s, size_t(end - s));
    buf[end - s] = '\0';
    const char *digits = buf[0] == '-' ? buf + 1 : buf;
    if (*digits == '\0')
        return false;
    for (const char *p = digits; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    char *stop = nullptr;
    long long v = strtoll(buf, &stop, 10);
    if (errno != 0 || *stop != '\0')
        return false;
    *out = v;
    return true;
}

[[noreturn]] void bad_cursor(const char *text) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid feed cursor \"%s\"", text),
                    errhint("Pass the cursor column of the last row of the previous page, "
                            "or NULL for the first page.")));
}

}  // namespace
}  // namespace dpg

using namespace dpg;

// feed_cursor(sort_at timestamptz, item_id bigint) returns text
DP_FUNCTION(dataplane_feed_cursor) {
    TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
    int64 id = PG_GETARG_INT64(1);
    char buf[64];
    snprintf(buf, sizeof(buf), INT64_FORMAT ":" INT64_FORMAT, int64(ts), id);
    PG_RETURN_TEXT_P(cstring_to_text(buf));
}

// feed_cursor_parse(cursor text, OUT before_ts timestamptz, OUT before_id bigint)
DP_FUNCTION(dataplane_feed_cursor_parse) {
    char *given = text_to_cstring(PG_GETARG_TEXT_PP(0));
    const char *colon = strchr(given, ':');
    int64 us = 0, id = 0;
    if (colon == nullptr || !read_int64(given, colon, &us) ||
        !read_int64(colon + 1, colon + strlen(colon), &id))
        bad_cursor(given);
    if (!IS_VALID_TIMESTAMP(us) && !TIMESTAMP_NOT_FINITE(us))
        bad_cursor(given);
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "feed_cursor_parse: return type must be a row type");
    desc = BlessTupleDesc(desc);
    Datum values[2] = {TimestampTzGetDatum(us), Int64GetDatum(id)};
    bool nulls[2] = {false, false};
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
