#include "jetstream_parse.hpp"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <new>
#include <string>
#include <vector>

// Error codes only: no simdjson exception may exist in a PostgreSQL backend.
// This is the only file that includes simdjson.h, so the define is enough
// here; the static_assert below refuses a build flag that says otherwise.
#ifndef SIMDJSON_EXCEPTIONS
#define SIMDJSON_EXCEPTIONS 0
#endif
#include <simdjson.h>

#include "atproto_syntax.hpp"

static_assert(ing::kJsonPadding == simdjson::SIMDJSON_PADDING, "kJsonPadding must be simdjson's padding");
static_assert(!SIMDJSON_EXCEPTIONS, "the ingest uses simdjson's error codes only");

namespace ing {

namespace od = simdjson::ondemand;

namespace {

// Capacity the parser starts with: most events are under 2 kB.
constexpr size_t kInitialCapacity = 64 * 1024;

enum class Got { kValue, kMissing, kBad };

// Looks up `key` in `o`: kMissing if absent or null, kBad on a JSON error.
Got field(od::object &o, std::string_view key, od::value *v) {
    simdjson::error_code e = o.find_field_unordered(key).get(*v);
    if (e == simdjson::NO_SUCH_FIELD)
        return Got::kMissing;
    bool null = false;
    // is_null() consumes a null and leaves anything else unread.
    if (e || v->is_null().get(null))
        return Got::kBad;
    return null ? Got::kMissing : Got::kValue;
}

Collection collection_of(std::string_view s) {
    // Every kept collection starts with "app.bsky."; likes are the common
    // case and fail the first comparison that differs.
    constexpr std::string_view kPrefix = "app.bsky.";
    if (s.size() < kPrefix.size() || std::memcmp(s.data(), kPrefix.data(), kPrefix.size()) != 0)
        return Collection::kOther;
    std::string_view t = s.substr(kPrefix.size());
    if (t == "feed.post")
        return Collection::kPost;
    if (t == "feed.repost")
        return Collection::kRepost;
    if (t == "graph.follow")
        return Collection::kFollow;
    if (t == "graph.block")
        return Collection::kBlock;
    if (t == "graph.list")
        return Collection::kList;
    if (t == "graph.listitem")
        return Collection::kListItem;
    if (t == "graph.listblock")
        return Collection::kListBlock;
    return Collection::kOther;
}

// Can PostgreSQL's text hold s? Every string simdjson returns is valid
// UTF-8; the one byte text refuses is NUL (JSON's \u0000).
bool storable(std::string_view s) { return std::memchr(s.data(), '\0', s.size()) == nullptr; }

// The embed's media from its $type (also the $type of recordWithMedia's media).
Media media_of(std::string_view type) {
    if (type == "app.bsky.embed.images")
        return Media::kImages;
    if (type == "app.bsky.embed.video")
        return Media::kVideo;
    if (type == "app.bsky.embed.external")
        return Media::kExternal;
    return Media::kNone;
}

}  // namespace

struct JetstreamParser::Impl {
    od::parser parser{kMaxLineBytes};
    // Checks a line to be applied whole (On-Demand checks what it reads),
    // nesting up to kWholeDepth deep (a record nested deeper than that is
    // unreadable; simdjson's default of 1,024 would refuse valid records
    // the On-Demand reader passes over).
    static constexpr size_t kWholeDepth = 65536;
    simdjson::dom::parser whole{kMaxLineBytes};
    std::vector<char> scratch;       // a copy of a line without padding
    std::deque<std::string> text;    // unescaped strings (stable addresses)
    JetstreamEvent *ev = nullptr;

    // Grows simdjson's buffers to hold `len` bytes. simdjson allocates its
    // string buffer with new (nothrow) and does not check it: probe for the
    // memory first, so that a failure is a std::bad_alloc and not a crash.
    void reserve(size_t len) {
        if (len <= parser.capacity())
            return;
        size_t cap = kInitialCapacity;
        while (cap < len)
            cap *= 2;
        if (cap > kMaxLineBytes)
            cap = kMaxLineBytes;
        // Both parsers: string buffers (5/3 of the line each), structural
        // indexes (4 bytes a byte at worst) and the DOM's tape (8).
        void *probe = std::malloc(16 * cap + 4 * simdjson::SIMDJSON_PADDING);
        if (probe == nullptr)
            throw std::bad_alloc();
        std::free(probe);
        if (parser.allocate(cap, parser.max_depth()) != simdjson::SUCCESS ||
            whole.allocate(cap, kWholeDepth) != simdjson::SUCCESS)
            throw std::bad_alloc();
    }

    bool fail(const char *why) {
        ev->verdict = Verdict::kUnreadable;
        ev->reason = why;
        return false;
    }

    bool skip(const char *why) {
        ev->verdict = Verdict::kSkip;
        ev->reason = why;
        return false;
    }

    // Reads a string value as a view into the line; a string with escapes
    // is unescaped into `text`. False if v is not a string. Throws
    // std::bad_alloc.
    bool string_of(od::value &v, std::string_view *out) {
        std::string_view tok = v.raw_json_token();
        if (tok.empty() || tok[0] != '"')
            return false;
        // The token runs to the next structural character: the closing
        // quote, then perhaps whitespace.
        size_t close = tok.find_last_of('"');
        if (close == 0)
            return false;
        std::string_view body = tok.substr(1, close - 1);
        if (body.find('\\') == std::string_view::npos) {
            *out = body;
            return true;
        }
        std::string_view unescaped;
        if (v.get_string().get(unescaped))
            return false;
        text.emplace_back(unescaped);
        *out = text.back();
        return true;
    }

    // Reads the required string field `key` of `o`.
    bool required_string(od::object &o, std::string_view key, std::string_view *out) {
        od::value v;
        return field(o, key, &v) == Got::kValue && string_of(v, out);
    }

    // Reads the required DID field `key` of `o`.
    bool required_did(od::object &o, std::string_view key, std::string_view *out) {
        return required_string(o, key, out) && is_did(*out);
    }

    // Reads the AT-URI string `v` naming a record of `collection` (any
    // collection when empty).
    bool record_uri(od::value &v, std::string_view collection, RecordRef *out) {
        std::string_view s;
        RecordUri u;
        if (!string_of(v, &s) || !parse_record_uri(s, &u))
            return false;
        if (!collection.empty() && u.collection != collection)
            return false;
        *out = RecordRef{u.did, u.rkey};
        return true;
    }

    // Reads the "uri" of the strong reference (object) `key` of `o`.
    bool strong_ref(od::object &o, std::string_view key, std::string_view collection, RecordRef *out) {
        od::value v;
        od::object ref;
        if (field(o, key, &v) != Got::kValue || v.get_object().get(ref))
            return false;
        od::value uri;
        return field(ref, "uri", &uri) == Got::kValue && record_uri(uri, collection, out);
    }

    // record.createdAt, left empty if missing or not a string; false only on
    // bad JSON.
    bool created_at(od::object &rec) {
        od::value v;
        Got g = field(rec, "createdAt", &v);
        if (g == Got::kBad)
            return false;
        if (g == Got::kValue && !string_of(v, &ev->created_at))
            ev->created_at = {};
        return true;
    }

    // The $type of the object `v`, empty if it has none; false on bad JSON.
    bool type_of(od::value &v, std::string_view *type) {
        *type = {};
        od::object o;
        if (v.get_object().get(o))
            return true;  // not an object: no type
        od::value t;
        Got g = field(o, "$type", &t);
        if (g == Got::kBad)
            return false;
        if (g == Got::kValue && !string_of(t, type))
            *type = {};
        return true;
    }

    bool post_embed(od::object &rec) {
        od::value v;
        Got g = field(rec, "embed", &v);
        if (g == Got::kBad)
            return fail("bad JSON in record.embed");
        if (g == Got::kMissing)
            return true;
        od::object embed;
        if (v.get_object().get(embed))
            return true;  // an embed that is not an object embeds nothing
        od::value t;
        std::string_view type;
        g = field(embed, "$type", &t);
        if (g == Got::kBad)
            return fail("bad JSON in record.embed");
        if (g == Got::kMissing || !string_of(t, &type))
            return true;
        if (type == "app.bsky.embed.record") {
            ev->quote = true;
        } else if (type == "app.bsky.embed.recordWithMedia") {
            ev->quote = true;
            od::value media;
            g = field(embed, "media", &media);
            if (g == Got::kBad)
                return fail("bad JSON in record.embed.media");
            std::string_view media_type;
            if (g == Got::kValue) {
                if (!type_of(media, &media_type))
                    return fail("bad JSON in record.embed.media");
                ev->media = media_of(media_type);
            }
        } else {
            ev->media = media_of(type);
        }
        return true;
    }

    bool post_reply(od::object &rec) {
        od::value v;
        Got g = field(rec, "reply", &v);
        if (g == Got::kBad)
            return fail("bad JSON in record.reply");
        if (g == Got::kMissing)
            return true;
        od::object reply;
        if (v.get_object().get(reply))
            return fail("record.reply is not an object");
        RecordRef parent, root;
        // Keys in Jetstream's order: parent, root.
        if (!strong_ref(reply, "parent", {}, &parent))
            return fail("record.reply.parent.uri missing or not a record AT-URI");
        if (!strong_ref(reply, "root", {}, &root))
            return fail("record.reply.root.uri missing or not a record AT-URI");
        ev->reply_parent = parent.did;
        ev->reply_root = root.did;
        return true;
    }

    bool post(od::object &rec) {
        // Keys in Jetstream's (alphabetical) order: createdAt, embed, reply.
        if (!created_at(rec))
            return fail("bad JSON in record.createdAt");
        return post_embed(rec) && post_reply(rec);
    }

    bool record(od::object &rec) {
        switch (ev->collection) {
            case Collection::kPost:
                return post(rec);
            case Collection::kRepost:
                if (!created_at(rec))
                    return fail("bad JSON in record.createdAt");
                if (!strong_ref(rec, "subject", "app.bsky.feed.post", &ev->target))
                    return fail("record.subject.uri missing or not a post's AT-URI");
                return true;
            case Collection::kFollow:
            case Collection::kBlock:
                if (!created_at(rec))
                    return fail("bad JSON in record.createdAt");
                if (!required_did(rec, "subject", &ev->subject))
                    return fail("record.subject missing or not a DID");
                return true;
            case Collection::kList: {
                if (!created_at(rec))
                    return fail("bad JSON in record.createdAt");
                od::value v;
                Got g = field(rec, "purpose", &v);
                if (g == Got::kBad)
                    return fail("bad JSON in record.purpose");
                std::string_view p;
                if (g == Got::kValue && string_of(v, &p)) {
                    p = p.substr(p.rfind('#') + 1);  // npos + 1 == 0: all of it
                    if (!storable(p))
                        return fail("record.purpose holds a NUL byte");
                    ev->purpose = p;
                }
                return true;
            }
            case Collection::kListItem: {
                if (!created_at(rec))
                    return fail("bad JSON in record.createdAt");
                od::value v;
                if (field(rec, "list", &v) != Got::kValue ||
                    !record_uri(v, "app.bsky.graph.list", &ev->target))
                    return fail("record.list missing or not a list's AT-URI");
                if (!required_did(rec, "subject", &ev->subject))
                    return fail("record.subject missing or not a DID");
                // As Bluesky's AppView: only a list's owner adds to it.
                if (ev->target.did != ev->did)
                    return skip("listitem of another repository's list");
                return true;
            }
            case Collection::kListBlock: {
                if (!created_at(rec))
                    return fail("bad JSON in record.createdAt");
                od::value v;
                if (field(rec, "subject", &v) != Got::kValue ||
                    !record_uri(v, "app.bsky.graph.list", &ev->target))
                    return fail("record.subject missing or not a list's AT-URI");
                return true;
            }
            case Collection::kOther:
                break;
        }
        return true;
    }

    bool commit(od::object &root) {
        od::value v;
        od::object c;
        if (field(root, "commit", &v) != Got::kValue || v.get_object().get(c))
            return fail("commit missing or not an object");
        // Keys in Jetstream's order: rev, operation, collection, rkey,
        // record, cid. The operation is read raw and judged only for a kept
        // collection.
        std::string_view op, coll;
        od::value opv;
        Got op_got = field(c, "operation", &opv);
        if (op_got == Got::kBad)
            return fail("bad JSON in commit.operation");
        if (op_got == Got::kValue && !string_of(opv, &op))
            op = {};
        if (!required_string(c, "collection", &coll))
            return fail("commit.collection missing or not a string");
        ev->collection = collection_of(coll);
        if (ev->collection == Collection::kOther)
            return skip("collection not indexed");
        if (op == "create")
            ev->op = CommitOp::kCreate;
        else if (op == "update")
            ev->op = CommitOp::kUpdate;
        else if (op == "delete")
            ev->op = CommitOp::kDelete;
        else
            return fail("commit.operation missing or unknown");
        if (!required_string(c, "rkey", &ev->rkey) || !is_rkey(ev->rkey))
            return fail("commit.rkey missing or not a record key");
        if (ev->op == CommitOp::kDelete)
            return true;
        od::object rec;
        if (field(c, "record", &v) != Got::kValue || v.get_object().get(rec))
            return fail("commit.record missing or not an object");
        if (!record(rec))
            return false;
        if (ev->collection == Collection::kPost || ev->collection == Collection::kRepost)
            if (!required_string(c, "cid", &ev->cid) || !storable(ev->cid))
                return fail("commit.cid missing, not a string, or holding a NUL byte");
        return true;
    }

    bool account(od::object &root) {
        od::value v;
        od::object a;
        if (field(root, "account", &v) != Got::kValue || v.get_object().get(a))
            return fail("account missing or not an object");
        // Keys in Jetstream's order: active, did, seq, status, time.
        if (field(a, "active", &v) != Got::kValue || v.get_bool().get(ev->active))
            return fail("account.active missing or not a boolean");
        Got g = field(a, "status", &v);
        if (g == Got::kBad)
            return fail("bad JSON in account.status");
        std::string_view s;
        if (!ev->active && g == Got::kValue && string_of(v, &s)) {
            if (!storable(s))
                return fail("account.status holds a NUL byte");
            ev->status = s;
        }
        return true;
    }

    // Reads the event into *ev. Each step returns false to stop reading:
    // fail() and skip() set the verdict and return false.
    bool event(od::document &doc) {
        od::object root;
        if (doc.get_object().get(root))
            return fail("not a JSON object");
        // Keys in Jetstream's order: did, time_us, kind, then the body.
        if (!required_did(root, "did", &ev->did))
            return fail("did missing or not a DID");
        od::value v;
        // Any integer naming a time PostgreSQL can store (DESIGN.md: the
        // event time is 'epoch' + time_us microseconds): 0 and negative
        // ones too.
        if (field(root, "time_us", &v) != Got::kValue || v.get_int64().get(ev->time_us) ||
            ev->time_us < kMinTimeUs)
            return fail("time_us missing, not an integer, or before PostgreSQL's first timestamp");
        std::string_view kind;
        if (!required_string(root, "kind", &kind))
            return fail("kind missing or not a string");
        ev->verdict = Verdict::kApply;
        if (kind == "commit") {
            ev->kind = EventKind::kCommit;
            return commit(root);
        }
        if (kind == "account") {
            ev->kind = EventKind::kAccount;
            return account(root);
        }
        ev->kind = kind == "identity" ? EventKind::kIdentity : EventKind::kOther;
        return skip("event kind not indexed");
    }
};

JetstreamParser::JetstreamParser() : impl_(new Impl) { impl_->reserve(kInitialCapacity); }

JetstreamParser::~JetstreamParser() = default;

void JetstreamParser::parse(const char *data, size_t len, size_t readable, JetstreamEvent *out) {
    Impl &m = *impl_;
    *out = JetstreamEvent{};
    m.ev = out;
    if (len > kMaxLineBytes) {
        m.fail("line too long");
        return;
    }
    if (readable < len + simdjson::SIMDJSON_PADDING) {
        m.scratch.resize(len + simdjson::SIMDJSON_PADDING);
        std::memcpy(m.scratch.data(), data, len);
        std::memset(m.scratch.data() + len, ' ', simdjson::SIMDJSON_PADDING);
        data = m.scratch.data();
        readable = m.scratch.size();
    }
    m.reserve(len);
    od::document doc;
    simdjson::error_code e = m.parser.iterate(data, len, readable).get(doc);
    if (e == simdjson::MEMALLOC)
        throw std::bad_alloc();
    if (e) {
        m.fail("bad JSON");
        return;
    }
    // Every early stop goes through fail() or skip(); the guard keeps a
    // missed one from passing as readable.
    if (!m.event(doc) && out->verdict == Verdict::kApply)
        m.fail("unreadable");
    if (out->verdict != Verdict::kApply)
        return;
    // On-Demand checked only the fields it read: a line cut short after
    // them, a syntax error in a field it skipped, or text after the closing
    // brace would pass. An event to be applied is checked whole (about a
    // microsecond for a line of a few hundred bytes; skipped events, most
    // of a stream, are not).
    simdjson::dom::element root;
    simdjson::error_code ve = m.whole.parse(data, len, false).get(root);
    if (ve == simdjson::MEMALLOC)
        throw std::bad_alloc();
    if (ve)
        m.fail("bad JSON");
}

void JetstreamParser::clear_text() { impl_->text.clear(); }

bool next_line(const char *buf, size_t len, size_t *pos, std::string_view *line) {
    size_t i = *pos;
    while (i < len) {
        const void *nl = std::memchr(buf + i, '\n', len - i);
        size_t end = nl ? size_t(static_cast<const char *>(nl) - buf) : len;
        size_t stop = end;
        if (stop > i && buf[stop - 1] == '\r')
            stop--;
        size_t start = i;
        i = end < len ? end + 1 : len;
        for (size_t j = start; j < stop; j++)
            if (buf[j] != ' ' && buf[j] != '\t' && buf[j] != '\r') {
                *pos = i;
                *line = std::string_view(buf + start, stop - start);
                return true;
            }
    }
    *pos = len;
    return false;
}

}  // namespace ing
