// The coordinator's verification read: one short-lived WebSocket connection
// that subscribes to the keynote `accounts` table, tallies every row of the
// initial SubscribeApplied, and leaves. It is what the original harness did
// with the SDK after an epoch (`runVerification`), done with our own codec so
// the coordinator needs no SDK. Blocking, with one deadline for the whole
// exchange, so a silent server fails verification instead of hanging it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdbhttp/server_api.hpp"

namespace benchdist::stdbhttp {

// Connects to {server}/v1/database/{database}/subscribe offering v3 then v2,
// subscribes to "SELECT * FROM accounts" and returns the tally of its rows
// (feed it to transfer::verify). `timeout` bounds everything from resolving
// the host to the SubscribeApplied. A wss:// (or https://) endpoint is read
// over TLS with net::default_tls_client_context() (system store plus
// --stdb-ca-file). Throws ServerApiError naming the URL for: a rejected
// certificate (naming the host and --stdb-ca-file), an unreachable server, a refused
// upgrade (status and body), a SubscriptionError (its text), a connection
// closed before the rows arrived, a malformed message, or the timeout.
// A non-empty `token` goes on the upgrade as "Authorization: Bearer".
stdb::transfer::BalanceTally fetch_account_balances(const stdb::Endpoint& server, const std::string& database,
                                                    std::int64_t initial_balance, stdb::Compression compression,
                                                    std::chrono::milliseconds timeout, const std::string& token = {});

}  // namespace benchdist::stdbhttp
