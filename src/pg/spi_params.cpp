#include "spi_params.hpp"

namespace dpg {

void run_statement(Statement *st, Datum *values, int expect) {
    if (st->plan == nullptr) {
        SPIPlanPtr p = SPI_prepare(st->sql, st->nargs, st->types);
        if (p == nullptr)
            elog(ERROR, "dataplane: could not plan \"%s\": %s", st->sql,
                 SPI_result_code_string(SPI_result));
        SPI_keepplan(p);
        st->plan = p;
    }
    int rc = SPI_execute_plan(st->plan, values, nullptr, false, 0);
    if (rc != expect)
        elog(ERROR, "dataplane: \"%s\" failed: %s", st->sql, SPI_result_code_string(rc));
}

}  // namespace dpg
