// The pure parts of protocol-error handling: kind names, counts, the hex
// prefix and log line of one error, which kind a body that failed to decode
// is, and the limiter that keeps a server answering garbage from flooding
// the log. Time is passed in; no sockets.
#include "benchdist/generator/protocol_errors.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/server_message_view.hpp"

using namespace benchdist;
using namespace benchdist::generator;
using namespace std::chrono_literals;

namespace {

using Clock = ProtocolErrorLimiter::Clock;
const Clock::time_point kT0{};

const std::vector<std::uint8_t> kFiveBytes{0x09, 0x00, 0xff, 0x10, 0xab};

ProtocolErrorEvent event(ProtocolErrorKind kind, std::span<const std::uint8_t> frame = kFiveBytes) {
    return ProtocolErrorEvent{kind, "ws://h:3000/v1/database/test-1/subscribe", "what failed", frame};
}

std::vector<std::uint8_t> ok_result(std::uint32_t id) {
    std::vector<std::uint8_t> body;
    bsatn::Writer w(body);
    stdb::encode_reducer_result(w, id, stdb::Timestamp{1}, stdb::ReducerOutcomeKind::Ok);
    return body;
}

}  // namespace

TEST(ProtocolErrorKinds, EveryKindHasItsOwnCamelCaseName) {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < kProtocolErrorKinds; ++i) {
        const auto name = protocol_error_kind_name(static_cast<ProtocolErrorKind>(i));
        EXPECT_NE(name, "unknown");
        EXPECT_TRUE(name.front() >= 'a' && name.front() <= 'z') << name;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), kProtocolErrorKinds);
    EXPECT_EQ(protocol_error_kind_name(ProtocolErrorKind::UnknownRequestId), "unknownRequestId");
}

TEST(ProtocolErrorCounts, CountCombineAndNameOnlyTheKindsSeen) {
    ProtocolErrorCounts a;
    a.add(ProtocolErrorKind::Decode, 3);
    a.add(ProtocolErrorKind::TextFrame);
    ProtocolErrorCounts b;
    b.add(ProtocolErrorKind::Decode);
    b.add(ProtocolErrorKind::WebSocketFrame, 2);
    a.combine(b);
    EXPECT_EQ(a.total(), 7u);
    EXPECT_EQ(a[ProtocolErrorKind::Decode], 4u);
    EXPECT_EQ(a.describe(), "webSocketFrame 2, textFrame 1, decode 4");  // the enum's order
    EXPECT_EQ(a.by_name(), (std::map<std::string, std::uint64_t, std::less<>>{{"decode", 4},
                                                                              {"textFrame", 1},
                                                                              {"webSocketFrame", 2}}));
    EXPECT_EQ(ProtocolErrorCounts{}.describe(), "");
    EXPECT_TRUE(ProtocolErrorCounts{}.by_name().empty());
}

TEST(HexPrefix, LowercasePairsSeparatedBySpacesAtMostTheLimit) {
    EXPECT_EQ(hex_prefix(kFiveBytes), "09 00 ff 10 ab");
    EXPECT_EQ(hex_prefix({}), "");
    std::vector<std::uint8_t> many(100);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<std::uint8_t>(i);
    const auto hex = hex_prefix(many);
    EXPECT_EQ(hex.size(), 32u * 3 - 1);
    EXPECT_EQ(hex.substr(0, 8), "00 01 02");
    EXPECT_EQ(hex.substr(hex.size() - 2), "1f");
    EXPECT_EQ(hex_prefix(many, 2), "00 01");
}

TEST(ProtocolErrorLine, NamesKindUrlDetailAndTheFirstBytesNeverRawOnes) {
    EXPECT_EQ(protocol_error_line(event(ProtocolErrorKind::Decode)),
              "protocol error (decode) on ws://h:3000/v1/database/test-1/subscribe: what failed; frame (5 bytes): 09 "
              "00 ff 10 ab");
    // A long frame of printable garbage: 32 bytes shown, as hex only.
    const std::string text(100, 'A');
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    const auto line = protocol_error_line(event(ProtocolErrorKind::TextFrame, bytes));
    EXPECT_NE(line.find("frame (100 bytes, first 32): 41 41"), std::string::npos) << line;
    EXPECT_EQ(line.find("AA"), std::string::npos) << line;
    EXPECT_TRUE(line.ends_with("41 41")) << line;
    EXPECT_TRUE(protocol_error_line(event(ProtocolErrorKind::Framing, {})).ends_with("; frame (0 bytes)"));
    EXPECT_TRUE(protocol_error_line(event(ProtocolErrorKind::WebSocketFrame, {}))
                    .ends_with("; frame: not kept by the WebSocket layer"));
}

TEST(ClassifyBodyFailure, FramingUnknownTagOrDecode) {
    using K = ProtocolErrorKind;
    const auto v3 = stdb::ProtocolVersion::V3;
    const auto v2 = stdb::ProtocolVersion::V2;
    EXPECT_EQ(classify_body_failure({}, v3), K::Framing);
    EXPECT_EQ(classify_body_failure({}, v2), K::Framing);
    const std::vector<std::uint8_t> unknown_tag{9, 0xde, 0xad};
    EXPECT_EQ(classify_body_failure(unknown_tag, v3), K::UnknownMessageTag);
    auto truncated = ok_result(5);
    truncated.resize(7);
    EXPECT_EQ(classify_body_failure(truncated, v3), K::Decode);
    // A whole result, then a message with a tag v3 lacks / a cut one.
    auto then_unknown = ok_result(5);
    then_unknown.push_back(8);
    EXPECT_EQ(classify_body_failure(then_unknown, v3), K::UnknownMessageTag);
    auto then_cut = ok_result(5);
    then_cut.insert(then_cut.end(), truncated.begin(), truncated.end());
    EXPECT_EQ(classify_body_failure(then_cut, v3), K::Decode);
    // Two whole results: v3 framing, but v2 carries one message only.
    auto two = ok_result(5);
    const auto second = ok_result(6);
    two.insert(two.end(), second.begin(), second.end());
    EXPECT_EQ(classify_body_failure(two, v2), K::Framing);
    // Nothing wrong found: reported as a decode error rather than nothing.
    EXPECT_EQ(classify_body_failure(two, v3), K::Decode);
}

TEST(ProtocolErrorLimiter, FirstFewInFullThenOneSummaryPerPeriod) {
    ProtocolErrorLimiter limiter(3, 10s);
    std::vector<std::string> lines;
    const auto note = [&](ProtocolErrorKind kind, Clock::duration at) {
        for (auto& l : limiter.note(event(kind), kT0 + at)) lines.push_back(std::move(l));
    };
    note(ProtocolErrorKind::Decode, 0ms);
    note(ProtocolErrorKind::Decode, 1ms);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(lines[0].starts_with("protocol error (decode) on ws://h:3000/")) << lines[0];
    note(ProtocolErrorKind::TextFrame, 2ms);
    ASSERT_EQ(lines.size(), 4u) << "the third in full, then the notice";
    EXPECT_TRUE(lines[2].starts_with("protocol error (textFrame)")) << lines[2];
    EXPECT_EQ(lines[3],
              "protocol errors: 3 logged; from now on one summary line per 10 s (each one is counted in the report's "
              "protocolErrors)");

    // 1000 more over the next 9.9 s: silent.
    for (int i = 0; i < 1000; ++i)
        note(i % 2 ? ProtocolErrorKind::Decode : ProtocolErrorKind::Framing, 100ms + i * 9ms);
    EXPECT_EQ(lines.size(), 4u);
    // 10 s after the first of them: one summary with every one of them.
    note(ProtocolErrorKind::Decode, 10100ms);
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[4], "protocol errors: 1001 more over 10.0 s (framing 500, decode 501), not logged one by one");
    // A new period starts with the next error; the flush sums it up.
    note(ProtocolErrorKind::UnknownRequestId, 15s);
    EXPECT_EQ(lines.size(), 5u);
    const auto flushed = limiter.flush(kT0 + 17s);
    ASSERT_TRUE(flushed.has_value());
    EXPECT_EQ(*flushed, "protocol errors: 1 more over 2.0 s (unknownRequestId 1), not logged one by one");
    EXPECT_FALSE(limiter.flush(kT0 + 18s).has_value()) << "nothing pending";
}

TEST(ProtocolErrorLimiter, TenThousandErrorsOverAMinuteMakeABoundedNumberOfLines) {
    ProtocolErrorLimiter limiter;
    std::size_t lines = 0;
    for (int i = 0; i < 10000; ++i) lines += limiter.note(event(ProtocolErrorKind::Decode), kT0 + i * 6ms).size();
    if (limiter.flush(kT0 + 60s)) ++lines;
    // 5 in full, the notice, a summary per 10 s of the 60 s, the flush.
    EXPECT_GE(lines, 5u + 1 + 5);
    EXPECT_LE(lines, 5u + 1 + 6 + 1);
}

TEST(ProtocolErrorLimiter, ResetLogsTheNextOnesInFullAgain) {
    ProtocolErrorLimiter limiter(1, 10s);
    EXPECT_EQ(limiter.note(event(ProtocolErrorKind::Decode), kT0).size(), 2u);  // the line and the notice
    EXPECT_TRUE(limiter.note(event(ProtocolErrorKind::Decode), kT0 + 1s).empty());
    EXPECT_TRUE(limiter.flush(kT0 + 2s).has_value());
    limiter.reset();
    const auto again = limiter.note(event(ProtocolErrorKind::Framing), kT0 + 3s);
    ASSERT_EQ(again.size(), 2u);
    EXPECT_TRUE(again[0].starts_with("protocol error (framing)")) << again[0];
}
