// Allocation-failure injection, for tests only: with the superuser-only
// setting dataplane.test_fail_allocation = N, the Nth C++ allocation of the
// next commit apply in this session throws std::bad_alloc, as an
// exhausted process would (for example under vm.overcommit_memory = 2).
//
// The library replaces the global operator new and delete for its own code
// (they are hidden: other libraries in the backend keep theirs), with
// malloc and free like libstdc++'s, plus the countdown.
#pragma once

namespace dpg {

// Around a commit apply: starts and stops the countdown.
void arm_test_alloc_failure();
void disarm_test_alloc_failure();

}  // namespace dpg
