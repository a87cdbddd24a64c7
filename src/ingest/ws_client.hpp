// A Jetstream WebSocket client on libwebsockets, for a PostgreSQL
// background worker: PostgreSQL-free, single-threaded, no signal handlers,
// no global state of its own (two clients in one process are independent).
//
// The caller owns the loop. It calls service(ms) in slices, checks its
// latch and shutdown flags between slices, and gets every complete text
// message (fragments reassembled) through a WsSink. The client connects,
// reconnects with exponential backoff and jitter, and reports its state;
// it never parses what it receives. The cursor of each (re)connection is
// the one the caller last gave with set_cursor(): the caller decides what
// is durable (a bgworker passes the time_us it committed, rewound a few
// seconds), so a reconnect resumes exactly where the tables are.
//
//   ing::WsClient c;
//   ing::WsOptions o;
//   o.url = "wss://jetstream2.us-east.bsky.network/subscribe";
//   o.wanted_collections = {"app.bsky.feed.post", "app.bsky.graph.follow"};
//   if (!c.init(o, &sink, &error)) ...;
//   c.set_cursor(saved_time_us);
//   c.start();
//   while (!shutdown) { c.service(100); ...apply a batch, c.set_cursor(...) }
//
// Errors: no function throws; failures are return values, the state and
// its reason (WsStats). Memory exhaustion inside a callback drops the
// connection with the reason "out of memory" and reconnects later.
//
// Library notes (libwebsockets 4.1, as Debian ships it): creating the
// context sets SIGPIPE to SIG_IGN process-wide (PostgreSQL already ignores
// it); name resolution is synchronous, so a slow resolver can stretch a
// slice; log output of the library is process-wide and goes to stderr at
// ERR, WARN and NOTICE unless set_library_log() says otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ing {

// kIdle: before start(); kConnecting: TCP, TLS and the HTTP upgrade under
// way; kConnected: receiving; kWaiting: disconnected, the next attempt due
// after a backoff delay; kStopped: after stop(), no attempts until start().
enum class WsState : uint8_t { kIdle, kConnecting, kConnected, kWaiting, kStopped };

// "idle", "connecting", "connected", "waiting", "stopped".
const char *ws_state_name(WsState s) noexcept;

// A ws:// or wss:// URL split for the library. `path` keeps the query.
struct WsUrl {
    bool tls = false;
    std::string host;  // without brackets for an IPv6 literal
    int port = 0;      // 80 or 443 when the URL names none
    std::string path;  // "/" when the URL names none
};

// Splits "ws[s]://HOST[:PORT][/PATH][?QUERY]". False with *error on
// anything else (other schemes, user info, a fragment, a bad port).
bool parse_ws_url(std::string_view url, WsUrl *out, std::string *error) noexcept;

// The request path of a Jetstream subscription: the URL's path and query,
// then wantedCollections=C for each collection and cursor=T (none if
// cursor < 0), percent-encoded where needed. False only on out of memory.
bool jetstream_request_path(const WsUrl &url, const std::vector<std::string> &collections,
                            int64_t cursor, std::string *out) noexcept;

struct WsOptions {
    std::string url;                              // ws://... or wss://...
    std::vector<std::string> wanted_collections;  // empty: all
    int backoff_initial_ms = 500;    // delay after the first failure
    int backoff_max_ms = 60000;      // cap of the doubling delays
    int jitter_percent = 30;         // each delay shortened by a random 0..this %
    int connect_timeout_s = 20;      // TCP connect, TLS and upgrade, each
    int ping_after_s = 30;           // ping after this much silence (0: never);
    int hangup_after_s = 90;         // no traffic or pong for this long: reconnect
    size_t max_message_bytes = size_t(4) << 20;  // longer messages are dropped
    bool tls_allow_self_signed = false;          // tests only
    bool tls_skip_hostname_check = false;        // tests only
    std::string ca_file;             // PEM bundle; empty: the system's
    std::string user_agent = "dataplane-jetstream";
};

// Where messages and state changes go. Called from inside service() only.
class WsSink {
  public:
    virtual ~WsSink() = default;
    // One complete text message (not NUL-terminated; valid during the
    // call). Return false to make service() return once this call is done;
    // the client reads nothing more until service() is called again.
    virtual bool on_message(const char *data, size_t len) noexcept = 0;
    // Every change of state; `reason` says why a connection ended or failed
    // (empty otherwise).
    virtual void on_state(WsState state, const char *reason) noexcept {
        (void) state;
        (void) reason;
    }
};

struct WsStats {
    WsState state = WsState::kIdle;
    char reason[160] = "";     // why the last connection ended or failed
    uint64_t attempts = 0;     // connection attempts started
    uint64_t connects = 0;     // connections established (upgrade done)
    uint64_t failures = 0;     // attempts that never connected
    uint64_t disconnects = 0;  // established connections that ended
    uint64_t messages = 0;     // messages delivered to the sink
    uint64_t bytes = 0;        // their bytes
    uint64_t dropped = 0;      // messages not delivered: too long, or binary
    int backoff_step = 0;      // consecutive failures behind the next delay
    int64_t retry_in_ms = 0;   // kWaiting: time left until the next attempt
    int64_t cursor = -1;       // the cursor the next connection asks for
};

class WsClient {
  public:
    WsClient() noexcept;
    ~WsClient();
    WsClient(const WsClient &) = delete;
    WsClient &operator=(const WsClient &) = delete;

    // Checks the options and creates the library context; connects
    // nothing yet. False with *error (a bad URL, out of memory, the library
    // refusing). Once only per client.
    bool init(const WsOptions &options, WsSink *sink, std::string *error) noexcept;

    // The cursor (a time_us) the next connection asks for; < 0: none.
    // Takes effect at the next connection, not on the current one.
    void set_cursor(int64_t time_us) noexcept;

    // Starts connecting now (from kIdle or kStopped); otherwise nothing.
    void start() noexcept;

    // Runs the connection for at most timeout_ms (0: only what is ready
    // now): connects, receives, reconnects. Returns early when the sink
    // asked to pause. Returns the number of messages delivered, or -1
    // before a successful init(). Returns at once in kIdle and kStopped.
    int service(int timeout_ms) noexcept;

    // Closes the connection, if any, and stops reconnecting until start().
    // The close completes during later service() calls or in the
    // destructor: a close frame ("going away", 1001), then the socket is
    // closed at once (libwebsockets 4.1 does not wait for the answer), so
    // a server still sending may see a reset instead.
    void stop() noexcept;

    // Drops the connection and connects again at once, with the current
    // cursor (for a caller that must rewind). Nothing in kIdle or kStopped.
    void reconnect() noexcept;

    WsState state() const noexcept;
    WsStats stats() const noexcept;

    // Process-wide libwebsockets logging: a mask of LLL_ levels and a
    // function to write lines (nullptr: stderr). Affects every client.
    static void set_library_log(int levels, void (*emit)(int level, const char *line)) noexcept;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace ing
