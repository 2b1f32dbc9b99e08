// `bench-dist-generator run` against a server that speaks the protocol
// wrongly (testing::HostileStdb on 127.0.0.1): one that answers every call
// with garbage frames of every kind, and one that cuts its answer to the
// WebSocket upgrade short. The run must fail (exit 1) saying why, count the
// protocol errors by kind in its result, and log a few of them -- kind and
// the first bytes in hex -- rather than every one.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "hostile_stdb.hpp"
#include "rig.hpp"

namespace bc = benchdist::control;
namespace bt = benchdist::testing;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> run_argv(const std::string& stdb_url, std::vector<std::string> extra) {
    std::vector<std::string> argv{bt::bin_path("bench-dist-generator"),
                                  "run",
                                  "--stdb-url",
                                  stdb_url,
                                  "--accounts",
                                  "1000",
                                  "--pairs",
                                  "20000",
                                  "--threads",
                                  "2",
                                  "--id",
                                  "hostile",
                                  "--no-align-window"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\n', start);
        out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

// The JSON object of the output: from the line that is exactly "{" to the
// line that is exactly "}" (log lines go around it).
bc::Json result_of(const std::string& output) {
    const auto begin = output.find("\n{\n");
    const auto end = output.rfind("\n}");
    if (begin == std::string::npos || end == std::string::npos || end < begin) {
        throw std::runtime_error("no JSON result in:\n" + output);
    }
    return bc::Json::parse(output.substr(begin + 1, end - begin + 2));
}

}  // namespace

// Issue 14: 80 calls attempted, 0 committed, 80 errors, no decode error in
// any log, exit 0.
TEST(ProtocolErrors, ARunAnsweredWithGarbageCountsItByKindLogsAFewLinesAndExitsOne) {
    using bt::Garbage;
    bt::HostileStdb server({.kinds = {Garbage::TextFrame, Garbage::EmptyMessage, Garbage::CompressionTag,
                                      Garbage::BadGzip, Garbage::UnknownMessageTag, Garbage::TruncatedResult,
                                      Garbage::UnknownRequestId, Garbage::ReservedOpcode}});
    bt::Subprocess run(run_argv(server.ws_url(), {"--concurrency", "4", "--seconds", "1", "--warmup-seconds", "0.2"}));
    const auto rc = run.wait_exit(60s);
    const std::string out = run.output();
    ASSERT_TRUE(rc.has_value()) << out;
    EXPECT_EQ(*rc, 1) << out;

    const auto r = result_of(out);
    const auto& client = r["client"];
    const auto protocol_errors = client["protocolErrors"].get<std::uint64_t>();
    EXPECT_GT(protocol_errors, 50u) << client.dump();
    EXPECT_EQ(client["committed"], 0) << client.dump();
    EXPECT_EQ(client["errors"], client["attempted"]) << client.dump();
    EXPECT_EQ(client["disconnects"].get<std::uint64_t>(), protocol_errors) << client.dump();
    // Kind by kind what the server sent (the run ended: nothing is in flight).
    bc::Json sent = bc::Json::object();
    for (const auto& [kind, n] : server.sent_by_expected_kind()) sent[kind] = n;
    EXPECT_EQ(client["protocolErrorsByKind"], sent) << client.dump();
    EXPECT_EQ(client["protocolErrorsByKind"].size(), 8u) << client.dump();
    bool named = false;
    for (const auto& w : r["warnings"])
        named = named || w.get<std::string>().find("messages this generator could not take") != std::string::npos;
    EXPECT_TRUE(named) << r["warnings"].dump();

    std::size_t full = 0;
    std::size_t protocol_lines = 0;
    std::size_t why = 0;
    for (const auto& line : lines_of(out)) {
        if (line.starts_with("[generator hostile] protocol error (")) {
            ++full;
            EXPECT_NE(line.find("; frame"), std::string::npos) << line;
        }
        if (line.starts_with("[generator hostile] protocol error")) {
            ++protocol_lines;
            std::printf("%s\n", line.c_str());  // what an operator sees
        }
        if (line.starts_with("  - [committed_nothing] nothing committed (") &&
            line.find("protocol errors:") != std::string::npos) {
            ++why;
            std::printf("%s\n", line.c_str());
        }
    }
    EXPECT_EQ(full, 5u) << out;
    // Five, the notice, one summary at the stop (the run lasts under 10 s).
    EXPECT_LE(protocol_lines, 7u) << out;
    EXPECT_EQ(why, 1u) << out;
    EXPECT_EQ(out.find(R"({"not")"), std::string::npos) << "a frame's raw bytes in the output";
}

TEST(ProtocolErrors, AnUpgradeAnswerCutOffAfterTheStatusLineIsNamedAsSuch) {
    bt::HostileStdb server({.upgrade_answer = "HTTP/1.1 101 Switching"});
    bt::Subprocess run(run_argv(server.ws_url(), {"--concurrency", "1", "--seconds", "1"}));
    const auto rc = run.wait_exit(60s);
    const std::string out = run.output();
    ASSERT_TRUE(rc.has_value()) << out;
    EXPECT_EQ(*rc, 1) << out;
    EXPECT_NE(out.find("error: opened 0 of 1 connections to " + server.ws_url() +
                       "/v1/database/test-1/subscribe?compression=None; first error: connection 0: the server's answer "
                       "to the WebSocket upgrade was cut off: the connection closed before a whole HTTP response had "
                       "arrived"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("Internal Server Error"), std::string::npos) << out;
    EXPECT_EQ(server.upgrades(), 1u);
}
