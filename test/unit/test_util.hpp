// Helpers shared by the unit tests: models, set construction and reading,
// a zeroed directory top, an arena that fails a chosen allocation, and
// failure injection for the global operator new (new_failure.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "directory.hpp"
#include "set_read.hpp"
#include "set_write.hpp"
#include "test_arena.hpp"

namespace dp::test {

using Model = std::set<uint32_t>;
using Vec = std::vector<uint32_t>;

inline Vec to_vec(const Model &m) { return Vec(m.begin(), m.end()); }

// Every uid of a set, ascending, read with for_each.
inline Vec contents(const Arena &arena, SetRef ref, RoaringViews *views) {
    SetView v(arena, ref, views);
    Vec out;
    if (!v.ok())
        throw std::runtime_error("set not viewable");
    v.for_each([&](uint32_t x) {
        out.push_back(x);
        return true;
    });
    return out;
}

// Builds a set holding m (no delta).
inline SetRef make_set(const Arena &arena, const Model &m) {
    Vec v = to_vec(m);
    SetRef ref;
    WriteStats st;
    if (set_build_base(arena, v.data(), v.size(), &ref.base, &st) != Status::kOk)
        throw std::runtime_error("set_build_base");
    return ref;
}

inline Model random_model(std::mt19937_64 &rng, size_t n, uint32_t space, uint32_t lo = 1) {
    Model m;
    while (m.size() < n)
        m.insert(lo + uint32_t(rng() % space));
    return m;
}

inline uint8_t fmt_of(const Arena &arena, SetRef ref) {
    return ref.base == kNoRef || ref.base == kInvalidRef ? 0 : arena.at<BaseHdr>(ref.base)->fmt;
}

// A zeroed DirTop (2 MiB), as the server's fixed shared memory holds it.
struct DirTopHolder {
    DirTop *top;
    DirTopHolder() : top(static_cast<DirTop *>(std::calloc(1, sizeof(DirTop)))) {
        if (top == nullptr)
            throw std::bad_alloc();
    }
    ~DirTopHolder() { std::free(top); }
    DirTopHolder(const DirTopHolder &) = delete;
    DirTopHolder &operator=(const DirTopHolder &) = delete;
};

// An Arena over a TestArena that fails the fail_at-th allocation attempt
// (1-based, counted from the last reset()), or every attempt once
// fail_all is set. Its host passes everything else to the TestArena's.
class FailingArena : public Host {
  public:
    explicit FailingArena(TestArena &ta) : inner_(ta) {
        arena = ta.arena;
        arena.host = this;
    }
    virtual ~FailingArena() = default;
    FailingArena(const FailingArena &) = delete;
    FailingArena &operator=(const FailingArena &) = delete;

    void reset(uint64_t fail_at_attempt) {
        attempts = 0;
        fail_at = fail_at_attempt;
    }

    Arena arena;
    uint64_t attempts = 0;
    uint64_t fail_at = 0;  // 0: never
    bool fail_all = false;

    // TestArena's bookkeeping allocates with operator new: keep injected
    // failures out of it (the real arena never throws).
    uint64_t alloc(size_t size) noexcept override;
    void free(uint64_t off, size_t size) noexcept override;

  private:
    TestArena &inner_;
};

// Failure injection for the global operator new (defined in
// new_failure.cpp): while armed, the nth call from arming throws
// std::bad_alloc. Only core code should run while armed, with its arena
// allocations going through a FailingArena (which pauses the injection).
struct NewFailure {
    static void arm(long nth);
    static void disarm();
    static long calls();  // calls to operator new since arm()
    static bool fired();  // did the armed failure happen?
    static void pause();  // nestable
    static void resume();
};

inline uint64_t FailingArena::alloc(size_t size) noexcept {
    attempts++;
    if (fail_all || attempts == fail_at)
        return 0;
    NewFailure::pause();
    uint64_t off = inner_.alloc(size);
    NewFailure::resume();
    return off;
}

inline void FailingArena::free(uint64_t off, size_t size) noexcept {
    NewFailure::pause();
    inner_.free(off, size);
    NewFailure::resume();
}

// Disarms on scope exit (an ASSERT returning early must not leave it armed).
struct NewFailureScope {
    explicit NewFailureScope(long nth) { NewFailure::arm(nth); }
    ~NewFailureScope() { NewFailure::disarm(); }
};

// A host for tests of one apply: memory from another arena's host, and the
// pending keys and journal mode as the test sets them.
class ScriptedHost : public Host {
  public:
    explicit ScriptedHost(const Arena &memory) : mem_(*memory.host) {
        arena = memory;
        arena.host = this;
    }
    virtual ~ScriptedHost() = default;

    Arena arena;           // memory's, with this host
    bool pending = false;  // another transaction holds every key (others and any)
    bool journal = false;  // every set is a journal: a build has installed nothing yet

    uint64_t alloc(size_t size) noexcept override { return mem_.alloc(size); }
    void free(uint64_t off, size_t size) noexcept override { mem_.free(off, size); }
    StripeMode mode(uint32_t) const noexcept override {
        return journal ? kModeBuilding : kModeReady;
    }
    uint32_t cursor(Cursor) const noexcept override { return journal ? 0 : UINT32_MAX; }
    bool edge_others_pending(uint32_t, uint32_t, uint8_t) noexcept override { return pending; }
    bool edge_any_pending(uint32_t, uint32_t, uint8_t) noexcept override { return pending; }

  private:
    Host &mem_;
};

// The seeds a randomized test runs: [lo, hi], or those of SIM_SEEDS ("N"
// or "N-M"), to reproduce one or to search a wider range.
inline std::vector<uint64_t> seeds(uint64_t lo, uint64_t hi) {
    if (const char *env = getenv("SIM_SEEDS")) {
        char *end = nullptr;
        lo = strtoull(env, &end, 10);
        hi = *end == '-' ? strtoull(end + 1, nullptr, 10) : lo;
    }
    std::vector<uint64_t> out;
    for (uint64_t s = lo; s <= hi; s++)
        out.push_back(s);
    return out;
}

}  // namespace dp::test
