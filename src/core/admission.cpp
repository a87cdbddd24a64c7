#include "admission.hpp"

#include <cmath>
#include <cstring>

namespace dp {

void FreqSketch::init(FreqSketchShared *s) { std::memset(static_cast<void *>(s), 0, sizeof(*s)); }

uint32_t FreqSketch::estimate(uint32_t uid) const {
    uint8_t a = __atomic_load_n(&s_->counts[slot1(uid)], __ATOMIC_RELAXED);
    uint8_t b = __atomic_load_n(&s_->counts[slot2(uid)], __ATOMIC_RELAXED);
    return a < b ? a : b;
}

void FreqSketch::touch(uint32_t uid) {
    // Conservative update: only the counters at the minimum grow, which
    // keeps collisions from inflating the estimate of the others.
    uint8_t *p1 = &s_->counts[slot1(uid)], *p2 = &s_->counts[slot2(uid)];
    uint8_t a = __atomic_load_n(p1, __ATOMIC_RELAXED);
    uint8_t b = __atomic_load_n(p2, __ATOMIC_RELAXED);
    uint8_t m = a < b ? a : b;
    if (m < 255) {  // saturated: the window's halving brings it down
        if (a == m)
            __atomic_store_n(p1, uint8_t(m + 1), __ATOMIC_RELAXED);
        if (b == m)
            __atomic_store_n(p2, uint8_t(m + 1), __ATOMIC_RELAXED);
    }
    if (__atomic_add_fetch(&s_->additions, 1, __ATOMIC_RELAXED) >= kSketchSlots)
        halve();
}

void FreqSketch::halve() {
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(&s_->halving, &expected, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return;  // another process halves
    if (__atomic_load_n(&s_->additions, __ATOMIC_RELAXED) >= kSketchSlots) {
        __atomic_store_n(&s_->additions, 0, __ATOMIC_RELAXED);
        // Eight counters at a time: each byte shifted right, no bit
        // crossing into its neighbour.
        auto *w = reinterpret_cast<uint64_t *>(s_->counts);
        for (size_t i = 0; i < kSketchSlots / 8; i++) {
            uint64_t v = __atomic_load_n(&w[i], __ATOMIC_RELAXED);
            __atomic_store_n(&w[i], (v >> 1) & 0x7F7F7F7F7F7F7F7Full, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&s_->victim_freq, victim_freq() / 2, __ATOMIC_RELAXED);
        __atomic_add_fetch(&s_->halvings, 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s_->halving, 0, __ATOMIC_RELEASE);
}

bool FreqSketch::admit(uint32_t uid) {
    uint64_t n = __atomic_add_fetch(&s_->refused, 1, __ATOMIC_RELAXED);
    if (estimate(uid) <= victim_freq())
        return false;
    uint64_t last = __atomic_load_n(&s_->last_admitted, __ATOMIC_RELAXED);
    if (n - last < kReadsPerAdmission)
        return false;
    return __atomic_compare_exchange_n(&s_->last_admitted, &last, n, false, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED);
}

void FreqSketch::note_victims(uint64_t sum, uint64_t n) {
    if (n == 0)
        return;
    __atomic_store_n(&s_->victim_freq, uint32_t((sum + n / 2) / n), __ATOMIC_RELAXED);
}

void Distinct::clear() {
    for (uint32_t i = 0; i < kHllRegisters; i++)
        __atomic_store_n(&d_->reg[i], uint8_t(0), __ATOMIC_RELAXED);
}

void Distinct::add(uint32_t uid) {
    // A 64-bit mix of the uid (splitmix64's finalizer).
    uint64_t h = uint64_t(uid) + 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    h ^= h >> 31;
    uint32_t idx = uint32_t(h >> (64 - kHllBits));
    uint64_t rest = h << kHllBits;
    uint8_t rank = rest == 0 ? uint8_t(64 - kHllBits + 1) : uint8_t(__builtin_clzll(rest) + 1);
    uint8_t *r = &d_->reg[idx];
    uint8_t cur = __atomic_load_n(r, __ATOMIC_RELAXED);
    while (cur < rank &&
           !__atomic_compare_exchange_n(r, &cur, rank, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

double Distinct::estimate() const {
    const double m = kHllRegisters;
    double sum = 0;
    uint32_t zeros = 0;
    for (uint32_t i = 0; i < kHllRegisters; i++) {
        uint8_t v = __atomic_load_n(&d_->reg[i], __ATOMIC_RELAXED);
        sum += std::ldexp(1.0, -int(v));
        zeros += v == 0;
    }
    double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros > 0)
        e = m * std::log(m / zeros);  // small ranges: linear counting
    return e;
}

}  // namespace dp
