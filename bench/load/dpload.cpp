// dpload: the load driver of bench/scenario. Plays a scenario's traffic
// plan against one PostgreSQL database and logs every request.
//
//   dpload PLAN LOG
//
// Readers are sessions: virtual users, each a closed loop (a request, the
// wait for its answer, a think time, the next request), as people using
// an app are. Their requests share a pool of connections, as an AppView's
// are: a request waits in a FIFO queue for a free connection, and its
// latency is the time from the session asking to the last row received,
// the queue included (what the user waits for). The number of live
// sessions follows the plan's phases (ramps linear or exponential); a
// session ends after a number of requests (geometric, the plan's mean)
// and a new one, another user, takes its place.
//
// Writes are open loop: each kind at the phase's rate per second, evenly
// spaced, on connections of their own (an AppView's indexer writes beside
// its readers); a write's latency runs from when it was due, so that a
// writer falling behind shows as latency, not as fewer writes asked.
//
// Everything the plan draws comes from its seed: session k (in order of
// start) has the same viewer, requests, targets and think times in every
// run, and the n-th write of a kind the same arguments. When a request
// happens depends on how fast the server answers: sessions wait for
// their answers, as users do.
//
// The plan (written by bench/scenario.py; one directive a line):
//   conninfo STRING           libpq connection string (rest of the line)
//   label TEXT                the name in progress lines (index, baseline)
//   seed N
//   users N                   uids 1..N
//   pool N                    reader connections
//   writers N                 writer connections
//   timeout_ms N              a read waiting or running longer fails (statement_timeout)
//   think exponential|constant|uniform MEAN_MS
//   session_length N          mean requests per session; 0: sessions never end
//   viewer_skew S             Zipf exponent of who reads (offset 5, over a
//                             seeded permutation of the uids); 0: uniform
//   mix timeline W author_feed W profile W
//   page N                    rows per page
//   next_page P MAX           after a timeline page, the chance that the next
//                             request is the page below it, up to MAX pages
//   targets FILE              uids that are visited (author feeds, profiles,
//                             followed), most followed first; Zipf over them
//   celebrities UID...        authors of celebrity_posts
//   stmt NAME FILE            SQL of a statement, prepared on every connection:
//                             timeline($1 viewer, $2 lim), next_page($1, $2, $3
//                             before_ts, $4 before_id), author_feed($1 author,
//                             $2 lim, $3 viewer), profile($1 viewer, $2 target),
//                             post($1 author), repost($1 reposter, $2 some post
//                             id), follow($1, $2), unfollow($1 follower, $2 uid
//                             from which to find a followee), block($1, $2),
//                             mute($1, $2)
//   ingest_cmd COMMAND        a shell command that ingests (its stderr lines
//                             are logged with their time)
//   phase KEY=VALUE...        name, seconds, from, to (sessions), ramp (linear |
//                             exponential), measure (0/1), posts, reposts,
//                             follows, unfollows, blocks, mutes, celebrity_posts (per
//                             second), burst_every, burst_seconds, burst_posts,
//                             burst_celebrity_posts, ingest (0/1: the ingest runs
//                             during the phase), end_with_ingest (0/1)
//
// The log (tab-separated, times in microseconds since the start):
//   p T INDEX NAME MEASURE    a phase starts
//   r ISSUED DONE KIND WAIT STATUS   a request: asked, answered, its kind, the
//                             time it waited for a connection; STATUS 0 ok,
//                             1 error, 2 timeout
//   s T SESSIONS QUEUED_READS QUEUED_WRITES   once a second
//   i T LINE                  a line the ingest wrote
//   e T CPU_S INGEST_CPU_S     the end; the CPU time dpload used, and its ingest
// A progress line a second goes to stderr.
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <queue>
#include <sstream>
#include <string>
#include <vector>

namespace {

// splitmix64, as in bench/gen.
uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed = 0) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() { return mix(s += 0x9E3779B97F4A7C15ull); }
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    uint64_t below(uint64_t n) { return next() % n; }
};

// Ranks 0..n-1 with p(r) proportional to 1 / (r + q)^s (s = 0: uniform).
class Zipf {
  public:
    Zipf() = default;
    Zipf(size_t n, double s, double q) : cdf_(n) {
        double sum = 0;
        for (size_t r = 0; r < n; r++) {
            sum += s == 0 ? 1.0 : 1.0 / std::pow(double(r) + q, s);
            cdf_[r] = sum;
        }
        for (double &c : cdf_)
            c /= sum;
    }
    size_t draw(double u) const {
        size_t r = size_t(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
        return std::min(r, cdf_.size() - 1);
    }

  private:
    std::vector<double> cdf_;
};

std::vector<uint32_t> permutation(uint32_t n, uint64_t seed) {
    std::vector<uint32_t> v(n);
    for (uint32_t i = 0; i < n; i++)
        v[i] = i + 1;
    Rng rng(seed);
    for (uint32_t i = n; i > 1; i--)
        std::swap(v[i - 1], v[rng.below(i)]);
    return v;
}

int64_t clock_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

[[noreturn]] void die(const std::string &msg) {
    fprintf(stderr, "dpload: %s\n", msg.c_str());
    exit(1);
}

// Request kinds: the reads, then the writes.
enum Kind { kTimeline, kNextPage, kAuthorFeed, kProfile, kPost, kRepost, kFollow, kUnfollow,
            kBlock, kMute, kCelebrityPost, kKinds };
const char *const kKindName[kKinds] = {"timeline", "next_page", "author_feed", "profile",
                                       "post", "repost", "follow", "unfollow", "block", "mute",
                                       "celebrity_post"};
// The statement each kind runs.
const char *const kStmt[kKinds] = {"timeline", "next_page", "author_feed", "profile", "post",
                                   "repost", "follow", "unfollow", "block", "mute", "post"};
constexpr int kFirstWrite = kPost;
constexpr int kWriteKinds = kKinds - kFirstWrite;

struct Phase {
    std::string name;
    double seconds = 0, from = 0, to = 0;
    bool exponential = false, measure = true, ingest = false, end_with_ingest = false;
    double rate[kWriteKinds] = {};  // per second, by write kind
    double burst_every = 0, burst_seconds = 0, burst_posts = 0, burst_celebrity_posts = 0;

    // Sessions wanted at `s` seconds into the phase.
    double sessions(double s) const {
        double f = seconds > 0 ? std::clamp(s / seconds, 0.0, 1.0) : 1.0;
        if (exponential && from > 0 && to > 0)
            return from * std::pow(to / from, f);
        return from + (to - from) * f;
    }
    double write_rate(int w, double s) const {
        double r = rate[w];
        if (burst_every > 0 && std::fmod(s, burst_every) >= burst_every - burst_seconds) {
            if (w == kPost - kFirstWrite)
                r += burst_posts;
            if (w == kCelebrityPost - kFirstWrite)
                r += burst_celebrity_posts;
        }
        return r;
    }
};

struct Plan {
    std::string conninfo, label = "run", ingest_cmd;
    uint64_t seed = 1;
    uint32_t users = 0;
    int pool = 8, writers = 2;
    int64_t timeout_ms = 10000;
    std::string think = "exponential";
    double think_ms = 1000, session_length = 0, viewer_skew = 0.9;
    double mix[3] = {1, 0, 0};  // timeline, author_feed, profile
    int page = 50;
    double next_page = 0;
    int max_pages = 1;
    std::vector<uint32_t> targets, celebrities;
    std::map<std::string, std::string> stmts;  // name -> SQL
    std::vector<Phase> phases;
};

std::string slurp(const std::string &path) {
    FILE *f = fopen(path.c_str(), "rb");
    if (f == nullptr)
        die("cannot read " + path + ": " + strerror(errno));
    std::string s;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        s.append(buf, n);
    fclose(f);
    return s;
}

Plan read_plan(const std::string &path) {
    Plan p;
    std::istringstream in(slurp(path));
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
        lineno++;
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream ls(line);
        std::string key, rest;
        ls >> key;
        std::getline(ls >> std::ws, rest);
        std::istringstream rs(rest);
        auto bad = [&] { die(path + ":" + std::to_string(lineno) + ": bad directive: " + line); };
        if (key == "conninfo") {
            p.conninfo = rest;
        } else if (key == "label") {
            p.label = rest;
        } else if (key == "ingest_cmd") {
            p.ingest_cmd = rest;
        } else if (key == "seed") {
            rs >> p.seed;
        } else if (key == "users") {
            rs >> p.users;
        } else if (key == "pool") {
            rs >> p.pool;
        } else if (key == "writers") {
            rs >> p.writers;
        } else if (key == "timeout_ms") {
            rs >> p.timeout_ms;
        } else if (key == "think") {
            rs >> p.think >> p.think_ms;
            if (p.think != "exponential" && p.think != "constant" && p.think != "uniform")
                bad();
        } else if (key == "session_length") {
            rs >> p.session_length;
        } else if (key == "viewer_skew") {
            rs >> p.viewer_skew;
        } else if (key == "mix") {
            std::string name;
            double w;
            while (rs >> name >> w) {
                if (name == "timeline")
                    p.mix[0] = w;
                else if (name == "author_feed")
                    p.mix[1] = w;
                else if (name == "profile")
                    p.mix[2] = w;
                else
                    bad();
            }
        } else if (key == "page") {
            rs >> p.page;
        } else if (key == "next_page") {
            rs >> p.next_page >> p.max_pages;
        } else if (key == "targets") {
            std::istringstream ts(slurp(rest));
            uint32_t u;
            while (ts >> u)
                p.targets.push_back(u);
        } else if (key == "celebrities") {
            uint32_t u;
            while (rs >> u)
                p.celebrities.push_back(u);
        } else if (key == "stmt") {
            std::string name, file;
            rs >> name >> file;
            p.stmts[name] = slurp(file);
        } else if (key == "phase") {
            Phase ph;
            std::string kv;
            while (rs >> kv) {
                size_t eq = kv.find('=');
                if (eq == std::string::npos)
                    bad();
                std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
                double x = atof(v.c_str());
                if (k == "name")
                    ph.name = v;
                else if (k == "seconds")
                    ph.seconds = x;
                else if (k == "from")
                    ph.from = x;
                else if (k == "to")
                    ph.to = x;
                else if (k == "ramp")
                    ph.exponential = v == "exponential";
                else if (k == "measure")
                    ph.measure = x != 0;
                else if (k == "ingest")
                    ph.ingest = x != 0;
                else if (k == "end_with_ingest")
                    ph.end_with_ingest = x != 0;
                else if (k == "burst_every")
                    ph.burst_every = x;
                else if (k == "burst_seconds")
                    ph.burst_seconds = x;
                else if (k == "burst_posts")
                    ph.burst_posts = x;
                else if (k == "burst_celebrity_posts")
                    ph.burst_celebrity_posts = x;
                else {
                    int w = -1;
                    for (int i = kFirstWrite; i < kKinds; i++)
                        if (k == std::string(kKindName[i]) + "s")
                            w = i - kFirstWrite;
                    if (w < 0)
                        bad();
                    ph.rate[w] = x;
                }
            }
            p.phases.push_back(ph);
        } else {
            bad();
        }
        if (rs.fail() && !rs.eof())
            bad();
    }
    if (p.conninfo.empty() || p.users < 2 || p.phases.empty() || p.pool < 1 || p.writers < 1)
        die(path + ": needs conninfo, users, pool, writers and at least one phase");
    if (p.targets.empty())
        for (uint32_t u = 1; u <= std::min<uint32_t>(p.users, 1000); u++)
            p.targets.push_back(u);
    for (int k = 0; k < kKinds; k++)
        if (!p.stmts.count(kStmt[k]))
            die(path + ": no statement " + kStmt[k]);
    return p;
}

// One virtual user.
struct Session {
    Rng rng;
    uint32_t viewer = 0;
    int64_t left = -1;  // requests before it ends; -1: never
    int pages = 0;      // timeline pages read in a row
    bool more = false;  // the last page was full: a cursor below it exists
    bool want_next = false;
    bool alive = true;
    std::string ts, id;  // the cursor: the last row's sort_at and item_id
};

struct Request {
    int kind = 0;
    int64_t session = -1;  // readers
    int64_t issued = 0;    // asked (reads), due (writes)
    int64_t sent = 0;
    std::string p[4];
    int nparams = 0;
};

struct Conn {
    PGconn *pg = nullptr;
    bool reader = true;
    bool busy = false;
    Request req;
    int status = 0;
    bool got_rows = false;
};

struct Second {
    int64_t n[kKinds] = {}, errors = 0;
    std::vector<int64_t> lat;  // reads
};

class Driver {
  public:
    Driver(Plan plan, FILE *log) : p_(std::move(plan)), log_(log) {
        viewer_uid_ = permutation(p_.users, p_.seed * 3 + 1);
        author_uid_ = permutation(p_.users, p_.seed * 3 + 2);
        viewers_ = Zipf(p_.users, p_.viewer_skew, 5.0);
        activity_ = Zipf(p_.users, 0.9, 5.0);
        targets_ = Zipf(p_.targets.size(), 1.0, 1.0);
        for (int w = 0; w < kWriteKinds; w++)
            wrng_[w] = Rng(mix(p_.seed * 131 + uint64_t(w) + 7));
        double sum = p_.mix[0] + p_.mix[1] + p_.mix[2];
        mix_cdf_[0] = p_.mix[0] / sum;
        mix_cdf_[1] = (p_.mix[0] + p_.mix[1]) / sum;
    }

    void connect();
    void run();

  private:
    // Plan time.
    double secs(int64_t t) const { return double(t - t0_) / 1e6; }
    void start_phase(size_t i, int64_t now);
    bool advance_phase(int64_t now);
    // Sessions.
    void adjust_sessions(int64_t now);
    void start_session(int64_t now);
    void wake(int64_t sid, int64_t now);
    int64_t think_us(Rng &rng);
    void answered(Conn &c, int64_t now);
    // Writes.
    void schedule_writes(int64_t now);
    Request make_write(int w, int64_t due);
    // Connections.
    void dispatch(int64_t now);
    void send(Conn &c, Request &&r, int64_t now);
    void read_result(Conn &c, int64_t now);
    void expire(int64_t now);
    void log_request(const Request &r, int64_t done, int status);
    // Ingest.
    void ingest_start(int64_t now);
    void ingest_stop();
    void ingest_read(int64_t now);
    void tick(int64_t now);

    Plan p_;
    FILE *log_;
    std::vector<uint32_t> viewer_uid_, author_uid_;
    Zipf viewers_, activity_, targets_;
    double mix_cdf_[2];
    Rng wrng_[kWriteKinds];
    std::vector<Conn> conns_;
    std::deque<Request> reads_, writes_;
    std::vector<Session> sessions_;
    using Timer = std::pair<int64_t, int64_t>;  // (when, session)
    std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
    int64_t alive_ = 0, stopping_ = 0;
    uint64_t post_max_ = 1;
    int64_t t0_ = 0, phase_t0_ = 0, next_tick_ = 0;
    size_t phase_ = 0;
    bool draining_ = false;
    int64_t next_due_[kWriteKinds];
    // Ingest child.
    pid_t ingest_pid_ = -1;
    int ingest_fd_ = -1;
    bool ingest_done_ = false;
    std::string ingest_buf_;
    // This second, for the progress line.
    Second sec_;
    int64_t total_[kKinds] = {}, errors_total_ = 0, timeouts_total_ = 0;
    int errors_shown_ = 0;
};

void Driver::connect() {
    int n = p_.pool + p_.writers;
    conns_.resize(size_t(n));
    for (int i = 0; i < n; i++) {
        Conn &c = conns_[size_t(i)];
        c.reader = i < p_.pool;
        c.pg = PQconnectdb(p_.conninfo.c_str());
        if (PQstatus(c.pg) != CONNECTION_OK)
            die(std::string("connection failed: ") + PQerrorMessage(c.pg));
        std::string setup = "SET application_name = 'dpload " + p_.label + "'";
        if (c.reader)
            setup += "; SET statement_timeout = " + std::to_string(p_.timeout_ms);
        PGresult *r = PQexec(c.pg, setup.c_str());
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            die(std::string("setup failed: ") + PQerrorMessage(c.pg));
        PQclear(r);
        for (auto &[name, sql] : p_.stmts) {
            r = PQprepare(c.pg, name.c_str(), sql.c_str(), 0, nullptr);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                die("cannot prepare " + name + ": " + PQerrorMessage(c.pg));
            PQclear(r);
        }
        if (PQsetnonblocking(c.pg, 1) != 0)
            die("PQsetnonblocking failed");
    }
    PGresult *r = PQexec(conns_[0].pg, "SELECT coalesce(max(id), 1) FROM dataplane.post");
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        post_max_ = strtoull(PQgetvalue(r, 0, 0), nullptr, 10);
    PQclear(r);
}

void Driver::start_phase(size_t i, int64_t now) {
    phase_ = i;
    phase_t0_ = now;
    const Phase &ph = p_.phases[i];
    fprintf(log_, "p\t%lld\t%zu\t%s\t%d\n", (long long) (now - t0_), i, ph.name.c_str(),
            ph.measure ? 1 : 0);
    fprintf(stderr, "[%s] %5.0fs phase %zu/%zu: %s\n", p_.label.c_str(), secs(now), i + 1,
            p_.phases.size(), ph.name.c_str());
    if (ph.ingest && ingest_pid_ < 0 && !ingest_done_)
        ingest_start(now);
    if (!ph.ingest && ingest_pid_ > 0)
        ingest_stop();
    for (int w = 0; w < kWriteKinds; w++)
        next_due_[w] = -1;
}

// Moves to the next phase when this one is over; false at the end.
bool Driver::advance_phase(int64_t now) {
    const Phase &ph = p_.phases[phase_];
    bool over = secs(now) - secs(phase_t0_) >= ph.seconds;
    if (ph.end_with_ingest && ingest_done_)
        over = true;
    if (!over)
        return true;
    if (phase_ + 1 >= p_.phases.size())
        return false;
    start_phase(phase_ + 1, now);
    return true;
}

int64_t Driver::think_us(Rng &rng) {
    double u = rng.uniform(), ms;
    if (p_.think == "constant")
        ms = p_.think_ms;
    else if (p_.think == "uniform")
        ms = 2 * p_.think_ms * u;
    else
        ms = -p_.think_ms * std::log(1.0 - u);
    return int64_t(ms * 1000);
}

void Driver::start_session(int64_t now) {
    int64_t k = int64_t(sessions_.size());
    Session s;
    s.rng = Rng(mix(p_.seed ^ mix(uint64_t(k) + 1)));
    s.viewer = viewer_uid_[viewers_.draw(s.rng.uniform())];
    double u = s.rng.uniform();
    if (p_.session_length >= 1) {
        // Geometric with the plan's mean, at least one request.
        double q = 1.0 - 1.0 / p_.session_length;
        s.left = q > 0 ? 1 + int64_t(std::floor(std::log(1.0 - u) / std::log(q))) : 1;
    }
    // A user arrives in the middle of a think time, so that sessions that
    // start together do not ask together.
    int64_t first = now + int64_t(s.rng.uniform() * p_.think_ms * 1000);
    sessions_.push_back(std::move(s));
    alive_++;
    timers_.push({first, k});
}

void Driver::adjust_sessions(int64_t now) {
    if (draining_)
        return;
    const Phase &ph = p_.phases[phase_];
    int64_t want = int64_t(std::llround(ph.sessions(secs(now) - secs(phase_t0_))));
    int64_t active = alive_ - stopping_;
    if (want > active) {
        // Sessions about to stop are kept instead of starting new ones.
        int64_t keep = std::min(stopping_, want - active);
        stopping_ -= keep;
        active += keep;
        for (; active < want; active++)
            start_session(now);
    } else if (want < active) {
        stopping_ += active - want;
    }
}

// A session's think time is over: it ends, or asks its next request.
void Driver::wake(int64_t sid, int64_t now) {
    Session &s = sessions_[size_t(sid)];
    if (!s.alive)
        return;
    if (stopping_ > 0 || s.left == 0 || draining_) {
        // Any session that ends brings the count down toward the plan's.
        if (stopping_ > 0)
            stopping_--;
        s.alive = false;
        alive_--;
        return;
    }
    if (s.left > 0)
        s.left--;
    // The same draws for every request, whatever the data answered, so
    // that a session's plan does not depend on the server.
    double u_kind = s.rng.uniform(), u_target = s.rng.uniform();
    Request r;
    r.session = sid;
    r.issued = now;
    if (s.want_next && s.more) {
        r.kind = kNextPage;
        r.p[0] = std::to_string(s.viewer);
        r.p[1] = std::to_string(p_.page);
        r.p[2] = s.ts;
        r.p[3] = s.id;
        r.nparams = 4;
        s.pages++;
    } else {
        s.pages = 0;
        uint32_t target = p_.targets[targets_.draw(u_target)];
        if (u_kind < mix_cdf_[0]) {
            r.kind = kTimeline;
            r.p[0] = std::to_string(s.viewer);
            r.p[1] = std::to_string(p_.page);
            r.nparams = 2;
            s.pages = 1;
        } else if (u_kind < mix_cdf_[1]) {
            r.kind = kAuthorFeed;
            r.p[0] = std::to_string(target);
            r.p[1] = std::to_string(p_.page);
            r.p[2] = std::to_string(s.viewer);
            r.nparams = 3;
        } else {
            r.kind = kProfile;
            r.p[0] = std::to_string(s.viewer);
            r.p[1] = std::to_string(target);
            r.nparams = 2;
        }
    }
    s.more = false;
    reads_.push_back(std::move(r));
}

void Driver::answered(Conn &c, int64_t now) {
    Request &r = c.req;
    log_request(r, now, c.status);
    if (r.session < 0)
        return;
    Session &s = sessions_[size_t(r.session)];
    double u_next = s.rng.uniform();
    s.want_next = (r.kind == kTimeline || r.kind == kNextPage) && u_next < p_.next_page &&
                  s.pages < p_.max_pages;
    timers_.push({now + think_us(s.rng), r.session});
}

Request Driver::make_write(int w, int64_t due) {
    Rng &g = wrng_[w];
    Request r;
    r.kind = kFirstWrite + w;
    r.issued = due;
    uint32_t a = author_uid_[activity_.draw(g.uniform())];
    double u = g.uniform();
    switch (r.kind) {
    case kPost:
        r.p[0] = std::to_string(a);
        r.nparams = 1;
        break;
    case kCelebrityPost:
        r.p[0] = std::to_string(p_.celebrities.empty()
                                    ? a
                                    : p_.celebrities[size_t(u * double(p_.celebrities.size()))]);
        r.nparams = 1;
        break;
    case kRepost:
        // Recent posts are reposted most.
        r.p[0] = std::to_string(a);
        r.p[1] = std::to_string(1 + uint64_t(double(post_max_) * (1.0 - u * u * u)));
        r.nparams = 2;
        break;
    case kFollow: {
        uint32_t b = p_.targets[targets_.draw(u)];
        r.p[0] = std::to_string(a);
        r.p[1] = std::to_string(b == a ? author_uid_[0] : b);
        r.nparams = 2;
        break;
    }
    case kUnfollow:
        r.p[0] = std::to_string(a);
        r.p[1] = std::to_string(1 + uint64_t(u * p_.users));
        r.nparams = 2;
        break;
    case kBlock:
    case kMute: {
        uint32_t b = uint32_t(1 + uint64_t(u * p_.users));
        r.p[0] = std::to_string(a);
        r.p[1] = std::to_string(b == a ? (a % p_.users) + 1 : b);
        r.nparams = 2;
        break;
    }
    }
    return r;
}

void Driver::schedule_writes(int64_t now) {
    if (draining_)
        return;
    const Phase &ph = p_.phases[phase_];
    double s = secs(now) - secs(phase_t0_);
    for (int w = 0; w < kWriteKinds; w++) {
        double rate = ph.write_rate(w, s);
        if (rate <= 0) {
            next_due_[w] = -1;
            continue;
        }
        int64_t gap = std::max<int64_t>(1, int64_t(1e6 / rate));
        // A rate that rose (a burst) takes effect now, not after the gap
        // of the slower rate.
        if (next_due_[w] < 0 || next_due_[w] > now + gap)
            next_due_[w] = now + gap;
        while (next_due_[w] <= now) {
            writes_.push_back(make_write(w, next_due_[w]));
            next_due_[w] += gap;
        }
    }
}

void Driver::send(Conn &c, Request &&r, int64_t now) {
    c.req = std::move(r);
    c.req.sent = now;
    c.status = 0;
    c.got_rows = false;
    const char *values[4];
    for (int i = 0; i < c.req.nparams; i++)
        values[i] = c.req.p[i].c_str();
    if (!PQsendQueryPrepared(c.pg, kStmt[c.req.kind], c.req.nparams, values, nullptr, nullptr,
                             0))
        die(std::string("send failed: ") + PQerrorMessage(c.pg));
    int left;
    while ((left = PQflush(c.pg)) == 1) {
        pollfd pf{PQsocket(c.pg), POLLOUT, 0};
        poll(&pf, 1, 10);
    }
    if (left < 0)
        die(std::string("send failed: ") + PQerrorMessage(c.pg));
    c.busy = true;
}

void Driver::dispatch(int64_t now) {
    for (Conn &c : conns_) {
        if (c.busy)
            continue;
        std::deque<Request> &q = c.reader ? reads_ : writes_;
        if (q.empty())
            continue;
        Request r = std::move(q.front());
        q.pop_front();
        send(c, std::move(r), now);
    }
}

// Reads that waited for a connection longer than the timeout fail, as a
// client that gives up would.
void Driver::expire(int64_t now) {
    int64_t limit = p_.timeout_ms * 1000;
    while (!reads_.empty() && now - reads_.front().issued > limit) {
        Conn fake;
        fake.req = std::move(reads_.front());
        reads_.pop_front();
        fake.req.sent = now;
        fake.status = 2;
        answered(fake, now);
    }
}

void Driver::read_result(Conn &c, int64_t now) {
    if (!PQconsumeInput(c.pg))
        die(std::string("connection lost: ") + PQerrorMessage(c.pg));
    while (!PQisBusy(c.pg)) {
        PGresult *res = PQgetResult(c.pg);
        if (res == nullptr) {
            c.busy = false;
            answered(c, now);
            return;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK) {
            int n = PQntuples(res);
            if ((c.req.kind == kTimeline || c.req.kind == kNextPage) && c.req.session >= 0) {
                Session &s = sessions_[size_t(c.req.session)];
                s.more = n >= p_.page && n > 0;
                if (s.more) {
                    int fts = PQfnumber(res, "sort_at"), fid = PQfnumber(res, "item_id");
                    if (fts >= 0 && fid >= 0) {
                        s.ts = PQgetvalue(res, n - 1, fts);
                        s.id = PQgetvalue(res, n - 1, fid);
                    } else {
                        s.more = false;
                    }
                }
            }
        } else if (st != PGRES_COMMAND_OK) {
            const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            bool timeout = code != nullptr && strcmp(code, "57014") == 0;
            c.status = timeout ? 2 : 1;
            if (!timeout && errors_shown_ < 5) {
                errors_shown_++;
                fprintf(stderr, "[%s] %s failed: %s", p_.label.c_str(), kKindName[c.req.kind],
                        PQresultErrorMessage(res));
            }
        }
        PQclear(res);
    }
}

void Driver::log_request(const Request &r, int64_t done, int status) {
    fprintf(log_, "r\t%lld\t%lld\t%s\t%lld\t%d\n", (long long) (r.issued - t0_),
            (long long) (done - t0_), kKindName[r.kind], (long long) (r.sent - r.issued), status);
    sec_.n[r.kind]++;
    total_[r.kind]++;
    if (status == 1) {
        sec_.errors++;
        errors_total_++;
    } else if (status == 2) {
        timeouts_total_++;
    }
    if (r.kind < kFirstWrite)
        sec_.lat.push_back(done - r.issued);
}

void Driver::ingest_start(int64_t now) {
    if (p_.ingest_cmd.empty())
        return;
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe failed");
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        std::string cmd = "exec " + p_.ingest_cmd;
        execl("/bin/sh", "sh", "-c", cmd.c_str(), (char *) nullptr);
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    ingest_pid_ = pid;
    ingest_fd_ = fds[0];
    fprintf(log_, "i\t%lld\tstarted\n", (long long) (now - t0_));
}

void Driver::ingest_read(int64_t now) {
    char buf[8192];
    for (;;) {
        ssize_t n = read(ingest_fd_, buf, sizeof buf);
        if (n > 0) {
            ingest_buf_.append(buf, size_t(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        // End of the pipe: the ingest is over.
        close(ingest_fd_);
        ingest_fd_ = -1;
        int status = 0;
        waitpid(ingest_pid_, &status, 0);
        ingest_pid_ = -1;
        ingest_done_ = true;
        fprintf(log_, "i\t%lld\texit %d\n", (long long) (now - t0_),
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        break;
    }
    size_t nl;
    while ((nl = ingest_buf_.find('\n')) != std::string::npos) {
        std::string line = ingest_buf_.substr(0, nl);
        ingest_buf_.erase(0, nl + 1);
        fprintf(log_, "i\t%lld\t%s\n", (long long) (now - t0_), line.c_str());
        if (line.find("done in") != std::string::npos || line.find("failed") != std::string::npos)
            fprintf(stderr, "[%s] %s\n", p_.label.c_str(), line.c_str());
    }
}

// Asks a running ingest to stop (SIGINT: it prints its summary) and waits.
void Driver::ingest_stop() {
    if (ingest_pid_ < 0)
        return;
    kill(ingest_pid_, SIGINT);
    int64_t until = clock_us() + 15000000;
    while (ingest_fd_ >= 0 && clock_us() < until) {
        pollfd pf{ingest_fd_, POLLIN, 0};
        poll(&pf, 1, 100);
        ingest_read(clock_us());
    }
    if (ingest_pid_ > 0) {
        kill(ingest_pid_, SIGKILL);
        waitpid(ingest_pid_, nullptr, 0);
        ingest_pid_ = -1;
        close(ingest_fd_);
        ingest_fd_ = -1;
        fprintf(log_, "i\t%lld\tkilled\n", (long long) (clock_us() - t0_));
    }
    ingest_done_ = true;
}

void Driver::tick(int64_t now) {
    int64_t active = alive_ - stopping_;
    fprintf(log_, "s\t%lld\t%lld\t%zu\t%zu\n", (long long) (now - t0_), (long long) active,
            reads_.size(), writes_.size());
    int64_t reads = 0, writes = 0;
    for (int k = 0; k < kKinds; k++)
        (k < kFirstWrite ? reads : writes) += sec_.n[k];
    std::sort(sec_.lat.begin(), sec_.lat.end());
    auto pct = [&](double q) {
        if (sec_.lat.empty())
            return 0.0;
        size_t i = std::min(sec_.lat.size() - 1, size_t(q * double(sec_.lat.size())));
        return double(sec_.lat[i]) / 1000.0;
    };
    fprintf(stderr,
            "[%s] %5.0fs %-10s sessions %6lld  reads/s %6lld (tl %lld, next %lld, af %lld, pr "
            "%lld)  p50 %7.2f ms  p99 %8.2f ms  writes/s %4lld  queued %zu%s\n",
            p_.label.c_str(), secs(now), p_.phases[phase_].name.c_str(), (long long) active,
            (long long) reads, (long long) sec_.n[kTimeline], (long long) sec_.n[kNextPage],
            (long long) sec_.n[kAuthorFeed], (long long) sec_.n[kProfile], pct(0.5), pct(0.99),
            (long long) writes, reads_.size(),
            sec_.errors ? ("  errors " + std::to_string(sec_.errors)).c_str() : "");
    fflush(log_);
    sec_ = Second();
}

void Driver::run() {
    t0_ = clock_us();
    next_tick_ = t0_ + 1000000;
    start_phase(0, t0_);
    std::vector<pollfd> pfds;
    std::vector<Conn *> pconn;
    int64_t drain_until = 0;
    for (;;) {
        int64_t now = clock_us();
        if (!draining_ && !advance_phase(now)) {
            draining_ = true;
            drain_until = now + p_.timeout_ms * 1000 + 1000000;
            // Reads asked but not sent are dropped (the users are gone);
            // writes already due are still done, within the drain time.
            reads_.clear();
            fprintf(stderr, "[%s] %5.0fs plan over; waiting for requests in flight\n",
                    p_.label.c_str(), secs(now));
        }
        adjust_sessions(now);
        while (!timers_.empty() && timers_.top().first <= now) {
            int64_t sid = timers_.top().second;
            timers_.pop();
            wake(sid, now);
        }
        schedule_writes(now);
        expire(now);
        dispatch(now);
        if (now >= next_tick_) {
            tick(now);
            next_tick_ += 1000000;
            if (next_tick_ <= now)
                next_tick_ = now + 1000000;
        }
        bool busy = !writes_.empty();
        for (Conn &c : conns_)
            busy = busy || c.busy;
        if (draining_ && (!busy || now > drain_until))
            break;
        // Sleep until the next timer, write, second, or answer.
        int64_t next = next_tick_;
        if (!timers_.empty())
            next = std::min(next, timers_.top().first);
        for (int w = 0; w < kWriteKinds; w++)
            if (next_due_[w] >= 0)
                next = std::min(next, next_due_[w]);
        if (!reads_.empty())
            next = std::min(next, reads_.front().issued + p_.timeout_ms * 1000 + 1);
        next = std::min(next, now + 50000);  // phases and sessions move on
        pfds.clear();
        pconn.clear();
        for (Conn &c : conns_)
            if (c.busy) {
                pfds.push_back({PQsocket(c.pg), POLLIN, 0});
                pconn.push_back(&c);
            }
        if (ingest_fd_ >= 0)
            pfds.push_back({ingest_fd_, POLLIN, 0});
        int ms = int(std::max<int64_t>(0, (next - now + 999) / 1000));
        int n = poll(pfds.data(), pfds.size(), ms);
        if (n < 0 && errno != EINTR)
            die(std::string("poll: ") + strerror(errno));
        now = clock_us();
        for (size_t i = 0; i < pconn.size(); i++)
            if (pfds[i].revents)
                read_result(*pconn[i], now);
        if (ingest_fd_ >= 0 && pfds.back().revents)
            ingest_read(now);
    }
    ingest_stop();
    int64_t end = clock_us();
    auto cpu = [](int who) {
        rusage ru;
        getrusage(who, &ru);
        return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    };
    double mine = cpu(RUSAGE_SELF), ingest = cpu(RUSAGE_CHILDREN);
    fprintf(log_, "e\t%lld\t%.3f\t%.3f\n", (long long) (end - t0_), mine, ingest);
    fflush(log_);
    fprintf(stderr, "[%s] done in %.0f s:", p_.label.c_str(), secs(end));
    for (int k = 0; k < kKinds; k++)
        if (total_[k])
            fprintf(stderr, " %s %lld,", kKindName[k], (long long) total_[k]);
    fprintf(stderr, " errors %lld, timeouts %lld; dpload's CPU: %.1f s\n",
            (long long) errors_total_, (long long) timeouts_total_, mine);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: dpload PLAN LOG\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    Plan plan = read_plan(argv[1]);
    FILE *log = fopen(argv[2], "w");
    if (log == nullptr)
        die(std::string("cannot write ") + argv[2] + ": " + strerror(errno));
    static char buf[1 << 20];
    setvbuf(log, buf, _IOFBF, sizeof buf);
    Driver d(std::move(plan), log);
    d.connect();
    d.run();
    return fclose(log) == 0 ? 0 : 1;
}
