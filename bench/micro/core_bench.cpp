// Microbenchmarks of the core: membership, single adds and removes through
// set_apply (amortized over many, compactions included), intersections
// (social proof), paging with `after`, a page's accounts asked of a set,
// building a base, netting a bulk load.
// Random data with fixed seeds. Time is per operation unless the name says
// otherwise; `ns_per_item` is given where one call handles many uids.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "bench_arena.hpp"
#include "directory.hpp"
#include "edge_batch.hpp"
#include "graph_read.hpp"
#include "set_read.hpp"
#include "set_write.hpp"

namespace dp::bench {
namespace {

using Vec = std::vector<uint32_t>;

constexpr uint32_t k40M = 40000000;
constexpr uint32_t k1M = 1000000;
constexpr uint32_t k1MSpace = 1u << 20;  // 1,048,576 uids

// n distinct uids in [1, space], sorted.
Vec random_uids(std::mt19937_64 &rng, size_t n, uint32_t space) {
    Vec v;
    if (n * 4 > space) {
        v.resize(space);
        std::iota(v.begin(), v.end(), 1u);
        for (size_t i = 0; i < n; i++)
            std::swap(v[i], v[i + rng() % (space - i)]);
        v.resize(n);
    } else {
        while (v.size() < n) {
            while (v.size() < n + n / 16 + 16)
                v.push_back(1 + uint32_t(rng() % space));
            std::sort(v.begin(), v.end());
            v.erase(std::unique(v.begin(), v.end()), v.end());
        }
        std::shuffle(v.begin(), v.end(), rng);
        v.resize(n);
    }
    std::sort(v.begin(), v.end());
    return v;
}

// uids in [1, space] not in the sorted `in`, in random order.
Vec absent_uids(std::mt19937_64 &rng, const Vec &in, size_t n, uint32_t space) {
    Vec out;
    while (out.size() < n) {
        uint32_t x = 1 + uint32_t(rng() % space);
        if (!std::binary_search(in.begin(), in.end(), x))
            out.push_back(x);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    std::shuffle(out.begin(), out.end(), rng);
    return out;
}

SetRef build(const Arena &arena, const Vec &v) {
    SetRef r;
    WriteStats st;
    if (set_build_base(arena, v.data(), v.size(), &r.base, &st) != Status::kOk)
        std::abort();
    return r;
}

// Probe values: half members, half random uids of the space.
Vec probes_for(std::mt19937_64 &rng, const Vec &members, uint32_t space) {
    Vec p(4096);
    for (size_t i = 0; i < p.size(); i++)
        p[i] = i % 2 ? members[rng() % members.size()] : 1 + uint32_t(rng() % space);
    std::shuffle(p.begin(), p.end(), rng);
    return p;
}

// The shared data, built once.
struct Data {
    BenchArena ba;
    RoaringViews views;
    std::unique_ptr<DirTop, void (*)(void *)> top{
        static_cast<DirTop *>(std::calloc(1, sizeof(DirTop))), &std::free};
    Directory dir{ba.arena, top.get()};
    std::mt19937_64 rng{20240601};

    struct Shape {
        Vec v;
        uint32_t space;
        SetRef ref;
        Vec probes;
    };
    Shape small, medium, large, dense;

    void make(Shape *s, size_t n, uint32_t space) {
        s->v = random_uids(rng, n, space);
        s->space = space;
        s->ref = build(ba.arena, s->v);
        s->probes = probes_for(rng, s->v, space);
    }

    Data() {
        make(&small, 50, k40M);
        make(&medium, 5000, k40M);
        make(&large, k1M, k40M);
        make(&dense, k1M, k1MSpace);
    }
    static Data &get() {
        static Data d;
        return d;
    }
};

Data::Shape &shape(int which) {
    Data &d = Data::get();
    switch (which) {
        case 0: return d.small;
        case 1: return d.medium;
        case 2: return d.large;
        default: return d.dense;
    }
}

const char *shape_name(int which) {
    static const char *names[] = {"small50_in40M", "medium5k_in40M", "large1M_in40M",
                                  "dense1M_in1M"};
    return names[which];
}

// ---------------------------------------------------------------- contains

void BM_Contains(benchmark::State &state) {
    Data &d = Data::get();
    Data::Shape &s = shape(int(state.range(0)));
    SetView v(d.ba.arena, s.ref, &d.views);
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(v.contains(s.probes[i++ & 4095]));
    }
    state.SetLabel(shape_name(int(state.range(0))));
}
BENCHMARK(BM_Contains)->DenseRange(0, 3);

// Through the directory and the view cache, as follows(a, b) does.
void BM_GraphContains(benchmark::State &state) {
    Data &d = Data::get();
    Data::Shape &s = shape(int(state.range(0)));
    const uint32_t owner = 777777 + uint32_t(state.range(0));
    d.dir.get(owner)->set[kIn] = s.ref;
    GraphReader rd(d.ba.arena, d.dir, &d.views);
    size_t i = 0;
    bool b;
    for (auto _ : state) {
        rd.contains(owner, kIn, s.probes[i++ & 4095], &b);
        benchmark::DoNotOptimize(b);
    }
    d.dir.find(owner)->set[kIn] = SetRef{};
    state.SetLabel(shape_name(int(state.range(0))));
}
BENCHMARK(BM_GraphContains)->DenseRange(0, 3);

// ------------------------------------------------------- add and remove

// Single adds (or removes) on copies of a small set (50 uids over 40M), one
// op per iteration, cycling through the copies as commits of different
// users do: 4096 copies (about 1 MB, mostly out of L1/L2) or 64 (hot).
// Every copy stays at most kCowMax: each op rewrites the set.
void small_ops(benchmark::State &state, bool add) {
    BenchArena ba;
    RoaringViews views;
    std::mt19937_64 rng(add ? 1 : 2);
    const size_t copies = size_t(state.range(0)), per_copy = add ? 64 : 48;
    std::vector<SetRef> sets(copies);
    std::vector<Vec> ops(copies);
    auto reset = [&]() {
        for (size_t c = 0; c < copies; c++) {
            WriteStats st;
            set_free(ba.arena, &sets[c], &st);
            Vec v = random_uids(rng, 50, k40M);
            sets[c] = build(ba.arena, v);
            if (add) {
                ops[c] = absent_uids(rng, v, per_copy, k40M);
            } else {
                ops[c] = v;
                std::shuffle(ops[c].begin(), ops[c].end(), rng);
            }
        }
    };
    reset();
    size_t i = 0, round = 0;
    uint64_t ok = 0;
    for (auto _ : state) {
        size_t c = i % copies;
        uint32_t x = ops[c][round];
        WriteStats st;
        Status s = add ? set_apply(ba.arena, &sets[c], &x, 1, nullptr, 0, &views, &st)
                       : set_apply(ba.arena, &sets[c], nullptr, 0, &x, 1, &views, &st);
        ok += s == Status::kOk;
        if (++i % copies == 0 && ++round == per_copy) {
            state.PauseTiming();
            reset();
            round = 0;
            state.ResumeTiming();
        }
    }
    if (ok != uint64_t(state.iterations()))
        state.SkipWithError("set_apply failed");
}
void BM_AddSmall(benchmark::State &state) { small_ops(state, true); }
void BM_RemoveSmall(benchmark::State &state) { small_ops(state, false); }
BENCHMARK(BM_AddSmall)->Arg(4096)->Arg(64);
BENCHMARK(BM_RemoveSmall)->Arg(4096)->Arg(64);

// Single adds (or removes) on one large set: they go to the delta, and
// every delta_cap-th one compacts the set into a new base.
void large_ops(benchmark::State &state, bool add, bool dense) {
    BenchArena ba;
    RoaringViews views;
    std::mt19937_64 rng(dense ? 3 : 4);
    uint32_t space = dense ? k1MSpace : k40M;
    Vec v = random_uids(rng, dense ? 900000 : k1M, space);
    SetRef ref = build(ba.arena, v);
    Vec pool;
    if (add) {
        pool = absent_uids(rng, v, 100000, space);
    } else {
        pool = v;
        std::shuffle(pool.begin(), pool.end(), rng);
        pool.resize(300000);
    }
    size_t i = 0;
    uint64_t compactions = 0;
    for (auto _ : state) {
        if (i == pool.size()) {
            state.PauseTiming();
            WriteStats st;
            set_free(ba.arena, &ref, &st);
            ref = build(ba.arena, v);
            i = 0;
            state.ResumeTiming();
        }
        uint32_t x = pool[i++];
        WriteStats st;
        Status s = add ? set_apply(ba.arena, &ref, &x, 1, nullptr, 0, &views, &st)
                       : set_apply(ba.arena, &ref, nullptr, 0, &x, 1, &views, &st);
        compactions += st.compactions;
        if (s != Status::kOk) {
            state.SkipWithError("set_apply failed");
            break;
        }
    }
    state.counters["compactions"] =
        benchmark::Counter(double(compactions), benchmark::Counter::kAvgIterations);
}
void BM_AddLarge1M_in40M(benchmark::State &state) { large_ops(state, true, false); }
void BM_RemoveLarge1M_in40M(benchmark::State &state) { large_ops(state, false, false); }
void BM_AddDense900k_in1M(benchmark::State &state) { large_ops(state, true, true); }
void BM_RemoveDense900k_in1M(benchmark::State &state) { large_ops(state, false, true); }
BENCHMARK(BM_AddLarge1M_in40M);
BENCHMARK(BM_RemoveLarge1M_in40M);
BENCHMARK(BM_AddDense900k_in1M);
BENCHMARK(BM_RemoveDense900k_in1M);

// One compaction: a 1M set whose delta is full takes one more add, and is
// rewritten into a new base (under the stripe lock, in the server).
void BM_Compaction1M(benchmark::State &state) {
    BenchArena ba;
    RoaringViews views;
    std::mt19937_64 rng(5);
    uint32_t space = state.range(0) ? k40M : k1MSpace;
    Vec v = random_uids(rng, state.range(0) ? k1M : 900000, space);
    Vec pool = absent_uids(rng, v, 300, space);
    for (auto _ : state) {
        state.PauseTiming();
        SetRef ref = build(ba.arena, v);
        uint32_t cap = delta_cap_for(uint32_t(v.size()));
        for (uint32_t i = 0; i < cap; i++) {
            WriteStats st;
            set_apply(ba.arena, &ref, &pool[i], 1, nullptr, 0, &views, &st);
        }
        uint32_t x = pool[cap];
        state.ResumeTiming();
        WriteStats st;
        set_apply(ba.arena, &ref, &x, 1, nullptr, 0, &views, &st);
        state.PauseTiming();
        if (st.compactions != 1)
            state.SkipWithError("no compaction");
        set_free(ba.arena, &ref, &st);
        state.ResumeTiming();
    }
    state.SetLabel(state.range(0) ? "1M in 40M" : "900k in 1M");
}
BENCHMARK(BM_Compaction1M)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// --------------------------------------------------------- social proof

// A viewer following 500 accounts and a target with 1M followers, in a 40M
// or a 1M uid space; optionally with a half-full delta on the target.
struct Proof {
    BenchArena ba;
    RoaringViews views;
    std::unique_ptr<DirTop, void (*)(void *)> top{
        static_cast<DirTop *>(std::calloc(1, sizeof(DirTop))), &std::free};
    Directory dir{ba.arena, top.get()};
    static constexpr uint32_t kViewer = 123456, kTarget = 654321, kTarget2 = 654322;

    Proof(uint32_t space, size_t viewer_n, size_t target_n, bool delta, bool large_viewer) {
        std::mt19937_64 rng(space + viewer_n + delta);
        Vec follows = random_uids(rng, viewer_n, space);
        Vec followers = random_uids(rng, target_n, space);
        // Most followees of the viewer should be real accounts with a few
        // followers in common with the target: the random overlap is
        // viewer_n * target_n / space (12 in 40M, 476 in 1M).
        dir.get(kViewer)->set[kOut] = build(ba.arena, follows);
        dir.get(kTarget)->set[kIn] = build(ba.arena, followers);
        if (large_viewer)
            dir.get(kTarget2)->set[kIn] = build(ba.arena, random_uids(rng, target_n, space));
        if (delta) {
            SetRef *r = &dir.find(kTarget)->set[kIn];
            Vec add = absent_uids(rng, followers, 64, space);
            Vec del(followers.begin(), followers.begin() + 64);
            for (size_t i = 0; i < 64; i++) {
                WriteStats st;
                set_apply(ba.arena, r, &add[i], 1, &del[i], 1, &views, &st);
            }
        }
    }
};

void BM_ProofCount(benchmark::State &state) {
    uint32_t space = state.range(0) ? k40M : k1MSpace;
    bool delta = state.range(1) != 0;
    Proof p(space, 500, k1M, delta, false);
    GraphReader rd(p.ba.arena, p.dir, &p.views);
    uint64_t n = 0;
    for (auto _ : state) {
        rd.proof_count(Proof::kViewer, Proof::kTarget, &n);
        benchmark::DoNotOptimize(n);
    }
    state.counters["common"] = double(n);
    state.SetLabel(std::string("500 x 1M in ") + (space == k40M ? "40M" : "1M") +
                   (delta ? ", target with delta" : ""));
}
BENCHMARK(BM_ProofCount)->Args({1, 0})->Args({1, 1})->Args({0, 0})->Args({0, 1});

// The shape of bench/run medium: a viewer following 50 accounts against a
// top-10 account (4,500 followers of 100,000 users, a Packed16 base), a
// different viewer of 64 on each call.
void BM_ProofCountTop10Medium(benchmark::State &state) {
    constexpr uint32_t kSpace = 100000;
    Proof p(kSpace, 50, 4500, false, false);
    std::mt19937_64 rng(17);
    std::vector<uint32_t> viewers;
    for (uint32_t i = 0; i < 64; i++) {
        viewers.push_back(200000 + i);
        p.dir.get(200000 + i)->set[kOut] = build(p.ba.arena, random_uids(rng, 50, kSpace));
    }
    GraphReader rd(p.ba.arena, p.dir, &p.views);
    uint64_t n = 0;
    size_t i = 0;
    for (auto _ : state) {
        rd.proof_count(viewers[i++ & 63], Proof::kTarget, &n);
        benchmark::DoNotOptimize(n);
    }
    state.SetLabel("50 x 4500 in 100k (Packed16)");
}
BENCHMARK(BM_ProofCountTop10Medium);

void BM_ProofList10(benchmark::State &state) {
    uint32_t space = state.range(0) ? k40M : k1MSpace;
    Proof p(space, 500, k1M, true, false);
    GraphReader rd(p.ba.arena, p.dir, &p.views);
    uint32_t out[10];
    size_t n = 0;
    for (auto _ : state) {
        rd.proof_list(Proof::kViewer, Proof::kTarget, 10, out, &n);
        benchmark::DoNotOptimize(out);
    }
    state.SetLabel(std::string("500 x 1M in ") + (space == k40M ? "40M" : "1M") +
                   ", target with delta");
}
BENCHMARK(BM_ProofList10)->Arg(1)->Arg(0);

// intersect_count of the bare views (no directory, no view cache lookups).
void BM_IntersectCount500x1M_in40M(benchmark::State &state) {
    Proof p(k40M, 500, k1M, false, false);
    SetView a(p.ba.arena, p.dir.find(Proof::kViewer)->set[kOut], &p.views);
    SetView b(p.ba.arena, p.dir.find(Proof::kTarget)->set[kIn], &p.views);
    for (auto _ : state)
        benchmark::DoNotOptimize(intersect_count(a, b));
}
BENCHMARK(BM_IntersectCount500x1M_in40M);

// For comparison: CRoaring's own roaring_bitmap_and_cardinality of a
// 500-uid bitmap (built beforehand) with the 1M view (DESIGN.md measured
// about 6.5 us).
void BM_CRoaringAndCard500x1M(benchmark::State &state) {
    uint32_t space = state.range(0) ? k40M : k1MSpace;
    Proof p(space, 500, k1M, false, false);
    SetView a(p.ba.arena, p.dir.find(Proof::kViewer)->set[kOut], &p.views);
    SetView b(p.ba.arena, p.dir.find(Proof::kTarget)->set[kIn], &p.views);
    Vec small;
    a.for_each([&](uint32_t x) {
        small.push_back(x);
        return true;
    });
    roaring_bitmap_t *bm = roaring_bitmap_of_ptr(small.size(), small.data());
    for (auto _ : state)
        benchmark::DoNotOptimize(roaring_bitmap_and_cardinality(bm, b.view()));
    roaring_bitmap_free(bm);
    state.SetLabel(space == k40M ? "reference, 40M" : "reference, 1M");
}
BENCHMARK(BM_CRoaringAndCard500x1M)->Arg(1)->Arg(0);

// Two sets of 1M: CRoaring intersects the bases.
void BM_IntersectLarge(benchmark::State &state) {
    uint32_t space = state.range(0) ? k40M : k1MSpace;
    Proof p(space, 1, k1M, false, true);
    SetView a(p.ba.arena, p.dir.find(Proof::kTarget)->set[kIn], &p.views);
    SetView b(p.ba.arena, p.dir.find(Proof::kTarget2)->set[kIn], &p.views);
    bool list = state.range(1) != 0;
    uint32_t out[50];
    for (auto _ : state) {
        if (list)
            benchmark::DoNotOptimize(intersect_list(a, b, 0, 50, out));
        else
            benchmark::DoNotOptimize(intersect_count(a, b));
    }
    state.SetLabel(std::string(list ? "list 50 of " : "count of ") + "1M x 1M in " +
                   (space == k40M ? "40M" : "1M"));
}
BENCHMARK(BM_IntersectLarge)->Args({1, 0})->Args({0, 0})->Args({1, 1})->Args({0, 1});

// ----------------------------------------------------------------- list

// A page of 50 from a large set after a random uid (a member, as a cursor
// from the previous page is).
void BM_List50After(benchmark::State &state) {
    Data &d = Data::get();
    Data::Shape &s = shape(int(state.range(0)));
    SetView v(d.ba.arena, s.ref, &d.views);
    uint32_t out[50];
    size_t i = 0;
    for (auto _ : state) {
        uint32_t after = s.v[(i++ * 7919) % s.v.size()];
        benchmark::DoNotOptimize(v.list(after, 50, out));
    }
    state.SetLabel(shape_name(int(state.range(0))));
}
BENCHMARK(BM_List50After)->Arg(1)->Arg(2)->Arg(3);

// ------------------------------------------------------ a page's accounts

// 128 ascending uids (about a moderated page's accounts; half of them
// members) asked of one set, as the moderation reader asks a list's
// members or the viewer's follows: one probe at a time (SetProbe, second
// argument 0) or in one batch (SetView::members, 1).
void BM_PageProbes128(benchmark::State &state) {
    Data &d = Data::get();
    Data::Shape &s = shape(int(state.range(0)));
    SetView v(d.ba.arena, s.ref, &d.views);
    Vec xs(s.probes.begin(), s.probes.begin() + 128);
    std::sort(xs.begin(), xs.end());
    std::vector<uint8_t> in(xs.size());
    const bool batch = state.range(1) != 0;
    for (auto _ : state) {
        if (batch) {
            v.members(xs.data(), xs.size(), in.data());
        } else {
            SetProbe p(v);
            for (size_t i = 0; i < xs.size(); i++)
                in[i] = p.contains(xs[i]);
        }
        benchmark::DoNotOptimize(in.data());
        benchmark::ClobberMemory();
    }
    state.counters["ns_per_item"] = benchmark::Counter(
        double(xs.size()), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    state.SetLabel(std::string(shape_name(int(state.range(0)))) + (batch ? ", batch" : ", one by one"));
}
BENCHMARK(BM_PageProbes128)->ArgsProduct({{1, 2, 3}, {0, 1}});

// ---------------------------------------------------------------- build

void BM_BuildBase1M(benchmark::State &state) {
    BenchArena ba;
    std::mt19937_64 rng(9);
    uint32_t space = state.range(0) ? k40M : k1MSpace;
    Vec v = random_uids(rng, k1M, space);
    for (auto _ : state) {
        SetRef r;
        WriteStats st;
        set_build_base(ba.arena, v.data(), v.size(), &r.base, &st);
        state.PauseTiming();
        set_free(ba.arena, &r, &st);
        state.ResumeTiming();
    }
    state.counters["ns_per_uid"] = benchmark::Counter(
        double(k1M), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    state.SetLabel(space == k40M ? "1M in 40M" : "1M in 1M");
}
BENCHMARK(BM_BuildBase1M)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// --------------------------------------------------------------- netting

void BM_NetSideChanges1M(benchmark::State &state) {
    std::mt19937_64 rng(10);
    std::vector<RawEdge> raw(k1M);
    // A bulk load: followers spread over 40M, followees skewed toward a few
    // popular accounts, some edges repeated with another op.
    for (auto &e : raw) {
        e.follower = 1 + uint32_t(rng() % k40M);
        uint64_t r = rng() % 100;
        e.followee = r < 20 ? 1 + uint32_t(rng() % 1000) : 1 + uint32_t(rng() % k40M);
        e.op = rng() % 20 ? kInsert : kDelete;
    }
    for (size_t i = 0; i < raw.size(); i += 50)
        raw[i] = RawEdge{raw[i / 2].follower, raw[i / 2].followee, kDelete};
    size_t out = 0;
    for (auto _ : state) {
        auto v = net_side_changes(raw.data(), raw.size());
        out = v.size();
        benchmark::DoNotOptimize(v.data());
    }
    state.counters["side_changes"] = double(out);
    state.counters["ns_per_edge"] = benchmark::Counter(
        double(k1M), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_NetSideChanges1M)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dp::bench

BENCHMARK_MAIN();
