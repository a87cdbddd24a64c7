// Microbenchmarks of the timeline core: a timeline page read from memory
// (feed ring copy, celebrity merge, repost details), the fan-out of one
// post to 10,000 followers' feed rings at commit, a feed-ring build, and
// ring basics. The world is Bluesky-shaped where it matters: a viewer
// follows 1,000 accounts, 20 of them celebrities (never fanned out, merged
// at read time), a fifth of the items are reposts. Locks are no-ops here
// (one process); in the server each stripe lock is an uncontended LWLock.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "bench_arena.hpp"
#include "commit_apply.hpp"
#include "feed_build.hpp"
#include "ring_ops.hpp"
#include "set_write.hpp"
#include "timeline_read.hpp"

namespace dp::bench {
namespace {

// A single-process index: directory, tables, celebrity set, no-op locks.
struct World {
    BenchArena ba;
    DirTop *top = static_cast<DirTop *>(calloc(1, sizeof(DirTop)));
    Directory dir{ba.arena, top};
    RoaringViews views;
    std::vector<LwwTable> edge_lww = std::vector<LwwTable>(kStripes);
    std::vector<ItemLwwTable> item_lww = std::vector<ItemLwwTable>(kStripes);
    SetRef celebs;
    uint64_t unfollows[2] = {0, 0};
    IndexEnv env;
    std::mt19937_64 rng{7};
    int64_t next_id = 1;

    World() {
        env.arena = &ba.arena;
        env.dir = &dir;
        env.views = &views;
        env.edge_lww = edge_lww.data();
        env.item_lww = item_lww.data();
        env.celebs = &celebs;
        env.unfollows_started = &unfollows[0];
        env.unfollows_finished = &unfollows[1];
        // The BenchArena is the host: one thread, no build, nothing else pending.
    }
    ~World() { free(top); }

    void set(uint32_t uid, Side side, std::vector<uint32_t> v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        DirEntry *e = dir.get(uid);
        WriteStats st;
        if (set_build_base(ba.arena, v.data(), v.size(), &e->set[side].base, &st) != Status::kOk)
            std::abort();
    }
    // `n` items of uid, one every `step` microseconds ending at `end`; a
    // fifth of them reposts of posts by `other`.
    void items(uint32_t uid, size_t n, int64_t end, int64_t step, uint32_t cap, uint32_t other) {
        DirEntry *e = dir.get(uid);
        for (size_t i = 0; i < n; i++) {
            int64_t ts = end - int64_t(n - i) * step - int64_t(rng() % uint64_t(step));
            int64_t id = next_id++;
            AuthorItem it = rng() % 5 == 0 ? AuthorItem{ts, id, id + 1000000000, other, uid}
                                           : AuthorItem{ts, id, id, uid, 0};
            ring_insert(ba.arena, &e->author, it, cap);
        }
    }
};

// Viewers following 1,000 of 50,000 authors (each with 100 items over a
// week), 20 of whom are celebrities (1,000 items each, posting far more
// often). Feed rings (800 items) built for every viewer.
struct TimelineWorld : World {
    static constexpr uint32_t kAuthors = 50000, kFollows = 1000, kCelebs = 20;
    static constexpr int64_t kWeek = 7LL * 86400 * 1000000;
    uint32_t viewers;
    FeedBuildScratch scratch;

    TimelineWorld(uint32_t n_viewers, uint32_t n_celebs) : viewers(n_viewers) {
        env.author_cap = 1000;
        env.feed_cap = 800;
        const int64_t now = 1000LL * kWeek;
        for (uint32_t a = 1; a <= kAuthors; a++)
            items(a, 100, now, kWeek / 100, 1000, 1 + (a * 7) % kAuthors);
        std::vector<uint32_t> cs;
        for (uint32_t c = 0; c < n_celebs; c++) {
            uint32_t uid = kAuthors + 1 + c;
            items(uid, 1000, now, kWeek / 5000, 1000, 1);  // a week holds 5,000: the newest 1,000
            cs.push_back(uid);
        }
        WriteStats st;
        if (!cs.empty() && set_build_base(ba.arena, cs.data(), cs.size(), &celebs.base, &st) != Status::kOk)
            std::abort();
        for (uint32_t v = 0; v < viewers; v++) {
            uint32_t uid = kAuthors + 1000 + v;
            std::vector<uint32_t> out;
            while (out.size() < kFollows - n_celebs)
                out.push_back(1 + uint32_t(rng() % kAuthors));
            for (uint32_t c : cs)
                out.push_back(c);
            set(uid, kOut, out);
            if (build_feed(env, uid, &scratch) != FeedBuild::kBuilt)
                std::abort();
        }
    }
    uint32_t viewer(uint32_t i) const { return kAuthors + 1000 + i % viewers; }
};

// get_timeline(viewer, 50): first page, from memory. Arg 0: celebrities
// merged (0 or 20); arg 1: viewers read round-robin (1: one viewer, hot in
// cache; 2000: a different viewer each time, mostly cold).
void BM_TimelinePage50(benchmark::State &state) {
    uint32_t celebs = uint32_t(state.range(0)), viewers = uint32_t(state.range(1));
    static std::unique_ptr<TimelineWorld> w;
    static std::pair<uint32_t, uint32_t> built{~0u, ~0u};
    if (built != std::make_pair(celebs, viewers)) {
        w.reset();
        w = std::make_unique<TimelineWorld>(viewers, celebs);
        built = {celebs, viewers};
    }
    TimelineReader reader;
    std::vector<AuthorItem> out;
    uint32_t i = 0;
    size_t merged = 0;
    for (auto _ : state) {
        ReadResult r = reader.timeline(w->env, w->viewer(i++), kMaxKey, 50, &out);
        if (r != ReadResult::kOk || out.size() != 50)
            state.SkipWithError("page not from memory");
        merged = reader.last_merged();
        benchmark::DoNotOptimize(out.data());
    }
    state.SetLabel(std::to_string(merged) + " celebrities merged, " + std::to_string(viewers) +
                   (viewers == 1 ? " viewer (hot)" : " viewers (cold)"));
}
BENCHMARK(BM_TimelinePage50)->Args({0, 1})->Args({20, 1})->Args({0, 2000})->Args({20, 2000});

// The third page (cursor = the last item of the second).
void BM_TimelineDeepPage(benchmark::State &state) {
    static std::unique_ptr<TimelineWorld> w = std::make_unique<TimelineWorld>(1, 20);
    TimelineReader reader;
    std::vector<AuthorItem> out;
    ItemKey cursor = kMaxKey;
    for (int p = 0; p < 2; p++) {
        reader.timeline(w->env, w->viewer(0), cursor, 50, &out);
        cursor = out.back().key();
    }
    for (auto _ : state) {
        if (reader.timeline(w->env, w->viewer(0), cursor, 50, &out) != ReadResult::kOk)
            state.SkipWithError("page not from memory");
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_TimelineDeepPage);

// Building a feed ring for a viewer following 1,000 accounts (20 of them
// celebrities, skipped): what a viewer's first read costs.
void BM_FeedBuild1000(benchmark::State &state) {
    static std::unique_ptr<TimelineWorld> w = std::make_unique<TimelineWorld>(1, 20);
    uint32_t v = w->viewer(0);
    DirEntry *e = w->dir.find(v);
    for (auto _ : state) {
        ring_free<FeedItem>(w->ba.arena, &e->feed);
        if (build_feed(w->env, v, &w->scratch) != FeedBuild::kBuilt)
            state.SkipWithError("no ring");
    }
}
BENCHMARK(BM_FeedBuild1000)->Unit(benchmark::kMicrosecond);

// An author with 10,000 followers, every one of whom has a feed ring (the
// worst case: fan-out reaches only rings that exist), rings full (`cap`
// items: each insertion drops the oldest).
struct FanoutWorld : World {
    static constexpr uint32_t kFollowers = 10000, kAuthor = 1;
    std::vector<uint32_t> followers;
    explicit FanoutWorld(uint32_t cap) {
        env.author_cap = 1000;
        env.feed_cap = cap;
        env.fanout_limit = 1000000;
        for (uint32_t f = 0; f < kFollowers; f++)
            followers.push_back(100 + f * 37);  // spread over stripes and leaves
        set(kAuthor, kIn, followers);
        for (uint32_t f : followers) {
            set(f, kOut, {kAuthor});
            DirEntry *e = dir.get(f);
            for (int i = 0; i < int(cap); i++)
                ring_insert(ba.arena, &e->feed, FeedItem{i, 1000000 + i, kAuthor, 0}, cap, 4);
        }
        // In the order fan-out visits them: by stripe.
        std::stable_sort(followers.begin(), followers.end(),
                         [](uint32_t a, uint32_t b) { return stripe_of(a) < stripe_of(b); });
    }
};

FanoutWorld &fanout_world(uint32_t cap) {
    static std::unique_ptr<FanoutWorld> w;
    if (w == nullptr || w->env.feed_cap != cap)
        w = std::make_unique<FanoutWorld>(cap);
    return *w;
}

// The commit of one post by that author: its whole apply.
void BM_FanoutPost10k(benchmark::State &state) {
    FanoutWorld &w = fanout_world(uint32_t(state.range(0)));
    CommitWork work;
    CommitApply apply;
    int64_t ts = 1000;
    for (auto _ : state) {
        state.PauseTiming();
        work.clear();
        work.lsn = uint64_t(ts);
        RawItem raw{AuthorItem{ts, 10000000 + ts, 10000000 + ts, FanoutWorld::kAuthor, 0}, kInsert,
                    kPost};
        work.items = net_item_changes(&raw, 1);
        work.index();
        ts++;
        state.ResumeTiming();
        apply.begin(&work);
        while (apply.step(w.env)) {
        }
    }
    state.counters["rings"] = double(apply.stats().fanout);
    state.SetLabel("one post, 10,000 followers with feed rings of " +
                   std::to_string(state.range(0)) + " items");
}
BENCHMARK(BM_FanoutPost10k)->Arg(800)->Arg(16)->Unit(benchmark::kMicrosecond);

// The floor for the same memory: only each follower's directory lookup and
// ring insertion, in the same order, with the same prefetching. What fan-out
// costs above it is the engine's own.
void BM_FanoutFloor10k(benchmark::State &state) {
    FanoutWorld &w = fanout_world(uint32_t(state.range(0)));
    const std::vector<uint32_t> &f = w.followers;
    const size_t n = f.size();
    std::vector<RingHdr *> h(n);
    int64_t ts = 1LL << 40;
    for (auto _ : state) {
        for (size_t k = 0; k < n + 24; k++) {
            if (k < n)
                w.dir.prefetch(f[k]);
            if (k >= 8 && k - 8 < n) {
                h[k - 8] = w.ba.arena.at<RingHdr>(w.dir.find(f[k - 8])->feed);
                __builtin_prefetch(h[k - 8], 1);
            }
            if (k >= 16 && k - 16 < n)
                FeedRing(h[k - 16]).prefetch_ends();
            if (k >= 24)
                FeedRing(h[k - 24]).insert(FeedItem{ts, ts, FanoutWorld::kAuthor, 0});
        }
        ts++;
    }
    state.SetLabel("directory lookup and ring insertion alone, same rings");
}
BENCHMARK(BM_FanoutFloor10k)->Arg(800)->Unit(benchmark::kMicrosecond);

// Ring basics: a new newest item into a full ring (the common fan-out
// case), an out-of-order item, and copying a 50-item page out.
void BM_RingInsertNewest(benchmark::State &state) {
    BenchArena ba;
    Ref ref = kNoRef;
    int64_t ts = 0;
    for (; ts < 800; ts++)
        ring_insert(ba.arena, &ref, FeedItem{ts, ts, 1, 0}, 800);
    FeedRing r(ba.arena.at<RingHdr>(ref));
    for (auto _ : state) {
        r.insert(FeedItem{ts, ts, 1, 0});
        ts++;
    }
}
BENCHMARK(BM_RingInsertNewest);

void BM_RingInsertPast(benchmark::State &state) {
    BenchArena ba;
    Ref ref = kNoRef;
    int64_t ts = 0;
    for (; ts < 800; ts++)
        ring_insert(ba.arena, &ref, FeedItem{ts * 1000, ts, 1, 0}, 800);
    FeedRing r(ba.arena.at<RingHdr>(ref));
    std::mt19937_64 rng(3);
    for (auto _ : state) {
        // An item from somewhere in the ring's span, then the newest again.
        int64_t k = ts++;
        r.insert(FeedItem{int64_t(rng() % 800) * 1000 + 500 + (k % 499), k, 1, 0});
    }
}
BENCHMARK(BM_RingInsertPast);

void BM_RingCopyPage50(benchmark::State &state) {
    BenchArena ba;
    Ref ref = kNoRef;
    for (int64_t ts = 0; ts < 800; ts++)
        ring_insert(ba.arena, &ref, FeedItem{ts, ts, 1, 0}, 800);
    FeedRing r(ba.arena.at<RingHdr>(ref));
    std::vector<FeedItem> out;
    out.reserve(50);
    for (auto _ : state) {
        out.clear();
        copy_below(r, kMaxKey, 50, &out);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_RingCopyPage50);

// The page merge alone: a 50-item feed copy and 20 celebrity copies.
void BM_MergePage20Authors(benchmark::State &state) {
    std::mt19937_64 rng(11);
    std::vector<FeedItem> feed;
    for (int64_t i = 0; i < 50; i++)
        feed.push_back(FeedItem{i * 100, i, 5, 0});
    std::vector<std::vector<AuthorItem>> rings(20);
    std::vector<Source<AuthorItem>> src;
    int64_t id = 1000;
    for (auto &r : rings) {
        for (int i = 0; i < 50; i++)
            r.push_back(AuthorItem{int64_t(rng() % 5000), id++, id, 9, 0});
        std::sort(r.begin(), r.end(),
                  [](const AuthorItem &a, const AuthorItem &b) { return a.key() < b.key(); });
        src.push_back(Source<AuthorItem>{r.data(), r.size(), kMinKey});
    }
    std::vector<PageItem> out;
    for (auto _ : state) {
        out.clear();
        merge_page(Source<FeedItem>{feed.data(), feed.size(), kMinKey}, src.data(), src.size(),
                   kMaxKey, 50, &out);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_MergePage20Authors);

}  // namespace
}  // namespace dp::bench
