// Blocking calls to a SpacetimeDB server's HTTP API that the coordinator and
// bench-dist-control need: the database identity (to pick its series out of
// /v1/metrics), the committed-transfer counter, and calling a reducer with
// JSON arguments (seeding). Every error names the server URL, what failed and
// what to check. An https:// (or wss://) --stdb-url is read over TLS with the
// process's trust settings (net::default_tls_client_context(), set from
// --stdb-ca-file); a rejected certificate names the host and that flag.
// A non-empty `token` (--stdb-token / STDB_TOKEN) is sent as
// "Authorization: Bearer <token>" on every request, for servers (or proxies)
// that refuse anonymous callers; a 401 names that flag. The token never
// appears in an error message.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "benchdist/stdb/endpoint.hpp"

namespace benchdist::stdbhttp {

class ServerApiError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// GET /v1/database/{db}/identity: 64 lowercase hex digits.
// Unknown database -> ServerApiError "database `x` not found on http://...".
std::string fetch_database_identity(const stdb::Endpoint& server, const std::string& database,
                                    std::chrono::milliseconds timeout, const std::string& token = {});

struct CounterRead {
    std::uint64_t committed = 0;
    // No spacetime_num_txns_total series for this db and transfer yet: the
    // server has committed no transfer, which reads as zero once the database
    // is known to exist (the original harness failed the epoch instead).
    bool series_absent = false;
    // Wall-clock time (unix ms) when the request was sent and when the answer
    // arrived: the read happened somewhere in between, which bounds the
    // uncertainty of a window's edges.
    std::int64_t sent_at_ms = 0;
    std::int64_t received_at_ms = 0;

    // How long the read took: how uncertain its moment is.
    std::int64_t round_trip_ms() const { return received_at_ms - sent_at_ms; }
};

// Committed `transfer` reducer transactions of one database, selected by the
// db label = identity. Throws ServerApiError on HTTP failures, a malformed
// series, or a non-integer value.
CounterRead read_committed_transfers(const stdb::Endpoint& server, const std::string& database_identity_hex,
                                     std::chrono::milliseconds timeout, const std::string& token = {});

// POST /v1/database/{db}/call/{reducer} with a JSON array of arguments.
// Throws ServerApiError with the server's message on a non-200 answer.
void call_reducer_json(const stdb::Endpoint& server, const std::string& database, const std::string& reducer,
                       const std::string& json_args, std::chrono::milliseconds timeout, const std::string& token = {});

}  // namespace benchdist::stdbhttp
