// jetgen: a seeded generator of a Bluesky-shaped Jetstream v1 stream, one
// JSON event per line, for the ingest's tests and benchmarks.
//
//   jetgen [--events N] [--accounts N] [--seed S] [--start T] [--rate R]
//          [--output FILE] [--level L]
//
//   --events    lines to write, replayed duplicates included (5,000,000)
//   --accounts  accounts that act and are acted on (1,000,000)
//   --seed      everything else follows from it (1)
//   --start     stream time of the first event: unix seconds or
//               YYYY-MM-DDTHH:MM:SSZ (2024-09-05T00:00:00Z)
//   --rate      events per second of stream time (1,500; Jetstream's full
//               stream carries a few hundred to a few thousand)
//   --output    a file (default or "-": stdout); a name ending in .zst is
//               compressed with zstd when jetgen was built with libzstd
//   --level     the zstd level (1: fast; the text compresses to about a quarter)
//   --replays   replayed windows per million lines (2): each repeats the
//               last 100..8,192 lines verbatim
//   --actors    write no events but the accounts, as COPY text for
//               dataplane.actor: uid (account number + 1) and DID, so that
//               base data loaded under these uids is what the stream acts on
//
// A summary of what was written (lines per kind) goes to stderr.
//
// The shape: about 70 % of the events are likes (the ingest skips them);
// then posts (30 % replies, quotes, images, video and external links),
// reposts, follows (popularity is Zipf-like, as in dpgen), blocks, lists,
// list items and list blocks, deletes of every kind (a delete names only
// the rkey, as Jetstream's do; many name records older than the stream),
// rare post updates, profile updates, identity events and a few account
// events. A small share of lines is malformed (bad JSON, bad DIDs, a bad
// AT-URI, a missing field), and a few windows of recent lines are written
// again verbatim, as a consumer sees them after reconnecting with a cursor
// rewound a few seconds. Some reposts name posts never seen (older than the
// stream) or posts whose create comes a little later; some list blocks
// and list items name lists never seen.
//
// Identifiers look real: DIDs are did:plc: and 24 base32 characters, rkeys
// and revs are TIDs (13 base32-sortable characters, increasing with time),
// CIDs are CIDv1 dag-cbor sha-256 in base32 (bafyrei...), blobs bafkrei...
// time_us increases by at least 1 from one event to the next, except where
// a replayed window starts. createdAt is RFC 3339 with milliseconds, mostly
// a little before time_us; a few are in the future, a few far in the past,
// a few use another readable form (an offset, microseconds, no fraction)
// and a very few are unreadable or missing.
//
// The same arguments give the same bytes on every run (own PRNG and
// distributions, no clock).
#include <getopt.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#ifdef JETGEN_ZSTD
#include <zstd.h>
#endif

namespace {

// splitmix64: small, fast, good enough for workload generation.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    // Uniform in [0, n), by multiply-shift (n < 2^32).
    uint32_t below(uint64_t n) { return uint32_t(((next() >> 32) * n) >> 32); }
    bool chance(double p) { return uniform() < p; }
    double normal() {  // Box-Muller
        double u1 = uniform(), u2 = uniform();
        if (u1 < 1e-300)
            u1 = 1e-300;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
    }
    double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
};

// splitmix64's finalizer: a bijection of 64-bit words.
uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Walker's alias method: draws index i with probability w[i] / sum(w) in
// constant time (a Zipf draw over a million ranks by binary search would
// cost most of the generator's time).
class Alias {
  public:
    explicit Alias(const std::vector<double> &w) : slot_(w.size()) {
        const size_t n = w.size();
        double sum = 0;
        for (double x : w)
            sum += x;
        std::vector<double> p(n);
        std::vector<uint32_t> small, large;
        for (size_t i = 0; i < n; i++) {
            p[i] = w[i] * double(n) / sum;
            (p[i] < 1.0 ? small : large).push_back(uint32_t(i));
        }
        while (!small.empty() && !large.empty()) {
            uint32_t s = small.back(), l = large.back();
            small.pop_back();
            slot_[s] = {float(p[s]), l};
            p[l] -= 1.0 - p[s];
            if (p[l] < 1.0) {
                large.pop_back();
                small.push_back(l);
            }
        }
        for (uint32_t i : small)
            slot_[i] = {1.0f, i};
        for (uint32_t i : large)
            slot_[i] = {1.0f, i};
    }
    uint32_t draw(Rng &rng) const {
        uint64_t r = rng.next();
        uint32_t i = uint32_t(((r >> 32) * slot_.size()) >> 32);
        float u = float(r & 0xffffff) * (1.0f / 16777216.0f);
        return u < slot_[i].prob ? i : slot_[i].alias;
    }

  private:
    struct Slot {
        float prob;
        uint32_t alias;
    };
    std::vector<Slot> slot_;
};

// Weights 1 / (r + q)^s of ranks 0..n-1.
std::vector<double> zipf_weights(uint32_t n, double s, double q) {
    std::vector<double> w(n);
    for (uint32_t r = 0; r < n; r++)
        w[r] = 1.0 / std::pow(r + q, s);
    return w;
}

// A seeded permutation of 0..n-1: the account of each rank.
std::vector<uint32_t> permutation(uint32_t n, uint64_t seed) {
    std::vector<uint32_t> v(n);
    for (uint32_t i = 0; i < n; i++)
        v[i] = i;
    Rng rng(seed);
    for (uint32_t i = n; i > 1; i--)
        std::swap(v[i - 1], v[rng.below(i)]);
    return v;
}

// Zipf weights of accounts 0..n-1 whose ranks are a seeded permutation
// of them: an alias table over these draws an account with one lookup.
std::vector<double> zipf_over_accounts(uint32_t n, double s, double q, uint64_t seed) {
    std::vector<double> by_rank = zipf_weights(n, s, q), w(n);
    std::vector<uint32_t> account = permutation(n, seed);
    for (uint32_t r = 0; r < n; r++)
        w[account[r]] = by_rank[r];
    return w;
}

constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";      // RFC 4648, lowercase
constexpr char kSortable[] = "234567abcdefghijklmnopqrstuvwxyz";    // atproto's TID alphabet

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = unsigned(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = int(yoe + era * 400 + (*m <= 2));
}

// How a createdAt is written.
enum class TimeForm { kMillis, kMicros, kSeconds, kOffset, kUnreadable };

// One line under construction, in a fixed buffer (records stay far below
// its size: texts are short and lists of images at most four long).
class Line {
  public:
    void clear() { n_ = 0; }
    size_t size() const { return n_; }
    const char *data() const { return buf_; }
    void truncate(size_t n) { n_ = n; }
    std::string_view view() const { return {buf_, n_}; }

    template <size_t N>
    void lit(const char (&s)[N]) {
        std::memcpy(buf_ + n_, s, N - 1);
        n_ += N - 1;
    }
    void str(std::string_view s) {
        std::memcpy(buf_ + n_, s.data(), s.size());
        n_ += s.size();
    }
    void ch(char c) { buf_[n_++] = c; }
    void u64(uint64_t x) {
        char tmp[20];
        int k = 0;
        do {
            tmp[k++] = char('0' + x % 10);
            x /= 10;
        } while (x);
        while (k)
            buf_[n_++] = tmp[--k];
    }
    // Writes `digits` decimal digits of x, zero-padded.
    void fixed(unsigned x, int digits) {
        for (int i = digits - 1; i >= 0; i--) {
            buf_[n_ + size_t(i)] = char('0' + x % 10);
            x /= 10;
        }
        n_ += size_t(digits);
    }
    // The 24 characters of the did:plc of account a: the first 13 are a
    // bijection of the account number (so DIDs are distinct), the rest
    // noise. Computed, not stored: a table would cost a cache miss.
    void plc(uint32_t a, uint64_t salt) {
        uint64_t h = mix(a ^ salt), g = mix(h + a);
        for (int i = 0; i < 13; i++, h >>= 5)
            buf_[n_++] = kBase32[h & 31];
        for (int i = 13; i < 24; i++, g >>= 5)
            buf_[n_++] = kBase32[g & 31];
    }
    // A TID: 13 characters of the sortable alphabet, 53 bits of
    // microseconds since the epoch then 10 bits of clock id.
    void tid(uint64_t v) {
        for (int i = 12; i >= 0; i--) {
            buf_[n_ + size_t(i)] = kSortable[v & 31];
            v >>= 5;
        }
        n_ += 13;
    }
    // A CIDv1 sha-256 in base32: the prefix, then 52 characters, the first
    // carrying 3 bits of the digest and the last 3 bits and 2 of padding.
    void cid(const char (&prefix)[8], uint64_t h) {
        lit(prefix);
        uint64_t a = mix(h);
        buf_[n_++] = kBase32[a & 7];
        a >>= 3;
        for (int i = 0; i < 50; i++) {
            if (i % 12 == 0)
                a = mix(h + uint64_t(i));
            buf_[n_++] = kBase32[a & 31];
            a >>= 5;
        }
        buf_[n_++] = kBase32[(a & 7) * 4];
    }
    // RFC 3339 date-time of `us` microseconds since the epoch.
    void time(int64_t us, TimeForm form) {
        int64_t offset_min = 0;
        if (form == TimeForm::kOffset) {
            offset_min = (us % 3 == 0) ? 540 : (us % 3 == 1 ? -300 : 60);
            us += offset_min * 60000000;
        }
        int64_t secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
        unsigned frac = unsigned(us - secs * 1000000);
        int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
        unsigned sod = unsigned(secs - days * 86400);
        int y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        fixed(unsigned(y), 4);
        ch('-');
        fixed(m, 2);
        ch('-');
        fixed(d, 2);
        ch(form == TimeForm::kUnreadable ? ' ' : 'T');
        fixed(sod / 3600, 2);
        ch(':');
        fixed(sod / 60 % 60, 2);
        ch(':');
        fixed(sod % 60, 2);
        switch (form) {
        case TimeForm::kMillis:
            ch('.');
            fixed(frac / 1000, 3);
            ch('Z');
            break;
        case TimeForm::kMicros:
            ch('.');
            fixed(frac, 6);
            ch('Z');
            break;
        case TimeForm::kSeconds:
            ch('Z');
            break;
        case TimeForm::kOffset:
            ch('.');
            fixed(frac / 1000, 3);
            ch(offset_min < 0 ? '-' : '+');
            fixed(unsigned(std::abs(offset_min) / 60), 2);
            ch(':');
            fixed(unsigned(std::abs(offset_min) % 60), 2);
            break;
        case TimeForm::kUnreadable:
            break;
        }
    }

  private:
    char buf_[1 << 16];
    size_t n_ = 0;
};

// Where the lines go: a file or stdout, through zstd if asked.
class Sink {
  public:
    bool open(const std::string &path, int level) {
        bool to_stdout = path.empty() || path == "-";
        f_ = to_stdout ? stdout : fopen(path.c_str(), "wb");
        if (f_ == nullptr) {
            fprintf(stderr, "jetgen: cannot open %s: %s\n", path.c_str(), strerror(errno));
            return false;
        }
        bool zst = path.size() > 4 && path.compare(path.size() - 4, 4, ".zst") == 0;
        if (!zst)
            return true;
#ifdef JETGEN_ZSTD
        z_ = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(z_, ZSTD_c_compressionLevel, level);
        // A second thread compresses while this one generates (2 cores);
        // a libzstd built without threads ignores the request.
        ZSTD_CCtx_setParameter(z_, ZSTD_c_nbWorkers, 1);
        zbuf_.resize(ZSTD_CStreamOutSize());
        return true;
#else
        (void) level;
        fprintf(stderr, "jetgen: built without libzstd; write to stdout and pipe through zstd\n");
        return false;
#endif
    }
    uint64_t bytes() const { return bytes_; }
    void write(const char *p, size_t n) {
        bytes_ += n;
        buf_.append(p, n);
        if (buf_.size() >= (1u << 20))
            flush(false);
    }
    // Writes what is buffered; at the end, closes the zstd frame and the file.
    bool flush(bool end) {
#ifdef JETGEN_ZSTD
        if (z_ != nullptr) {
            ZSTD_inBuffer in{buf_.data(), buf_.size(), 0};
            ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
            for (;;) {
                ZSTD_outBuffer out{zbuf_.data(), zbuf_.size(), 0};
                size_t left = ZSTD_compressStream2(z_, &out, &in, mode);
                if (ZSTD_isError(left)) {
                    fprintf(stderr, "jetgen: zstd: %s\n", ZSTD_getErrorName(left));
                    ok_ = false;
                    break;
                }
                if (fwrite(zbuf_.data(), 1, out.pos, f_) != out.pos)
                    ok_ = false;
                if (end ? left == 0 : in.pos == in.size)
                    break;
            }
        } else
#endif
            if (fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
            ok_ = false;
        buf_.clear();
        if (end) {
#ifdef JETGEN_ZSTD
            ZSTD_freeCCtx(z_);
            z_ = nullptr;
#endif
            if (fflush(f_) != 0 || (f_ != stdout && fclose(f_) != 0))
                ok_ = false;
            if (!ok_)
                fprintf(stderr, "jetgen: write failed: %s\n", strerror(errno));
        }
        return ok_;
    }

  private:
    FILE *f_ = nullptr;
    std::string buf_;
    uint64_t bytes_ = 0;  // before compression
    bool ok_ = true;
#ifdef JETGEN_ZSTD
    ZSTD_CCtx *z_ = nullptr;
    std::vector<char> zbuf_;
#endif
};

// What one line is; the summary counts lines by it.
enum Kind : int {
    kLikeCreate,
    kLikeDelete,
    kPostCreate,
    kPostReply,
    kPostUpdate,
    kPostDelete,
    kRepostCreate,
    kRepostUnseen,  // a repost of a post not seen before it
    kRepostDelete,
    kFollowCreate,
    kFollowDuplicate,  // a second record of an edge that has one
    kFollowDelete,
    kBlockCreate,
    kBlockDelete,
    kListCreate,
    kListUpdate,
    kListDelete,
    kListItemCreate,
    kListItemDelete,
    kListBlockCreate,
    kListBlockDelete,
    kProfileUpdate,
    kOtherCollection,  // threadgates, postgates
    kIdentity,
    kAccountInactive,
    kAccountActive,
    kMalformed,
    kReplayed,
    kKinds
};

const char *const kKindName[kKinds] = {
    "like create",          "like delete",           "post create (not a reply)",
    "post create (reply)",  "post update",           "post delete",
    "repost create",        "repost of unseen post", "repost delete",
    "follow create",        "follow create (dup)",   "follow delete",
    "block create",         "block delete",          "list create",
    "list update",          "list delete",           "listitem create",
    "listitem delete",      "listblock create",      "listblock delete",
    "profile update",       "other collection",      "identity",
    "account inactive",     "account active",        "malformed",
    "replayed duplicate",
};

// Shares of the events drawn (posts split into replies and not later; a
// kind whose records do not exist yet falls back to a create).
std::vector<double> kind_weights() {
    std::vector<double> w(kKinds, 0.0);
    w[kLikeCreate] = 68.0;
    w[kLikeDelete] = 2.0;
    w[kPostCreate] = 8.5;
    w[kPostUpdate] = 0.03;
    w[kPostDelete] = 0.5;
    w[kRepostCreate] = 6.0;
    w[kRepostDelete] = 0.4;
    w[kFollowCreate] = 7.0;
    w[kFollowDelete] = 1.2;
    w[kBlockCreate] = 0.8;
    w[kBlockDelete] = 0.15;
    w[kListCreate] = 0.03;
    w[kListUpdate] = 0.01;
    w[kListDelete] = 0.005;
    w[kListItemCreate] = 1.0;
    w[kListItemDelete] = 0.2;
    w[kListBlockCreate] = 0.05;
    w[kListBlockDelete] = 0.01;
    w[kProfileUpdate] = 0.5;
    w[kOtherCollection] = 0.3;
    w[kIdentity] = 0.5;
    w[kAccountInactive] = 0.04;
    w[kMalformed] = 0.05;
    return w;
}

struct Options {
    uint64_t events = 5000000;
    uint32_t accounts = 1000000;
    uint64_t seed = 1;
    int64_t start_s = 1725494400;  // 2024-09-05T00:00:00Z
    double rate = 1500;
    std::string output;
    int level = 1;
    double replays_per_million = 2;
    bool actors = false;
};

// A record some event created: enough to name it again (its repository
// and rkey) and what it points at.
struct Record {
    uint64_t tid;
    uint32_t owner;
    uint32_t other;  // post: its thread's root (a post index); follow, block:
                     // the subject; repost: the post; listitem, listblock:
                     // the list; list: its purpose
    bool dead;
};

// A post an event can point at: one of the stream's, or one older than it.
struct PostRef {
    uint32_t author;
    uint64_t tid;
    uint64_t cid;  // seed of its CID
};

class Generator {
  public:
    explicit Generator(const Options &o)
        : opt_(o),
          rng_(o.seed),
          kinds_(kind_weights()),
          activity_(zipf_over_accounts(o.accounts, 0.9, 5.0, o.seed + 1)),
          popularity_(zipf_over_accounts(o.accounts, 1.0, popularity_offset(o.accounts), o.seed + 2)),
          did_salt_(mix(o.seed)),
          status_(o.accounts, 0),
          inactive_((o.accounts + 63) / 64, 0),
          last_post_(o.accounts, -1),
          ring_(kRing) {
        now_us_ = o.start_s * 1000000;
        seq_ = 1409752997 + rng_.below(1000000);
        gap_us_ = 1e6 / o.rate;
    }

    bool run(Sink &sink);
    void summary(double secs, uint64_t bytes) const;

  private:
    static constexpr size_t kRing = 8192;  // lines kept for replay windows

    // Zipf offset so that the top account draws about 5 % of follows, as in dpgen.
    static double popularity_offset(uint32_t n) {
        double q = 100;
        for (int i = 0; i < 20; i++)
            q = 58.0 / (0.05 * std::log(n / q));
        return std::max(1.0, q);
    }

    void event(Kind k);
    Kind emit(Kind k);
    void malformed();

    // Pieces of lines.
    void did(uint32_t a) { l_.plc(a, did_salt_); }
    void set_status(uint32_t a, uint8_t st) {
        status_[a] = st;
        uint64_t bit = uint64_t(1) << (a & 63);
        inactive_[a >> 6] = st ? (inactive_[a >> 6] | bit) : (inactive_[a >> 6] & ~bit);
    }
    void head(uint32_t a, const char *kind);
    void commit(uint32_t a, const char *op, std::string_view coll, uint64_t rkey);
    void commit_self(uint32_t a, const char *op, std::string_view coll);
    void record_start(std::string_view type);
    void record_end();
    void delete_end() { l_.lit("}}"); }
    void created_at();
    void uri(uint32_t a, std::string_view coll, uint64_t tid);
    void strong_ref(const PostRef &p);
    void text(int words);
    void media_embed(int which);

    // Choices.
    uint32_t actor();
    uint64_t tid_now() { return tid_at(now_us_ - int64_t(rng_.below(200000))); }
    uint64_t tid_at(int64_t us) { return uint64_t(us) << 10 | (tid_clock_++ & 1023); }
    uint64_t tid_before_stream() {
        int64_t age = int64_t(86400e6 * (1 + 700 * rng_.uniform() * rng_.uniform()));
        return tid_at(opt_.start_s * 1000000 - age);
    }
    PostRef post_ref(size_t i) const {
        return {posts_[i].owner, posts_[i].tid, posts_[i].tid ^ uint64_t(posts_[i].owner) << 20};
    }
    PostRef unseen_post() {
        uint32_t a = popularity_.draw(rng_);
        uint64_t t = tid_before_stream();
        return {a, t, t ^ uint64_t(a) << 20};
    }
    long pick_post();
    long pick_live(std::vector<Record> &v, size_t recent);

    const Options &opt_;
    Rng rng_;
    Alias kinds_;
    Alias activity_;    // who acts
    Alias popularity_;  // who is followed, replied to, reposted
    uint64_t did_salt_;
    std::vector<uint8_t> status_;     // 0 active, else an index into kStatus
    std::vector<uint64_t> inactive_;  // a bit per account: status_ != 0
    std::vector<int32_t> last_post_;
    std::vector<Record> posts_, reposts_, follows_, blocks_, lists_, items_, list_blocks_;
    struct Like {
        uint64_t tid;
        uint32_t owner;
    };
    std::vector<Like> likes_ = std::vector<Like>(1 << 16);
    uint64_t like_count_ = 0;
    std::deque<std::pair<uint64_t, uint32_t>> deferred_;  // (due line, post index)

    Line l_;
    std::vector<std::string> ring_;
    uint64_t lines_ = 0;  // lines written
    uint64_t originals_ = 0;
    int64_t now_us_;
    double gap_us_;
    uint64_t seq_;
    uint64_t tid_clock_ = 0;
    uint64_t count_[kKinds] = {};
    uint64_t malformed_[6] = {};
    uint64_t replay_windows_ = 0;
    int64_t first_us_ = 0, last_us_ = 0;
};

const char *const kStatus[] = {nullptr, "deactivated", "takendown", "suspended", "deleted"};
const char *const kMalformedName[6] = {"truncated JSON", "not JSON", "bad event DID",
                                       "bad subject DID", "bad AT-URI", "time_us missing"};

// An account that acts: by activity, and active (inactive accounts commit nothing).
uint32_t Generator::actor() {
    for (;;) {
        uint32_t a = activity_.draw(rng_);
        if (!(inactive_[a >> 6] >> (a & 63) & 1))
            return a;
    }
}

// An earlier post to reply to, quote, repost or like: the latest post of a
// popular author, else a recent one; -1 if there is none yet.
long Generator::pick_post() {
    if (posts_.empty())
        return -1;
    if (rng_.chance(0.6)) {
        int32_t p = last_post_[popularity_.draw(rng_)];
        if (p >= 0)
            return p;
    }
    size_t n = posts_.size();
    return long(n - 1 - size_t(double(std::min<size_t>(n, 50000)) * std::pow(rng_.uniform(), 2.0)));
}

// A live record among the `recent` newest of v (all of them if 0); -1 if a
// few draws find none.
long Generator::pick_live(std::vector<Record> &v, size_t recent) {
    if (v.empty())
        return -1;
    size_t span = recent == 0 ? v.size() : std::min(v.size(), recent);
    for (int tries = 0; tries < 8; tries++) {
        size_t i = v.size() - 1 - rng_.below(span);
        if (!v[i].dead)
            return long(i);
    }
    return -1;
}

void Generator::head(uint32_t a, const char *kind) {
    l_.lit("{\"did\":\"did:plc:");
    did(a);
    l_.lit("\",\"time_us\":");
    l_.u64(uint64_t(now_us_));
    l_.lit(",\"kind\":\"");
    l_.str(kind);
    l_.ch('"');
}

// The envelope and the commit up to its rkey.
void Generator::commit(uint32_t a, const char *op, std::string_view coll, uint64_t rkey) {
    head(a, "commit");
    l_.lit(",\"commit\":{\"rev\":\"");
    l_.tid(tid_at(now_us_ - 1000));
    l_.lit("\",\"operation\":\"");
    l_.str(op);
    l_.lit("\",\"collection\":\"");
    l_.str(coll);
    l_.lit("\",\"rkey\":\"");
    l_.tid(rkey);
    l_.ch('"');
}

// The same for a record whose rkey is "self" (profiles).
void Generator::commit_self(uint32_t a, const char *op, std::string_view coll) {
    head(a, "commit");
    l_.lit(",\"commit\":{\"rev\":\"");
    l_.tid(tid_at(now_us_ - 1000));
    l_.lit("\",\"operation\":\"");
    l_.str(op);
    l_.lit("\",\"collection\":\"");
    l_.str(coll);
    l_.lit("\",\"rkey\":\"self\"");
}

// Opens the record (keys in order, as Jetstream writes them) up to createdAt.
void Generator::record_start(std::string_view type) {
    l_.lit(",\"record\":{\"$type\":\"");
    l_.str(type);
    l_.ch('"');
    created_at();
}

void Generator::record_end() {
    l_.lit("},\"cid\":\"");
    l_.cid("bafyrei", rng_.next());
    l_.lit("\"}}");
}

// ,"createdAt":"..." : mostly a little before the event, sometimes ahead of
// it (a client's clock), sometimes long before (imported), rarely another
// readable form, very rarely unreadable or absent.
void Generator::created_at() {
    double u = rng_.uniform();
    if (u < 0.0003)
        return;  // no createdAt
    int64_t t;
    if (u < 0.85)
        t = now_us_ - int64_t(std::min(60e6, std::exp(12.6 + rng_.normal())));  // ~0.3 s
    else if (u < 0.96)
        t = now_us_ - int64_t(rng_.exponential(120e6));
    else if (u < 0.985)
        t = now_us_ + int64_t(rng_.exponential(rng_.chance(0.5) ? 5e6 : 3600e6));
    else
        t = now_us_ - int64_t(86400e6 * (1 + 1000 * rng_.uniform() * rng_.uniform()));
    double f = rng_.uniform();
    TimeForm form = f < 0.95    ? TimeForm::kMillis
                    : f < 0.97  ? TimeForm::kMicros
                    : f < 0.98  ? TimeForm::kSeconds
                    : f < 0.999 ? TimeForm::kOffset
                                : TimeForm::kUnreadable;
    l_.lit(",\"createdAt\":\"");
    l_.time(t, form);
    l_.ch('"');
}

void Generator::uri(uint32_t a, std::string_view coll, uint64_t tid) {
    l_.lit("at://did:plc:");
    did(a);
    l_.ch('/');
    l_.str(coll);
    l_.ch('/');
    l_.tid(tid);
}

// {"cid":"...","uri":"at://.../app.bsky.feed.post/..."}
void Generator::strong_ref(const PostRef &p) {
    l_.lit("{\"cid\":\"");
    l_.cid("bafyrei", p.cid);
    l_.lit("\",\"uri\":\"");
    uri(p.author, "app.bsky.feed.post", p.tid);
    l_.lit("\"}");
}

// A post's text: words, now and then an emoji, an escaped quote or line
// break, or an ampersand escaped as Go's encoder writes it.
void Generator::text(int words) {
    static const char *const kWords[] = {
        "the",   "a",      "is",      "this",    "bluesky", "today", "just",   "love",
        "new",   "post",   "thread",  "really",  "think",   "good",  "people", "time",
        "going", "feed",   "art",     "photo",   "music",   "news",  "week",   "why",
        "déjà",  "vu",     "日本語",  "über",    "coffee",  "cat",   "dog",    "😂",
        "🦋",    "ok",     "lol",     "maybe",   "never",   "ever",  "what",   "here",
        "link",  "below",  "reply",   "quote",   "morning", "night", "city",   "rain",
        "sun",   "vote",   "game",    "book",    "read",    "write", "code",   "rust",
        "go",    "python", "science", "open",    "source",  "web",   "app",    "video",
    };
    for (int i = 0; i < words; i++) {
        if (i)
            l_.ch(' ');
        uint32_t r = rng_.below(64 * 40);
        if (r < 64 * 38)
            l_.str(kWords[r & 63]);
        else if (r < 64 * 38 + 40)
            l_.lit("\\\"quoted\\\"");
        else if (r < 64 * 38 + 80)
            l_.lit("\\n\\n");
        else
            l_.lit("\\u0026");
    }
}

// An embed's media: 0 images, 1 video, 2 external.
void Generator::media_embed(int which) {
    if (which == 0) {
        l_.lit("{\"$type\":\"app.bsky.embed.images\",\"images\":[");
        int n = 1 + int(rng_.below(4)) * int(rng_.below(2));
        for (int i = 0; i < n; i++) {
            if (i)
                l_.ch(',');
            l_.lit("{\"alt\":\"\",\"aspectRatio\":{\"height\":");
            l_.u64(600 + rng_.below(1400));
            l_.lit(",\"width\":");
            l_.u64(600 + rng_.below(1400));
            l_.lit("},\"image\":{\"$type\":\"blob\",\"ref\":{\"$link\":\"");
            l_.cid("bafkrei", rng_.next());
            l_.lit("\"},\"mimeType\":\"image/jpeg\",\"size\":");
            l_.u64(50000 + rng_.below(900000));
            l_.lit("}}");
        }
        l_.lit("]}");
    } else if (which == 1) {
        l_.lit("{\"$type\":\"app.bsky.embed.video\",\"aspectRatio\":{\"height\":1920,\"width\":1080},"
               "\"video\":{\"$type\":\"blob\",\"ref\":{\"$link\":\"");
        l_.cid("bafkrei", rng_.next());
        l_.lit("\"},\"mimeType\":\"video/mp4\",\"size\":");
        l_.u64(1000000 + rng_.below(40000000));
        l_.lit("}}");
    } else {
        l_.lit("{\"$type\":\"app.bsky.embed.external\",\"external\":{\"description\":\"");
        text(6);
        l_.lit("\",\"title\":\"");
        text(4);
        l_.lit("\",\"uri\":\"https://example.com/");
        l_.u64(rng_.next() >> 40);
        l_.lit("\"}}");
    }
}

// Writes the line of one event of kind k, or of the kind it falls back to
// when k has nothing to act on; returns the kind written.
Kind Generator::emit(Kind k) {
    switch (k) {
    case kLikeCreate: {
        uint32_t a = actor();
        long p = pick_post();
        PostRef ref = (p < 0 || rng_.chance(0.15)) ? unseen_post() : post_ref(size_t(p));
        uint64_t rkey = tid_now();
        likes_[like_count_++ & (likes_.size() - 1)] = {rkey, a};
        commit(a, "create", "app.bsky.feed.like", rkey);
        record_start("app.bsky.feed.like");
        l_.lit(",\"subject\":");
        strong_ref(ref);
        record_end();
        return k;
    }
    case kLikeDelete: {
        if (like_count_ == 0 || rng_.chance(0.4)) {  // a like older than the stream
            commit(actor(), "delete", "app.bsky.feed.like", tid_before_stream());
        } else {
            uint64_t n = std::min<uint64_t>(like_count_, likes_.size());
            const Like &lk = likes_[(like_count_ - 1 - rng_.below(n)) & (likes_.size() - 1)];
            commit(lk.owner, "delete", "app.bsky.feed.like", lk.tid);
        }
        delete_end();
        return k;
    }
    case kPostCreate:
    case kPostReply:
    case kPostUpdate: {
        uint32_t a;
        uint64_t rkey;
        size_t self;
        Kind kind = k;
        if (k == kPostUpdate) {
            long p = pick_live(posts_, 20000);
            if (p < 0)
                return emit(kPostCreate);
            a = posts_[size_t(p)].owner;
            rkey = posts_[size_t(p)].tid;
            self = size_t(p);
        } else {
            a = actor();
            rkey = tid_now();
            self = posts_.size();
            posts_.push_back({rkey, a, uint32_t(self), false});
        }
        // 30 % are replies: 20 % of them continue the author's own thread,
        // 10 % answer a post older than the stream, the rest an earlier post.
        bool reply = k == kPostReply || rng_.chance(0.3);
        if (reply && k == kPostCreate)
            kind = kPostReply;
        PostRef parent{}, root{};
        if (reply) {
            long p = (rng_.chance(0.2) && last_post_[a] >= 0) ? last_post_[a] : pick_post();
            if (p < 0 || rng_.chance(0.1)) {
                parent = unseen_post();
                root = rng_.chance(0.5) ? parent : unseen_post();
            } else {
                parent = post_ref(size_t(p));
                root = post_ref(posts_[size_t(p)].other);
                if (k != kPostUpdate)
                    posts_[self].other = posts_[size_t(p)].other;
            }
        }
        if (k != kPostUpdate)
            last_post_[a] = int32_t(self);
        commit(a, k == kPostUpdate ? "update" : "create", "app.bsky.feed.post", rkey);
        record_start("app.bsky.feed.post");
        // Embeds: quotes (record, recordWithMedia), images, video, links.
        double e = rng_.uniform();
        long q = pick_post();
        if (e < 0.05 && q >= 0) {
            PostRef quoted = post_ref(size_t(q));
            if (e < 0.04) {
                l_.lit(",\"embed\":{\"$type\":\"app.bsky.embed.record\",\"record\":");
                strong_ref(quoted);
                l_.ch('}');
            } else {
                l_.lit(",\"embed\":{\"$type\":\"app.bsky.embed.recordWithMedia\",\"media\":");
                media_embed(e < 0.047 ? 0 : (e < 0.048 ? 1 : 2));
                l_.lit(",\"record\":{\"$type\":\"app.bsky.embed.record\",\"record\":");
                strong_ref(quoted);
                l_.lit("}}");
            }
        } else if (e >= 0.05 && e < 0.36) {
            l_.lit(",\"embed\":");
            media_embed(e < 0.25 ? 0 : (e < 0.28 ? 1 : 2));
        }
        if (rng_.chance(0.05)) {
            l_.lit(",\"facets\":[{\"features\":[{\"$type\":\"app.bsky.richtext.facet#mention\","
                   "\"did\":\"did:plc:");
            did(popularity_.draw(rng_));
            l_.lit("\"}],\"index\":{\"byteEnd\":20,\"byteStart\":0}}]");
        }
        static const char *const kLangs[] = {"en", "en", "en", "en", "ja", "pt", "de", "es"};
        l_.lit(",\"langs\":[\"");
        l_.str(kLangs[rng_.below(8)]);
        l_.lit("\"]");
        if (reply) {
            l_.lit(",\"reply\":{\"parent\":");
            strong_ref(parent);
            l_.lit(",\"root\":");
            strong_ref(root);
            l_.ch('}');
        }
        l_.lit(",\"text\":\"");
        text(3 + int(rng_.below(25)));
        l_.ch('"');
        record_end();
        return kind;
    }
    case kPostDelete: {
        long p = pick_live(posts_, 20000);
        if (p < 0 || rng_.chance(0.3)) {  // a post older than the stream
            commit(actor(), "delete", "app.bsky.feed.post", tid_before_stream());
        } else {
            posts_[size_t(p)].dead = true;
            commit(posts_[size_t(p)].owner, "delete", "app.bsky.feed.post", posts_[size_t(p)].tid);
        }
        delete_end();
        return k;
    }
    case kRepostCreate:
    case kRepostUnseen: {
        uint32_t a = actor();
        long p = pick_post();
        PostRef ref;
        Kind kind = kRepostCreate;
        if (p < 0 || rng_.chance(0.03)) {
            kind = kRepostUnseen;
            if (rng_.chance(0.5)) {
                ref = unseen_post();
            } else {
                // A post whose create comes a few hundred events later.
                uint32_t author = actor();
                uint64_t t = tid_now();
                size_t i = posts_.size();
                posts_.push_back({t, author, uint32_t(i), false});
                deferred_.emplace_back(lines_ + 50 + rng_.below(2000), uint32_t(i));
                ref = post_ref(i);
            }
        } else {
            ref = post_ref(size_t(p));
        }
        uint64_t rkey = tid_now();
        reposts_.push_back({rkey, a, 0, false});
        commit(a, "create", "app.bsky.feed.repost", rkey);
        record_start("app.bsky.feed.repost");
        l_.lit(",\"subject\":");
        strong_ref(ref);
        record_end();
        return kind;
    }
    case kFollowCreate:
    case kBlockCreate:
    case kFollowDuplicate: {
        bool block = k == kBlockCreate;
        std::vector<Record> &v = block ? blocks_ : follows_;
        uint32_t a, subject;
        Kind kind = k;
        long dup = (!block && rng_.chance(0.005)) ? pick_live(v, 0) : -1;
        if (dup >= 0) {
            a = v[size_t(dup)].owner;
            subject = v[size_t(dup)].other;
            kind = kFollowDuplicate;
        } else {
            a = actor();
            // Self-follows exist, rarely.
            subject = rng_.chance(0.0005) ? a : popularity_.draw(rng_);
            if (kind == kFollowDuplicate)
                kind = kFollowCreate;
        }
        uint64_t rkey = tid_now();
        v.push_back({rkey, a, subject, false});
        const char *coll = block ? "app.bsky.graph.block" : "app.bsky.graph.follow";
        commit(a, "create", coll, rkey);
        record_start(coll);
        l_.lit(",\"subject\":\"did:plc:");
        did(subject);
        l_.ch('"');
        record_end();
        return kind;
    }
    case kRepostDelete:
    case kFollowDelete:
    case kBlockDelete:
    case kListItemDelete:
    case kListBlockDelete: {
        std::vector<Record> &v = k == kRepostDelete     ? reposts_
                                 : k == kFollowDelete   ? follows_
                                 : k == kBlockDelete    ? blocks_
                                 : k == kListItemDelete ? items_
                                                        : list_blocks_;
        const char *coll = k == kRepostDelete     ? "app.bsky.feed.repost"
                           : k == kFollowDelete   ? "app.bsky.graph.follow"
                           : k == kBlockDelete    ? "app.bsky.graph.block"
                           : k == kListItemDelete ? "app.bsky.graph.listitem"
                                                  : "app.bsky.graph.listblock";
        long i = pick_live(v, k == kRepostDelete ? 50000 : 0);
        if (i < 0 || rng_.chance(0.3)) {  // a record older than the stream
            commit(actor(), "delete", coll, tid_before_stream());
        } else {
            v[size_t(i)].dead = true;
            commit(v[size_t(i)].owner, "delete", coll, v[size_t(i)].tid);
        }
        delete_end();
        return k;
    }
    case kListCreate:
    case kListUpdate: {
        long i = k == kListUpdate ? pick_live(lists_, 0) : -1;
        if (k == kListUpdate && i < 0)
            return emit(kListCreate);
        uint32_t a;
        uint64_t rkey;
        uint32_t purpose;
        if (i >= 0) {
            a = lists_[size_t(i)].owner;
            rkey = lists_[size_t(i)].tid;
            purpose = lists_[size_t(i)].other;
        } else {
            a = actor();
            rkey = tid_now();
            purpose = rng_.chance(0.6) ? 0 : 1;
            lists_.push_back({rkey, a, purpose, false});
        }
        commit(a, k == kListUpdate ? "update" : "create", "app.bsky.graph.list", rkey);
        record_start("app.bsky.graph.list");
        l_.lit(",\"description\":\"");
        text(8);
        l_.lit("\",\"name\":\"");
        text(2);
        l_.str(purpose == 0 ? "\",\"purpose\":\"app.bsky.graph.defs#modlist\""
                            : "\",\"purpose\":\"app.bsky.graph.defs#curatelist\"");
        record_end();
        return k;
    }
    case kListDelete: {
        long i = pick_live(lists_, 0);
        if (i < 0)
            return emit(kListCreate);
        lists_[size_t(i)].dead = true;
        commit(lists_[size_t(i)].owner, "delete", "app.bsky.graph.list", lists_[size_t(i)].tid);
        delete_end();
        return k;
    }
    case kListItemCreate:
    case kListBlockCreate: {
        // Most items go to a few big lists; some to a list older than the
        // stream (its record never seen), which then takes more items.
        long li = -1;
        if (!lists_.empty() && !rng_.chance(0.1)) {
            double u = rng_.uniform();
            li = long(double(lists_.size()) * u * u * u);
        }
        if (li < 0) {
            uint32_t owner = actor();
            li = long(lists_.size());
            lists_.push_back({tid_before_stream(), owner, 0, false});
        }
        const Record &list = lists_[size_t(li)];
        uint64_t rkey = tid_now();
        if (k == kListItemCreate) {
            items_.push_back({rkey, list.owner, uint32_t(li), false});
            commit(list.owner, "create", "app.bsky.graph.listitem", rkey);
            record_start("app.bsky.graph.listitem");
            l_.lit(",\"list\":\"");
            uri(list.owner, "app.bsky.graph.list", list.tid);
            l_.lit("\",\"subject\":\"did:plc:");
            did(popularity_.draw(rng_));
            l_.ch('"');
        } else {
            uint32_t a = actor();
            list_blocks_.push_back({rkey, a, uint32_t(li), false});
            commit(a, "create", "app.bsky.graph.listblock", rkey);
            record_start("app.bsky.graph.listblock");
            l_.lit(",\"subject\":\"");
            uri(list.owner, "app.bsky.graph.list", list.tid);
            l_.ch('"');
        }
        record_end();
        return k;
    }
    case kProfileUpdate: {
        commit_self(actor(), "update", "app.bsky.actor.profile");
        l_.lit(",\"record\":{\"$type\":\"app.bsky.actor.profile\",\"avatar\":{\"$type\":\"blob\","
               "\"ref\":{\"$link\":\"");
        l_.cid("bafkrei", rng_.next());
        l_.lit("\"},\"mimeType\":\"image/jpeg\",\"size\":");
        l_.u64(20000 + rng_.below(900000));
        l_.ch('}');
        created_at();
        l_.lit(",\"description\":\"");
        text(10);
        l_.lit("\",\"displayName\":\"");
        text(2);
        l_.ch('"');
        record_end();
        return k;
    }
    case kOtherCollection: {
        long p = pick_post();
        if (p < 0)
            return emit(kLikeCreate);
        const Record &post = posts_[size_t(p)];
        bool gate = rng_.chance(0.7);
        const char *coll = gate ? "app.bsky.feed.threadgate" : "app.bsky.feed.postgate";
        commit(post.owner, "create", coll, post.tid);
        record_start(coll);
        if (gate) {
            l_.lit(",\"allow\":[{\"$type\":\"app.bsky.feed.threadgate#followingRule\"}],\"post\":\"");
            uri(post.owner, "app.bsky.feed.post", post.tid);
            l_.ch('"');
        } else {
            l_.lit(",\"embeddingRules\":[{\"$type\":\"app.bsky.feed.postgate#disableRule\"}],\"post\":\"");
            uri(post.owner, "app.bsky.feed.post", post.tid);
            l_.ch('"');
        }
        record_end();
        return k;
    }
    case kIdentity: {
        uint32_t a = activity_.draw(rng_);
        head(a, "identity");
        l_.lit(",\"identity\":{\"did\":\"did:plc:");
        did(a);
        l_.lit("\",\"handle\":\"user");
        l_.u64(a);
        l_.lit(".bsky.social\",\"seq\":");
        l_.u64(seq_);
        l_.lit(",\"time\":\"");
        l_.time(now_us_ - 300000, TimeForm::kMillis);
        l_.lit("\"}}");
        return k;
    }
    case kAccountInactive:
    case kAccountActive: {
        // An active account goes inactive (deactivated mostly); an
        // inactive one comes back, unless deleted. Some events repeat
        // "active" for an active account (PDS moves do that).
        uint32_t a = activity_.draw(rng_);
        uint8_t was = status_[a];
        Kind kind;
        if (was == 0 && rng_.chance(0.85)) {
            double u = rng_.uniform();
            set_status(a, u < 0.75 ? 1 : (u < 0.9 ? 2 : (u < 0.95 ? 3 : 4)));
            kind = kAccountInactive;
        } else if (was == 4) {
            kind = kAccountInactive;
        } else {
            set_status(a, 0);
            kind = kAccountActive;
        }
        head(a, "account");
        l_.lit(",\"account\":{\"active\":");
        if (status_[a] == 0) {
            l_.lit("true,\"did\":\"did:plc:");
            did(a);
            l_.lit("\",\"seq\":");
            l_.u64(seq_);
        } else {
            l_.lit("false,\"did\":\"did:plc:");
            did(a);
            l_.lit("\",\"seq\":");
            l_.u64(seq_);
            l_.lit(",\"status\":\"");
            l_.str(kStatus[status_[a]]);
            l_.ch('"');
        }
        l_.lit(",\"time\":\"");
        l_.time(now_us_ - 300000, TimeForm::kMillis);
        l_.lit("\"}}");
        return kind;
    }
    case kMalformed:
        malformed();
        return k;
    case kReplayed:
    case kKinds:
        break;
    }
    return emit(kLikeCreate);
}

// A line the ingest must skip and count as unreadable.
void Generator::malformed() {
    uint32_t m = rng_.below(6);
    malformed_[m]++;
    uint32_t a = actor();
    switch (m) {
    case 0: {  // a line cut short
        emit(kFollowCreate);
        follows_.back().dead = true;
        l_.truncate(10 + rng_.below(uint32_t(l_.size() - 12)));
        return;
    }
    case 1: {
        static const char *const kJunk[] = {"not json", "{\"did\":", "[]", "null",
                                            "{\"did\":\"did:plc:x\",,}", "}{"};
        l_.str(kJunk[rng_.below(6)]);
        return;
    }
    case 2: {  // the event's own DID
        static const char *const kBad[] = {"did:PLC:abc", "did:plc:", "plc:abcdef",
                                           "did:plc:abc def", "did:plc:abc:"};
        l_.lit("{\"did\":\"");
        l_.str(kBad[rng_.below(5)]);
        l_.lit("\",\"time_us\":");
        l_.u64(uint64_t(now_us_));
        l_.lit(",\"kind\":\"commit\",\"commit\":{\"rev\":\"");
        l_.tid(tid_now());
        l_.lit("\",\"operation\":\"create\",\"collection\":\"app.bsky.graph.follow\",\"rkey\":\"");
        l_.tid(tid_now());
        l_.lit("\"");
        record_start("app.bsky.graph.follow");
        l_.lit(",\"subject\":\"did:plc:");
        did(popularity_.draw(rng_));
        l_.ch('"');
        record_end();
        return;
    }
    case 3: {  // a follow's subject
        commit(a, "create", "app.bsky.graph.follow", tid_now());
        record_start("app.bsky.graph.follow");
        l_.lit(",\"subject\":\"@user.bsky.social\"");
        record_end();
        return;
    }
    case 4: {  // a repost's subject names no record
        commit(a, "create", "app.bsky.feed.repost", tid_now());
        record_start("app.bsky.feed.repost");
        l_.lit(",\"subject\":{\"cid\":\"");
        l_.cid("bafyrei", rng_.next());
        l_.lit("\",\"uri\":\"at://did:plc:");
        did(popularity_.draw(rng_));
        l_.lit("/app.bsky.feed.post\"}");
        record_end();
        return;
    }
    default: {  // no time_us
        l_.lit("{\"did\":\"did:plc:");
        did(a);
        l_.lit("\",\"kind\":\"commit\",\"commit\":{\"rev\":\"");
        l_.tid(tid_now());
        l_.lit("\",\"operation\":\"delete\",\"collection\":\"app.bsky.graph.follow\",\"rkey\":\"");
        l_.tid(tid_before_stream());
        l_.lit("\"}}");
        return;
    }
    }
}

// Builds one event of kind k at a new time and counts it.
void Generator::event(Kind k) {
    now_us_ += 1 + int64_t(rng_.exponential(gap_us_));
    if (originals_++ == 0)
        first_us_ = now_us_;
    last_us_ = now_us_;
    seq_ += 1 + rng_.below(3);
    l_.clear();
    Kind written = emit(k);
    count_[written]++;
}

bool Generator::run(Sink &sink) {
    const double p_replay = opt_.replays_per_million / 1e6;
    while (lines_ < opt_.events) {
        if (!deferred_.empty() && deferred_.front().first <= lines_) {
            // The create of a post some repost named before it.
            uint32_t i = deferred_.front().second;
            deferred_.pop_front();
            now_us_ += 1 + int64_t(rng_.exponential(gap_us_));
            last_us_ = now_us_;
            l_.clear();
            const Record &p = posts_[i];
            commit(p.owner, "create", "app.bsky.feed.post", p.tid);
            record_start("app.bsky.feed.post");
            l_.lit(",\"langs\":[\"en\"],\"text\":\"");
            text(8);
            l_.ch('"');
            record_end();
            count_[kPostCreate]++;
            originals_++;
        } else if (lines_ > kRing && rng_.chance(p_replay)) {
            // A reconnect: the last few seconds again, verbatim.
            uint64_t w = 100 + rng_.below(kRing - 100);
            w = std::min<uint64_t>(w, opt_.events - lines_);
            // Copy the window out first: writing it also feeds the ring.
            std::vector<std::string> window;
            window.reserve(w);
            for (uint64_t i = w; i > 0; i--)
                window.push_back(ring_[(lines_ - i) % kRing]);
            for (const std::string &s : window) {
                sink.write(s.data(), s.size());
                ring_[lines_ % kRing] = s;
                lines_++;
            }
            count_[kReplayed] += w;
            replay_windows_++;
            continue;
        } else {
            event(Kind(kinds_.draw(rng_)));
        }
        l_.ch('\n');
        sink.write(l_.data(), l_.size());
        ring_[lines_ % kRing].assign(l_.data(), l_.size());
        lines_++;
    }
    return sink.flush(true);
}

void Generator::summary(double secs, uint64_t bytes) const {
    fprintf(stderr, "jetgen: %llu lines, %llu accounts, seed %llu, %.1f MB in %.2f s (%.0f lines/s)\n",
            (unsigned long long) lines_, (unsigned long long) opt_.accounts,
            (unsigned long long) opt_.seed, double(bytes) / 1e6, secs, double(lines_) / secs);
    fprintf(stderr, "jetgen: time_us %lld .. %lld (%.0f s of stream)\n", (long long) first_us_,
            (long long) last_us_, double(last_us_ - first_us_) / 1e6);
    uint64_t indexed = 0;
    for (int k = 0; k < kKinds; k++) {
        fprintf(stderr, "  %-26s %10llu  %6.2f %%\n", kKindName[k], (unsigned long long) count_[k],
                100.0 * double(count_[k]) / double(lines_));
        bool kept = k >= kPostCreate && k <= kListBlockDelete;
        if (kept || k == kAccountInactive || k == kAccountActive)
            indexed += count_[k];
    }
    fprintf(stderr, "  malformed:");
    for (int m = 0; m < 6; m++)
        fprintf(stderr, " %s %llu%s", kMalformedName[m], (unsigned long long) malformed_[m],
                m < 5 ? "," : "\n");
    fprintf(stderr, "  replayed windows: %llu\n", (unsigned long long) replay_windows_);
    fprintf(stderr, "  events of indexed kinds (posts, reposts, follows, blocks, lists, items, "
                    "list blocks, accounts; first copies): %llu\n",
            (unsigned long long) indexed);
}

// Unix seconds, or YYYY-MM-DDTHH:MM:SSZ.
bool parse_start(const char *s, int64_t *out) {
    struct tm tm {};
    char z = 0;
    if (sscanf(s, "%d-%d-%dT%d:%d:%d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &z) == 7 &&
        (z == 'Z' || z == 'z')) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        *out = int64_t(timegm(&tm));
        return true;
    }
    char *end = nullptr;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

// --actors: "uid<TAB>did" of every account, the DIDs its events carry.
bool write_actors(const Options &o, Sink &sink) {
    const uint64_t salt = mix(o.seed);  // as Generator's did_salt_
    Line l;
    for (uint32_t a = 0; a < o.accounts; a++) {
        l.clear();
        l.u64(uint64_t(a) + 1);
        l.lit("\tdid:plc:");
        l.plc(a, salt);
        l.ch('\n');
        sink.write(l.data(), l.size());
    }
    return sink.flush(true);
}

int usage() {
    fprintf(stderr,
            "usage: jetgen [--events N] [--accounts N] [--seed S] [--start UNIX_SECONDS|"
            "YYYY-MM-DDTHH:MM:SSZ]\n"
            "              [--rate EVENTS_PER_SECOND] [--output FILE[.zst]] [--level ZSTD_LEVEL]\n"
            "              [--replays WINDOWS_PER_MILLION_LINES] [--actors]\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    Options o;
    static const struct option kLong[] = {
        {"events", required_argument, nullptr, 'n'}, {"accounts", required_argument, nullptr, 'a'},
        {"seed", required_argument, nullptr, 's'},   {"start", required_argument, nullptr, 't'},
        {"rate", required_argument, nullptr, 'r'},   {"output", required_argument, nullptr, 'o'},
        {"level", required_argument, nullptr, 'l'},  {"replays", required_argument, nullptr, 'p'},
        {"actors", no_argument, nullptr, 'A'},   {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "n:a:s:t:r:o:l:p:h", kLong, nullptr)) != -1) {
        switch (c) {
        case 'n':
            o.events = strtoull(optarg, nullptr, 10);
            break;
        case 'a':
            o.accounts = uint32_t(strtoul(optarg, nullptr, 10));
            break;
        case 's':
            o.seed = strtoull(optarg, nullptr, 10);
            break;
        case 't':
            if (!parse_start(optarg, &o.start_s))
                return usage();
            break;
        case 'r':
            o.rate = atof(optarg);
            break;
        case 'o':
            o.output = optarg;
            break;
        case 'l':
            o.level = atoi(optarg);
            break;
        case 'p':
            o.replays_per_million = atof(optarg);
            break;
        case 'A':
            o.actors = true;
            break;
        default:
            return usage();
        }
    }
    if (optind != argc || o.accounts < 2 || o.accounts > (1u << 30) || !(o.rate > 0) ||
        !(o.replays_per_million >= 0))
        return usage();
    Sink sink;
    if (!sink.open(o.output, o.level))
        return 1;
    if (o.actors)
        return write_actors(o, sink) ? 0 : 1;
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    Generator g(o);
    bool ok = g.run(sink);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = double(t1.tv_sec - t0.tv_sec) + double(t1.tv_nsec - t0.tv_nsec) / 1e9;
    g.summary(secs, sink.bytes());
    return ok ? 0 : 1;
}
