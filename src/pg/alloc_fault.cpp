#include "alloc_fault.hpp"

#include <cstdlib>
#include <new>

#include "guc.hpp"

namespace {

// Allocations left before the injected failure; 0: none armed.
long countdown = 0;

void *allocate(std::size_t size) {
    if (countdown > 0 && --countdown == 0)
        throw std::bad_alloc();
    void *p = std::malloc(size == 0 ? 1 : size);
    if (p == nullptr)
        throw std::bad_alloc();
    return p;
}

}  // namespace

void *operator new(std::size_t size) { return allocate(size); }
void *operator new[](std::size_t size) { return allocate(size); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }

namespace dpg {

void arm_test_alloc_failure() { countdown = guc_test_fail_allocation; }
void disarm_test_alloc_failure() { countdown = 0; }

}  // namespace dpg
