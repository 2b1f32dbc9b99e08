// The two things an epoch needs from the SpacetimeDB server -- its committed
// transfer counter at both window edges, and the accounts verification
// afterwards -- behind small interfaces, so the epoch runner can be tested
// with fakes and the real implementations (HTTP metrics, a WebSocket
// subscription) stay at the edge.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdbhttp/server_api.hpp"

namespace benchdist::coordinator {

class CounterSource {
public:
    virtual ~CounterSource() = default;
    // Called once when an epoch starts, before any read: resolve whatever a
    // read needs (the database identity). Throws with a message naming the
    // database when it does not exist.
    virtual void begin_epoch() {}
    // The committed `transfer` counter now. Throws on failure. During the
    // measured window the timeline sampler calls this from its own thread,
    // possibly while the runner reads the window's end: it must be safe to
    // call concurrently (after begin_epoch()).
    virtual stdbhttp::CounterRead read() = 0;
    // The database identity begin_epoch() resolved, for the result's
    // manifest (so it is not fetched a second time); nullopt when unknown.
    // Called by the epoch runner after begin_epoch().
    virtual std::optional<std::string> database_identity() const { return std::nullopt; }
};

class Verifier {
public:
    virtual ~Verifier() = default;
    // Throws when the check could not be made (server unreachable, ...);
    // the runner records that as a failed verification with the message.
    virtual stdb::transfer::VerificationOutcome verify() = 0;
};

// Real implementations against a SpacetimeDB server (or stdb-standin).
struct StdbTarget {
    stdb::Endpoint endpoint;
    std::string database;  // --stdb-module
    stdb::Compression compression = stdb::Compression::None;
    std::chrono::milliseconds timeout{10000};
    // --stdb-token: sent as a bearer token on every request when non-empty.
    std::string token;
};

// Reads /v1/metrics for the database's identity, resolved in begin_epoch().
std::unique_ptr<CounterSource> make_stdb_counter_source(StdbTarget target);
// Subscribes to the accounts table and applies transfer::verify.
std::unique_ptr<Verifier> make_stdb_verifier(StdbTarget target, std::int64_t initial_balance);

}  // namespace benchdist::coordinator
