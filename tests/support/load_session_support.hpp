// What the tests that drive a generator::LoadSession directly share: small
// transfer pairs over 1000 accounts, session options with short timeouts
// against a stand-in on 127.0.0.1, and a bounded wait on the counters.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "benchdist/generator/load_counters.hpp"
#include "benchdist/generator/load_session.hpp"
#include "benchdist/generator/transfer_pairs.hpp"

namespace benchdist::testing {

// 10,000 precomputed pairs over accounts 0..999 (what the rig seeds).
std::shared_ptr<const generator::TransferPairs> small_pairs();

// Two threads, 10 s op timeout, 5 s connect and handshake timeouts.
generator::LoadSessionOptions test_session_options(int port, const std::string& database, std::size_t concurrency,
                                                   std::size_t open_parallelism);

// Reads the session's counters until pred holds or the timeout passes;
// returns the last read.
generator::LoadCounters wait_counters(const generator::LoadSession& session,
                                      const std::function<bool(const generator::LoadCounters&)>& pred,
                                      std::chrono::milliseconds timeout);

}  // namespace benchdist::testing
