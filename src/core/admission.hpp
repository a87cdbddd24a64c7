// Which viewers get a feed ring when memory is short (TinyLFU's idea):
// every timeline read counts its viewer in a small frequency sketch; when a
// new ring would have to evict others, it is built only for a viewer read
// more often than the viewers whose rings the eviction sweep freed lately.
// Everyone else is answered without a ring, merged at read time from the
// author rings of the accounts they follow (timeline_read.hpp, kFanIn).
// And however the frequencies compare, such builds are rationed (at most
// one per kReadsPerAdmission reads that found memory full).
//
// Why: CLOCK alone, with more active viewers than rings fit, evicts every
// ring before its viewer comes back, and each read pays a full ring build
// (all stripe locks, up to feed_capacity items merged). With admission the
// rings held stay those of the viewers who come back most; a uniform cycle
// over too many viewers keeps a stable subset and builds almost nothing.
//
// The sketch lives in shared memory (FreqSketchShared, fixed size, no
// pointers). Its counters are bytes updated with relaxed atomics and no
// lock: a lost increment under a race only blurs an estimate, which is all
// the policy needs. Counts are halved after every kSketchSlots additions
// (the sample window), so that the estimates follow the current working
// set; the victims' frequency is halved with them.
#pragma once

#include "core_only.hpp"  // before the first PostgreSQL header, always

#include <cstddef>
#include <cstdint>

namespace dp {

constexpr uint32_t kSketchBits = 20;
constexpr uint64_t kReadsPerAdmission = 32;
constexpr uint32_t kSketchSlots = 1u << kSketchBits;  // one byte each: 1 MiB

struct FreqSketchShared {
    uint64_t additions;     // since the last halving (__atomic)
    uint32_t halving;       // 1 while one process halves (__atomic)
    uint32_t victim_freq;   // frequency of the viewers whose rings were evicted last
    uint64_t halvings;      // windows completed (__atomic), for tests and status
    uint64_t refused;       // admissions asked for (__atomic)
    uint64_t last_admitted; // the value of `refused` at the last admission (__atomic)
    alignas(64) uint8_t counts[kSketchSlots];
};

class FreqSketch {
  public:
    explicit FreqSketch(FreqSketchShared *s) : s_(s) {}

    // Zeroes the sketch (at server start).
    static void init(FreqSketchShared *s);

    // Counts one read of uid's timeline.
    void touch(uint32_t uid);
    // Reads of uid in the current window (an overestimate at worst).
    uint32_t estimate(uint32_t uid) const;

    // Memory is full: should uid get a ring that will cost other viewers
    // theirs? Only if it is read more often than those viewers were, and
    // at most once per kReadsPerAdmission such questions: where every
    // viewer is read as often as every other (a cycle over more viewers
    // than rings fit), frequencies cannot choose, and the bound keeps the
    // rings held from being cycled through.
    bool admit(uint32_t uid);

    // The eviction sweep freed the rings of `n` viewers whose estimates sum
    // to `sum`: the bar for admission is now their mean.
    void note_victims(uint64_t sum, uint64_t n);
    uint32_t victim_freq() const { return __atomic_load_n(&s_->victim_freq, __ATOMIC_RELAXED); }

    uint64_t halvings() const { return __atomic_load_n(&s_->halvings, __ATOMIC_RELAXED); }

  private:
    static uint32_t slot1(uint32_t uid) { return (uid * 0x9E3779B1u) >> (32 - kSketchBits); }
    static uint32_t slot2(uint32_t uid) {
        uint32_t h = (uid ^ 0x5bd1e995u) * 0x85EBCA77u;
        h ^= h >> 15;
        h *= 0xC2B2AE3Du;
        return h >> (32 - kSketchBits);
    }
    void halve();

    FreqSketchShared *s_;
};

// An estimate of the number of distinct viewers read in a window (a
// HyperLogLog of 1024 registers, about 3 % standard error), in shared
// memory: status() compares the working set with what memory holds.
constexpr uint32_t kHllBits = 10;
constexpr uint32_t kHllRegisters = 1u << kHllBits;

struct DistinctShared {
    uint8_t reg[kHllRegisters];
};

class Distinct {
  public:
    explicit Distinct(DistinctShared *d) : d_(d) {}
    void clear();
    void add(uint32_t uid);
    double estimate() const;

  private:
    DistinctShared *d_;
};

}  // namespace dp
