// Including PostgreSQL from C++.
//
// C++ standard headers must come first: PostgreSQL's port.h redefines
// printf-family names and c.h defines Min, Max, Assert. Every glue file
// includes this header before any PostgreSQL header, and PostgreSQL headers
// only inside extern "C".
//
// The boundary rules, which every glue file keeps:
//  - No C++ exception crosses into PostgreSQL: calls into the core are
//    noexcept or wrapped in try/catch, and the error is raised only after
//    the catch block has ended.
//  - No ereport(ERROR) longjmps over a C++ object with a destructor: glue
//    frames that call PostgreSQL functions hold only trivially destructible
//    objects (core objects live inside core calls, or in static storage).
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <new>
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

// Declares a SQL-callable C function, visible to dlsym (PostgreSQL 15's
// PG_FUNCTION_INFO_V1 exports only the info record). Use inside extern "C".
#define DP_SQL_FUNCTION(name)                               \
    extern PGDLLEXPORT Datum name(PG_FUNCTION_ARGS);       \
    PG_FUNCTION_INFO_V1(name)
