// The wall between PostgreSQL and C++ (see STYLE.md), made mechanical.
//
//  - Every SQL-callable function is defined with DP_FUNCTION(name) { ... }:
//    its body runs inside dpg::guard, which catches any C++ exception and
//    raises it as a PostgreSQL error after the catch block has ended, so
//    that every destructor has run before the longjmp.
//  - Every other function PostgreSQL calls (hooks, transaction callbacks,
//    the background worker's main) runs its body through guard_callback,
//    or through guard_commit where an error is not allowed at all.
//  - The other direction, a PostgreSQL error crossing C++ frames: glue
//    frames that call PostgreSQL hold only trivially destructible objects
//    (DP_PG_FRAME(T) checks a type), core code never calls PostgreSQL, and
//    a body run inside PG_TRY is noexcept (owner.hpp checks it).
#pragma once

#include "pg_prelude.hpp"

namespace dpg {

using SqlBody = Datum (*)(FunctionCallInfo);

// Raises the PostgreSQL error for a caught C++ exception: `kind` 1 is
// std::bad_alloc (out of memory), 2 another std::exception (`what`), 3
// anything else. Called outside the catch block.
[[noreturn]] void raise_cpp_exception(const char *where, int kind, const char *what);

// Catches a C++ exception of `body` into (kind, what); true if it threw.
template <typename F>
bool caught(F body, int *kind, char *what, size_t what_len) noexcept {
    try {
        body();
        return false;
    } catch (const std::bad_alloc &) {
        *kind = 1;
    } catch (const std::exception &e) {
        *kind = 2;
        strlcpy(what, e.what(), what_len);
    } catch (...) {
        *kind = 3;
    }
    return true;
}

// Runs a SQL-callable function's body (DP_FUNCTION).
Datum guard(const char *name, SqlBody body, FunctionCallInfo fcinfo);

// Runs a callback's body: a C++ exception becomes a PostgreSQL error.
template <typename F>
void guard_callback(const char *name, F body) {
    int kind = 0;
    char what[200] = "";
    if (caught(body, &kind, what, sizeof(what)))
        raise_cpp_exception(name, kind, what);
}

// Runs a body where no error may be raised (XACT_EVENT_COMMIT, where an
// error is a PANIC): a C++ exception runs `failed(kind, what)` instead.
template <typename F, typename Failed>
void guard_commit(F body, Failed failed) noexcept {
    int kind = 0;
    char what[200] = "";
    if (caught(body, &kind, what, sizeof(what)))
        failed(kind, what);
}

}  // namespace dpg

// Checks that a type may live in a frame that a PostgreSQL error unwinds.
#define DP_PG_FRAME(T)                                                             \
    static_assert(std::is_trivially_destructible_v<T>,                             \
                  #T " lives in frames that PostgreSQL errors unwind: it must be " \
                  "trivially destructible")

// Defines the SQL-callable C function `name` (exported for dlsym, with its
// V1 info record); the block that follows is its body.
#define DP_FUNCTION(name)                                                            \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo);             \
    extern "C" {                                                                     \
    extern PGDLLEXPORT Datum name(PG_FUNCTION_ARGS);                                 \
    PG_FUNCTION_INFO_V1(name);                                                       \
    }                                                                                \
    extern "C" Datum name(PG_FUNCTION_ARGS) { return dpg::guard(#name, name##_body, fcinfo); } \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
