// HostileStdb: a SpacetimeDB impostor on 127.0.0.1 for the tests of what a
// generator does when the server speaks the protocol wrongly. It answers the
// HTTP requests `bench-dist-generator run` makes (the database's identity,
// and /v1/metrics with no series, so the committed counter reads 0), accepts
// the WebSocket upgrade on any path with the sub-protocol the client offered
// (v3 when offered), sends a valid InitialConnection first -- as SpacetimeDB
// and stdb-standin do -- and then answers every message the client sends
// (one call each, with one call in flight per connection) with one garbage
// frame. The kind of garbage is fixed per connection and goes round `kinds`
// connection by connection (connection k gets kinds[k % n]), so a run sees
// every kind and the tally of what was sent can be held against the
// generator's counts. With `upgrade_answer` set it answers every upgrade with
// those bytes instead and closes (a truncated `101`, say). It runs its own
// io_context thread (Beast, in the .cpp); the destructor stops it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace benchdist::testing {

enum class Garbage {
    TextFrame,          // a text message, {"not":"bsatn"}
    EmptyMessage,       // a binary message of 0 bytes
    CompressionTag,     // tag 7 in front of a valid ReducerResult
    BadGzip,            // tag 2 in front of bytes that are no gzip stream
    UnknownMessageTag,  // ServerMessage tag 9
    TruncatedResult,    // the call's ReducerResult cut inside its timestamp
    UnknownRequestId,   // a valid ReducerResult Ok for another request id
    ReservedOpcode,     // a WebSocket frame with opcode 3, written under the WebSocket layer
};

// The generator's name of the protocol error each garbage must be counted
// as (generator::protocol_error_kind_name).
std::string_view expected_kind(Garbage g);
std::string_view garbage_name(Garbage g);

struct HostileStdbOptions {
    std::vector<Garbage> kinds;
    std::optional<std::string> upgrade_answer;
};

class HostileStdb {
public:
    explicit HostileStdb(HostileStdbOptions options);
    ~HostileStdb();
    HostileStdb(const HostileStdb&) = delete;
    HostileStdb& operator=(const HostileStdb&) = delete;

    int port() const { return port_; }
    std::string ws_url() const;
    // Garbage frames sent so far, by kind (counted before each is written).
    std::map<Garbage, std::uint64_t> sent() const;
    // The same by the generator's kind names, only the kinds sent.
    std::map<std::string, std::uint64_t, std::less<>> sent_by_expected_kind() const;
    // CallReducer messages received.
    std::uint64_t calls() const;
    // WebSocket upgrades accepted (or answered with upgrade_answer).
    std::uint64_t upgrades() const;

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
    int port_ = 0;
};

}  // namespace benchdist::testing
