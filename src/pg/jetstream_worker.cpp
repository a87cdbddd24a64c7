// The live Jetstream consumer: a background worker that subscribes to
// dataplane.jetstream_url over WebSocket (src/ingest/ws_client), applies the
// events in batches through the same code as ingest_jetstream(), and stores
// its cursor (the last time_us applied) in dataplane.jetstream_cursor in the
// same transaction as each batch. After a crash or a restart it resumes from
// that cursor rewound by dataplane.jetstream_rewind seconds (Jetstream
// delivers at least once, and the ingest is idempotent).
//
// The worker always runs (registered at server start) and idles while the
// URL is empty; a reload (SIGHUP) that changes the URL reconnects. It
// serves SIGTERM between slices of at most 100 ms, so it never holds up a
// shutdown. Its state, lag and rate are in status().
#include "ws_client.hpp"

#include <string>

#include "entry.hpp"
#include "guc.hpp"
#include "jetstream_worker.hpp"
#include "owner.hpp"
#include "shmem.hpp"
#include "spi_params.hpp"
#include "tables.hpp"

extern "C" {
#include "access/xact.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

namespace dpg {

bool ingest_events(const char *text, size_t len, int64 *last);

namespace {

// The collections the index keeps (account events come regardless).
const char *const kCollections[] = {"app.bsky.feed.post",    "app.bsky.feed.repost",
                                    "app.bsky.graph.follow", "app.bsky.graph.block",
                                    "app.bsky.graph.list",   "app.bsky.graph.listitem",
                                    "app.bsky.graph.listblock"};

// Messages received and not yet applied, one per line. Static storage.
class Batch final : public ing::WsSink {
  public:
    std::string text;
    size_t lines = 0;
    bool full = false;  // out of memory: apply what there is first

    bool on_message(const char *data, size_t len) noexcept override {
        try {
            text.append(data, len);
            text.push_back('\n');
            lines++;
        } catch (...) {
            full = true;
            return false;
        }
        return lines < size_t(Max(guc_jetstream_batch, 1));
    }
    void on_state(ing::WsState s, const char *reason) noexcept override {
        JetstreamShared &js = L.sh->jetstream;
        pg_atomic_write_u32(&js.state, uint32(s) + kJsIdle);
        if (reason != nullptr && reason[0] != '\0') {
            SpinLockAcquire(&L.sh->mutex);
            strlcpy(js.reason, reason, sizeof(js.reason));
            SpinLockRelease(&L.sh->mutex);
        }
        if (s == ing::WsState::kConnected)
            ereport(LOG, (errmsg("dataplane: jetstream consumer connected")));
        else if (s == ing::WsState::kWaiting)
            ereport(LOG, (errmsg("dataplane: jetstream consumer disconnected: %s",
                                 reason != nullptr ? reason : "")));
    }
};
Batch batch;
ing::WsClient *client = nullptr;
std::string client_url;
int64 applied_until = -1;  // the cursor committed last

void set_reason(const char *msg) {
    SpinLockAcquire(&L.sh->mutex);
    strlcpy(L.sh->jetstream.reason, msg, sizeof(L.sh->jetstream.reason));
    SpinLockRelease(&L.sh->mutex);
}

Statement q_cursor{"SELECT time_us FROM dataplane.jetstream_cursor WHERE endpoint = $1", 1,
                   {TEXTOID}, nullptr};
Statement q_save{"INSERT INTO dataplane.jetstream_cursor AS c (endpoint, time_us) VALUES ($1, $2) "
                 "ON CONFLICT (endpoint) DO UPDATE SET time_us = greatest(c.time_us, EXCLUDED.time_us), "
                 "updated_at = now()",
                 2, {TEXTOID, INT8OID}, nullptr};

// In a transaction: is the extension installed here?
bool extension_here() {
    return OidIsValid(current_generation());
}

// The cursor saved for url, or -1.
int64 load_cursor(const char *url) {
    int64 cursor = -1;
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    if (extension_here()) {
        if (SPI_connect() != SPI_OK_CONNECT)
            elog(ERROR, "dataplane: SPI_connect failed");
        Datum values[1] = {CStringGetTextDatum(url)};
        run_as_tables_owner([&]() noexcept {
            run_statement(&q_cursor, values, SPI_OK_SELECT);
            if (SPI_processed == 1) {
                bool isnull;
                cursor = DatumGetInt64(
                    SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
            }
        });
        SPI_finish();
    }
    PopActiveSnapshot();
    CommitTransactionCommand();
    return cursor;
}

// (Re)creates the client for the configured URL, resuming from its cursor.
void connect_client() {
    delete client;
    client = nullptr;
    client_url = guc_jetstream_url;
    batch.text.clear();
    batch.lines = 0;
    int64 cursor = load_cursor(client_url.c_str());
    applied_until = cursor;
    ing::WsOptions o;
    o.url = client_url;
    for (const char *c : kCollections)
        o.wanted_collections.push_back(c);
    client = new ing::WsClient();
    std::string error;
    if (!client->init(o, &batch, &error)) {
        ereport(WARNING, (errmsg("dataplane: jetstream consumer cannot use \"%s\": %s",
                                 client_url.c_str(), error.c_str())));
        set_reason(error.c_str());
        pg_atomic_write_u32(&L.sh->jetstream.state, kJsError);
        delete client;
        client = nullptr;
        return;
    }
    if (cursor >= 0)
        client->set_cursor(Max(cursor - int64(guc_jetstream_rewind_s) * 1000000, int64(0)));
    client->start();
}

// Applies the batch and saves the cursor in one transaction; false if it
// failed (the batch is kept and tried again).
bool apply_batch() {
    MemoryContext cxt = CurrentMemoryContext;
    volatile bool ok = true;
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    PG_TRY();
    {
        PushActiveSnapshot(GetTransactionSnapshot());
        if (!extension_here())
            ereport(ERROR, (errmsg("extension dataplane is not installed in database \"%s\"",
                                   guc_database)));
        int64 last = 0;
        bool readable = false;
        guard_callback("dataplane jetstream consumer",
                       [&] { readable = ingest_events(batch.text.data(), batch.text.size(), &last); });
        // The cursor is a time Jetstream can resume from: a batch whose
        // latest event is before 1970 (none that Jetstream sends) leaves it
        // where it was, and a restart applies the batch again (harmless).
        if (readable && last >= 0) {
            if (SPI_connect() != SPI_OK_CONNECT)
                elog(ERROR, "dataplane: SPI_connect failed");
            Datum values[2] = {CStringGetTextDatum(client_url.c_str()), Int64GetDatum(last)};
            run_as_tables_owner([&]() noexcept { run_statement(&q_save, values, SPI_OK_INSERT); });
            SPI_finish();
            applied_until = Max(applied_until, last);
        }
        PopActiveSnapshot();
        CommitTransactionCommand();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(cxt);
        ErrorData *ed = CopyErrorData();
        FlushErrorState();
        AbortCurrentTransaction();
        set_reason(ed->message);
        ereport(LOG, (errmsg("dataplane: jetstream batch failed, retrying: %s", ed->message)));
        FreeErrorData(ed);
        ok = false;
    }
    PG_END_TRY();
    return ok;
}

void count_batch(TimestampTz started) {
    JetstreamShared &js = L.sh->jetstream;
    pg_atomic_fetch_add_u64(&js.events, batch.lines);
    pg_atomic_fetch_add_u64(&js.batches, 1);
    if (applied_until >= 0)
        pg_atomic_write_u64(&js.last_time_us, uint64(applied_until));
    double secs = Max(double(GetCurrentTimestamp() - started) / 1e6, 1e-3);
    SpinLockAcquire(&L.sh->mutex);
    js.rate = js.rate == 0 ? batch.lines / secs : 0.8 * js.rate + 0.2 * (batch.lines / secs);
    SpinLockRelease(&L.sh->mutex);
}

void reload_if_asked() {
    if (ConfigReloadPending) {
        ConfigReloadPending = false;
        ProcessConfigFile(PGC_SIGHUP);
    }
}

bool url_set() {
    return guc_jetstream_url != nullptr && guc_jetstream_url[0] != '\0';
}

void sleep_ms(long ms) {
    (void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
                     PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
}

// Until a URL is configured the worker holds no database connection, so
// that a cluster not consuming Jetstream sees no session of ours (and can
// drop the database, for one).
void wait_for_url() {
    pg_atomic_write_u32(&L.sh->jetstream.state, kJsOff);
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        reload_if_asked();
        if (url_set())
            return;
        sleep_ms(60000);
    }
}

void worker_loop() {
    TimestampTz window = GetCurrentTimestamp();
    int failures = 0;
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        reload_if_asked();
        if (!url_set()) {
            delete client;
            client = nullptr;
            client_url.clear();
            pg_atomic_write_u32(&L.sh->jetstream.state, kJsOff);
            sleep_ms(60000);
            continue;
        }
        if (client == nullptr || client_url != guc_jetstream_url) {
            connect_client();
            window = GetCurrentTimestamp();
            if (client == nullptr) {
                sleep_ms(5000);
                continue;
            }
        }
        client->service(100);
        bool due = batch.lines > 0 &&
                   (batch.full || batch.lines >= size_t(Max(guc_jetstream_batch, 1)) ||
                    TimestampDifferenceExceeds(window, GetCurrentTimestamp(), guc_jetstream_flush_ms));
        if (!due)
            continue;
        if (apply_batch()) {
            count_batch(window);
            batch.text.clear();
            batch.lines = 0;
            batch.full = false;
            failures = 0;
            // A reconnect resumes from what is committed.
            client->set_cursor(Max(applied_until - int64(guc_jetstream_rewind_s) * 1000000, int64(0)));
        } else {
            // Back off (up to 30 s) before trying the same batch again.
            failures++;
            sleep_ms(Min(30000, 200L << Min(failures, 8)));
        }
        window = GetCurrentTimestamp();
    }
}

}  // namespace

void jetstream_register_worker() {
    BackgroundWorker w;
    std::memset(&w, 0, sizeof(w));
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = 5;
    strlcpy(w.bgw_library_name, "dataplane", BGW_MAXLEN);
    strlcpy(w.bgw_function_name, "dataplane_jetstream_main", BGW_MAXLEN);
    strlcpy(w.bgw_name, "dataplane jetstream consumer", BGW_MAXLEN);
    strlcpy(w.bgw_type, "dataplane jetstream consumer", BGW_MAXLEN);
    RegisterBackgroundWorker(&w);
}

const char *jetstream_state_name(uint32 s) {
    switch (s) {
        case kJsOff: return "off";
        case kJsError: return "error";
        case kJsIdle: return "idle";
        case kJsIdle + 1: return "connecting";
        case kJsIdle + 2: return "connected";
        case kJsIdle + 3: return "waiting";
        case kJsIdle + 4: return "stopped";
        default: return "unknown";
    }
}

}  // namespace dpg

using namespace dpg;

extern "C" PGDLLEXPORT void dataplane_jetstream_main(Datum);

void dataplane_jetstream_main(Datum) {
    guard_callback("dataplane jetstream consumer", [] {
        pqsignal(SIGHUP, SignalHandlerForConfigReload);
        pqsignal(SIGTERM, die);
        BackgroundWorkerUnblockSignals();
        if (!shmem_available())
            proc_exit(0);  // not preloaded: nothing to report to, nothing to do
        wait_for_url();
        BackgroundWorkerInitializeConnection(guc_database, nullptr, 0);
        shmem_attach();
        ing::WsClient::set_library_log(0, nullptr);  // our own log lines say what matters
        pgstat_report_activity(STATE_RUNNING, "consuming Jetstream");
        worker_loop();
    });
}
