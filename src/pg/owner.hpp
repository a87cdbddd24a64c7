// Running SQL over the dataplane tables with their owner's rights, as the
// index reads them: a caller needs EXECUTE on the functions (and a writer
// the privileges of its own statement), not SELECT on every table.
//
// Every statement the extension runs goes through run_as_tables_owner, so
// that nothing the caller controls can change what it means: it runs as the
// tables' owner, in a restricted security context, with search_path pinned
// to "pg_catalog, pg_temp" (PostgreSQL's advice for SECURITY DEFINER code:
// an operator or function a caller created in a schema of their search_path
// would otherwise run with the owner's rights). Tables are always named
// with their schema.
#pragma once

#include "pg_prelude.hpp"

#include <type_traits>

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace dpg {

// The search_path of every statement the extension runs.
constexpr const char kPinnedSearchPath[] = "pg_catalog, pg_temp";

// The owner of dataplane.follow (errors if the tables are gone).
Oid tables_owner();

// The owner of extension dataplane (InvalidOid if it is not installed).
Oid extension_owner();

// Errors (42501) unless the current user is a superuser or has the
// privileges of the extension's owner: for rebuild() and verify(), which
// take locks that stop writers. `what` names the function.
void check_admin(const char *what);

// Sets search_path to kPinnedSearchPath until the returned GUC nest level
// is popped with AtEOXact_GUC(true, level) (an error pops it too).
int pin_search_path();

// Runs f() as the tables' owner, in a restricted security context, with a
// pinned search_path, and restores the caller's identity also when f()
// raises an error. f must be noexcept (it may ereport, which longjmps, but
// never throw) and trivially destructible (a lambda capturing by reference).
template <typename F>
void run_as_tables_owner(F f) {
    static_assert(noexcept(f()), "run_as_tables_owner: the body must be noexcept");
    static_assert(std::is_trivially_destructible_v<F>,
                  "run_as_tables_owner: the body must be trivially destructible");
    Oid saved_user;
    int saved_sec;
    Oid owner = tables_owner();
    GetUserIdAndSecContext(&saved_user, &saved_sec);
    SetUserIdAndSecContext(owner, saved_sec | SECURITY_LOCAL_USERID_CHANGE |
                                      SECURITY_RESTRICTED_OPERATION);
    int level = 0;
    PG_TRY();
    {
        level = pin_search_path();
        f();
    }
    PG_CATCH();
    {
        SetUserIdAndSecContext(saved_user, saved_sec);
        PG_RE_THROW();
    }
    PG_END_TRY();
    AtEOXact_GUC(true, level);
    SetUserIdAndSecContext(saved_user, saved_sec);
}

}  // namespace dpg
