#include "atproto_syntax.hpp"

#include <cstdint>

namespace ing {

namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// Character classes as one table lookup per character: DIDs and rkeys are
// checked for every event read, several times for a reply.
constexpr uint8_t kDidIdChar = 1;  // [A-Za-z0-9._:%-]
constexpr uint8_t kRkeyChar = 2;   // [A-Za-z0-9._~:-]

struct CharClasses {
    uint8_t c[256] = {};
    constexpr CharClasses() {
        for (int i = 0; i < 256; i++) {
            char ch = char(i);
            bool an = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
            bool common = an || ch == '.' || ch == '_' || ch == ':' || ch == '-';
            c[i] = uint8_t((common || ch == '%' ? kDidIdChar : 0) | (common || ch == '~' ? kRkeyChar : 0));
        }
    }
};

constexpr CharClasses kClasses;

// Are all characters of s in `cls`?
bool all_of_class(std::string_view s, uint8_t cls) {
    uint8_t acc = cls;
    for (char c : s)
        acc &= kClasses.c[uint8_t(c)];
    return acc != 0;
}

// Is `s` a domain label of an NSID authority: 1-63 of [A-Za-z0-9-], not
// starting or ending with '-'?
bool is_authority_label(std::string_view s) {
    if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-')
        return false;
    for (char c : s)
        if (!is_alnum(c) && c != '-')
            return false;
    return true;
}

// Is `s` the name segment of an NSID: 1-63 ASCII letters and digits, not
// starting with a digit?
bool is_nsid_name(std::string_view s) {
    if (s.empty() || s.size() > 63 || is_digit(s.front()))
        return false;
    for (char c : s)
        if (!is_alnum(c))
            return false;
    return true;
}

}  // namespace

bool is_did(std::string_view s) {
    if (s.size() > kMaxDidLength || s.substr(0, 4) != "did:")
        return false;
    size_t i = 4;
    while (i < s.size() && is_lower(s[i]))
        i++;
    if (i == 4 || i == s.size() || s[i] != ':')
        return false;
    i++;
    if (i == s.size())
        return false;  // empty identifier
    return all_of_class(s.substr(i), kDidIdChar) && s.back() != ':' && s.back() != '%';
}

bool is_rkey(std::string_view s) {
    if (s.empty() || s.size() > kMaxRkeyLength || s == "." || s == "..")
        return false;
    return all_of_class(s, kRkeyChar);
}

bool is_nsid(std::string_view s) {
    if (s.size() > kMaxNsidLength)
        return false;
    size_t last_dot = s.rfind('.');
    if (last_dot == std::string_view::npos || !is_nsid_name(s.substr(last_dot + 1)))
        return false;
    std::string_view authority = s.substr(0, last_dot);
    if (authority.size() > 253)
        return false;
    size_t labels = 0;
    for (size_t start = 0;;) {
        size_t dot = authority.find('.', start);
        std::string_view label = authority.substr(start, dot == std::string_view::npos ? dot : dot - start);
        // The first label is a top-level domain: it may not start with a digit.
        if (!is_authority_label(label) || (labels == 0 && is_digit(label.front())))
            return false;
        labels++;
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return labels >= 2;
}

bool parse_record_uri(std::string_view s, RecordUri *out) {
    constexpr std::string_view kScheme = "at://";
    if (s.substr(0, kScheme.size()) != kScheme)
        return false;
    std::string_view rest = s.substr(kScheme.size());
    size_t a = rest.find('/');
    if (a == std::string_view::npos)
        return false;
    size_t b = rest.find('/', a + 1);
    if (b == std::string_view::npos)
        return false;
    RecordUri u{rest.substr(0, a), rest.substr(a + 1, b - a - 1), rest.substr(b + 1)};
    // A further '/' lands in the rkey, which is_rkey refuses: one record only.
    if (!is_did(u.did) || !is_nsid(u.collection) || !is_rkey(u.rkey))
        return false;
    *out = u;
    return true;
}

}  // namespace ing
