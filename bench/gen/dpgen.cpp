// dpgen: a seeded generator of Bluesky-shaped data for dataplane's tables,
// written as COPY text to stdout.
//
//   dpgen actors      USERS
//   dpgen follows     USERS AVG_FOLLOWS SEED [TOP_SHARE]
//   dpgen posts       USERS POSTS WEEKS SEED [REPLY_SHARE]
//   dpgen reposts     USERS REPOSTS POSTS WEEKS SEED FIRST_REPOST_ID
//   dpgen moderation  TABLE USERS AVG_FOLLOWS SEED
//   dpgen blocks      USERS BLOCKS SEED
//   dpgen lists       USERS LISTS SEED
//   dpgen list_items  USERS LISTS ITEMS SEED
//   dpgen list_blocks USERS LISTS LIST_BLOCKS SEED
//   dpgen mutes       USERS MUTES SEED
//   dpgen list_mutes  USERS LISTS LIST_MUTES SEED
//
// posts: id, author, created_at, reply_root_author, reply_parent_author
// (REPLY_SHARE of posts are replies, 0.35 unless given; a negative share
// writes no reply columns, the 0.1.0 table). moderation: the rows of one
// table of bench/run's moderation data set (see moderation() below), TABLE
// one of actors, follows, blocks, mutes, lists, list_items, list_blocks,
// list_mutes, inactive (uids to mark inactive). blocks ... list_mutes: a
// population's moderation data of the given sizes (bench/scenario).
//
// Item times end at 2026-11-01 UTC, or at DPGEN_END (epoch seconds).
//
// The shape follows what is known of Bluesky's graph: about 58 follows per
// user on average with a long tail (out-degree is log-normal); followers per
// account are Zipf-like over a popularity rank, the largest accounts being
// followed by several percent of all users; activity (posts, reposts) is
// power-law over users. Popular accounts are spread over the uid space by a
// seeded permutation, as uids interned in arrival order would be.
// TOP_SHARE is the share of users who follow the most-followed account
// (0.05 by default, about what Bluesky's largest accounts have).
// Blocks: blockers by activity, the blocked Zipf-like (a few accounts are
// blocked by many). Lists: ids 1..LISTS, seven in ten moderation lists
// (modlist), the rest curate lists; their sizes are Zipf-like over lists
// (a few large ones), members uniform over users; list blocks subscribe
// users to moderation lists, the large ones most.
// With REPLY_SHARE, posts have two more columns, the authors of the
// parent and of the thread's root (post.reply_parent_author,
// reply_root_author): that share of posts are replies (\N \N for the
// others), to active posters, the root the parent's own post in half of
// them. Mutes: muters by activity, the muted Zipf-like (other permutations
// than blocks'); list mutes subscribe users to moderation lists as list
// blocks do.
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
// that the top account is followed by top_share of all users, whatever the
// scale: its share of draws, 1 / (q ln(n / q)), times avg draws per user.
Zipf follow_popularity(uint32_t n, double avg, double top_share = 0.05) {
    double q = 100;
    for (int i = 0; i < 20; i++)
        q = avg / (top_share * std::log(n / q));
    return Zipf(n, 1.0, std::max(1.0, q));
}

int follows(uint32_t n, double avg, uint64_t seed, double top_share) {
    Zipf pop = follow_popularity(n, avg, top_share);
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
// reply_share of posts are replies (their own draws, so that authors and times
// are those of a data set without replies): 15 % of replies continue the
// author's own thread, the others answer an account drawn by follow
// popularity (as the follows' mean of 50 makes it), whose thread it is half
// of the time (else the root is another such account).
// reply_share < 0: no reply columns (the 0.1.0 table).
int posts(uint32_t n, uint64_t count, double weeks, uint64_t seed, double reply_share) {
    Zipf activity(n, 0.9, 5.0);
    std::vector<uint32_t> uid = rank_to_uid(n, seed + 1);
    Zipf pop = follow_popularity(n, 50);
    std::vector<uint32_t> pop_uid = rank_to_uid(n, seed);
    Rng rng(seed + 2);
    Rng rr(seed + 5);
    Out o;
    for (uint64_t id = 1; id <= count; id++) {
        uint32_t author = uid[activity.draw(rng)];
        o.u(id);
        o.c('\t');
        o.u(author);
        o.c('\t');
        ts(o, post_time(seed, id, weeks));
        if (reply_share < 0) {
            // no reply columns
        } else if (rr.uniform() < reply_share) {
            uint32_t parent, root;
            if (rr.uniform() < 0.15) {
                parent = author;
                root = rr.uniform() < 0.7 ? author : pop_uid[pop.draw(rr)];
            } else {
                parent = pop_uid[pop.draw(rr)];
                root = rr.uniform() < 0.5 ? parent : pop_uid[pop.draw(rr)];
            }
            o.c('\t');
            o.u(root);
            o.c('\t');
            o.u(parent);
        } else {
            o.s("\t\\N\t\\N");
        }
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

// ------------------------------------------------------------ moderation
//
// Moderated viewers, as issue 17 describes them: each follows 1,000
// accounts (drawn by popularity, as follows are), blocks 50 and mutes 50
// of them, is blocked by 5 of them, and subscribes to two moderation lists
// of 10,000 and 100,000 members, list-blocking one and list-muting the
// other (viewers alternate which). 20 of each viewer's followees are on
// each list, and 5 are inactive, so that the filters remove items from
// their timelines. The lists' other members: real users (1 % and 5 % of
// them, at most 1,000 and 5,000) and accounts that exist only to be listed
// (spam accounts: no follows, no posts). Around them, the general
// population: 30 % of users block about 5 accounts each and 20 % mute
// about 3 (drawn by popularity), 2 % and 1 % list-block the 10,000 and the
// 100,000 list, 1 % and 0.5 % list-mute them, and 0.5 % of users are
// inactive.
//
// Real users on a list have even uids, so that writes that add and remove
// odd uids (bench/run's list-item workload) never remove a member.
//
// Extra actors, after the USERS users: kListed listed-only accounts, then
// kModViewers viewers, then the lists' owner.
constexpr uint32_t kListed = 100000;
constexpr uint32_t kModViewers = 8;
constexpr uint32_t kModFollows = 1000;
constexpr uint32_t kListSmall = 10000, kListBig = 100000;  // list ids 1 and 2

struct ModData {
    std::vector<std::vector<uint32_t>> follows;  // per viewer, shuffled
    std::vector<uint32_t> small, big;            // list members, sorted
    std::vector<uint32_t> inactive;              // sorted
};

uint32_t viewer_uid(uint32_t n, uint32_t k) { return n + kListed + 1 + k; }
uint32_t owner_uid(uint32_t n) { return n + kListed + kModViewers + 1; }

// Roles of a viewer's followees, by position in its shuffled follows.
constexpr uint32_t kBlocked = 0, kMuted = 50, kBlocksViewer = 100, kInactiveAt = 105,
                   kListedAt = 110, kListedEach = 20;

ModData mod_data(uint32_t n, double avg, uint64_t seed) {
    ModData d;
    Zipf pop = follow_popularity(n, avg);
    std::vector<uint32_t> uid = rank_to_uid(n, seed);
    std::unordered_set<uint32_t> small, big;
    for (uint32_t k = 0; k < kModViewers; k++) {
        Rng rng(seed * 31 + 7 + k);
        std::unordered_set<uint32_t> seen;
        std::vector<uint32_t> f;
        while (f.size() < kModFollows) {
            uint32_t v = uid[pop.draw(rng)];
            if (seen.insert(v).second)
                f.push_back(v);
        }
        // f is in draw order, popular accounts first: shuffle the roles.
        for (uint32_t i = uint32_t(f.size()); i > 1; i--)
            std::swap(f[i - 1], f[rng.below(i)]);
        uint32_t ns = 0, nb = 0;
        for (uint32_t i = kListedAt; i < f.size() && (ns < kListedEach || nb < kListedEach); i++) {
            if (f[i] % 2 != 0)
                continue;
            if (ns < kListedEach && small.insert(f[i]).second)
                ns++;
            else if (nb < kListedEach && big.insert(f[i]).second)
                nb++;
        }
        for (uint32_t i = kInactiveAt; i < kListedAt; i++)
            d.inactive.push_back(f[i]);
        d.follows.push_back(std::move(f));
    }
    Rng rng(seed * 31 + 3);
    auto fill = [&](std::unordered_set<uint32_t> &set, uint32_t real, uint32_t size) {
        for (uint32_t tries = 0; set.size() < real && tries < real * 20; tries++)
            set.insert(2 + 2 * uint32_t(rng.below(n / 2)));
        for (uint32_t tries = 0; set.size() < size && tries < size * 20; tries++)
            set.insert(n + 1 + uint32_t(rng.below(kListed)));
    };
    fill(small, std::min<uint32_t>(n / 100, 1000), kListSmall);
    fill(big, std::min<uint32_t>(n / 20, 5000), kListBig);
    d.small.assign(small.begin(), small.end());
    d.big.assign(big.begin(), big.end());
    std::sort(d.small.begin(), d.small.end());
    std::sort(d.big.begin(), d.big.end());
    for (uint32_t u = 1; u <= n; u++)
        if (rng.uniform() < 0.005)
            d.inactive.push_back(u);
    std::sort(d.inactive.begin(), d.inactive.end());
    d.inactive.erase(std::unique(d.inactive.begin(), d.inactive.end()), d.inactive.end());
    return d;
}

void pair(Out &o, uint64_t a, uint64_t b) {
    o.u(a);
    o.c('\t');
    o.u(b);
    o.c('\n');
}

// The general population's edges of one relation: a share of users with
// about `mean` targets each, drawn by popularity, without self-edges.
void population_edges(Out &o, uint32_t n, double avg, uint64_t seed, double share, double mean) {
    Zipf pop = follow_popularity(n, avg);
    std::vector<uint32_t> uid = rank_to_uid(n, seed);
    Rng rng(seed);
    std::vector<uint32_t> mine;
    for (uint32_t u = 1; u <= n; u++) {
        if (rng.uniform() >= share)
            continue;
        uint32_t d = out_degree(rng, mean, n);
        mine.clear();
        for (uint32_t i = 0; i < d; i++) {
            uint32_t v = uid[pop.draw(rng)];
            if (v != u)
                mine.push_back(v);
        }
        std::sort(mine.begin(), mine.end());
        mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
        for (uint32_t v : mine)
            pair(o, u, v);
    }
}

// Subscribers among the users: (uid, list id) for a share of them.
void population_subs(Out &o, uint32_t n, uint64_t seed, double share_small, double share_big) {
    Rng rng(seed);
    for (uint32_t u = 1; u <= n; u++) {
        if (rng.uniform() < share_small)
            pair(o, u, 1);
        if (rng.uniform() < share_big)
            pair(o, u, 2);
    }
}

int moderation(const std::string &table, uint32_t n, double avg, uint64_t seed) {
    ModData d = mod_data(n, avg, seed);
    Out o;
    if (table == "actors") {
        for (uint32_t i = 1; i <= kListed; i++) {
            o.u(n + i);
            o.s("\tdid:plc:listed");
            o.u(i);
            o.c('\n');
        }
        for (uint32_t k = 0; k < kModViewers; k++) {
            o.u(viewer_uid(n, k));
            o.s("\tdid:plc:modviewer");
            o.u(k + 1);
            o.c('\n');
        }
        o.u(owner_uid(n));
        o.s("\tdid:plc:modservice\n");
    } else if (table == "follows") {
        for (uint32_t k = 0; k < kModViewers; k++)
            for (uint32_t f : d.follows[k])
                pair(o, viewer_uid(n, k), f);
    } else if (table == "blocks") {
        population_edges(o, n, avg, seed + 11, 0.30, 5);
        for (uint32_t k = 0; k < kModViewers; k++) {
            for (uint32_t i = kBlocked; i < kMuted; i++)
                pair(o, viewer_uid(n, k), d.follows[k][i]);
            for (uint32_t i = kBlocksViewer; i < kInactiveAt; i++)
                pair(o, d.follows[k][i], viewer_uid(n, k));
        }
    } else if (table == "mutes") {
        population_edges(o, n, avg, seed + 12, 0.20, 3);
        for (uint32_t k = 0; k < kModViewers; k++)
            for (uint32_t i = kMuted; i < kBlocksViewer; i++)
                pair(o, viewer_uid(n, k), d.follows[k][i]);
    } else if (table == "lists") {
        o.s("1\t");
        o.u(owner_uid(n));
        o.s("\tmodlist-10k\tmodlist\n2\t");
        o.u(owner_uid(n));
        o.s("\tmodlist-100k\tmodlist\n");
    } else if (table == "list_items") {
        for (uint32_t s : d.small)
            pair(o, 1, s);
        for (uint32_t s : d.big)
            pair(o, 2, s);
    } else if (table == "list_blocks") {
        population_subs(o, n, seed + 13, 0.02, 0.01);
        for (uint32_t k = 0; k < kModViewers; k++)
            pair(o, viewer_uid(n, k), k % 2 == 0 ? 1 : 2);
    } else if (table == "list_mutes") {
        population_subs(o, n, seed + 14, 0.01, 0.005);
        for (uint32_t k = 0; k < kModViewers; k++)
            pair(o, viewer_uid(n, k), k % 2 == 0 ? 2 : 1);
    } else if (table == "inactive") {
        for (uint32_t u : d.inactive) {
            o.u(u);
            o.c('\n');
        }
    } else {
        return 2;
    }
    return 0;
}

// Distinct (a, b) pairs, `count` of them at most (draws that repeat a
// pair are skipped, and a == b when a and b are both users), written as
// COPY text.
template <class DrawA, class DrawB>
void pairs(uint64_t count, DrawA draw_a, DrawB draw_b, bool same_space = true) {
    Out o;
    std::unordered_set<uint64_t> seen;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t a = draw_a(), b = draw_b();
        if ((same_space && a == b) || !seen.insert(a << 32 | b).second)
            continue;
        o.u(a);
        o.c('\t');
        o.u(b);
        o.c('\n');
    }
}

int blocks(uint32_t n, uint64_t count, uint64_t seed) {
    Zipf activity(n, 0.9, 5.0), blocked(n, 0.8, 10.0);
    std::vector<uint32_t> who = rank_to_uid(n, seed + 5), whom = rank_to_uid(n, seed + 6);
    Rng rng(seed + 7);
    pairs(count, [&] { return who[activity.draw(rng)]; }, [&] { return whom[blocked.draw(rng)]; });
    return 0;
}

bool is_modlist(uint64_t id) { return id % 10 < 7; }

int lists(uint32_t n, uint64_t count, uint64_t seed) {
    Zipf activity(n, 0.9, 5.0);
    std::vector<uint32_t> uid = rank_to_uid(n, seed + 8);
    Rng rng(seed + 9);
    Out o;
    for (uint64_t id = 1; id <= count; id++) {
        o.u(id);
        o.c('\t');
        o.u(uid[activity.draw(rng)]);
        o.s("\tlist");
        o.u(id);
        o.s(is_modlist(id) ? "\tmodlist\n" : "\tcuratelist\n");
    }
    return 0;
}

// (list id, member): list sizes Zipf-like over a permutation of the lists.
int list_items(uint32_t n, uint32_t n_lists, uint64_t count, uint64_t seed) {
    Zipf size(n_lists, 1.0, 2.0);
    std::vector<uint32_t> list = rank_to_uid(n_lists, seed + 10);
    Rng rng(seed + 11);
    pairs(
        count, [&] { return list[size.draw(rng)]; }, [&] { return 1 + rng.below(n); }, false);
    return 0;
}

// (user, moderation list): the large moderation lists draw most subscribers;
// salt tells list blocks (12) from list mutes (17).
int list_subscriptions(uint32_t n, uint32_t n_lists, uint64_t count, uint64_t seed,
                       uint64_t salt) {
    std::vector<uint32_t> mod;
    for (uint32_t id : rank_to_uid(n_lists, seed + 10))
        if (is_modlist(id))
            mod.push_back(id);
    if (mod.empty())
        return 0;
    Zipf pick(uint32_t(mod.size()), 1.0, 2.0);
    Rng rng(seed + salt);
    pairs(
        count, [&] { return 1 + rng.below(n); }, [&] { return mod[pick.draw(rng)]; }, false);
    return 0;
}

int mutes(uint32_t n, uint64_t count, uint64_t seed) {
    Zipf activity(n, 0.9, 5.0), muted(n, 0.8, 10.0);
    std::vector<uint32_t> who = rank_to_uid(n, seed + 14), whom = rank_to_uid(n, seed + 15);
    Rng rng(seed + 16);
    pairs(count, [&] { return who[activity.draw(rng)]; }, [&] { return whom[muted.draw(rng)]; });
    return 0;
}

int usage() {
    fprintf(stderr,
            "usage: dpgen actors USERS\n"
            "       dpgen follows USERS AVG_FOLLOWS SEED [TOP_SHARE]\n"
            "       dpgen posts USERS POSTS WEEKS SEED [REPLY_SHARE]\n"
            "       dpgen reposts USERS REPOSTS POSTS WEEKS SEED FIRST_REPOST_ID\n"
            "       dpgen moderation TABLE USERS AVG_FOLLOWS SEED\n"
            "       dpgen blocks USERS BLOCKS SEED\n"
            "       dpgen lists USERS LISTS SEED\n"
            "       dpgen list_items USERS LISTS ITEMS SEED\n"
            "       dpgen list_blocks USERS LISTS LIST_BLOCKS SEED\n"
            "       dpgen mutes USERS MUTES SEED\n"
            "       dpgen list_mutes USERS LISTS LIST_MUTES SEED\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3)
        return usage();
    if (std::string(argv[1]) == "moderation") {
        uint32_t users = argc == 6 ? uint32_t(strtoul(argv[3], nullptr, 10)) : 0;
        if (users < 2 || moderation(argv[2], users, atof(argv[4]), strtoull(argv[5], nullptr, 10)))
            return usage();
        return 0;
    }
    std::string cmd = argv[1];
    uint32_t n = uint32_t(strtoul(argv[2], nullptr, 10));
    if (n < 2)
        return usage();
    if (cmd == "actors")
        return actors(n);
    if (cmd == "follows" && (argc == 5 || argc == 6)) {
        double top_share = argc == 6 ? atof(argv[5]) : 0.05;
        if (!(top_share > 0 && top_share < 1))
            return usage();
        return follows(n, atof(argv[3]), strtoull(argv[4], nullptr, 10), top_share);
    }
    if (cmd == "posts" && (argc == 6 || argc == 7)) {
        double reply_share = argc == 7 ? atof(argv[6]) : 0.35;
        if (!(reply_share <= 1))
            return usage();
        return posts(n, strtoull(argv[3], nullptr, 10), atof(argv[4]),
                     strtoull(argv[5], nullptr, 10), reply_share);
    }
    if (cmd == "reposts" && argc == 8)
        return reposts(n, strtoull(argv[3], nullptr, 10), strtoull(argv[4], nullptr, 10),
                       atof(argv[5]), strtoull(argv[6], nullptr, 10),
                       strtoull(argv[7], nullptr, 10));
    auto arg = [&](int i) { return strtoull(argv[i], nullptr, 10); };
    if (cmd == "blocks" && argc == 5)
        return blocks(n, arg(3), arg(4));
    if (cmd == "lists" && argc == 5)
        return lists(n, arg(3), arg(4));
    if (cmd == "list_items" && argc == 6 && arg(3) > 0)
        return list_items(n, uint32_t(arg(3)), arg(4), arg(5));
    if (cmd == "list_blocks" && argc == 6 && arg(3) > 0)
        return list_subscriptions(n, uint32_t(arg(3)), arg(4), arg(5), 12);
    if (cmd == "mutes" && argc == 5)
        return mutes(n, arg(3), arg(4));
    if (cmd == "list_mutes" && argc == 6 && arg(3) > 0)
        return list_subscriptions(n, uint32_t(arg(3)), arg(4), arg(5), 17);
    return usage();
}
