// stdb-standin stopping while it is loaded: with one I/O thread its replies
// reach the sessions through a ReplyRelay, which holds sessions between a
// database thread's drain and the I/O thread's turn. Those sessions own
// sockets of the I/O io_context, so they must go before it does; when the
// relay outlived it (it belongs to the server's shared context), stopping a
// loaded stand-in corrupted the heap (2 stops in 12 crashed, release build).
// Each test stops a server in the middle of pipelined load, several times;
// the ASan stage turns any use after free into a failure.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "benchdist/generator/load_session.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/standin/standin_server.hpp"
#include "load_session_support.hpp"

namespace benchdist::generator {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<standin::StandinServer> loaded_standin(unsigned io_threads) {
    standin::StandinOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.io_threads = io_threads;
    auto server = std::make_unique<standin::StandinServer>(o);
    server->start();
    net::ClientRequest req;
    req.method = "POST";
    req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/v1/database/test-1/call/seed";
    req.body = "[1000,10000000]";
    req.content_type = "application/json";
    const auto r = net::http_request(req);
    if (r.status != 200) throw std::runtime_error("seed failed: " + std::to_string(r.status) + " " + r.body);
    return server;
}

void stop_under_load(unsigned io_threads) {
    for (int round = 0; round < 4; ++round) {
        auto server = loaded_standin(io_threads);
        LoadSessionOptions o = benchdist::testing::test_session_options(server->port(), "test-1", 64, 64);
        o.max_inflight = 8;
        LoadSession session(o, benchdist::testing::small_pairs());
        session.open_all();
        ASSERT_EQ(session.opened(), 64u);
        session.start(1);
        ASSERT_TRUE(session.wait_for_committed(2000, 30s)) << "round " << round << ": no load";
        // Replies are in flight between the database thread and the sessions.
        server->stop();
        server.reset();
        (void)session.stop();
        session.close_all(2s);
    }
}

TEST(StandinShutdown, StopsCleanlyUnderLoadWithOneIoThread) { stop_under_load(1); }

TEST(StandinShutdown, StopsCleanlyUnderLoadWithTwoIoThreads) { stop_under_load(2); }

}  // namespace
}  // namespace benchdist::generator
