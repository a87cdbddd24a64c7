#include "entry.hpp"

namespace dpg {

void raise_cpp_exception(const char *where, int kind, const char *what) {
    if (kind == 1)
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
                        errdetail("In %s.", where)));
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("dataplane: unexpected C++ exception in %s: %s", where,
                           kind == 2 ? what : "(not a std::exception)")));
    pg_unreachable();
}

Datum guard(const char *name, SqlBody body, FunctionCallInfo fcinfo) {
    Datum result = Datum(0);
    int kind = 0;
    char what[200] = "";
    if (caught([&] { result = body(fcinfo); }, &kind, what, sizeof(what)))
        raise_cpp_exception(name, kind, what);
    return result;
}

}  // namespace dpg
