// The WebSocket frame codec (net/ws_frame.hpp): RFC 6455 §5.7's examples
// byte for byte, every length encoding boundary, need-more at every prefix,
// each error kind, masking at every offset and alignment, close payloads,
// and a cross-check against Beast 1.81 -- its header writer, and its reader
// fed the same bytes on an in-memory stream, so the codec refuses what
// Beast refuses today, with the same close code.
#include "benchdist/net/ws_frame.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/flat_static_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/detail/frame.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace ws = benchdist::net::ws;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Bytes = std::vector<std::uint8_t>;
using Status = ws::ParseResult::Status;

const ws::ReadLimits kLimits{};
const ws::MessageState kIdle{};

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Header + payload, masked when the header says so.
Bytes frame(ws::FrameHeader h, Bytes payload) {
    h.payload_length = payload.size();
    Bytes out(ws::kMaxHeaderBytes);
    out.resize(ws::write_frame_header(out, h));
    if (h.masked) ws::apply_mask(payload, h.mask_key);
    return concat(out, payload);
}

ws::FrameHeader header(ws::Opcode op, bool fin = true, std::optional<ws::MaskKey> key = std::nullopt) {
    ws::FrameHeader h;
    h.opcode = op;
    h.fin = fin;
    h.masked = key.has_value();
    if (key) h.mask_key = *key;
    return h;
}

const ws::MaskKey kRfcKey{0x37, 0xfa, 0x21, 0x3d};

// --- RFC 6455 §5.7 ----------------------------------------------------------

TEST(WsFrameRfcExamples, UnmaskedHello) {
    const Bytes wire{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    const auto r = ws::parse_server_frame(wire, kLimits, kIdle);
    ASSERT_TRUE(r.is_frame());
    EXPECT_TRUE(r.header.fin);
    EXPECT_EQ(r.header.opcode, ws::Opcode::Text);
    EXPECT_FALSE(r.header.masked);
    EXPECT_EQ(r.header.payload_length, 5u);
    EXPECT_EQ(r.header.header_length, 2u);
    EXPECT_EQ(frame(header(ws::Opcode::Text), bytes_of("Hello")), wire);
}

TEST(WsFrameRfcExamples, MaskedHello) {
    const Bytes wire{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    const auto r = ws::parse_client_frame(wire, kLimits, kIdle);
    ASSERT_TRUE(r.is_frame());
    EXPECT_TRUE(r.header.masked);
    EXPECT_EQ(r.header.mask_key, kRfcKey);
    EXPECT_EQ(r.header.header_length, 6u);
    Bytes payload(wire.begin() + 6, wire.end());
    ws::apply_mask(payload, r.header.mask_key);
    EXPECT_EQ(payload, bytes_of("Hello"));
    EXPECT_EQ(frame(header(ws::Opcode::Text, true, kRfcKey), bytes_of("Hello")), wire);
}

TEST(WsFrameRfcExamples, FragmentedHello) {
    const Bytes first{0x01, 0x03, 0x48, 0x65, 0x6c};
    const Bytes second{0x80, 0x02, 0x6c, 0x6f};
    ws::MessageState state;
    const auto a = ws::parse_server_frame(first, kLimits, state);
    ASSERT_TRUE(a.is_frame());
    EXPECT_FALSE(a.header.fin);
    EXPECT_EQ(a.header.opcode, ws::Opcode::Text);
    state.accept(a.header);
    EXPECT_TRUE(state.in_message);
    const auto b = ws::parse_server_frame(second, kLimits, state);
    ASSERT_TRUE(b.is_frame());
    EXPECT_TRUE(b.header.fin);
    EXPECT_EQ(b.header.opcode, ws::Opcode::Continuation);
    state.accept(b.header);
    EXPECT_FALSE(state.in_message);
    EXPECT_EQ(state.opcode, ws::Opcode::Text);
    EXPECT_EQ(state.message_bytes, 5u);
    EXPECT_EQ(frame(header(ws::Opcode::Text, false), bytes_of("Hel")), first);
    EXPECT_EQ(frame(header(ws::Opcode::Continuation), bytes_of("lo")), second);
}

TEST(WsFrameRfcExamples, PingAndMaskedPong) {
    const Bytes ping{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    const Bytes pong{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    const auto r = ws::parse_server_frame(ping, kLimits, kIdle);
    ASSERT_TRUE(r.is_frame());
    EXPECT_EQ(r.header.opcode, ws::Opcode::Ping);
    // The answer the generator owes: a masked pong with the same payload.
    std::array<std::uint8_t, ws::kMaxControlFrameBytes> out{};
    const Bytes hello = bytes_of("Hello");
    const auto n = ws::write_control_frame(out, ws::Opcode::Pong, hello, &kRfcKey);
    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)), pong);
    EXPECT_EQ(ws::parse_client_frame(pong, kLimits, kIdle).header.opcode, ws::Opcode::Pong);
}

TEST(WsFrameRfcExamples, Binary256And65536) {
    const Bytes h256{0x82, 0x7E, 0x01, 0x00};
    const Bytes h64k{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
    for (const auto& [wire, length] : {std::pair{h256, 256u}, std::pair{h64k, 65536u}}) {
        const auto r = ws::parse_server_frame(wire, kLimits, kIdle);
        ASSERT_TRUE(r.is_frame());
        EXPECT_EQ(r.header.opcode, ws::Opcode::Binary);
        EXPECT_EQ(r.header.payload_length, length);
        EXPECT_EQ(r.header.header_length, wire.size());
        ws::FrameHeader h = header(ws::Opcode::Binary);
        h.payload_length = length;
        Bytes out(ws::kMaxHeaderBytes);
        out.resize(ws::write_frame_header(out, h));
        EXPECT_EQ(out, wire);
    }
}

// --- Lengths and prefixes ---------------------------------------------------

TEST(WsFrameLengths, EveryEncodingBoundaryRoundTrips) {
    const std::uint64_t lengths[] = {0, 1, 125, 126, 127, 65535, 65536, 65537, 0xFFFFFFFFull, (1ull << 63) - 1};
    for (const auto length : lengths) {
        for (const bool masked : {false, true}) {
            SCOPED_TRACE(std::to_string(length) + (masked ? " masked" : ""));
            ws::FrameHeader h = header(ws::Opcode::Binary, true, masked ? std::optional(kRfcKey) : std::nullopt);
            h.payload_length = length;
            Bytes out(ws::kMaxHeaderBytes);
            const auto n = ws::write_frame_header(out, h);
            const std::size_t expected = (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0);
            ASSERT_EQ(n, expected);
            EXPECT_EQ(ws::header_length(length, masked), expected);
            out.resize(n);
            const ws::ReadLimits unlimited{0};
            const auto r =
                masked ? ws::parse_client_frame(out, unlimited, kIdle) : ws::parse_server_frame(out, unlimited, kIdle);
            ASSERT_TRUE(r.is_frame()) << r.message();
            EXPECT_EQ(r.header.payload_length, length);
            EXPECT_EQ(r.header.header_length, n);
            EXPECT_EQ(r.header.masked, masked);
            if (masked) {
                EXPECT_EQ(r.header.mask_key, kRfcKey);
            }
        }
    }
}

TEST(WsFrameLengths, WriterRefusesShortBuffersAndTheTopBit) {
    ws::FrameHeader h = header(ws::Opcode::Binary, true, kRfcKey);
    h.payload_length = 65536;
    std::array<std::uint8_t, 13> small{};
    EXPECT_EQ(ws::write_frame_header(small, h), 0u);
    h.payload_length = 1ull << 63;
    std::array<std::uint8_t, 14> big{};
    EXPECT_EQ(ws::write_frame_header(big, h), 0u);
}

TEST(WsFramePrefixes, EveryPrefixOfAHeaderNeedsExactlyWhatIsMissing) {
    const std::uint64_t lengths[] = {5, 300, 70000};
    for (const auto length : lengths) {
        for (const bool masked : {false, true}) {
            ws::FrameHeader h = header(ws::Opcode::Binary, true, masked ? std::optional(kRfcKey) : std::nullopt);
            h.payload_length = length;
            Bytes wire(ws::kMaxHeaderBytes);
            const auto n = ws::write_frame_header(wire, h);
            wire.resize(n);
            for (std::size_t k = 0; k < n; ++k) {
                SCOPED_TRACE(std::to_string(length) + " prefix " + std::to_string(k));
                const std::span<const std::uint8_t> prefix(wire.data(), k);
                const ws::ReadLimits limits{0};
                const auto r = masked ? ws::parse_client_frame(prefix, limits, kIdle)
                                      : ws::parse_server_frame(prefix, limits, kIdle);
                ASSERT_TRUE(r.needs_more());
                EXPECT_EQ(r.need, k < 2 ? 2 - k : n - k);
            }
            // With the header there, payload bytes are not needed.
            const auto r =
                masked ? ws::parse_client_frame(wire, kLimits, kIdle) : ws::parse_server_frame(wire, kLimits, kIdle);
            EXPECT_TRUE(r.is_frame());
        }
    }
}

TEST(WsFramePrefixes, ParsesTheFirstOfSeveralFramesInABuffer) {
    const Bytes two = concat(frame(header(ws::Opcode::Binary), Bytes(300, 7)), frame(header(ws::Opcode::Ping), {}));
    const auto r = ws::parse_server_frame(two, kLimits, kIdle);
    ASSERT_TRUE(r.is_frame());
    EXPECT_EQ(r.header.payload_length, 300u);
    const auto next = std::span(two).subspan(r.header.header_length + r.header.payload_length);
    EXPECT_EQ(ws::parse_server_frame(next, kLimits, kIdle).header.opcode, ws::Opcode::Ping);
}

// --- Errors -----------------------------------------------------------------

struct ErrorCase {
    const char* name;
    Bytes wire;
    bool from_server;
    ws::FrameError error;
    ws::MessageState state{};
    ws::ReadLimits limits{};
};

ws::MessageState in_binary_message(std::uint64_t so_far) {
    ws::MessageState s;
    s.in_message = true;
    s.message_bytes = so_far;
    return s;
}

std::vector<ErrorCase> error_cases() {
    const Bytes k{0x37, 0xfa, 0x21, 0x3d};
    return {
        {"rsv1", {0xC2, 0x00}, true, ws::FrameError::ReservedBits},
        {"rsv2", {0xA2, 0x00}, true, ws::FrameError::ReservedBits},
        {"rsv3 on a ping", {0x99, 0x00}, true, ws::FrameError::ReservedBits},
        {"rsv on a continuation", {0x90, 0x00}, true, ws::FrameError::ReservedBits, in_binary_message(1)},
        {"opcode 3", {0x83, 0x00}, true, ws::FrameError::UnknownOpcode},
        {"opcode 0xB", {0x8B, 0x00}, true, ws::FrameError::UnknownOpcode},
        {"opcode 0xF from a client", concat({0x8F, 0x80}, k), false, ws::FrameError::UnknownOpcode},
        {"ping without FIN", {0x09, 0x00}, true, ws::FrameError::FragmentedControl},
        {"close of 126", {0x88, 0x7E, 0x00, 0x7E}, true, ws::FrameError::ControlTooLong},
        {"pong with a 64-bit length", {0x8A, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0}, true, ws::FrameError::ControlTooLong},
        {"masked server frame", concat({0x82, 0x81}, k), true, ws::FrameError::MaskedServerFrame},
        {"unmasked client frame", {0x82, 0x01, 0x00}, false, ws::FrameError::UnmaskedClientFrame},
        {"16-bit length of 125", {0x82, 0x7E, 0x00, 0x7D}, true, ws::FrameError::NonMinimalLength},
        {"64-bit length of 65535", {0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, true, ws::FrameError::NonMinimalLength},
        {"64-bit length with the top bit", {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, true, ws::FrameError::LengthTopBit},
        {"continuation without message", {0x80, 0x00}, true, ws::FrameError::ContinuationWithoutMessage},
        {"binary inside a message", {0x82, 0x00}, true, ws::FrameError::DataFrameInMessage, in_binary_message(1)},
        {"text inside a message", {0x01, 0x00}, true, ws::FrameError::DataFrameInMessage, in_binary_message(1)},
        {"frame over the limit", {0x82, 0x7E, 0x01, 0x00}, true, ws::FrameError::TooBig, {}, {255}},
        {"client frame over the limit", concat({0x82, 0xFE, 0x01, 0x00}, k), false, ws::FrameError::TooBig, {}, {255}},
        {"fragments over the limit",
         {0x80, 0x7E, 0x00, 0x80},
         true,
         ws::FrameError::TooBig,
         in_binary_message(128),
         {255}},
        {"over Beast's default 16 MiB", {0x82, 0x7F, 0, 0, 0, 0, 0x01, 0, 0, 1}, true, ws::FrameError::TooBig},
    };
}

TEST(WsFrameErrors, EachKindIsReported) {
    for (const auto& c : error_cases()) {
        SCOPED_TRACE(c.name);
        const auto r = c.from_server ? ws::parse_server_frame(c.wire, c.limits, c.state)
                                     : ws::parse_client_frame(c.wire, c.limits, c.state);
        ASSERT_TRUE(r.is_error());
        EXPECT_EQ(r.error, c.error) << r.message();
        EXPECT_FALSE(r.message().empty());
    }
}

TEST(WsFrameErrors, WhatIsAllowedIsAccepted) {
    // Exactly at the limit, summed over fragments; a ping inside a
    // fragmented message; an empty non-final frame; a close of 125.
    const ws::ReadLimits limits{256};
    EXPECT_TRUE(ws::parse_server_frame(Bytes{0x80, 0x7E, 0x00, 0x80}, limits, in_binary_message(128)).is_frame());
    EXPECT_TRUE(ws::parse_server_frame(Bytes{0x89, 0x00}, limits, in_binary_message(128)).is_frame());
    EXPECT_TRUE(ws::parse_server_frame(Bytes{0x02, 0x00}, limits, kIdle).is_frame());
    EXPECT_TRUE(ws::parse_server_frame(Bytes{0x88, 0x7D}, limits, kIdle).is_frame());
    // No limit at all.
    EXPECT_TRUE(ws::parse_server_frame(Bytes{0x82, 0x7F, 0x7F, 0, 0, 0, 0, 0, 0, 0}, {0}, kIdle).is_frame());
}

TEST(WsFrameErrors, CloseCodesAreBeasts) {
    EXPECT_EQ(ws::close_code_for(ws::FrameError::TooBig), 1009);
    EXPECT_EQ(ws::close_code_for(ws::FrameError::LengthTopBit), 1009);
    EXPECT_EQ(ws::close_code_for(ws::FrameError::ReservedBits), 1002);
    EXPECT_EQ(ws::close_code_for(ws::FrameError::MaskedServerFrame), 1002);
}

TEST(WsFrameMessageState, TracksAFragmentedMessageAcrossControlFrames) {
    ws::MessageState s;
    s.accept({.fin = false, .opcode = ws::Opcode::Binary, .payload_length = 10});
    s.accept({.fin = true, .opcode = ws::Opcode::Ping, .payload_length = 4});
    EXPECT_TRUE(s.in_message);
    EXPECT_EQ(s.message_bytes, 10u);
    s.accept({.fin = false, .opcode = ws::Opcode::Continuation, .payload_length = 5});
    s.accept({.fin = true, .opcode = ws::Opcode::Continuation, .payload_length = 1});
    EXPECT_FALSE(s.in_message);
    EXPECT_EQ(s.opcode, ws::Opcode::Binary);
    EXPECT_EQ(s.message_bytes, 16u);
    s.accept({.fin = true, .opcode = ws::Opcode::Text, .payload_length = 3});
    EXPECT_EQ(s.opcode, ws::Opcode::Text);
    EXPECT_EQ(s.message_bytes, 3u);
}

// --- Masking ----------------------------------------------------------------

TEST(WsFrameMask, MatchesTheRfcDefinitionAtEveryOffsetAndAlignment) {
    const ws::MaskKey key{0x01, 0x82, 0x43, 0xC4};
    Bytes base(96);
    for (std::size_t i = 0; i < base.size(); ++i) base[i] = static_cast<std::uint8_t>(i * 37 + 11);
    for (std::size_t start = 0; start < 16; ++start) {
        for (std::size_t length = 0; length <= 70; ++length) {
            for (std::size_t offset = 0; offset < 8; ++offset) {
                Bytes buf = base;
                const auto next = ws::apply_mask(std::span(buf).subspan(start, length), key, offset);
                ASSERT_EQ(next, (offset + length) % 4);
                for (std::size_t i = 0; i < buf.size(); ++i) {
                    const bool inside = i >= start && i < start + length;
                    const std::uint8_t expected = inside ? base[i] ^ key[(offset + i - start) % 4] : base[i];
                    ASSERT_EQ(buf[i], expected) << "start " << start << " length " << length << " offset " << offset;
                }
                ws::apply_mask(std::span(buf).subspan(start, length), key, offset);
                ASSERT_EQ(buf, base);
            }
        }
    }
}

TEST(WsFrameMask, InPiecesEqualsAtOnce) {
    const ws::MaskKey key{0xDE, 0xAD, 0xBE, 0xEF};
    Bytes whole(1000);
    for (std::size_t i = 0; i < whole.size(); ++i) whole[i] = static_cast<std::uint8_t>(i);
    Bytes pieces = whole;
    ws::apply_mask(whole, key);
    std::size_t offset = 0;
    for (std::size_t at = 0, step = 1; at < pieces.size(); at += step, step = step % 13 + 1) {
        const auto n = std::min(step, pieces.size() - at);
        offset = ws::apply_mask(std::span(pieces).subspan(at, n), key, offset);
    }
    EXPECT_EQ(pieces, whole);
}

TEST(WsFrameMask, KeySourceSkipsZeroAndDependsOnTheSeed) {
    ws::MaskKeySource a(1), b(1), c(2);
    bool differs = false;
    for (int i = 0; i < 1000; ++i) {
        const auto ka = a.next();
        EXPECT_EQ(ka, b.next());
        EXPECT_NE(ka, (ws::MaskKey{0, 0, 0, 0}));
        if (ka != c.next()) differs = true;
    }
    EXPECT_TRUE(differs);
}

// --- Close frames -----------------------------------------------------------

TEST(WsFrameClose, CodeValidityFollowsBeast) {
    for (unsigned code = 0; code <= 0xFFFF; ++code) {
        const auto c = static_cast<std::uint16_t>(code);
        EXPECT_EQ(ws::is_valid_close_code(c), websocket::detail::is_valid_close_code(c)) << code;
    }
}

TEST(WsFrameClose, ParsesCodeAndReason) {
    const auto empty = ws::parse_close_payload({});
    EXPECT_TRUE(empty.ok);
    EXPECT_EQ(empty.code, ws::kCloseNoStatus);
    const Bytes normal{0x03, 0xE8, 'b', 'y', 'e'};
    const auto n = ws::parse_close_payload(normal);
    ASSERT_TRUE(n.ok);
    EXPECT_EQ(n.code, 1000);
    EXPECT_EQ(n.reason, "bye");
    EXPECT_EQ(ws::parse_close_payload(Bytes{0x03}).error, ws::CloseError::OneByte);
    const auto reserved = ws::parse_close_payload(Bytes{0x03, 0xED});  // 1005
    EXPECT_FALSE(reserved.ok);
    EXPECT_EQ(reserved.error, ws::CloseError::InvalidCode);
    const auto bad_utf8 = ws::parse_close_payload(Bytes{0x03, 0xE8, 0xC3, 0x28});
    EXPECT_FALSE(bad_utf8.ok);
    EXPECT_EQ(bad_utf8.error, ws::CloseError::ReasonNotUtf8);
    EXPECT_FALSE(ws::describe(ws::CloseError::ReasonNotUtf8).empty());
}

TEST(WsFrameClose, WritesAndCutsTheReasonAtACharacter) {
    std::array<std::uint8_t, ws::kMaxControlPayload> out{};
    EXPECT_EQ(ws::write_close_payload(out, ws::kCloseNoStatus, "ignored"), 0u);
    auto n = ws::write_close_payload(out, 1011, "oops");
    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)),
              (Bytes{0x03, 0xF3, 'o', 'o', 'p', 's'}));
    // 122 ASCII bytes, then a 2-byte character across the 123-byte cut.
    const std::string long_reason = std::string(122, 'x') + "\xC3\xA9" + "tail";
    n = ws::write_close_payload(out, 1000, long_reason);
    EXPECT_EQ(n, 2u + 122u);
    const auto parsed = ws::parse_close_payload(std::span(out.data(), n));
    ASSERT_TRUE(parsed.ok);
    EXPECT_EQ(parsed.reason, std::string(122, 'x'));
}

TEST(WsFrameClose, ControlFrameWriterRefusesWhatIsNotAControlFrame) {
    std::array<std::uint8_t, ws::kMaxControlFrameBytes> out{};
    EXPECT_EQ(ws::write_control_frame(out, ws::Opcode::Binary, {}, nullptr), 0u);
    const Bytes too_long(126, 0);
    EXPECT_EQ(ws::write_control_frame(out, ws::Opcode::Ping, too_long, nullptr), 0u);
    const Bytes max(125, 'p');
    EXPECT_EQ(ws::write_control_frame(out, ws::Opcode::Ping, max, &kRfcKey), 131u);
}

// --- Against Beast ----------------------------------------------------------

TEST(WsFrameBeast, HeaderWriterMatchesBeasts) {
    for (const std::uint64_t length : {0ull, 125ull, 126ull, 65535ull, 65536ull, 1ull << 40}) {
        for (const bool masked : {false, true}) {
            for (const auto op : {ws::Opcode::Binary, ws::Opcode::Continuation, ws::Opcode::Close}) {
                for (const bool fin : {false, true}) {
                    websocket::detail::frame_header fh{};
                    fh.len = length;
                    fh.key = 0x3d21fa37;  // Beast keeps the key little-endian: kRfcKey on the wire
                    fh.op = static_cast<websocket::detail::opcode>(op);
                    fh.fin = fin;
                    fh.mask = masked;
                    fh.rsv1 = fh.rsv2 = fh.rsv3 = false;
                    beast::flat_static_buffer<14> theirs;
                    websocket::detail::write(theirs, fh);
                    ws::FrameHeader h = header(op, fin, masked ? std::optional(kRfcKey) : std::nullopt);
                    h.payload_length = length;
                    Bytes ours(ws::kMaxHeaderBytes);
                    ours.resize(ws::write_frame_header(ours, h));
                    const auto* p = static_cast<const std::uint8_t*>(theirs.data().data());
                    EXPECT_EQ(ours, Bytes(p, p + theirs.size())) << length << " " << masked;
                }
            }
        }
    }
}

// A Beast client and server joined by beast::test::stream, past the
// handshake. feed() writes raw bytes to one of them as if from its peer and
// reads one message: what Beast makes of the bytes our parser judged.
class BeastPair {
public:
    BeastPair() : client_(ioc_), server_(ioc_) {
        client_.next_layer().connect(server_.next_layer());
        server_.async_accept([](beast::error_code ec) { EXPECT_FALSE(ec) << ec.message(); });
        client_.async_handshake("localhost", "/", [](beast::error_code ec) { EXPECT_FALSE(ec) << ec.message(); });
        ioc_.run();
        ioc_.restart();
    }

    struct Outcome {
        bool read = false;                        // a whole message was read
        beast::error_code error;                  // otherwise why not
        std::optional<std::uint16_t> close_sent;  // the close code Beast sent back, if any
    };

    // to_client: the bytes come from the server (the generator's side).
    Outcome feed(const Bytes& wire, bool to_client, std::uint64_t max_message) {
        auto& reader = to_client ? client_ : server_;
        auto& raw_peer = to_client ? server_.next_layer() : client_.next_layer();
        reader.read_message_max(max_message);
        asio::write(raw_peer, asio::buffer(wire));
        Outcome out;
        bool done = false;
        beast::flat_buffer buf;
        reader.async_read(buf, [&](beast::error_code ec, std::size_t) {
            done = true;
            out.read = !ec;
            out.error = ec;
        });
        ioc_.poll();
        // What Beast wrote back: a close frame when it failed the connection.
        std::string sent(raw_peer.str());
        // It may wait for more bytes, or (a client) for the peer's TCP close
        // after failing the connection: give it an end of stream.
        if (!done) {
            raw_peer.close();
            ioc_.poll();
            if (sent.empty()) sent = std::string(raw_peer.str());
        }
        out.close_sent = close_code_in(sent, !to_client);
        return out;
    }

    // What Beast puts on the wire for one binary message, as written by its
    // client (masked) or its server.
    std::string wire_of_message(const Bytes& payload, bool by_client) {
        auto& writer = by_client ? client_ : server_;
        auto& raw_peer = by_client ? server_.next_layer() : client_.next_layer();
        writer.binary(true);
        writer.async_write(asio::buffer(payload), [](beast::error_code ec, std::size_t) { EXPECT_FALSE(ec); });
        ioc_.poll();
        return std::string(raw_peer.str());
    }

private:
    static std::optional<std::uint16_t> close_code_in(std::string_view sent, bool from_server) {
        const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(sent.data()), sent.size());
        const auto r = from_server ? ws::parse_server_frame(bytes, {}, {}) : ws::parse_client_frame(bytes, {}, {});
        if (!r.is_frame() || r.header.opcode != ws::Opcode::Close ||
            bytes.size() < r.header.header_length + r.header.payload_length)
            return std::nullopt;
        Bytes payload(bytes.begin() + static_cast<std::ptrdiff_t>(r.header.header_length),
                      bytes.begin() + static_cast<std::ptrdiff_t>(r.header.header_length + r.header.payload_length));
        if (r.header.masked) ws::apply_mask(payload, r.header.mask_key);
        return ws::parse_close_payload(payload).code;
    }

    asio::io_context ioc_;
    websocket::stream<beast::test::stream> client_;
    websocket::stream<beast::test::stream> server_;
};

// A single-frame case's state is empty or "a binary message under way";
// the latter is made by sending an unfinished binary frame first.
Bytes with_state(const ErrorCase& c) {
    if (!c.state.in_message) return c.wire;
    Bytes opening = c.from_server ? Bytes{0x02, 0x00} : Bytes{0x02, 0x80, 1, 2, 3, 4};
    if (c.state.message_bytes > 0) {
        ws::FrameHeader h = header(ws::Opcode::Binary, false, c.from_server ? std::nullopt : std::optional(kRfcKey));
        opening = frame(h, Bytes(c.state.message_bytes, 'a'));
    }
    return concat(opening, c.wire);
}

TEST(WsFrameBeast, BeastRefusesEachErrorCaseWithTheSameCloseCode) {
    for (const auto& c : error_cases()) {
        SCOPED_TRACE(c.name);
        BeastPair pair;
        const auto outcome = pair.feed(with_state(c), c.from_server, c.limits.max_message_bytes);
        EXPECT_FALSE(outcome.read);
        ASSERT_TRUE(outcome.close_sent.has_value()) << outcome.error.message();
        EXPECT_EQ(*outcome.close_sent, ws::close_code_for(c.error)) << outcome.error.message();
    }
}

// Why the lean reader must accept fragments: with our settings (Beast's
// default auto_fragment and 4 KiB write buffer) both of today's ends send a
// message over 4 KiB as several frames.
TEST(WsFrameBeast, BeastFragmentsWhatItWritesAbove4KiB) {
    for (const bool by_client : {true, false}) {
        SCOPED_TRACE(by_client ? "client" : "server");
        BeastPair pair;
        const std::string wire = pair.wire_of_message(Bytes(10000, 'x'), by_client);
        const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
        ws::MessageState state;
        std::vector<std::uint64_t> frames;
        for (std::size_t at = 0; at < bytes.size();) {
            const auto r = by_client ? ws::parse_client_frame(bytes.subspan(at), kLimits, state)
                                     : ws::parse_server_frame(bytes.subspan(at), kLimits, state);
            ASSERT_TRUE(r.is_frame());
            state.accept(r.header);
            frames.push_back(r.header.payload_length);
            at += r.header.header_length + r.header.payload_length;
        }
        EXPECT_EQ(frames, (std::vector<std::uint64_t>{4096, 4096, 1808}));
        EXPECT_FALSE(state.in_message);
        EXPECT_EQ(state.message_bytes, 10000u);
    }
}

TEST(WsFrameBeast, BeastReadsWhatOurWriterWrites) {
    for (const std::size_t length : {0u, 5u, 125u, 126u, 4096u, 65535u, 65536u}) {
        SCOPED_TRACE(length);
        Bytes payload(length);
        for (std::size_t i = 0; i < length; ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
        {
            BeastPair pair;  // a client's masked frame, read by Beast's server
            EXPECT_TRUE(pair.feed(frame(header(ws::Opcode::Binary, true, kRfcKey), payload), false, 0).read);
        }
        {
            BeastPair pair;  // a server's frame, in two fragments, read by Beast's client
            const auto half = static_cast<std::ptrdiff_t>(length / 2);
            const Bytes wire =
                concat(frame(header(ws::Opcode::Binary, false), Bytes(payload.begin(), payload.begin() + half)),
                       frame(header(ws::Opcode::Continuation), Bytes(payload.begin() + half, payload.end())));
            EXPECT_TRUE(pair.feed(wire, true, 0).read);
        }
    }
}

}  // namespace
