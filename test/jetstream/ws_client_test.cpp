// ing::WsClient against a local Jetstream-compatible server
// (test/jetstream/replay_server.py, run with Debian's python3-websockets).
// Tests that need the server skip, saying why, when the module is missing.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libwebsockets.h>

#include "ws_client.hpp"

namespace {

const char *const kPython = "/usr/bin/python3";
const std::string kServer = std::string(DP_SOURCE_DIR) + "/test/jetstream/replay_server.py";
constexpr int64_t kT0 = 1725494400000000;  // time_us of the first event

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

bool have_websockets() {
    static int have = -1;
    if (have < 0)
        have = std::system("/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1") == 0;
    return have == 1;
}

// time_us of an event line, or -1.
int64_t time_us_of(const std::string &line) {
    size_t at = line.find("\"time_us\":");
    return at == std::string::npos ? -1 : std::strtoll(line.c_str() + at + 10, nullptr, 10);
}

// A port nothing listens on (bound, read, closed: free for a while).
int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
        close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

// A scratch directory, removed at the end.
class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/ws_client_test.XXXXXX";
        path_ = mkdtemp(tmpl) ? tmpl : "/tmp";
    }
    ~TempDir() {
        if (path_ != "/tmp")
            std::system(("rm -rf '" + path_ + "'").c_str());
    }
    const std::string &path() const { return path_; }

  private:
    std::string path_;
};

// replay_server.py as a child process.
class Server {
  public:
    ~Server() { stop(); }

    // Starts it on FILE with extra arguments; waits for "READY port=N".
    bool start(const std::string &file, const std::string &log,
               std::vector<std::string> extra = {}) {
        int out[2];
        if (pipe(out) != 0)
            return false;
        std::vector<std::string> args = {kPython, kServer, file};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], 1);
            int err = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (err >= 0)
                dup2(err, 2);
            close(out[0]);
            std::vector<char *> argv;
            for (std::string &a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(kPython, argv.data());
            _exit(127);
        }
        close(out[1]);
        std::string line;
        int64_t deadline = now_ms() + 15000;
        while (line.find('\n') == std::string::npos && now_ms() < deadline) {
            pollfd p{out[0], POLLIN, 0};
            if (poll(&p, 1, 200) <= 0)
                continue;
            char buf[256];
            ssize_t n = read(out[0], buf, sizeof buf);
            if (n <= 0)
                break;
            line.append(buf, size_t(n));
        }
        close(out[0]);
        if (line.rfind("READY port=", 0) != 0)
            return false;
        port_ = std::atoi(line.c_str() + 11);
        return port_ > 0;
    }

    void stop() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }

    int port() const { return port_; }

  private:
    pid_t pid_ = -1;
    int port_ = 0;
};

// Collects messages and state changes; can pass the cursor back.
struct Collect : ing::WsSink {
    ing::WsClient *client = nullptr;
    bool pass_cursor = false;  // after each event, set_cursor(its time_us + 1 - rewind)
    int64_t rewind = 0;
    bool pause_each = false;
    std::vector<std::string> got;
    std::vector<ing::WsState> states;
    std::vector<std::string> reasons;
    std::vector<int64_t> connect_cursors;  // the cursor of each attempt
    std::vector<int64_t> first_after;      // the first time_us of each connection
    bool fresh = false;                    // connected, nothing received yet

    bool on_message(const char *data, size_t len) noexcept override {
        got.emplace_back(data, len);
        int64_t t = time_us_of(got.back());
        if (fresh) {
            first_after.push_back(t);
            fresh = false;
        }
        if (pass_cursor && t >= 0)
            client->set_cursor(t + 1 - rewind);
        return !pause_each;
    }
    void on_state(ing::WsState s, const char *reason) noexcept override {
        states.push_back(s);
        reasons.emplace_back(reason);
        if (s == ing::WsState::kConnecting && client != nullptr)
            connect_cursors.push_back(client->stats().cursor);
        if (s == ing::WsState::kConnected)
            fresh = true;
    }
};

// Builds a small Jetstream-shaped file: commits of several collections,
// account events, escapes and UTF-8, a few large messages.
std::vector<std::string> make_events(int n) {
    static const char *const kColl[] = {"app.bsky.feed.post", "app.bsky.graph.follow",
                                        "app.bsky.feed.like", "app.bsky.feed.repost"};
    std::vector<std::string> v;
    for (int i = 0; i < n; i++) {
        std::string did = "did:plc:" + std::string(20, char('a' + i % 26)) + "2345";
        std::string t = std::to_string(kT0 + int64_t(i) * 10);
        if (i % 25 == 7) {
            v.push_back("{\"did\":\"" + did + "\",\"time_us\":" + t +
                        ",\"kind\":\"account\",\"account\":{\"active\":false,\"did\":\"" + did +
                        "\",\"seq\":" + std::to_string(1000 + i) +
                        ",\"status\":\"deactivated\",\"time\":\"2024-09-05T00:00:00.000Z\"}}");
            continue;
        }
        std::string text = "post " + std::to_string(i) + " d\\u00e9j\\u00e0 \\\"vu\\\" 日本語 🦋";
        if (i % 97 == 50)
            text += std::string(150000 + i, 'x');  // spans many reads
        v.push_back("{\"did\":\"" + did + "\",\"time_us\":" + t +
                    ",\"kind\":\"commit\",\"commit\":{\"rev\":\"3l3qo2vutsw2b\",\"operation\":"
                    "\"create\",\"collection\":\"" + kColl[i % 4] +
                    "\",\"rkey\":\"3l3qo2vuowo2b\",\"record\":{\"text\":\"" + text +
                    "\"},\"cid\":\"bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi\"}}");
    }
    return v;
}

class WsClientTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!have_websockets())
            GTEST_SKIP() << "python3-websockets is missing (apt-get install python3-websockets): "
                            "the replay server cannot run";
        ing::WsClient::set_library_log(LLL_ERR, nullptr);
        events_ = make_events(400);
        file_ = dir_.path() + "/events.jsonl";
        log_ = dir_.path() + "/server.log";
        std::ofstream f(file_);
        for (const std::string &e : events_)
            f << e << "\n";
    }

    // A file of the server's log, for failure messages.
    std::string server_log() const {
        std::ifstream f(log_);
        return std::string(std::istreambuf_iterator<char>(f), {});
    }

    ing::WsOptions options(int port, const std::string &path = "/subscribe") const {
        ing::WsOptions o;
        o.url = "ws://127.0.0.1:" + std::to_string(port) + path;
        o.backoff_initial_ms = 20;
        o.backoff_max_ms = 200;
        return o;
    }

    // Services c in slices until done() or timeout_ms.
    static bool run_until(ing::WsClient &c, const std::function<bool()> &done, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        while (!done()) {
            if (now_ms() >= deadline)
                return false;
            c.service(50);
        }
        return true;
    }

    TempDir dir_;
    std::vector<std::string> events_;
    std::string file_, log_;
};

TEST(WsUrl, Parses) {
    ing::WsUrl u;
    std::string err;
    ASSERT_TRUE(ing::parse_ws_url("wss://jetstream2.us-east.bsky.network/subscribe", &u, &err));
    EXPECT_TRUE(u.tls);
    EXPECT_EQ(u.host, "jetstream2.us-east.bsky.network");
    EXPECT_EQ(u.port, 443);
    EXPECT_EQ(u.path, "/subscribe");
    ASSERT_TRUE(ing::parse_ws_url("ws://127.0.0.1:6008", &u, &err));
    EXPECT_FALSE(u.tls);
    EXPECT_EQ(u.port, 6008);
    EXPECT_EQ(u.path, "/");
    ASSERT_TRUE(ing::parse_ws_url("ws://[::1]:99/s?compress=false", &u, &err));
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.port, 99);
    EXPECT_EQ(u.path, "/s?compress=false");
    ASSERT_TRUE(ing::parse_ws_url("ws://h?x=1", &u, &err));
    EXPECT_EQ(u.path, "/?x=1");
    for (const char *bad : {"http://h/", "ws://", "ws://:80/", "ws://h:/", "ws://h:0/",
                            "ws://h:65536/", "ws://h:8x/", "ws://u@h/", "ws://h/#f", "ws://[::1/"}) {
        err.clear();
        EXPECT_FALSE(ing::parse_ws_url(bad, &u, &err)) << bad;
        EXPECT_FALSE(err.empty()) << bad;
    }
}

TEST(WsUrl, BuildsTheSubscriptionPath) {
    ing::WsUrl u;
    std::string err, p;
    ASSERT_TRUE(ing::parse_ws_url("ws://h/subscribe", &u, &err));
    ASSERT_TRUE(ing::jetstream_request_path(u, {"app.bsky.feed.post", "app.bsky.graph.*"}, 1725519626134432, &p));
    EXPECT_EQ(p, "/subscribe?wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.graph.*"
                 "&cursor=1725519626134432");
    ASSERT_TRUE(ing::jetstream_request_path(u, {}, -1, &p));
    EXPECT_EQ(p, "/subscribe");
    ASSERT_TRUE(ing::parse_ws_url("ws://h/subscribe?compress=false", &u, &err));
    ASSERT_TRUE(ing::jetstream_request_path(u, {"a b&c"}, 0, &p));
    EXPECT_EQ(p, "/subscribe?compress=false&wantedCollections=a%20b%26c&cursor=0");
}

TEST(WsClientOptions, RefusesBadOnes) {
    struct : ing::WsSink {
        bool on_message(const char *, size_t) noexcept override { return true; }
    } sink;
    std::string err;
    {
        ing::WsClient c;
        ing::WsOptions o;
        o.url = "http://x/";
        EXPECT_FALSE(c.init(o, &sink, &err));
        EXPECT_NE(err.find("ws://"), std::string::npos);
        EXPECT_EQ(c.service(10), -1);
    }
    {
        ing::WsClient c;
        ing::WsOptions o;
        o.url = "ws://x/";
        o.ping_after_s = 30;
        o.hangup_after_s = 30;
        EXPECT_FALSE(c.init(o, &sink, &err));
    }
    {
        ing::WsClient c;
        ing::WsOptions o;
        o.url = "ws://x/";
        EXPECT_TRUE(c.init(o, &sink, &err)) << err;
        EXPECT_FALSE(c.init(o, &sink, &err));
        EXPECT_EQ(c.state(), ing::WsState::kIdle);
        EXPECT_EQ(c.service(10), 0);  // idle: returns at once
    }
}

TEST_F(WsClientTest, ReceivesEveryEventInOrder) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_)) << server_log();
    Collect sink;
    ing::WsClient c;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size(); }, 20000))
        << sink.got.size() << " of " << events_.size() << "\n" << server_log();
    EXPECT_EQ(sink.got, events_);
    ing::WsStats st = c.stats();
    EXPECT_EQ(st.state, ing::WsState::kConnected);
    EXPECT_EQ(st.connects, 1u);
    EXPECT_EQ(st.messages, events_.size());
    EXPECT_EQ(st.dropped, 0u);
    ASSERT_GE(sink.states.size(), 2u);
    EXPECT_EQ(sink.states[0], ing::WsState::kConnecting);
    EXPECT_EQ(sink.states[1], ing::WsState::kConnected);
}

TEST_F(WsClientTest, ReassemblesFragmentedMessages) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_, {"--fragment", "37"})) << server_log();
    Collect sink;
    ing::WsClient c;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size(); }, 30000))
        << sink.got.size() << " of " << events_.size();
    EXPECT_EQ(sink.got, events_);
}

TEST_F(WsClientTest, AsksForTheWantedCollectionsFromTheCursor) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_)) << server_log();
    int64_t cursor = kT0 + 1001;  // events from the 101st on (time_us >= cursor)
    std::vector<std::string> want;
    for (const std::string &e : events_)
        if (time_us_of(e) >= cursor && (e.find("\"kind\":\"account\"") != std::string::npos ||
                                        e.find("app.bsky.graph.follow") != std::string::npos))
            want.push_back(e);
    Collect sink;
    ing::WsClient c;
    ing::WsOptions o = options(s.port());
    o.wanted_collections = {"app.bsky.graph.follow"};
    std::string err;
    ASSERT_TRUE(c.init(o, &sink, &err)) << err;
    c.set_cursor(cursor);
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= want.size(); }, 20000))
        << server_log();
    c.service(200);  // nothing more comes
    EXPECT_EQ(sink.got, want);
    EXPECT_NE(server_log().find("cursor=" + std::to_string(cursor) +
                                " collections=['app.bsky.graph.follow']"),
              std::string::npos);
}

// The server closes every connection after 60 events (a close frame); the
// sink passes back the cursor after each event, and every reconnection
// starts exactly there: each event arrives once, in order.
TEST_F(WsClientTest, ResumesFromThePassedCursorAfterAServerClose) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_, {"--close-after", "60"})) << server_log();
    Collect sink;
    ing::WsClient c;
    sink.client = &c;
    sink.pass_cursor = true;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size(); }, 30000))
        << sink.got.size() << " of " << events_.size() << "\n" << server_log();
    c.service(100);
    EXPECT_EQ(sink.got, events_);
    ing::WsStats st = c.stats();
    EXPECT_EQ(st.connects, (events_.size() + 59) / 60);
    EXPECT_EQ(st.disconnects, st.connects - 1);
    EXPECT_EQ(st.failures, 0u);
    EXPECT_NE(std::string(st.reason).find("closed by the server: 1001"), std::string::npos)
        << st.reason;
    // Each connection asked for the cursor passed back and began there.
    ASSERT_EQ(sink.connect_cursors.size(), st.connects);
    ASSERT_EQ(sink.first_after.size(), st.connects);
    EXPECT_EQ(sink.connect_cursors[0], -1);
    for (size_t i = 1; i < sink.connect_cursors.size(); i++) {
        int64_t cur = sink.connect_cursors[i];
        EXPECT_EQ(cur, time_us_of(events_[i * 60 - 1]) + 1);
        EXPECT_EQ(sink.first_after[i], time_us_of(events_[i * 60]));
    }
}

// The same with the cursor rewound by five events, as a consumer does:
// the overlap arrives twice, nothing is lost.
TEST_F(WsClientTest, ARewoundCursorReplaysTheOverlap) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_, {"--close-after", "100"})) << server_log();
    Collect sink;
    ing::WsClient c;
    sink.client = &c;
    sink.pass_cursor = true;
    sink.rewind = 50;  // 5 events of 10 µs
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    std::set<std::string> distinct;
    ASSERT_TRUE(run_until(c, [&] {
        distinct.insert(sink.got.begin(), sink.got.end());
        return distinct.size() >= events_.size();
    }, 30000)) << server_log();
    EXPECT_EQ(distinct, std::set<std::string>(events_.begin(), events_.end()));
    size_t reconnects = c.stats().connects - 1;
    EXPECT_GE(reconnects, 3u);
    EXPECT_EQ(sink.got.size(), events_.size() + 5 * reconnects);
}

// Connections dropped without a close frame, at random.
TEST_F(WsClientTest, SurvivesAbruptDrops) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_, {"--close-random", "0.02", "--abort", "--seed", "5"}))
        << server_log();
    Collect sink;
    ing::WsClient c;
    sink.client = &c;
    sink.pass_cursor = true;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size(); }, 30000))
        << sink.got.size() << " of " << events_.size() << "\n" << server_log();
    EXPECT_EQ(sink.got, events_);
    EXPECT_GE(c.stats().disconnects, 2u);
}

// Nothing listens: attempts fail and the delays between them grow (20, 40,
// 80, ... capped at 200 ms, less up to 30 % jitter); then a server comes
// up on that port and the client connects by itself.
TEST_F(WsClientTest, BacksOffWhileRefusedThenConnects) {
    int port = free_port();
    ASSERT_GT(port, 0);
    ing::WsClient c;
    std::vector<int64_t> attempt_at;
    struct Timed : Collect {
        std::vector<int64_t> *at;
        void on_state(ing::WsState s, const char *reason) noexcept override {
            Collect::on_state(s, reason);
            if (s == ing::WsState::kConnecting)
                at->push_back(now_ms());
        }
    } timed;
    timed.at = &attempt_at;
    std::string err;
    ASSERT_TRUE(c.init(options(port), &timed, &err)) << err;
    c.start();
    int64_t t0 = now_ms();
    while (now_ms() - t0 < 1500)
        c.service(50);
    ing::WsStats st = c.stats();
    EXPECT_EQ(st.connects, 0u);
    EXPECT_GE(st.failures, 6u);
    EXPECT_LE(st.failures, 20u);  // 1.5 s / (~140..200 ms once capped) + the first ones
    EXPECT_NE(st.state, ing::WsState::kConnected);
    EXPECT_NE(std::string(st.reason), "");
    EXPECT_LE(st.retry_in_ms, 200);
    ASSERT_GE(attempt_at.size(), 5u);
    for (size_t i = 1; i < attempt_at.size(); i++) {
        int64_t nominal = std::min<int64_t>(20 << std::min<size_t>(i - 1, 10), 200);
        int64_t gap = attempt_at[i] - attempt_at[i - 1];
        EXPECT_GE(gap, nominal * 7 / 10 - 2) << "attempt " << i;
        EXPECT_LE(gap, nominal + 120) << "attempt " << i;  // slices of 50 ms, a busy machine
    }
    Server s;
    ASSERT_TRUE(s.start(file_, log_, {"--port", std::to_string(port)})) << server_log();
    ASSERT_TRUE(run_until(c, [&] { return timed.got.size() >= events_.size(); }, 20000))
        << server_log();
    EXPECT_EQ(timed.got, events_);
    EXPECT_EQ(c.stats().connects, 1u);
    EXPECT_EQ(c.stats().backoff_step, 0);
    s.stop();  // before the client goes: the server's close needs no answer
}

// stop() while waiting to retry: no more attempts, until start().
TEST_F(WsClientTest, StopWhileWaitingStopsRetrying) {
    int port = free_port();
    ASSERT_GT(port, 0);
    Collect sink;
    ing::WsClient c;
    std::string err;
    ASSERT_TRUE(c.init(options(port), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return c.stats().failures >= 2; }, 5000));
    c.stop();
    uint64_t attempts = c.stats().attempts;
    int64_t t = now_ms();
    EXPECT_EQ(c.service(300), 0);
    EXPECT_LE(now_ms() - t, 50);
    EXPECT_EQ(c.stats().attempts, attempts);
    EXPECT_EQ(c.state(), ing::WsState::kStopped);
    EXPECT_STREQ(c.stats().reason, "stopped");
    c.start();
    EXPECT_EQ(c.stats().attempts, attempts + 1);
    EXPECT_EQ(c.stats().backoff_step, 0);
}

// A server that refuses the upgrade (404: wrong path) is a failed attempt.
TEST_F(WsClientTest, ARefusedUpgradeIsAFailedAttempt) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_)) << server_log();
    Collect sink;
    ing::WsClient c;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port(), "/elsewhere"), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return c.stats().failures >= 2; }, 10000));
    EXPECT_EQ(c.stats().connects, 0u);
    EXPECT_TRUE(sink.got.empty());
    EXPECT_NE(std::string(c.stats().reason), "");
}

// service() keeps to its slice while nothing arrives, and service(0) only
// polls.
TEST_F(WsClientTest, ServiceKeepsToItsSlice) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_)) << server_log();
    Collect sink;
    ing::WsClient c;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size(); }, 20000));
    for (int slice : {100, 300}) {
        int64_t t = now_ms();
        EXPECT_EQ(c.service(slice), 0);
        int64_t took = now_ms() - t;
        EXPECT_GE(took, slice - 2);
        EXPECT_LE(took, slice + 150);
    }
    int64_t t = now_ms();
    EXPECT_EQ(c.service(0), 0);
    EXPECT_LE(now_ms() - t, 50);
}

// A sink that returns false gets one message per service() call.
TEST_F(WsClientTest, PausesWhenTheSinkAsks) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_)) << server_log();
    Collect sink;
    sink.pause_each = true;
    ing::WsClient c;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    int64_t deadline = now_ms() + 30000;
    while (sink.got.size() < events_.size() && now_ms() < deadline) {
        int n = c.service(200);
        ASSERT_LE(n, 1);
    }
    EXPECT_EQ(sink.got, events_);
}

// A message longer than max_message_bytes is dropped and counted.
TEST_F(WsClientTest, DropsMessagesOverTheLimit) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_)) << server_log();
    std::vector<std::string> small;
    for (const std::string &e : events_)
        if (e.size() <= 100000)
            small.push_back(e);
    ASSERT_LT(small.size(), events_.size());
    Collect sink;
    ing::WsClient c;
    ing::WsOptions o = options(s.port());
    o.max_message_bytes = 100000;
    std::string err;
    ASSERT_TRUE(c.init(o, &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= small.size(); }, 20000));
    c.service(200);
    EXPECT_EQ(sink.got, small);
    EXPECT_EQ(c.stats().dropped, events_.size() - small.size());
    EXPECT_EQ(c.stats().connects, 1u);
}

// Two clients in one process, serviced in turn, do not disturb each other.
TEST_F(WsClientTest, TwoClientsAreIndependent) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_, {"--close-after", "150"})) << server_log();
    Collect a, b;
    ing::WsClient ca, cb;
    a.client = &ca;
    b.client = &cb;
    a.pass_cursor = b.pass_cursor = true;
    std::string err;
    ASSERT_TRUE(ca.init(options(s.port()), &a, &err)) << err;
    ing::WsOptions ob = options(s.port());
    ob.wanted_collections = {"app.bsky.feed.post"};
    ASSERT_TRUE(cb.init(ob, &b, &err)) << err;
    ca.start();
    cb.start();
    size_t posts = 0;
    for (const std::string &e : events_)
        if (e.find("app.bsky.feed.post") != std::string::npos || e.find("\"account\"") != std::string::npos)
            posts++;
    int64_t deadline = now_ms() + 30000;
    while ((a.got.size() < events_.size() || b.got.size() < posts) && now_ms() < deadline) {
        ca.service(20);
        cb.service(20);
    }
    // (A client that stopped short says where it stood, and the server why.)
    const ing::WsStats &sa = ca.stats();
    ASSERT_EQ(a.got.size(), events_.size())
        << "state " << int(sa.state) << ", attempts " << sa.attempts << ", connects "
        << sa.connects << ", retry in " << sa.retry_in_ms << " ms, last reason: " << sa.reason
        << "\n" << server_log();
    EXPECT_EQ(a.got, events_);
    EXPECT_EQ(b.got.size(), posts);
}

// stop() closes and stays stopped; start() resumes from the cursor.
// libwebsockets 4.1 closes the socket right after its close frame: a
// server still sending may see a reset (1006) before it reads the frame.
TEST_F(WsClientTest, StopThenStartResumes) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_, {"--rate", "2000"})) << server_log();
    Collect sink;
    ing::WsClient c;
    sink.client = &c;
    sink.pass_cursor = true;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= 50; }, 20000));
    c.stop();
    EXPECT_EQ(c.state(), ing::WsState::kStopped);
    for (int i = 0; i < 10; i++)
        c.service(20);  // the close completes
    size_t had = sink.got.size();
    int64_t t = now_ms();
    EXPECT_EQ(c.service(200), 0);
    EXPECT_LE(now_ms() - t, 50);  // stopped and closed: returns at once
    EXPECT_EQ(sink.got.size(), had);
    EXPECT_EQ(c.stats().disconnects, 1u);
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size(); }, 20000));
    EXPECT_EQ(sink.got, events_);
    EXPECT_EQ(c.stats().connects, 2u);
    std::string log = server_log();
    EXPECT_TRUE(log.find("conn 1: done") != std::string::npos &&
                (log.find("client closed (1001)") != std::string::npos ||
                 log.find("client closed (1006)") != std::string::npos))
        << log;
}

// reconnect() drops the connection and asks again with the cursor set
// since: the caller rewinds.
TEST_F(WsClientTest, ReconnectAsksAgainWithTheNewCursor) {
    Server s;
    ASSERT_TRUE(s.start(file_, log_)) << server_log();
    Collect sink;
    ing::WsClient c;
    sink.client = &c;
    std::string err;
    ASSERT_TRUE(c.init(options(s.port()), &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size(); }, 20000));
    c.set_cursor(time_us_of(events_[390]));
    c.reconnect();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size() + 10; }, 20000));
    EXPECT_EQ(std::vector<std::string>(sink.got.begin() + long(events_.size()), sink.got.end()),
              std::vector<std::string>(events_.begin() + 390, events_.end()));
    EXPECT_EQ(c.stats().connects, 2u);
    EXPECT_EQ(c.stats().backoff_step, 0);
}

// wss:// with a self-signed certificate: refused unless allowed.
TEST_F(WsClientTest, SpeaksTls) {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "openssl is missing: no certificate for the test server";
    std::string cert = dir_.path() + "/cert.pem", key = dir_.path() + "/key.pem";
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + key + "' -out '" +
                      cert + "' -days 2 -subj /CN=localhost >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    Server s;
    ASSERT_TRUE(s.start(file_, log_, {"--cert", cert, "--key", key})) << server_log();
    std::string err;
    {
        Collect sink;
        ing::WsClient c;
        ing::WsOptions o = options(s.port());
        o.url = "wss://127.0.0.1:" + std::to_string(s.port()) + "/subscribe";
        ASSERT_TRUE(c.init(o, &sink, &err)) << err;
        c.start();
        ASSERT_TRUE(run_until(c, [&] { return c.stats().failures >= 1; }, 10000));
        EXPECT_EQ(c.stats().connects, 0u);
    }
    Collect sink;
    ing::WsClient c;
    ing::WsOptions o = options(s.port());
    o.url = "wss://127.0.0.1:" + std::to_string(s.port()) + "/subscribe";
    o.tls_allow_self_signed = true;
    o.tls_skip_hostname_check = true;
    ASSERT_TRUE(c.init(o, &sink, &err)) << err;
    c.start();
    ASSERT_TRUE(run_until(c, [&] { return sink.got.size() >= events_.size(); }, 20000))
        << c.stats().reason << "\n" << server_log();
    EXPECT_EQ(sink.got, events_);
}

}  // namespace
