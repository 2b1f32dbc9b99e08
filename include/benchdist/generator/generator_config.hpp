// GeneratorConfig: everything one bench-dist-generator runs with, checked
// once from its command line. Both of its modes -- the agent that follows a
// coordinator, and `run`, which loads a server on its own -- build their load
// session, their transfer pairs and every JSON block they report (manifest
// options, the workload that must match across generators, the settings and
// load span of a stop report) from this one value, so each option is named
// in one place and the blocks cannot drift apart. Tokens are held here but
// never written out: the JSON says only whether one was set.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "benchdist/control/generator_report.hpp"
#include "benchdist/control/protocol.hpp"
#include "benchdist/generator/load_session.hpp"
#include "benchdist/generator/transfer_pairs.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::generator {

// 16 random hex digits naming this process among every run of the same
// --id (control::RegisterManifest::incarnation).
std::string new_incarnation();

// The load one epoch runs on this generator: the command line's, with the
// fields an epoch's assignment sets laid over it
// (GeneratorConfig::epoch_settings).
struct EpochLoadSettings {
    std::size_t connections = 0;  // active connections
    std::size_t max_inflight = 1;
    double rate = 0;  // calls/s; 0: closed loop
    double alpha = 1.5;
    std::uint32_t accounts = 100000;
    friend bool operator==(const EpochLoadSettings&, const EpochLoadSettings&) = default;
};

struct GeneratorConfig {
    // Who this generator is (agent mode).
    std::string id;
    std::string hostname;
    std::string coordinator_url = "http://127.0.0.1:8080";
    std::string test = "test-1";
    std::string connector = "spacetimedb";

    // The server and how to talk to it.
    std::string stdb_url = "ws://127.0.0.1:3000";
    stdb::Endpoint endpoint;  // parsed from stdb_url
    std::string database = "test-1";
    stdb::Compression compression = stdb::Compression::None;
    std::optional<bool> confirmed;                  // sent only when set
    std::optional<stdb::ProtocolVersion> protocol;  // nullopt: offer v3 and v2
    std::string stdb_token;                         // never reported
    std::vector<std::string> source_addresses;      // empty: the kernel chooses
    IoBackend io_backend = IoBackend::Auto;         // plain ws:// after the handshake

    // The load.
    std::size_t concurrency = 0;
    std::size_t open_parallelism = kDefaultOpenParallelism;
    std::size_t threads = 0;  // 0: hardware threads
    std::size_t max_inflight = 1;
    double rate = 0;                                                // 0: closed loop
    std::uint32_t schedule_tick_us = kDefaultScheduleTick.count();  // open loop: LoadSessionOptions::schedule_tick
    std::chrono::milliseconds op_timeout{15000};
    std::uint32_t accounts = 100000;
    double alpha = 1.5;
    std::size_t pairs = kDefaultPrecomputedTransferPairs;
    PairMode pair_mode = PairMode::zipf;
    std::optional<std::uint64_t> seed;

    // The control plane (agent mode).
    std::uint64_t poll_ms = 1000;
    std::uint64_t long_poll_ms = 1000;
    int control_retries = 3;
    double lease_seconds = 10;
    bool exit_on_coordinator_loss = false;
    std::string auth_token;  // never reported

    LoadSessionOptions session_options() const;
    TransferPairsOptions pair_options() const;

    // "open" or "closed".
    const char* rate_mode() const { return rate > 0 ? "open" : "closed"; }
    // "v3", "v2" or "auto" (both offered).
    std::string protocol_offer() const;

    // The options that change what a transfer costs or how load is offered:
    // generators whose workloads differ are not mixed in one result
    // (concurrency and the rate value may differ: they only scale the load).
    control::WorkloadReport workload() const;
    control::Json workload_json() const { return control::to_json(workload()); }
    // Every option, for the manifest; `threads` is what the session chose.
    control::Json options_json(std::size_t threads_used) const;
    // The /register manifest: this tool's version, the host, the process and
    // when it started, the workload and every option.
    // `incarnation`: new_incarnation(), once per process.
    control::RegisterManifest manifest(std::size_t threads_used, std::int64_t pid, std::int64_t started_unix_ms,
                                       std::string incarnation = new_incarnation()) const;
    // One epoch's load: each field the assignment sets replaces this
    // config's option for that epoch; without an assignment, the command
    // line as it is.
    EpochLoadSettings epoch_settings(const std::optional<control::LoadAssignment>& assignment = std::nullopt) const;

    // What the load ran with, in a stop report (e.g. whether every reply
    // waited for durability): the command line, or an epoch's settings as
    // run.
    control::ReportSettings settings() const { return settings(epoch_settings()); }
    control::ReportSettings settings(const EpochLoadSettings& ran) const;
    control::Json settings_json() const { return control::to_json(settings()); }
    // How load was offered and when it ran, by this host's clock.
    control::ReportLoad load(std::optional<std::int64_t> started_unix_ms,
                             std::optional<std::int64_t> stopped_unix_ms) const {
        return load(epoch_settings(), started_unix_ms, stopped_unix_ms);
    }
    control::ReportLoad load(const EpochLoadSettings& ran, std::optional<std::int64_t> started_unix_ms,
                             std::optional<std::int64_t> stopped_unix_ms) const;
    control::Json load_json(std::optional<std::int64_t> started_unix_ms,
                            std::optional<std::int64_t> stopped_unix_ms) const {
        return control::to_json(load(started_unix_ms, stopped_unix_ms));
    }
};

}  // namespace benchdist::generator
