// Including PostgreSQL from C++.
//
// C++ standard headers must come first: PostgreSQL's port.h redefines
// printf-family names and c.h defines Min, Max, Assert. Every glue file
// includes this header before any PostgreSQL header, and PostgreSQL headers
// only inside extern "C".
//
// The boundary rules, which entry.hpp makes mechanical:
//  - No C++ exception crosses into PostgreSQL: every entry point runs its
//    body through a guard that raises the error after the catch block.
//  - No ereport(ERROR) longjmps over a C++ object with a destructor: glue
//    frames that call PostgreSQL functions hold only trivially destructible
//    objects (core objects live inside core calls, or in static storage).
#pragma once

// The core's headers come first: they refuse to compile after postgres.h
// (see src/core/core_only.hpp), so every glue file gets them all here.
#include "core.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <vector>

// We build with -fvisibility=hidden so that the core's symbols cannot clash
// with another library's; the entry points PostgreSQL looks up with dlsym
// must stay visible (PostgreSQL 15 leaves PGDLLEXPORT empty on Linux).
#ifndef PGDLLEXPORT
#define PGDLLEXPORT __attribute__((visibility("default")))
#endif

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "miscadmin.h"
}
