#include "load_session_support.hpp"

#include <cstdlib>
#include <thread>

namespace benchdist::testing {

using namespace std::chrono_literals;

std::shared_ptr<const generator::TransferPairs> small_pairs() {
    generator::TransferPairsOptions o;
    o.accounts = 1000;
    o.count = 10000;
    return std::make_shared<generator::TransferPairs>(o);
}

generator::LoadSessionOptions test_session_options(int port, const std::string& database, std::size_t concurrency,
                                                   std::size_t open_parallelism) {
    generator::LoadSessionOptions o;
    o.endpoint = stdb::parse_endpoint("ws://127.0.0.1:" + std::to_string(port));
    o.database = database;
    o.concurrency = concurrency;
    o.open_parallelism = open_parallelism;
    o.threads = 2;
    o.op_timeout = 10s;
    o.connect_timeout = 5s;
    o.handshake_timeout = 5s;
    // scripts/test.sh runs the integration tests once per I/O backend;
    // the generator processes the tests start read the same variable
    // (bench-dist-generator --io-backend's environment name).
    if (const char* backend = std::getenv("BENCH_DIST_IO_BACKEND")) {
        if (const auto parsed = generator::parse_io_backend(backend)) o.io_backend = *parsed;
    }
    return o;
}

generator::LoadCounters wait_counters(const generator::LoadSession& session,
                                      const std::function<bool(const generator::LoadCounters&)>& pred,
                                      std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    generator::LoadCounters c = session.counters();
    while (!pred(c) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);  // polling a condition, bounded by the deadline
        c = session.counters();
    }
    return c;
}

}  // namespace benchdist::testing
