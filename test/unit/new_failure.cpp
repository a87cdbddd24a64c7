// Replaces the global operator new of the test binary with a malloc-based
// one that can be told to throw std::bad_alloc at its nth call, so that the
// tests can check what the core does when process memory runs out.
#include <cstdlib>
#include <new>

#include "test_util.hpp"

namespace {
bool g_armed = false;
bool g_fired = false;
long g_countdown = 0;
long g_calls = 0;
int g_paused = 0;
}  // namespace

namespace dp::test {
void NewFailure::arm(long nth) {
    g_calls = 0;
    g_countdown = nth;
    g_fired = false;
    g_armed = true;
}
void NewFailure::disarm() { g_armed = false; }
long NewFailure::calls() { return g_calls; }
bool NewFailure::fired() { return g_fired; }
void NewFailure::pause() { g_paused++; }
void NewFailure::resume() { g_paused--; }
}  // namespace dp::test

void *operator new(std::size_t n) {
    if (g_armed && g_paused == 0) {
        g_calls++;
        if (--g_countdown == 0) {
            g_fired = true;
            throw std::bad_alloc();
        }
    }
    void *p = std::malloc(n == 0 ? 1 : n);
    if (p == nullptr)
        throw std::bad_alloc();
    return p;
}

void *operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
