// The atproto identifier syntaxes the ingest checks: DIDs, record keys,
// NSIDs, and AT-URIs that name one record (at://DID/NSID/RKEY).
//
// Every check is a pure function of its text: no allocation, no exception.
// The rules are atproto's (https://atproto.com/specs/did, /record-key,
// /nsid, /at-uri-scheme), restricted where the index needs it: an AT-URI
// must name its repository by DID (a handle can change owner) and must name
// exactly one record (no query, no fragment, no trailing path).
#pragma once

#include <cstddef>
#include <string_view>

namespace ing {

// Longest DID atproto accepts.
constexpr size_t kMaxDidLength = 2048;
// Longest record key atproto accepts.
constexpr size_t kMaxRkeyLength = 512;
// Longest NSID atproto accepts.
constexpr size_t kMaxNsidLength = 317;

// Is `s` a DID: "did:" method ":" identifier, the method lowercase ASCII
// letters, the identifier [A-Za-z0-9._:%-] not ending in ':' or '%', at
// most kMaxDidLength characters in all?
bool is_did(std::string_view s);

// Is `s` a record key: 1 to kMaxRkeyLength characters of [A-Za-z0-9._~:-],
// and neither "." nor ".."?
bool is_rkey(std::string_view s);

// Is `s` an NSID: a reversed domain of at least two segments, then a name
// (app.bsky.feed.post)?
bool is_nsid(std::string_view s);

// The three parts of an AT-URI that names one record. The views point into
// the text given to parse_record_uri.
struct RecordUri {
    std::string_view did;
    std::string_view collection;
    std::string_view rkey;
};

// Splits "at://DID/NSID/RKEY" into its parts; false (and *out untouched)
// unless the text has exactly that shape and every part is valid.
bool parse_record_uri(std::string_view s, RecordUri *out);

}  // namespace ing
