// dpgen: a seeded generator of Bluesky-shaped data for dataplane's tables,
// written as COPY text to stdout.
//
//   dpgen actors  USERS
//   dpgen follows USERS AVG_FOLLOWS SEED
//   dpgen posts   USERS POSTS WEEKS SEED
//   dpgen reposts USERS REPOSTS POSTS WEEKS SEED FIRST_REPOST_ID
//
// Item times end at 2026-11-01 UTC, or at DPGEN_END (epoch seconds).
//
// The shape follows what is known of Bluesky's graph: about 58 follows per
// user on average with a long tail (out-degree is log-normal); followers per
// account are Zipf-like over a popularity rank, the largest accounts being
// followed by several percent of all users; activity (posts, reposts) is
// power-law over users. Popular accounts are spread over the uid space by a
// seeded permutation, as uids interned in arrival order would be.
//
// Everything depends only on the arguments: the same command gives the same
// bytes on every run (own PRNG and distributions, not <random>'s, whose
// distributions differ between standard libraries).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_set>
#include <vector>

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
    uint64_t below(uint64_t n) { return next() % n; }
    double normal() {  // Box-Muller
        double u1 = uniform(), u2 = uniform();
        if (u1 < 1e-300)
            u1 = 1e-300;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
    }
};

// Ranks 0..n-1 drawn with p(r) proportional to 1 / (r + q)^s.
class Zipf {
  public:
    Zipf(uint32_t n, double s, double q) : cdf_(n) {
        double sum = 0;
        for (uint32_t r = 0; r < n; r++) {
            sum += 1.0 / std::pow(r + q, s);
            cdf_[r] = sum;
        }
        for (auto &c : cdf_)
            c /= sum;
    }
    uint32_t draw(Rng &rng) const {
        double u = rng.uniform();
        return uint32_t(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    }
    double p(uint32_t r) const { return r == 0 ? cdf_[0] : cdf_[r] - cdf_[r - 1]; }

  private:
    std::vector<double> cdf_;
};

// uid of popularity rank r: a seeded permutation of 1..n.
std::vector<uint32_t> rank_to_uid(uint32_t n, uint64_t seed) {
    std::vector<uint32_t> v(n);
    for (uint32_t i = 0; i < n; i++)
        v[i] = i + 1;
    Rng rng(seed ^ 0x5eed);
    for (uint32_t i = n; i > 1; i--)
        std::swap(v[i - 1], v[rng.below(i)]);
    return v;
}

// Out-degree: log-normal with the given mean, at least 1, at most n - 1.
uint32_t out_degree(Rng &rng, double mean, uint32_t n) {
    const double sigma = 1.1;
    const double mu = std::log(mean) - sigma * sigma / 2;
    double d = std::exp(mu + sigma * rng.normal());
    return uint32_t(std::clamp(d, 1.0, double(n - 1)));
}

// A buffered writer of COPY text.
struct Out {
    std::string buf;
    void flush() {
        fwrite(buf.data(), 1, buf.size(), stdout);
        buf.clear();
    }
    void u(uint64_t x) {
        char tmp[24];
        int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long) x);
        buf.append(tmp, size_t(n));
    }
    void c(char ch) {
        buf.push_back(ch);
        if (buf.size() > (1 << 20))
            flush();
    }
    void s(const char *str) { buf.append(str); }
    ~Out() { flush(); }
};

// The end of the generated period: 2026-11-01 00:00:00 UTC, or the epoch
// seconds in the environment variable DPGEN_END (for data that ends now,
// as a recency bound on rings measured against the clock wants).
int64_t epoch_end() {
    static const int64_t end = [] {
        const char *e = getenv("DPGEN_END");
        return e && *e ? int64_t(strtoll(e, nullptr, 10)) : int64_t(1793491200);
    }();
    return end;
}

void ts(Out &o, int64_t t) {
    time_t tt = time_t(t);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char tmp[40];
    strftime(tmp, sizeof tmp, "%Y-%m-%d %H:%M:%S+00", &tm);
    o.s(tmp);
}

int actors(uint32_t n) {
    Out o;
    for (uint32_t u = 1; u <= n; u++) {
        o.u(u);
        o.s("\tdid:plc:gen");
        o.u(u);
        o.c('\n');
    }
    return 0;
}

// Popularity: Zipf with s = 1 and an offset q that flattens the head so
// that the top account is followed by about 5% of all users, whatever the
// scale: its share of draws, 1 / (q ln(n / q)), times avg draws per user.
Zipf follow_popularity(uint32_t n, double avg) {
    const double top_share = 0.05;
    double q = 100;
    for (int i = 0; i < 20; i++)
        q = avg / (top_share * std::log(n / q));
    return Zipf(n, 1.0, std::max(1.0, q));
}

int follows(uint32_t n, double avg, uint64_t seed) {
    Zipf pop = follow_popularity(n, avg);
    std::vector<uint32_t> uid = rank_to_uid(n, seed);
    Rng rng(seed);
    Out o;
    std::vector<uint32_t> mine;
    for (uint32_t u = 1; u <= n; u++) {
        uint32_t d = out_degree(rng, avg, n);
        mine.clear();
        for (uint32_t tries = 0; mine.size() < d && tries < d * 4; tries++) {
            uint32_t v = uid[pop.draw(rng)];
            if (v != u)
                mine.push_back(v);
        }
        std::sort(mine.begin(), mine.end());
        mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
        for (uint32_t v : mine) {
            o.u(u);
            o.c('\t');
            o.u(v);
            o.c('\n');
        }
    }
    return 0;
}

// A post time over the last `weeks`, denser toward the end; 5% are
// backdated further (imported or late-indexed posts).
int64_t item_time(Rng &rng, double weeks) {
    double span = weeks * 7 * 86400;
    double age = span * std::pow(rng.uniform(), 1.5);
    if (rng.uniform() < 0.05)
        age += span * rng.uniform();
    return epoch_end() - int64_t(age);
}

// The time of post `id`: a function of the seed and the id alone, so that
// reposts can be dated after the post they repost.
int64_t post_time(uint64_t seed, uint64_t id, double weeks) {
    Rng rng(seed * 1000003 + id);
    return item_time(rng, weeks);
}

// Posting activity: Zipf over a permutation independent of popularity.
int posts(uint32_t n, uint64_t count, double weeks, uint64_t seed) {
    Zipf activity(n, 0.9, 5.0);
    std::vector<uint32_t> uid = rank_to_uid(n, seed + 1);
    Rng rng(seed + 2);
    Out o;
    for (uint64_t id = 1; id <= count; id++) {
        o.u(id);
        o.c('\t');
        o.u(uid[activity.draw(rng)]);
        o.c('\t');
        ts(o, post_time(seed, id, weeks));
        o.c('\n');
    }
    return 0;
}

// Reposts: reposters by activity, posts skewed toward a popular few; ids
// continue after the posts'. Duplicate (reposter, post) pairs are skipped.
int reposts(uint32_t n, uint64_t count, uint64_t n_posts, double weeks, uint64_t seed,
            uint64_t first_id) {
    Zipf activity(n, 0.9, 5.0);
    std::vector<uint32_t> uid = rank_to_uid(n, seed + 3);
    Rng rng(seed + 4);
    Out o;
    std::unordered_set<uint64_t> seen;
    uint64_t id = first_id;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t who = uid[activity.draw(rng)];
        // Recent posts are reposted more than old ones (ids grow with
        // load order, not time; popularity is what matters here).
        uint64_t post = 1 + uint64_t(double(n_posts) * std::pow(rng.uniform(), 3.0));
        if (post > n_posts)
            post = n_posts;
        if (!seen.insert(uint64_t(who) << 40 | post).second)
            continue;
        int64_t t0 = post_time(seed, post, weeks);
        int64_t t = t0 + int64_t(double(epoch_end() - t0) * std::pow(rng.uniform(), 2.0));
        o.u(id++);
        o.c('\t');
        o.u(who);
        o.c('\t');
        o.u(post);
        o.c('\t');
        ts(o, t);
        o.c('\n');
    }
    return 0;
}

int usage() {
    fprintf(stderr,
            "usage: dpgen actors USERS\n"
            "       dpgen follows USERS AVG_FOLLOWS SEED\n"
            "       dpgen posts USERS POSTS WEEKS SEED\n"
            "       dpgen reposts USERS REPOSTS POSTS WEEKS SEED FIRST_REPOST_ID\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3)
        return usage();
    std::string cmd = argv[1];
    uint32_t n = uint32_t(strtoul(argv[2], nullptr, 10));
    if (n < 2)
        return usage();
    if (cmd == "actors")
        return actors(n);
    if (cmd == "follows" && argc == 5)
        return follows(n, atof(argv[3]), strtoull(argv[4], nullptr, 10));
    if (cmd == "posts" && argc == 6)
        return posts(n, strtoull(argv[3], nullptr, 10), atof(argv[4]),
                     strtoull(argv[5], nullptr, 10));
    if (cmd == "reposts" && argc == 8)
        return reposts(n, strtoull(argv[3], nullptr, 10), strtoull(argv[4], nullptr, 10),
                       atof(argv[5]), strtoull(argv[6], nullptr, 10),
                       strtoull(argv[7], nullptr, 10));
    return usage();
}
