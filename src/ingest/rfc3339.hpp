// The date-time shape DESIGN.md accepts for a record's createdAt: RFC 3339's
// `date-time`, YYYY-MM-DDTHH:MM:SS[.fraction] then Z or ±HH:MM, with T and
// Z in either case and ASCII digits only.
//
// The text is not converted here: the glue hands a readable createdAt to
// PostgreSQL's own timestamptz parser, so that it means exactly what
// PostgreSQL makes of it. This check therefore also refuses what that
// parser would reject with an error (measured on PostgreSQL 15): year 0000,
// a day the month lacks, 24:00:00 with anything but zeros after it, second
// 60 with a nonzero fraction, an offset beyond ±15:59, and text longer than
// kMaxDateTimeLength (PostgreSQL's date parser copies the text and a NUL
// after each of its three fields into a buffer of MAXDATELEN +
// MAXDATEFIELDS = 153 bytes: measured, it reads a fraction of 128 digits
// before Z and of 123 before ±HH:MM, and refuses one more). Everything
// accepted here is accepted by PostgreSQL, and the reverse.
#pragma once

#include <string_view>

namespace ing {

// The longest date-time PostgreSQL reads (any fraction length within it;
// it rounds to microseconds).
constexpr size_t kMaxDateTimeLength = 149;

// The fields of a readable date-time, as written.
struct DateTimeFields {
    int year = 0;    // 1..9999
    int month = 0;   // 1..12
    int day = 0;     // 1..days of that month
    int hour = 0;    // 0..24 (24 only as 24:00:00)
    int minute = 0;  // 0..59
    int second = 0;  // 0..60 (60: a leap second, PostgreSQL carries it over)
    std::string_view fraction;  // the digits after '.', empty if none
    bool utc = false;           // written with Z
    int offset_minutes = 0;     // east of UTC: +05:30 is 330, Z is 0
};

// Checks that `s` is a readable date-time and returns its fields in *out
// (when out is not null); false when it is not.
bool parse_rfc3339(std::string_view s, DateTimeFields *out);

}  // namespace ing
