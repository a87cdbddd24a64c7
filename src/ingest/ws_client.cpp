#include "ws_client.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>

#include <libwebsockets.h>

// How the client uses libwebsockets (4.1):
//
// - One lws_context per client, its user pointer the client's Impl: the
//   protocol callback finds its client from the connection's context, so
//   nothing is global. The context has no listener and at most a handful
//   of descriptors (fd_limit_per_thread), so the library sizes no table by
//   the process's descriptor limit.
// - lws_service() ignores its timeout and sleeps until the next event or
//   timer of the library's scheduler, so a slice is bounded by a timer of
//   our own (`wake`). Reconnect delays are another timer (`retry`).
// - Each connection attempt carries a generation number as its opaque user
//   data; callbacks of an older attempt (still closing) are ignored.
// - Every callback body is noexcept: a C++ exception must not unwind
//   through the library's C frames. The only one possible, std::bad_alloc
//   while reassembling or building a request, is caught where it arises.

namespace ing {

namespace {

constexpr char kProtocolName[] = "dataplane-jetstream";
// Descriptors one context may hold: the connection, the library's event
// pipe, a spare for a connection still closing while the next one opens.
constexpr int kFdLimit = 8;
// Bytes the library reads and hands over per callback.
constexpr size_t kRxBuffer = 64 * 1024;
// How late the retry timer may be before service() starts the attempt.
constexpr int64_t kRetryGraceMs = 50;

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Copies `n` bytes of `s` (or up to a NUL) into the fixed buffer `out`.
template <size_t N>
void set_text(char (&out)[N], const char *s, size_t n = size_t(-1)) {
    size_t k = 0;
    if (s != nullptr)
        while (k < n && k + 1 < N && s[k] != '\0') {
            // Keep reasons printable on one line.
            unsigned char c = static_cast<unsigned char>(s[k]);
            out[k] = (c < 0x20 || c == 0x7f) ? ' ' : s[k];
            k++;
        }
    out[k] = '\0';
}

// Is c a character that needs no percent-encoding in a query value?
bool unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '*' || c == ':';
}

void append_query_value(std::string *out, std::string_view v) {
    static const char kHex[] = "0123456789ABCDEF";
    for (char c : v) {
        if (unreserved(c)) {
            out->push_back(c);
        } else {
            unsigned char u = static_cast<unsigned char>(c);
            out->push_back('%');
            out->push_back(kHex[u >> 4]);
            out->push_back(kHex[u & 15]);
        }
    }
}

int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
             size_t len);

}  // namespace

const char *ws_state_name(WsState s) noexcept {
    switch (s) {
    case WsState::kIdle:
        return "idle";
    case WsState::kConnecting:
        return "connecting";
    case WsState::kConnected:
        return "connected";
    case WsState::kWaiting:
        return "waiting";
    case WsState::kStopped:
        return "stopped";
    }
    return "unknown";
}

bool parse_ws_url(std::string_view url, WsUrl *out, std::string *error) noexcept {
    try {
        WsUrl u;
        std::string_view rest;
        if (url.substr(0, 5) == "ws://") {
            rest = url.substr(5);
        } else if (url.substr(0, 6) == "wss://") {
            u.tls = true;
            rest = url.substr(6);
        } else {
            *error = "the URL must start with ws:// or wss://";
            return false;
        }
        size_t end = rest.find_first_of("/?#");
        std::string_view authority = rest.substr(0, end);
        std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
        if (tail.find('#') != std::string_view::npos) {
            *error = "the URL must not have a fragment";
            return false;
        }
        if (authority.find('@') != std::string_view::npos) {
            *error = "the URL must not carry user information";
            return false;
        }
        std::string_view host, port;
        if (!authority.empty() && authority[0] == '[') {
            size_t close = authority.find(']');
            if (close == std::string_view::npos) {
                *error = "unclosed [ in the URL's host";
                return false;
            }
            host = authority.substr(1, close - 1);
            std::string_view after = authority.substr(close + 1);
            if (!after.empty() && after[0] != ':') {
                *error = "junk after the URL's IPv6 host";
                return false;
            }
            port = after.empty() ? "" : after.substr(1);
            if (!after.empty() && port.empty()) {
                *error = "empty port in the URL";
                return false;
            }
        } else {
            size_t colon = authority.rfind(':');
            host = authority.substr(0, colon);
            if (colon != std::string_view::npos) {
                port = authority.substr(colon + 1);
                if (port.empty()) {
                    *error = "empty port in the URL";
                    return false;
                }
            }
        }
        if (host.empty()) {
            *error = "the URL has no host";
            return false;
        }
        u.port = u.tls ? 443 : 80;
        if (!port.empty()) {
            int p = 0;
            for (char c : port) {
                if (c < '0' || c > '9' || p > 65535) {
                    *error = "bad port in the URL";
                    return false;
                }
                p = p * 10 + (c - '0');
            }
            if (p < 1 || p > 65535) {
                *error = "bad port in the URL";
                return false;
            }
            u.port = p;
        }
        u.host.assign(host.data(), host.size());
        if (tail.empty() || tail[0] == '?')
            u.path = "/";
        u.path.append(tail.data(), tail.size());
        *out = std::move(u);
        return true;
    } catch (const std::bad_alloc &) {
        return false;
    }
}

bool jetstream_request_path(const WsUrl &url, const std::vector<std::string> &collections,
                            int64_t cursor, std::string *out) noexcept {
    try {
        std::string p = url.path;
        char sep = p.find('?') == std::string::npos ? '?' : '&';
        if (sep == '&' && p.back() == '?')
            sep = '\0';
        auto param = [&](const char *name, std::string_view value) {
            if (sep != '\0')
                p.push_back(sep);
            sep = '&';
            p.append(name);
            p.push_back('=');
            append_query_value(&p, value);
        };
        for (const std::string &c : collections)
            param("wantedCollections", c);
        if (cursor >= 0)
            param("cursor", std::to_string(cursor));
        *out = std::move(p);
        return true;
    } catch (const std::bad_alloc &) {
        return false;
    }
}

struct WsClient::Impl {
    // A timer of the library's scheduler that knows its client (the list
    // element first, so the callback's pointer is the Timer's).
    struct Timer {
        lws_sorted_usec_list_t sul;
        Impl *self;
    };

    WsOptions opt;
    WsUrl url;
    std::string host_header;  // HOST[:PORT], for Host and Origin
    WsSink *sink = nullptr;
    struct lws_context *ctx = nullptr;
    struct lws_protocols protocols[2];
    lws_retry_bo_t validity{};  // pings and hangup; our own reconnect logic
    struct lws *wsi = nullptr;
    uintptr_t generation = 0;  // of the current attempt
    bool live = false;         // the current attempt has not ended yet
    bool destroying = false;
    WsStats st;
    std::string request_path;  // of the current attempt

    // Reassembly of the message being received.
    std::string msg;
    bool in_message = false;
    bool skipping = false;  // too long or binary: dropped at its end

    bool pause_requested = false;  // by the sink, during this service()
    bool paused = false;           // reading is off until the next service()
    bool closing = false;          // stop() or reconnect() closes the connection
    bool reconnect_asked = false;  // reconnect at once when it has closed
    char local_reason[sizeof st.reason] = "";  // why we close (wins over others)
    char peer_reason[sizeof st.reason] = "";   // the server's close frame

    Timer wake{{}, this};
    Timer retry{{}, this};
    int64_t retry_at_ms = 0;
    uint64_t rng_state;
    int delivered = 0;

    Impl() {
        rng_state = uint64_t(now_ms()) ^ reinterpret_cast<uintptr_t>(this);
        std::memset(protocols, 0, sizeof protocols);
    }

    uint64_t random() {  // splitmix64
        uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    void set_state(WsState s, const char *reason) {
        st.state = s;
        if (sink != nullptr && !destroying)
            sink->on_state(s, reason != nullptr ? reason : "");
    }

    // The delay before the next attempt: initial × 2^step, capped, then
    // shortened by a random share of up to jitter_percent.
    int64_t backoff_ms() {
        int64_t d = opt.backoff_initial_ms;
        for (int i = 0; i < st.backoff_step && d < opt.backoff_max_ms; i++)
            d *= 2;
        d = std::min<int64_t>(d, opt.backoff_max_ms);
        int64_t cut = d * opt.jitter_percent / 100;
        if (cut > 0)
            d -= int64_t(random() % uint64_t(cut + 1));
        return d;
    }

    void schedule_retry(int64_t delay_ms) {
        retry_at_ms = now_ms() + delay_ms;
        lws_sul_schedule(ctx, 0, &retry.sul, on_retry, lws_usec_t(delay_ms) * 1000);
    }

    static void on_retry(lws_sorted_usec_list_t *sul) {
        reinterpret_cast<Timer *>(sul)->self->connect_now();
    }

    static void on_wake(lws_sorted_usec_list_t *) {}  // only ends the poll

    void connect_now() {
        if (st.state != WsState::kWaiting && st.state != WsState::kIdle &&
            st.state != WsState::kStopped)
            return;
        if (live)  // the previous connection is still closing: soon
            return schedule_retry(10);
        local_reason[0] = peer_reason[0] = '\0';
        closing = reconnect_asked = paused = false;
        if (!jetstream_request_path(url, opt.wanted_collections, st.cursor, &request_path)) {
            set_text(st.reason, "out of memory");
            st.failures++;
            st.backoff_step++;
            set_state(WsState::kWaiting, st.reason);
            return schedule_retry(backoff_ms());
        }
        struct lws_client_connect_info ci;
        std::memset(&ci, 0, sizeof ci);
        ci.context = ctx;
        ci.address = url.host.c_str();
        ci.port = url.port;
        ci.path = request_path.c_str();
        ci.host = host_header.c_str();
        ci.origin = host_header.c_str();
        ci.protocol = nullptr;  // Jetstream names no subprotocol
        ci.local_protocol_name = kProtocolName;
        ci.ietf_version_or_minus_one = -1;
        ci.retry_and_idle_policy = &validity;
        if (url.tls) {
            ci.ssl_connection = LCCSCF_USE_SSL;
            if (opt.tls_allow_self_signed)
                ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED;
            if (opt.tls_skip_hostname_check)
                ci.ssl_connection |= LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
        }
        ci.opaque_user_data = reinterpret_cast<void *>(++generation);
        ci.pwsi = &wsi;
        live = true;
        st.attempts++;
        set_state(WsState::kConnecting, "");
        // The library may report a failure through the callback before it
        // returns (then live is false already), or only by returning NULL.
        if (lws_client_connect_via_info(&ci) == nullptr && live)
            ended(false, "connection failed");
    }

    // The current attempt ended: count it, then wait and retry, or stop.
    void ended(bool was_connected, const char *why) {
        if (!live)
            return;
        live = false;
        wsi = nullptr;
        msg.clear();
        in_message = skipping = false;
        paused = false;
        if (was_connected)
            st.disconnects++;
        else
            st.failures++;
        if (local_reason[0] != '\0')
            set_text(st.reason, local_reason);
        else if (peer_reason[0] != '\0')
            set_text(st.reason, peer_reason);
        else
            set_text(st.reason, why);
        if (st.state == WsState::kStopped || destroying)
            return;
        int64_t delay = 0;
        if (reconnect_asked) {
            reconnect_asked = false;
        } else {
            delay = backoff_ms();
            st.backoff_step++;
        }
        set_state(WsState::kWaiting, st.reason);
        schedule_retry(delay);
    }

    void established() {
        st.connects++;
        set_state(WsState::kConnected, "");
    }

    // A piece of a message: append it; at the message's end, deliver it.
    int receive(struct lws *w, const char *in, size_t len) {
        if (!in_message) {
            in_message = true;
            skipping = lws_frame_is_binary(w) != 0;
            msg.clear();
        }
        if (!skipping) {
            if (msg.size() + len > opt.max_message_bytes) {
                skipping = true;
                std::string().swap(msg);
            } else {
                try {
                    msg.append(in, len);
                } catch (const std::bad_alloc &) {
                    std::string().swap(msg);
                    set_text(local_reason, "out of memory");
                    return -1;  // closes the connection
                }
            }
        }
        if (!lws_is_final_fragment(w))
            return 0;
        in_message = false;
        if (skipping) {
            st.dropped++;
            return 0;
        }
        st.messages++;
        st.bytes += msg.size();
        st.backoff_step = 0;  // this connection works: the next failure starts over
        delivered++;
        if (!sink->on_message(msg.data(), msg.size()) && !pause_requested) {
            pause_requested = paused = true;
            lws_rx_flow_control(w, 0);
        }
        return 0;
    }

    int dispatch(struct lws *w, enum lws_callback_reasons reason, void *in, size_t len) {
        bool mine = w != nullptr &&
                    lws_get_opaque_user_data(w) == reinterpret_cast<void *>(generation);
        if (!mine)
            return 0;
        switch (reason) {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
            auto **p = static_cast<unsigned char **>(in);
            const auto *ua = reinterpret_cast<const unsigned char *>(opt.user_agent.c_str());
            if (!opt.user_agent.empty() &&
                lws_add_http_header_by_token(w, WSI_TOKEN_HTTP_USER_AGENT, ua,
                                             int(opt.user_agent.size()), p, *p + len))
                return -1;
            return 0;
        }
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            wsi = w;
            established();
            if (closing)  // stop() or reconnect() came first
                lws_callback_on_writable(w);
            return 0;
        case LWS_CALLBACK_CLIENT_RECEIVE:
            return receive(w, static_cast<const char *>(in), len);
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            if (closing) {
                lws_close_reason(w, LWS_CLOSE_STATUS_GOINGAWAY,
                                 reinterpret_cast<unsigned char *>(const_cast<char *>("bye")), 3);
                return -1;
            }
            return 0;
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
            // Two bytes of status code, then the reason text.
            const auto *b = static_cast<const unsigned char *>(in);
            int code = len >= 2 ? (b[0] << 8 | b[1]) : 0;
            char text[120];
            set_text(text, len > 2 ? reinterpret_cast<const char *>(b + 2) : "",
                     len > 2 ? len - 2 : 0);
            snprintf(peer_reason, sizeof peer_reason, "closed by the server: %d%s%s", code,
                     text[0] ? " " : "", text);
            return 0;
        }
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
            char text[sizeof st.reason];
            set_text(text, in != nullptr ? static_cast<const char *>(in) : "connection failed", len);
            ended(false, text[0] ? text : "connection failed");
            return 0;
        }
        case LWS_CALLBACK_CLIENT_CLOSED:
            ended(true, "connection closed without a close frame");
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:
            // A connection that ends with no other report.
            ended(st.state == WsState::kConnected, "connection lost");
            return 0;
        default:
            return 0;
        }
    }
};

namespace {

int callback(struct lws *wsi, enum lws_callback_reasons reason, void *, void *in, size_t len) {
    struct lws_context *ctx = wsi != nullptr ? lws_get_context(wsi) : nullptr;
    auto *self = ctx != nullptr ? static_cast<WsClient::Impl *>(lws_context_user(ctx)) : nullptr;
    if (self == nullptr)
        return 0;
    return self->dispatch(wsi, reason, in, len);
}

}  // namespace

WsClient::WsClient() noexcept = default;

WsClient::~WsClient() {
    if (impl_ && impl_->ctx != nullptr) {
        impl_->destroying = true;
        lws_sul_cancel(&impl_->wake.sul);
        lws_sul_cancel(&impl_->retry.sul);
        lws_context_destroy(impl_->ctx);
        impl_->ctx = nullptr;
    }
}

bool WsClient::init(const WsOptions &options, WsSink *sink, std::string *error) noexcept {
    try {
        if (impl_) {
            *error = "the client is initialized already";
            return false;
        }
        if (sink == nullptr) {
            *error = "no sink";
            return false;
        }
        if (options.backoff_initial_ms < 1 || options.backoff_max_ms < options.backoff_initial_ms ||
            options.jitter_percent < 0 || options.jitter_percent > 100 ||
            options.connect_timeout_s < 1 || options.ping_after_s < 0 ||
            options.ping_after_s > 65535 || options.hangup_after_s > 65535 ||
            (options.ping_after_s > 0 && options.hangup_after_s <= options.ping_after_s) ||
            options.max_message_bytes < 1) {
            *error = "bad options: need 1 <= backoff_initial_ms <= backoff_max_ms, jitter_percent "
                     "in 0..100, connect_timeout_s >= 1, ping_after_s < hangup_after_s";
            return false;
        }
        auto impl = std::make_unique<Impl>();
        impl->opt = options;
        if (!parse_ws_url(options.url, &impl->url, error))
            return false;
        const WsUrl &u = impl->url;
        bool v6 = u.host.find(':') != std::string::npos;
        impl->host_header = v6 ? "[" + u.host + "]" : u.host;
        if (u.port != (u.tls ? 443 : 80))
            impl->host_header += ":" + std::to_string(u.port);
        impl->sink = sink;
        impl->protocols[0].name = kProtocolName;
        impl->protocols[0].callback = callback;
        impl->protocols[0].rx_buffer_size = kRxBuffer;
        impl->validity.secs_since_valid_ping = uint16_t(options.ping_after_s);
        impl->validity.secs_since_valid_hangup =
            options.ping_after_s > 0 ? uint16_t(options.hangup_after_s) : 0;

        struct lws_context_creation_info info;
        std::memset(&info, 0, sizeof info);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = impl->protocols;
        info.user = impl.get();
        info.gid = -1;
        info.uid = -1;
        info.fd_limit_per_thread = kFdLimit;
        info.pt_serv_buf_size = kRxBuffer;
        info.timeout_secs = unsigned(options.connect_timeout_s);
        info.connect_timeout_secs = unsigned(options.connect_timeout_s);
        if (u.tls) {
            info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
            if (!options.ca_file.empty())
                info.client_ssl_ca_filepath = impl->opt.ca_file.c_str();
        }
        impl->ctx = lws_create_context(&info);
        if (impl->ctx == nullptr) {
            *error = "libwebsockets could not create its context";
            return false;
        }
        impl_ = std::move(impl);
        return true;
    } catch (const std::bad_alloc &) {
        // impl (a local) is gone; its context, if created, with it: the
        // only allocation after lws_create_context is none.
        return false;
    }
}

void WsClient::set_cursor(int64_t time_us) noexcept {
    if (impl_)
        impl_->st.cursor = time_us < 0 ? -1 : time_us;
}

void WsClient::start() noexcept {
    if (!impl_ || (impl_->st.state != WsState::kIdle && impl_->st.state != WsState::kStopped))
        return;
    impl_->st.backoff_step = 0;
    if (impl_->live) {  // the last connection is still closing
        impl_->set_state(WsState::kWaiting, "starting");
        impl_->schedule_retry(10);
        return;
    }
    impl_->connect_now();
}

int WsClient::service(int timeout_ms) noexcept {
    if (!impl_)
        return -1;
    Impl &m = *impl_;
    m.delivered = 0;
    m.pause_requested = false;
    if (m.paused) {
        m.paused = false;
        if (m.live && m.wsi != nullptr)
            lws_rx_flow_control(m.wsi, 1);
    }
    auto idle = [&m] {
        return !m.live && (m.st.state == WsState::kIdle || m.st.state == WsState::kStopped);
    };
    if (idle())
        return 0;
    // The next attempt is the library's timer's to start; under load (two
    // clients in one process, a busy machine) it was seen not to fire, the
    // client waiting forever. A slice that finds the attempt overdue starts
    // it itself.
    if (m.st.state == WsState::kWaiting && !m.live && now_ms() >= m.retry_at_ms + kRetryGraceMs) {
        lws_sul_cancel(&m.retry.sul);
        m.connect_now();
    }
    if (timeout_ms <= 0) {
        lws_service(m.ctx, -1);  // a negative timeout polls without waiting
        return m.delivered;
    }
    int64_t deadline = now_ms() + timeout_ms;
    lws_sul_schedule(m.ctx, 0, &m.wake.sul, Impl::on_wake, lws_usec_t(timeout_ms) * 1000);
    for (;;) {
        if (lws_service(m.ctx, 0) < 0 || m.pause_requested || idle() || now_ms() >= deadline)
            break;
    }
    lws_sul_cancel(&m.wake.sul);
    return m.delivered;
}

void WsClient::stop() noexcept {
    if (!impl_)
        return;
    Impl &m = *impl_;
    lws_sul_cancel(&m.retry.sul);
    if (m.st.state == WsState::kStopped || m.st.state == WsState::kIdle)
        return;
    WsState was = m.st.state;
    set_text(m.local_reason, "stopped");
    set_text(m.st.reason, "stopped");
    m.set_state(WsState::kStopped, "stopped");
    if (m.live && m.wsi != nullptr) {
        m.closing = true;
        if (was == WsState::kConnected)
            lws_callback_on_writable(m.wsi);  // a close frame, then the end
        else
            lws_set_timeout(m.wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

void WsClient::reconnect() noexcept {
    if (!impl_)
        return;
    Impl &m = *impl_;
    switch (m.st.state) {
    case WsState::kWaiting:
        lws_sul_cancel(&m.retry.sul);
        m.connect_now();
        return;
    case WsState::kConnecting:
    case WsState::kConnected:
        if (m.live && m.wsi != nullptr) {
            m.closing = true;
            m.reconnect_asked = true;
            set_text(m.local_reason, "reconnect asked");
            if (m.st.state == WsState::kConnected)
                lws_callback_on_writable(m.wsi);
            else
                lws_set_timeout(m.wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
        return;
    default:
        return;
    }
}

WsState WsClient::state() const noexcept {
    return impl_ ? impl_->st.state : WsState::kIdle;
}

WsStats WsClient::stats() const noexcept {
    if (!impl_)
        return WsStats();
    WsStats s = impl_->st;
    s.retry_in_ms = s.state == WsState::kWaiting ? std::max<int64_t>(0, impl_->retry_at_ms - now_ms()) : 0;
    return s;
}

void WsClient::set_library_log(int levels, void (*emit)(int level, const char *line)) noexcept {
    lws_set_log_level(levels, emit);
}

}  // namespace ing
