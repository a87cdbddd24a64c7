// Module entry point. Everything is set up only when the library is loaded
// by shared_preload_libraries: the shared memory must be requested before
// the postmaster allocates it. Loaded any other way (CREATE EXTENSION runs
// the install check, which then refuses), the library does nothing.
#include <dlfcn.h>

#include <roaring/roaring.h>

#include "capture.hpp"
#include "commit.hpp"
#include "entry.hpp"
#include "guc.hpp"
#include "jetstream_worker.hpp"
#include "shmem.hpp"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace dpg {

// Another library loaded earlier into the same process may export its own
// copy of CRoaring (pg_roaringbitmap bundles one, built with other options);
// the dynamic linker would then bind our calls to it. Refuse to start rather
// than run on a CRoaring we were not built against.
static void check_roaring_binding() {
    Dl_info info;
    void *fn = reinterpret_cast<void *>(&roaring_bitmap_create);
    if (dladdr(fn, &info) == 0 || info.dli_fname == nullptr)
        return;
    if (strstr(info.dli_fname, "libroaring") == nullptr)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("dataplane: CRoaring resolves to \"%s\", not to libroaring",
                        info.dli_fname),
                 errhint("List dataplane before that library in shared_preload_libraries.")));
}

}  // namespace dpg

void _PG_init(void) {
    if (!process_shared_preload_libraries_in_progress)
        return;
    dpg::guard_callback("_PG_init", [] {
        dpg::check_roaring_binding();
        dpg::guc_init();
        dpg::shmem_init_hooks();
        RegisterXactCallback(dpg::commit_xact_callback, nullptr);
        RegisterSubXactCallback(dpg::capture_subxact_callback, nullptr);
        dpg::jetstream_register_worker();
    });
}
