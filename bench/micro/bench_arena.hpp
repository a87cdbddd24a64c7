// A fast Arena for the microbenchmarks: a reserved virtual region, bump
// allocation and per-size free lists (no bookkeeping of live blocks, unlike
// the tests' TestArena), so that the set operations, not the allocator,
// dominate. Blocks start at 8 mod 32, the worst case for CRoaring's 32-byte
// alignment, as in the server's DSA area.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "arena.hpp"

namespace dp::bench {

class BenchArena : public Host {
  public:
    explicit BenchArena(size_t reserve = size_t(16) << 30) : reserve_(reserve) {
        void *p = MAP_FAILED;
        // DP_BENCH_HUGEPAGES=<MB>: 2 MB pages (vm.nr_hugepages must hold
        // them), as PostgreSQL's shared memory has with huge_pages = on.
        if (const char *hp = getenv("DP_BENCH_HUGEPAGES")) {
            reserve_ = (size_t(atol(hp)) << 20) & ~((size_t(2) << 20) - 1);
            p = mmap(nullptr, reserve_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
            if (p == MAP_FAILED)
                fprintf(stderr, "no huge pages (vm.nr_hugepages): using 4 kB pages\n");
        }
        if (p == MAP_FAILED) {
            reserve_ = reserve;
            p = mmap(nullptr, reserve_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        }
        if (p == MAP_FAILED)
            throw std::runtime_error("mmap");
        base_ = static_cast<char *>(p);
        arena.base = base_;
        arena.size = reserve_;
        arena.host = this;
        arena.serial_counter = &serial_;
    }
    virtual ~BenchArena() { munmap(base_, reserve_); }
    BenchArena(const BenchArena &) = delete;
    BenchArena &operator=(const BenchArena &) = delete;

    Arena arena;

    uint64_t alloc(size_t size) noexcept override {
        size = (size + 7) & ~size_t(7);
        auto &fl = free_[size];
        if (!fl.empty()) {
            uint64_t off = fl.back();
            fl.pop_back();
            return off;
        }
        next_ = ((next_ + 31) & ~uint64_t(31)) + 8;
        uint64_t off = next_;
        next_ += size;
        return next_ > reserve_ ? 0 : off;
    }
    void free(uint64_t off, size_t size) noexcept override {
        free_[(size + 7) & ~size_t(7)].push_back(off);
    }

  private:

    size_t reserve_;
    char *base_;
    uint64_t next_ = 64;
    uint64_t serial_ = 0;
    std::unordered_map<size_t, std::vector<uint64_t>> free_;
};

}  // namespace dp::bench
