#include "rfc3339.hpp"

namespace ing {

namespace {

// Reads the `n` ASCII digits at s[at...] into *v; false if any is not one.
bool digits(std::string_view s, size_t at, size_t n, int *v) {
    if (at + n > s.size())
        return false;
    int x = 0;
    for (size_t i = at; i < at + n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
    static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

bool all_zeros(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

// Checks the ranges PostgreSQL enforces on the fields.
bool in_range(const DateTimeFields &f) {
    if (f.year < 1 || f.month < 1 || f.month > 12 || f.day < 1 || f.day > days_in_month(f.year, f.month))
        return false;
    if (f.minute > 59 || f.second > 60 || f.hour > 24)
        return false;
    if (f.hour == 24 && (f.minute != 0 || f.second != 0 || !all_zeros(f.fraction)))
        return false;
    if (f.second == 60 && !all_zeros(f.fraction))
        return false;
    return true;
}

}  // namespace

bool parse_rfc3339(std::string_view s, DateTimeFields *out) {
    DateTimeFields f;
    // YYYY-MM-DDTHH:MM:SS is 19 characters, at fixed positions.
    if (!digits(s, 0, 4, &f.year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, &f.month) ||
        s[7] != '-' || !digits(s, 8, 2, &f.day) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s, 11, 2, &f.hour) || s[13] != ':' || !digits(s, 14, 2, &f.minute) || s[16] != ':' ||
        !digits(s, 17, 2, &f.second))
        return false;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
        f.fraction = s.substr(start, i - start);
    }
    if (i == s.size())
        return false;  // no offset
    if (s[i] == 'Z' || s[i] == 'z') {
        f.utc = true;
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int hh, mm;
        if (!digits(s, i + 1, 2, &hh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, &mm))
            return false;
        if (hh > 15 || mm > 59)
            return false;
        f.offset_minutes = (s[i] == '-' ? -1 : 1) * (hh * 60 + mm);
        i += 6;
    } else {
        return false;
    }
    if (i != s.size() || s.size() > kMaxDateTimeLength || !in_range(f))
        return false;
    if (out != nullptr)
        *out = f;
    return true;
}

}  // namespace ing
