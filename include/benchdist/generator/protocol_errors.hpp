// Protocol errors: server messages a generator's connection cannot take --
// a frame that does not decode, a compression tag or stream that is wrong,
// a reply to a request id it never sent. Each one closes its connection and
// fails the calls in flight on it (they count as disconnects, so every
// error ratio sees them), and is counted here by kind, so that a run whose
// server answered garbage says so instead of passing as a run whose server
// dropped connections. The pieces are pure, for unit tests: the kinds and
// their names (the keys of the report's "protocolErrorsByKind"), the counts,
// what the connection hands over (ProtocolErrorEvent), the log line of one
// error -- kind, what failed, and at most the first 32 bytes of the frame in
// hex, never raw bytes, since a garbage frame may hold anything -- and the
// limiter that keeps a server answering garbage thousands of times a second
// from flooding the log: the first few errors one line each, then one
// summary line per period with their count by kind.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::generator {

enum class ProtocolErrorKind : std::uint8_t {
    WebSocketFrame,     // the WebSocket layer refused a frame (RFC 6455 violation, message over the size limit)
    TextFrame,          // a text message on the binary protocol
    Framing,            // no compression tag (an empty message), an empty body, bytes after a v2 message
    CompressionTag,     // a compression tag other than 0 none, 1 brotli, 2 gzip
    Decompression,      // a gzip / brotli body that is corrupt, truncated or too large
    UnknownMessageTag,  // a ServerMessage tag this protocol does not define
    Decode,             // a ServerMessage whose BSATN does not decode (truncated, bad length, bad UTF-8, ...)
    UnknownRequestId,   // a ReducerResult for a request id not in flight on the open connection
};
inline constexpr std::size_t kProtocolErrorKinds = 8;

// "webSocketFrame", "textFrame", "framing", "compressionTag",
// "decompression", "unknownMessageTag", "decode", "unknownRequestId".
std::string_view protocol_error_kind_name(ProtocolErrorKind kind);

// Protocol errors counted by kind: plain values, one copy per worker thread
// like the rest of LoadCounters.
struct ProtocolErrorCounts {
    std::array<std::uint64_t, kProtocolErrorKinds> by_kind{};

    void add(ProtocolErrorKind kind, std::uint64_t n = 1) { by_kind[static_cast<std::size_t>(kind)] += n; }
    std::uint64_t operator[](ProtocolErrorKind kind) const { return by_kind[static_cast<std::size_t>(kind)]; }
    std::uint64_t total() const;
    void combine(const ProtocolErrorCounts& other);
    // The kinds seen, by name (for the report's "protocolErrorsByKind").
    std::map<std::string, std::uint64_t, std::less<>> by_name() const;
    // "decode 3, textFrame 1": the kinds seen, in the order of the enum; "" when none.
    std::string describe() const;

    friend bool operator==(const ProtocolErrorCounts&, const ProtocolErrorCounts&) = default;
};

// What a connection reports of one protocol error. The views are valid only
// during the call.
struct ProtocolErrorEvent {
    ProtocolErrorKind kind = ProtocolErrorKind::Decode;
    std::string_view url;     // the connection's
    std::string_view detail;  // what failed, e.g. a bsatn::DecodeError's text; never the frame's bytes
    // The WebSocket message as received; empty for WebSocketFrame, whose
    // bytes the WebSocket layer does not hand out.
    std::span<const std::uint8_t> frame;
};

// Called on the connection's thread, before the calls it ends are failed.
using ProtocolErrorHandler = std::function<void(const ProtocolErrorEvent&)>;

// At most this many bytes of a frame go into a log line.
inline constexpr std::size_t kLoggedFrameBytes = 32;

// "09 00 ff": the first max_bytes bytes, two lowercase hex digits each,
// separated by spaces.
std::string hex_prefix(std::span<const std::uint8_t> bytes, std::size_t max_bytes = kLoggedFrameBytes);

// One error's log line:
// "protocol error (decode) on ws://h:3000/...: BSATN decode error at byte 6: ...; frame (40 bytes, first 32): 00 06
// ..."
// (", first 32" only when the frame is longer; "frame: not kept by the
// WebSocket layer" for WebSocketFrame).
std::string protocol_error_line(const ProtocolErrorEvent& event);

// Which kind a server body (after the compression tag and decompression)
// that failed to decode is: Framing (empty, or bytes after a v2 message),
// UnknownMessageTag (a message starts with a tag the protocol lacks) or
// Decode (a message does not decode). Walks the body again, so call it only
// after a failure; a body that decodes whole is reported as Decode.
ProtocolErrorKind classify_body_failure(std::span<const std::uint8_t> body, stdb::ProtocolVersion version);

// Decides which protocol errors of a generator are logged: the first
// `first_in_full` one line each (the last of them followed by a line saying
// that summaries follow), after that a count by kind in one summary line
// when an error comes `period` or more after the summary period began, and
// whatever is still pending when flush() is called (the end of an epoch).
// Every error is counted in the report whatever is logged. Not
// thread-safe: the session holds it under a lock. Time is passed in.
class ProtocolErrorLimiter {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kFirstInFull = 5;
    static constexpr std::chrono::seconds kSummaryPeriod{10};

    explicit ProtocolErrorLimiter(std::size_t first_in_full = kFirstInFull, Clock::duration period = kSummaryPeriod);

    // The lines to log for this error, oldest first (often none).
    std::vector<std::string> note(const ProtocolErrorEvent& event, Clock::time_point now);
    // The summary of the errors not logged yet, if any.
    std::optional<std::string> flush(Clock::time_point now);
    // Starts over: the next error is logged in full again. Call flush first.
    void reset();

private:
    std::string summary(Clock::time_point now);

    std::size_t first_in_full_;
    Clock::duration period_;
    std::size_t logged_ = 0;
    ProtocolErrorCounts pending_;
    std::optional<Clock::time_point> period_start_;
};

}  // namespace benchdist::generator
