// A heap-backed Arena for unit tests: a reserved virtual region with a bump
// allocator and per-size free lists, a byte limit to simulate a full arena,
// and bookkeeping that catches double frees and size mismatches. It is the
// arena's host (host.hpp) for memory; the rest is the default single-process
// host, which simulations override.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <vector>

#include "arena.hpp"

namespace dp::test {

class TestArena : public Host {
  public:
    explicit TestArena(size_t reserve = size_t(1) << 32) : reserve_(reserve) {
        void *p = mmap(nullptr, reserve_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            throw std::runtime_error("mmap");
        base_ = static_cast<char *>(p);
        next_ = 64;  // offset 0 means "none"
        arena.base = base_;
        arena.size = reserve_;
        arena.host = this;
        arena.serial_counter = &serial_;
    }
    virtual ~TestArena() { munmap(base_, reserve_); }
    TestArena(const TestArena &) = delete;
    TestArena &operator=(const TestArena &) = delete;

    Arena arena;
    size_t limit = SIZE_MAX;  // bytes the arena may hand out
    size_t live_bytes() const { return live_; }
    size_t live_blocks() const { return blocks_.size(); }

    uint64_t alloc(size_t size) noexcept override {
        size = (size + 7) & ~size_t(7);
        if (live_ + size > limit)
            return 0;
        uint64_t off;
        auto &fl = free_[size];
        if (!fl.empty()) {
            off = fl.back();
            fl.pop_back();
        } else {
            // Start every block at 8 mod 32, the worst case for the 32-byte
            // alignment that CRoaring's frozen views need.
            next_ = ((next_ + 31) & ~uint64_t(31)) + 8;
            off = next_;
            next_ += size;
            if (next_ > reserve_)
                return 0;
        }
        blocks_[off] = size;
        live_ += size;
        return off;
    }
    void free(uint64_t off, size_t size) noexcept override {
        size = (size + 7) & ~size_t(7);
        auto it = blocks_.find(off);
        if (it == blocks_.end())
            std::abort();  // double free or wild pointer
        if (it->second != size)
            std::abort();  // freed with a different size than allocated
        blocks_.erase(it);
        live_ -= size;
        free_[size].push_back(off);
    }

  private:

    size_t reserve_;
    char *base_;
    uint64_t next_;
    uint64_t serial_ = 0;
    size_t live_ = 0;
    std::map<uint64_t, size_t> blocks_;
    std::map<size_t, std::vector<uint64_t>> free_;
};

}  // namespace dp::test
