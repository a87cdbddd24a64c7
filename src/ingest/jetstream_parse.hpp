// Reading one Jetstream v1 event (one JSON line) into a plain struct.
//
// Zero copies: every text field of a JetstreamEvent is a view into the line
// itself, so into the caller's buffer, and stays valid as long as that
// buffer does. The one exception is a JSON string written with escapes
// ("\u0064id:..."), which Jetstream never sends for the fields read here:
// its unescaped text is kept by the parser until clear_text().
//
// Speed: about 70 % of a real stream is likes, which are skipped. The
// parser reads the envelope and the commit's collection, and stops there
// for a collection the index does not keep; simdjson's On-Demand API reads
// nothing it is not asked for. So an event to be applied is then checked
// whole (simdjson's DOM parser over the same bytes): a truncated line, a
// syntax error in a record field never read or text after the object's
// closing brace makes it unreadable. A skipped event is checked only as far
// as it was read (a like with a syntax error in its record stays skipped,
// counted as skipped rather than unreadable).
//
// Outcomes: kApply (readable, to be applied), kSkip (readable, but of a kind
// or collection the index does not keep: identity events, likes, ...; their
// records are never looked at) and kUnreadable (bad JSON, a required field
// missing or of the wrong type, a malformed DID, rkey or AT-URI in a field
// the mapping needs, a time_us before PostgreSQL's first timestamp, or a
// value to be stored that PostgreSQL's text cannot hold: a NUL byte, which
// JSON writes as \u0000). Any other string is stored as it is: a CID, an
// account status or a list purpose of any length and characters (DESIGN.md
// maps them to text columns without rules of their own). One readable record is skipped too: a listitem that
// names a list of another repository, which Bluesky's AppView refuses
// ("Creator of listitem does not match creator of list"), lest anyone add
// anyone to anyone's moderation list. Skipped and unreadable events carry a
// short static reason.
//
// Exceptions: only std::bad_alloc, from the functions that say so. simdjson
// is used through its error codes only (SIMDJSON_EXCEPTIONS=0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "ingest_types.hpp"

namespace ing {

// Bytes of readable memory simdjson needs after the end of a line
// (SIMDJSON_PADDING, checked against simdjson.h in jetstream_parse.cpp).
constexpr size_t kJsonPadding = 64;

// Longest line read; a longer one is unreadable ("line too long"). Records
// are at most a few hundred kilobytes.
constexpr size_t kMaxLineBytes = size_t(4) << 20;

enum class EventKind : uint8_t { kCommit, kAccount, kIdentity, kOther };

enum class Verdict : uint8_t { kApply, kSkip, kUnreadable };

// A record named by an AT-URI: its repository's DID and its rkey.
struct RecordRef {
    std::string_view did;
    std::string_view rkey;
};

// One event as read. Fields beyond verdict, reason, kind, did and time_us
// are set only for kApply.
struct JetstreamEvent {
    Verdict verdict = Verdict::kUnreadable;
    const char *reason = nullptr;  // kSkip and kUnreadable: why (static text)
    EventKind kind = EventKind::kOther;
    std::string_view did;  // the repository (the account of an account event)
    int64_t time_us = 0;   // set whenever the verdict is not kUnreadable

    // kind == kCommit
    CommitOp op = CommitOp::kCreate;
    Collection collection = Collection::kOther;
    std::string_view rkey;
    std::string_view cid;         // commit.cid: post and repost creates/updates
    std::string_view created_at;  // record.createdAt; empty if missing or not a string
    std::string_view subject;     // follow, block, listitem: the subject DID
    RecordRef target;             // repost: the post; listitem, listblock: the list
    std::string_view reply_root;    // post: the DID of the thread's root's author,
    std::string_view reply_parent;  // and of the parent's; both empty if no reply
    bool quote = false;             // post: embeds a record
    Media media = Media::kNone;     // post
    Text purpose;                   // list: after the last '#' (all of it if none);
                                    // NULL if missing or not a string

    // kind == kAccount
    bool active = false;
    Text status;  // NULL if missing or not a string, and always when active
};

// The earliest time_us readable: PostgreSQL's first timestamptz
// (4714-11-24 00:00:00 BC UTC, MIN_TIMESTAMP) in microseconds since 1970.
// An earlier one names no time PostgreSQL can store, so its event is
// unreadable; every later int64 is a valid timestamptz (PostgreSQL's last
// one lies beyond INT64_MAX microseconds after 1970).
constexpr int64_t kMinTimeUs = -210866803200000000LL;

// Reads Jetstream lines. One parser serves any number of lines, one at a
// time; it keeps simdjson's buffers between calls. Not thread-safe.
class JetstreamParser {
  public:
    // Throws std::bad_alloc.
    JetstreamParser();
    ~JetstreamParser();
    JetstreamParser(const JetstreamParser &) = delete;
    JetstreamParser &operator=(const JetstreamParser &) = delete;

    // Reads the line [data, data + len) into *out. `readable` is how many
    // bytes from `data` on may be read: the line, then the rest of the
    // buffer and its padding. Within a buffer padded with kJsonPadding bytes
    // (a caller that splits one big padded buffer into lines), every line,
    // the last one included, has at least len + kJsonPadding readable bytes
    // and is read in place. With less, the line is first copied into the
    // parser, and the views of *out point into that copy, valid until the
    // next call. Throws std::bad_alloc.
    void parse(const char *data, size_t len, size_t readable, JetstreamEvent *out);

    // Forgets the unescaped copies of escaped strings: views into them are
    // invalid afterwards. Call between batches.
    void clear_text();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The next non-blank line of [buf, buf + len) at or after *pos, without its
// line terminator ('\n', optionally after '\r'); advances *pos past it.
// Returns false at the end. Blank lines (empty, or only spaces, tabs and
// '\r') are passed over.
bool next_line(const char *buf, size_t len, size_t *pos, std::string_view *line);

}  // namespace ing
