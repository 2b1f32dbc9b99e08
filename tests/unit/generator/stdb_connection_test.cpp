// StdbConnection's Beast glue over beast::test::stream: an in-memory pipe
// whose fail_count makes the N-th read or write (handshake, InitialConnection,
// calls, results, close, teardown) fail, so every failure path is walked in
// turn without a socket. The other end is a small scripted server (a
// coroutine on the same io_context) that speaks just enough of the protocol.
#include "generator/stdb_connection_impl.hpp"

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/http.hpp>

#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/generator/protocol_errors.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/v3_framing.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace gen = benchdist::generator;
namespace stdb = benchdist::stdb;
using namespace std::chrono_literals;

using TestStream = beast::test::stream;
using Conn = gen::detail::StdbConnectionImpl<TestStream>;

// What the scripted server does.
struct Script {
    stdb::ProtocolVersion version = stdb::ProtocolVersion::V3;
    unsigned refuse_status = 0;      // answer the upgrade with this HTTP status instead
    std::size_t answer_calls = 0;    // answer this many calls (each message's in one message on v3)
    bool close_after_calls = false;  // then close with code 1001 rather than wait for the client's close
    // Answer the upgrade with exactly these bytes (none at all: ""), then
    // close: a cut-off answer.
    std::optional<std::string> raw_upgrade_answer;
    // Answer the first message of calls with this payload instead of their
    // results (as a text message when garbage_as_text), or send it in place
    // of InitialConnection when garbage_first.
    std::optional<std::vector<std::uint8_t>> garbage;
    bool garbage_as_text = false;
    bool garbage_first = false;
};

// What the server saw.
struct ServerLog {
    std::vector<std::size_t> calls_per_message;
    bool saw_clean_close = false;  // the client's close frame
    bool finished = false;
};

stdb::ServerMessage result_for(std::uint32_t request_id) {
    stdb::ReducerResult rr;
    rr.request_id = request_id;
    if (request_id % 3 == 0) {
        rr.result = stdb::ReducerErr::make("insufficient_funds");
    } else {
        rr.result = stdb::ReducerOk{};
    }
    return rr;
}

asio::awaitable<void> serve(websocket::stream<TestStream>& ws, Script script, ServerLog& log) {
    if (script.raw_upgrade_answer) {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        co_await http::async_read(ws.next_layer(), buf, req, asio::use_awaitable);
        co_await asio::async_write(ws.next_layer(), asio::buffer(*script.raw_upgrade_answer), asio::use_awaitable);
        ws.next_layer().close();
        co_return;
    }
    if (script.refuse_status != 0) {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        co_await http::async_read(ws.next_layer(), buf, req, asio::use_awaitable);
        http::response<http::string_body> res{static_cast<http::status>(script.refuse_status), 11};
        res.body() = "database `nope` not found\n";
        res.prepare_payload();
        co_await http::async_write(ws.next_layer(), res, asio::use_awaitable);
        ws.next_layer().close();
        co_return;
    }
    const auto version = script.version;
    ws.set_option(websocket::stream_base::decorator([version](websocket::response_type& res) {
        res.set(http::field::sec_websocket_protocol, std::string(stdb::subprotocol_name(version)));
    }));
    co_await ws.async_accept(asio::use_awaitable);
    ws.binary(true);
    std::vector<std::uint8_t> out;
    const stdb::ServerMessage hello{stdb::InitialConnection{}};
    stdb::encode_server_payload(out, std::span(&hello, 1), version, stdb::Compression::None);
    if (script.garbage && script.garbage_first) out = *script.garbage;
    co_await ws.async_write(asio::buffer(out), asio::use_awaitable);

    beast::flat_buffer buf;
    if (script.garbage && !script.garbage_first) {
        co_await ws.async_read(buf, asio::use_awaitable);
        buf.consume(buf.size());
        ws.text(script.garbage_as_text);
        co_await ws.async_write(asio::buffer(*script.garbage), asio::use_awaitable);
        ws.binary(true);
    }
    std::size_t answered = 0;
    while (answered < script.answer_calls) {
        co_await ws.async_read(buf, asio::use_awaitable);
        const auto data = buf.cdata();
        const auto messages =
            stdb::decode_client_frame(std::span(static_cast<const std::uint8_t*>(data.data()), data.size()), version);
        buf.consume(buf.size());
        log.calls_per_message.push_back(messages.size());
        std::vector<stdb::ServerMessage> results;
        for (const auto& m : messages) results.push_back(result_for(std::get<stdb::CallReducer>(m).request_id));
        if (version == stdb::ProtocolVersion::V3) {
            stdb::encode_server_payload(out, results, version, stdb::Compression::None);
            co_await ws.async_write(asio::buffer(out), asio::use_awaitable);
        } else {
            for (const auto& r : results) {
                stdb::encode_server_payload(out, std::span(&r, 1), version, stdb::Compression::None);
                co_await ws.async_write(asio::buffer(out), asio::use_awaitable);
            }
        }
        answered += messages.size();
    }
    if (script.close_after_calls) {
        co_await ws.async_close(websocket::close_reason(websocket::close_code::going_away, "restarting"),
                                asio::use_awaitable);
        co_return;
    }
    // Until the client's close (Beast answers it) or the pipe breaks; calls
    // that come meanwhile go unanswered.
    beast::error_code ec;
    while (!ec) {
        buf.consume(buf.size());
        co_await ws.async_read(buf, asio::redirect_error(asio::use_awaitable, ec));
    }
    log.saw_clean_close = ec == websocket::error::closed && ws.reason().code == websocket::close_code::normal;
}

// A client connected to a scripted server over a test pipe, its I/O failing
// from operation `fail_at` on (beast::test::fail_count: 0-based, and every
// operation after the first failed one fails too).
struct Pair {
    explicit Pair(Script script, std::size_t fail_at = 1000000, std::size_t max_inflight = 2,
                  gen::ProtocolErrorHandler on_protocol_error = {})
        : fc(fail_at) {
        gen::ConnectionOptions o;
        o.target.websocket = true;
        o.target.host = "stdb.test";
        o.target.port = 3000;
        o.target.host_header = "stdb.test:3000";
        o.target.target = "/v1/database/nope/subscribe";
        o.idle_timeout = 0ms;
        o.max_inflight = max_inflight;
        o.on_protocol_error = std::move(on_protocol_error);
        conn = std::make_shared<Conn>(io, nullptr, o, io, fc);
        conn->stream().next_layer().connect(server.next_layer());
        asio::co_spawn(io, serve(server, script, log), [this](const std::exception_ptr&) { log.finished = true; });
    }
    ~Pair() { conn->release(); }

    // Runs until nothing is left to do; false if something still waits
    // (a timer or an operation nobody ends).
    bool run() {
        io.run_for(5s);
        return io.stopped();
    }

    // Runs handlers until done() holds, then whatever is ready at once (so a
    // handler run twice would show); false if the work ran out or 5 s passed
    // first. Beast's own handshake timer may still be pending afterwards: it
    // lasts as long as the stream, as in a real connection.
    template <typename Done>
    bool run_until(Done done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done()) {
            if (io.run_one_until(deadline) == 0) return false;
        }
        io.poll();
        return true;
    }

    asio::io_context io;
    beast::test::fail_count fc;
    websocket::stream<TestStream> server{io};
    ServerLog log;
    std::shared_ptr<Conn> conn;
};

// The client's side of one run: open, make `calls` calls, close once the
// last has its outcome. Counts every handler so that "exactly once" holds.
struct Client {
    std::size_t calls = 2;
    int opened = 0;
    std::string open_error;
    std::vector<gen::CallStatus> outcomes;
    std::vector<std::string> texts;
    int closed = 0;

    void start(Conn& conn) {
        conn.open([this, &conn](const std::string& error) {
            ++opened;
            open_error = error;
            if (!error.empty()) {
                conn.close([this] { ++closed; });
                return;
            }
            for (std::size_t i = 0; i < calls; ++i) {
                conn.call(1, 2, 10, 10s, [this, &conn](const gen::CallOutcome& o) {
                    outcomes.push_back(o.status);
                    texts.emplace_back(o.text);
                    if (outcomes.size() == calls) conn.close([this] { ++closed; });
                });
            }
        });
    }
};

void walk_every_failure(stdb::ProtocolVersion version) {
    int open_failures = 0, call_failures = 0, close_failures = 0, full_successes = 0;
    for (std::size_t n = 0; n < 40; ++n) {
        SCOPED_TRACE("operation " + std::to_string(n) + " fails");
        Pair p(Script{.version = version, .answer_calls = 2}, n);
        Client c;
        c.start(*p.conn);
        ASSERT_TRUE(p.run_until([&] { return c.closed > 0 && p.log.finished; })) << "a handler never ran";
        EXPECT_EQ(c.opened, 1);
        EXPECT_EQ(c.closed, 1);
        EXPECT_FALSE(p.conn->is_open());
        EXPECT_EQ(p.conn->in_flight(), 0u);
        EXPECT_TRUE(p.log.finished);
        if (!c.open_error.empty()) {
            ++open_failures;
            EXPECT_TRUE(c.outcomes.empty());
            EXPECT_NE(c.open_error.find("ws://stdb.test:3000"), std::string::npos) << c.open_error;
            continue;
        }
        ASSERT_EQ(c.outcomes.size(), 2u);
        bool all_committed = true;
        for (std::size_t i = 0; i < 2; ++i) {
            const auto s = c.outcomes[i];
            EXPECT_TRUE(s == gen::CallStatus::Committed || s == gen::CallStatus::Disconnected)
                << gen::call_status_name(s) << ": " << c.texts[i];
            if (s == gen::CallStatus::Disconnected) {
                EXPECT_NE(c.texts[i].find("stdb.test"), std::string::npos) << c.texts[i];
            }
            all_committed = all_committed && s == gen::CallStatus::Committed;
        }
        if (!all_committed) ++call_failures;
        if (all_committed && p.log.saw_clean_close) ++full_successes;
        if (all_committed && !p.log.saw_clean_close) ++close_failures;
    }
    std::printf("failed: %d opens, %d calls, %d closes; %d runs without a failure\n", open_failures, call_failures,
                close_failures, full_successes);
    // Failures in the handshake, in the calls' writes and reads, in the
    // close, and past the last operation none at all.
    EXPECT_GE(open_failures, 2);
    EXPECT_GE(call_failures, 2);
    EXPECT_GE(close_failures, 1);
    EXPECT_GE(full_successes, 10);
}

TEST(StdbConnectionGlue, AFailureAtEveryOperationEndsEachHandlerOnceV3) {
    walk_every_failure(stdb::ProtocolVersion::V3);
}

TEST(StdbConnectionGlue, AFailureAtEveryOperationEndsEachHandlerOnceV2) {
    walk_every_failure(stdb::ProtocolVersion::V2);
}

TEST(StdbConnectionGlue, CallsAnsweredAndCountedPerMessage) {
    for (const auto version : {stdb::ProtocolVersion::V3, stdb::ProtocolVersion::V2}) {
        Pair p(Script{.version = version, .answer_calls = 3}, 1000000, 3);
        Client c;
        c.calls = 3;
        c.start(*p.conn);
        ASSERT_TRUE(p.run_until([&] { return c.closed > 0 && p.log.finished; }));
        ASSERT_TRUE(c.open_error.empty()) << c.open_error;
        EXPECT_EQ(p.conn->protocol(), version);
        ASSERT_EQ(c.outcomes.size(), 3u);
        // Request ids 1, 2, 3: the third is refused by the scripted module.
        EXPECT_EQ(c.outcomes[0], gen::CallStatus::Committed);
        EXPECT_EQ(c.outcomes[1], gen::CallStatus::Committed);
        EXPECT_EQ(c.outcomes[2], gen::CallStatus::ModuleError);
        EXPECT_EQ(c.texts[2], "insufficient_funds");
        // Made while InitialConnection was being handed out, the three calls
        // leave together afterwards: in one message on v3, one by one on v2.
        const std::vector<std::size_t> expected =
            version == stdb::ProtocolVersion::V3 ? std::vector<std::size_t>{3} : std::vector<std::size_t>{1, 1, 1};
        EXPECT_EQ(p.log.calls_per_message, expected);
        EXPECT_EQ(p.conn->calls_sent(), 3u);
        EXPECT_EQ(p.conn->frames_sent(), expected.size());
        EXPECT_TRUE(p.log.saw_clean_close);
    }
}

TEST(StdbConnectionGlue, ARefusedUpgradeNamesTheStatusTheBodyAndWhatToCheck) {
    Pair p(Script{.refuse_status = 404});
    Client c;
    c.start(*p.conn);
    ASSERT_TRUE(p.run_until([&] { return c.closed > 0 && p.log.finished; }));
    EXPECT_EQ(c.open_error,
              "server refused the WebSocket upgrade: 404 database `nope` not found -- check --stdb-module (the "
              "database name or identity) (ws://stdb.test:3000/v1/database/nope/subscribe)");
    EXPECT_EQ(c.closed, 1);
}

TEST(StdbConnectionGlue, TheServerClosingFailsTheCallsInFlightWithItsReason) {
    // One call answered, then the server goes away with two more in flight.
    Pair p(Script{.answer_calls = 1, .close_after_calls = true}, 1000000, 3);
    std::vector<gen::CallStatus> outcomes;
    std::string text;
    p.conn->open([&](const std::string& error) {
        ASSERT_TRUE(error.empty()) << error;
        p.conn->call(1, 2, 10, 10s, [&](const gen::CallOutcome& o) {
            outcomes.push_back(o.status);
            for (int i = 0; i < 2; ++i) {
                p.conn->call(1, 2, 10, 10s, [&](const gen::CallOutcome& later) {
                    outcomes.push_back(later.status);
                    text = later.text;
                });
            }
        });
    });
    ASSERT_TRUE(p.run());
    ASSERT_EQ(outcomes.size(), 3u);
    EXPECT_EQ(outcomes[0], gen::CallStatus::Committed);
    EXPECT_EQ(outcomes[1], gen::CallStatus::Disconnected);
    EXPECT_EQ(outcomes[2], gen::CallStatus::Disconnected);
    EXPECT_EQ(text,
              "connection to ws://stdb.test:3000/v1/database/nope/subscribe lost: server closed the connection "
              "(code 1001: restarting)");
    EXPECT_FALSE(p.conn->is_open());
}

// Issue 18, item 3: a result carries the one clock reading its read took;
// an ending without a time at hand (a lost connection) carries none, and
// the handler reads the clock itself.
TEST(StdbConnectionGlue, AResultCarriesItsReadsTimeAndALostConnectionNone) {
    Pair p(Script{.answer_calls = 1, .close_after_calls = true}, 1000000, 2);
    std::vector<gen::CallOutcome> outcomes;
    const auto before = std::chrono::steady_clock::now();
    p.conn->open([&](const std::string& error) {
        ASSERT_TRUE(error.empty()) << error;
        p.conn->call(1, 2, 10, 10s, [&](const gen::CallOutcome& o) {
            outcomes.push_back(gen::CallOutcome{o.status, {}, o.at});
            p.conn->call(1, 2, 10, 10s, [&](const gen::CallOutcome& later) {
                outcomes.push_back(gen::CallOutcome{later.status, {}, later.at});
            });
        });
    });
    ASSERT_TRUE(p.run());
    const auto after = std::chrono::steady_clock::now();
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[0].status, gen::CallStatus::Committed);
    EXPECT_GE(outcomes[0].at, before);
    EXPECT_LE(outcomes[0].at, after);
    EXPECT_EQ(outcomes[1].status, gen::CallStatus::Disconnected);
    EXPECT_EQ(outcomes[1].at.time_since_epoch().count(), 0);
}

TEST(StdbConnectionGlue, ACallPastItsDeadlineTimesOutAndClosesTheConnection) {
    // The server never answers; a zero op timeout is due at once, so the
    // op timer fires on the next turn of the io_context without waiting.
    Pair p(Script{.answer_calls = 0});
    std::vector<gen::CallStatus> outcomes;
    std::vector<std::string> texts;
    bool refused_after = false;
    p.conn->open([&](const std::string& error) {
        ASSERT_TRUE(error.empty()) << error;
        for (int i = 0; i < 2; ++i) {
            const auto timeout = i == 0 ? 0ms : 10000ms;
            p.conn->call(1, 2, 10, timeout, [&](const gen::CallOutcome& o) {
                outcomes.push_back(o.status);
                texts.emplace_back(o.text);
                EXPECT_FALSE(p.conn->is_open());  // never another request on it
                if (outcomes.size() == 2) {
                    p.conn->call(1, 2, 10, 10s, [&](const gen::CallOutcome& again) {
                        refused_after = again.status == gen::CallStatus::Disconnected;
                    });
                }
            });
        }
    });
    ASSERT_TRUE(p.run());
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[0], gen::CallStatus::Timeout);
    EXPECT_EQ(texts[0], "no ReducerResult within 0 ms");
    EXPECT_EQ(outcomes[1], gen::CallStatus::Disconnected);
    EXPECT_EQ(texts[1], "connection closed because another call on it timed out");
    EXPECT_TRUE(refused_after);
    EXPECT_TRUE(p.log.saw_clean_close);
}

TEST(StdbConnectionGlue, MoreCallsThanMaxInflightAreRefusedNotQueued) {
    Pair p(Script{.answer_calls = 1}, 1000000, 1);
    std::vector<gen::CallStatus> outcomes;
    std::string refused;
    p.conn->open([&](const std::string& error) {
        ASSERT_TRUE(error.empty()) << error;
        p.conn->call(1, 2, 10, 10s, [&](const gen::CallOutcome& o) {
            outcomes.push_back(o.status);
            if (outcomes.size() == 2) p.conn->close({});
        });
        p.conn->call(1, 2, 10, 10s, [&](const gen::CallOutcome& o) {
            outcomes.push_back(o.status);
            refused = o.text;
            if (outcomes.size() == 2) p.conn->close({});
        });
        EXPECT_EQ(p.conn->in_flight(), 1u);
    });
    ASSERT_TRUE(p.run());
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[0], gen::CallStatus::InternalError);  // refused via post, before the answer
    EXPECT_EQ(refused, "already 1 calls in flight on this connection (--max-inflight)");
    EXPECT_EQ(outcomes[1], gen::CallStatus::Committed);
}

TEST(StdbConnectionGlue, AReleasedConnectionCallsNoHandlerWhateverItWasDoing) {
    // What ~StdbConnection does, after each number of handlers run.
    for (std::size_t k = 0; k < 40; ++k) {
        SCOPED_TRACE("released after " + std::to_string(k) + " handlers");
        Pair p(Script{.answer_calls = 2});
        Client c;
        c.start(*p.conn);
        for (std::size_t i = 0; i < k; ++i) {
            if (p.io.run_one() == 0) break;
        }
        const int opened_before = c.opened;
        const std::size_t outcomes_before = c.outcomes.size();
        const int closed_before = c.closed;
        const bool close_asked = c.outcomes.size() == c.calls || !c.open_error.empty();
        p.conn->release();
        ASSERT_TRUE(p.run());
        EXPECT_EQ(c.opened, opened_before);
        EXPECT_EQ(c.outcomes.size(), outcomes_before);
        // A close asked for while closed already was answered through a
        // post before the release, and that post still runs.
        EXPECT_LE(c.closed, closed_before + (close_asked ? 1 : 0));
        EXPECT_FALSE(p.conn->is_open());
    }
}

// What a connection saw of protocol errors: each event as reported (the
// views copied), in order.
struct SeenError {
    gen::ProtocolErrorKind kind;
    std::string url;
    std::string detail;
    std::vector<std::uint8_t> frame;
};

std::vector<std::uint8_t> payload_of(std::uint8_t tag, const std::vector<std::uint8_t>& body) {
    std::vector<std::uint8_t> out(1 + body.size(), tag);
    std::copy(body.begin(), body.end(), out.begin() + 1);
    return out;
}

std::vector<std::uint8_t> result_body(std::uint32_t request_id) {
    std::vector<std::uint8_t> body;
    benchdist::bsatn::Writer w(body);
    stdb::encode_reducer_result(w, request_id, stdb::Timestamp{1}, stdb::ReducerOutcomeKind::Ok);
    return body;
}

struct GarbageCase {
    const char* name;
    std::vector<std::uint8_t> payload;
    bool as_text;
    gen::ProtocolErrorKind kind;
    const char* detail_part;
    std::size_t committed;  // calls the frame answered before its garbage
};

std::vector<GarbageCase> garbage_cases() {
    using K = gen::ProtocolErrorKind;
    auto truncated = result_body(1);
    truncated.resize(7);
    auto valid_then_cut = result_body(1);
    valid_then_cut.insert(valid_then_cut.end(), truncated.begin(), truncated.end());
    const std::string text = R"({"not":"bsatn"})";
    return {
        {"empty message", {}, false, K::Framing, "expected a compression tag", 0},
        {"unknown compression tag", payload_of(7, result_body(1)), false, K::CompressionTag,
         "unknown compression tag 7", 0},
        {"bad gzip", {2, 0x1f, 0x8b, 0xde, 0xad}, false, K::Decompression, "gzip", 0},
        {"empty body", {0}, false, K::Framing, "body is empty", 0},
        {"unknown message tag", {0, 9, 0xde, 0xad}, false, K::UnknownMessageTag, "unknown ServerMessage tag 9", 0},
        {"truncated result", payload_of(0, truncated), false, K::Decode, "ReducerResult.timestamp", 0},
        {"a valid result, then a cut one", payload_of(0, valid_then_cut), false, K::Decode, "ReducerResult", 1},
        {"result for a request id never sent", payload_of(0, result_body(99)), false, K::UnknownRequestId,
         "request id 99, which is not in flight", 0},
        {"text message", std::vector<std::uint8_t>(text.begin(), text.end()), true, K::TextFrame, "text frame", 0},
    };
}

TEST(StdbConnectionGlue, EveryUndecodableMessageIsReportedByKindWithItsBytesAndFailsTheCallsInFlight) {
    for (const auto& gc : garbage_cases()) {
        SCOPED_TRACE(gc.name);
        std::vector<SeenError> seen;
        Pair p(Script{.garbage = gc.payload, .garbage_as_text = gc.as_text}, 1000000, 2,
               [&seen](const gen::ProtocolErrorEvent& e) {
                   seen.push_back({e.kind, std::string(e.url), std::string(e.detail),
                                   std::vector<std::uint8_t>(e.frame.begin(), e.frame.end())});
               });
        Client c;
        c.start(*p.conn);
        ASSERT_TRUE(p.run_until([&] { return c.closed > 0 && p.log.finished; }));
        ASSERT_TRUE(c.open_error.empty()) << c.open_error;
        ASSERT_EQ(seen.size(), 1u) << "one report, however many calls it ends";
        EXPECT_EQ(seen[0].kind, gc.kind) << gen::protocol_error_kind_name(seen[0].kind) << ": " << seen[0].detail;
        EXPECT_EQ(seen[0].url, "ws://stdb.test:3000/v1/database/nope/subscribe");
        EXPECT_NE(seen[0].detail.find(gc.detail_part), std::string::npos) << seen[0].detail;
        EXPECT_EQ(seen[0].frame, gc.payload);
        // Both calls left in one v3 message; what the garbage did not
        // answer fails, naming the protocol error.
        ASSERT_EQ(c.outcomes.size(), 2u);
        std::size_t committed = 0;
        for (std::size_t i = 0; i < 2; ++i) {
            if (c.outcomes[i] == gen::CallStatus::Committed) {
                ++committed;
                continue;
            }
            EXPECT_EQ(c.outcomes[i], gen::CallStatus::Disconnected);
            const std::string prefix = "protocol error (" + std::string(gen::protocol_error_kind_name(gc.kind)) +
                                       ") on ws://stdb.test:3000/v1/database/nope/subscribe: ";
            EXPECT_TRUE(c.texts[i].starts_with(prefix)) << c.texts[i];
        }
        EXPECT_EQ(committed, gc.committed);
        EXPECT_FALSE(p.conn->is_open());
        EXPECT_TRUE(p.log.saw_clean_close) << "the client closes the connection itself";
    }
}

TEST(StdbConnectionGlue, GarbageInsteadOfInitialConnectionFailsTheOpenAndIsReported) {
    std::vector<gen::ProtocolErrorKind> seen;
    Pair p(Script{.garbage = std::vector<std::uint8_t>{0, 9}, .garbage_first = true}, 1000000, 2,
           [&seen](const gen::ProtocolErrorEvent& e) { seen.push_back(e.kind); });
    Client c;
    c.start(*p.conn);
    ASSERT_TRUE(p.run_until([&] { return c.closed > 0; }));
    EXPECT_EQ(seen, std::vector<gen::ProtocolErrorKind>{gen::ProtocolErrorKind::UnknownMessageTag});
    EXPECT_TRUE(c.open_error.starts_with("protocol error (unknownMessageTag) on ws://stdb.test:3000/")) << c.open_error;
}

TEST(StdbConnectionGlue, ACutOffUpgradeAnswerIsNamedAsSuchNotAsAStatusNobodySent) {
    for (const std::string answer : {"HTTP/1.1 101 Switching", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs"}) {
        SCOPED_TRACE(answer);
        Pair p(Script{.raw_upgrade_answer = answer});
        Client c;
        c.start(*p.conn);
        ASSERT_TRUE(p.run_until([&] { return c.closed > 0 && p.log.finished; }));
        EXPECT_EQ(c.open_error,
                  "the server's answer to the WebSocket upgrade was cut off: the connection closed before a whole "
                  "HTTP response had arrived (ws://stdb.test:3000/v1/database/nope/subscribe) -- is --stdb-url a "
                  "SpacetimeDB server, and nothing between cutting connections?");
        EXPECT_EQ(c.open_error.find("500"), std::string::npos) << "Beast's placeholder status";
    }
    for (const auto& [answer, expected] : std::vector<std::pair<std::string, std::string>>{
             {"",
              "the server at ws://stdb.test:3000/v1/database/nope/subscribe closed the connection without "
              "answering the WebSocket upgrade"},
             {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "the server's answer to the WebSocket upgrade is not valid HTTP: "}}) {
        SCOPED_TRACE(answer);
        Pair p(Script{.raw_upgrade_answer = answer});
        Client c;
        c.start(*p.conn);
        ASSERT_TRUE(p.run_until([&] { return c.closed > 0; }));
        EXPECT_TRUE(c.open_error.starts_with(expected)) << c.open_error;
        EXPECT_EQ(c.open_error.find("500"), std::string::npos) << c.open_error;
    }
}

}  // namespace
