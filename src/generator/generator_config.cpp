#include "benchdist/generator/generator_config.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

#include "benchdist/control/version.hpp"

namespace benchdist::generator {

namespace {

using control::optional_json;

control::Json rate_json(double rate) { return rate > 0 ? control::Json(rate) : control::Json(nullptr); }

}  // namespace

LoadSessionOptions GeneratorConfig::session_options() const {
    LoadSessionOptions o;
    o.endpoint = endpoint;
    o.database = database;
    o.concurrency = concurrency;
    o.open_parallelism = open_parallelism;
    o.threads = threads;
    o.op_timeout = op_timeout;
    o.compression = compression;
    o.confirmed = confirmed;
    o.protocol = protocol;
    o.token = stdb_token;
    o.max_inflight = max_inflight;
    o.rate_per_second = rate;
    o.schedule_tick = std::chrono::microseconds(schedule_tick_us);
    o.source_addresses = source_addresses;
    o.io_backend = io_backend;
    return o;
}

TransferPairsOptions GeneratorConfig::pair_options() const {
    TransferPairsOptions o;
    o.accounts = accounts;
    o.alpha = alpha;
    o.count = pairs;
    o.mode = pair_mode;
    o.seed = seed;
    return o;
}

std::string GeneratorConfig::protocol_offer() const {
    if (!protocol) return "auto";
    return *protocol == stdb::ProtocolVersion::V3 ? "v3" : "v2";
}

control::WorkloadReport GeneratorConfig::workload() const {
    control::WorkloadReport w;
    w.alpha = alpha;
    w.accounts = accounts;
    w.pair_mode = std::string(pair_mode_name(pair_mode));
    w.amount = session_options().amount;
    w.max_inflight = max_inflight;
    w.rate_mode = rate_mode();
    w.compression = std::string(stdb::compression_flag_name(compression));
    w.confirmed_reads = confirmed;
    w.protocol = protocol_offer();
    return w;
}

control::Json GeneratorConfig::options_json(std::size_t threads_used) const {
    control::Json o = control::Json::object();
    o["coordinatorUrl"] = coordinator_url;
    o["test"] = test;
    o["connector"] = connector;
    o["id"] = id;
    o["hostname"] = hostname;
    o["concurrency"] = concurrency;
    o["maxInflight"] = max_inflight;
    o["rate"] = rate_json(rate);
    o["accounts"] = accounts;
    o["alpha"] = alpha;
    o["pairMode"] = std::string(pair_mode_name(pair_mode));
    o["pairs"] = pairs;
    o["seed"] = seed ? control::Json(*seed) : control::Json(nullptr);
    o["openParallelism"] = open_parallelism;
    o["opTimeoutMs"] = op_timeout.count();
    o["pollMs"] = poll_ms;
    o["longPollMs"] = long_poll_ms;
    o["controlRetries"] = control_retries;
    o["leaseSeconds"] = lease_seconds;
    o["exitOnCoordinatorLoss"] = exit_on_coordinator_loss;
    o["stdbUrl"] = stdb_url;
    o["stdbModule"] = database;
    o["stdbCompression"] = std::string(stdb::compression_flag_name(compression));
    o["confirmedReads"] = optional_json(confirmed);
    o["stdbProtocol"] = protocol_offer();
    o["stdbToken"] = stdb_token.empty() ? "none" : "set (not shown)";
    o["authToken"] = auth_token.empty() ? "none" : "set";
    o["sourceAddresses"] = source_addresses;
    o["ioBackend"] = std::string(io_backend_flag(io_backend));
    o["threads"] = threads_used;
    return o;
}

std::string new_incarnation() {
    std::random_device device;
    const std::uint64_t bits = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
    return text;
}

control::RegisterManifest GeneratorConfig::manifest(std::size_t threads_used, std::int64_t pid,
                                                    std::int64_t started_unix_ms, std::string incarnation) const {
    control::RegisterManifest m;
    m.tool_version = std::string(control::tool_version());
    m.hostname = hostname;
    m.pid = pid;
    m.started_at = control::iso8601_millis(started_unix_ms);
    m.workload = workload_json();
    m.options = options_json(threads_used);
    // The agent renews its lease with every request and fences its load on it.
    m.holds_lease = true;
    m.incarnation = std::move(incarnation);
    // AgentRunner applies the load an epoch assigns (epoch_settings).
    m.applies_epoch_load = true;
    return m;
}

EpochLoadSettings GeneratorConfig::epoch_settings(const std::optional<control::LoadAssignment>& assignment) const {
    EpochLoadSettings s{concurrency, std::max<std::size_t>(1, max_inflight), rate, alpha, accounts};
    if (!assignment) return s;
    if (assignment->connections) s.connections = static_cast<std::size_t>(*assignment->connections);
    if (assignment->inflight) s.max_inflight = static_cast<std::size_t>(*assignment->inflight);
    if (assignment->rate) s.rate = *assignment->rate;
    if (assignment->alpha) s.alpha = *assignment->alpha;
    if (assignment->accounts) s.accounts = *assignment->accounts;
    return s;
}

control::ReportSettings GeneratorConfig::settings(const EpochLoadSettings& ran) const {
    control::ReportSettings s;
    s.connections = ran.connections;
    s.compression = std::string(stdb::compression_flag_name(compression));
    s.confirmed_reads = confirmed;
    if (protocol) s.protocol = std::string(stdb::subprotocol_name(*protocol));
    s.accounts = ran.accounts;
    s.alpha = ran.alpha;
    s.pair_mode = std::string(pair_mode_name(pair_mode));
    s.op_timeout_ms = op_timeout.count();
    s.max_inflight = ran.max_inflight;
    if (ran.rate > 0) s.rate = ran.rate;
    return s;
}

control::ReportLoad GeneratorConfig::load(const EpochLoadSettings& ran, std::optional<std::int64_t> started_unix_ms,
                                          std::optional<std::int64_t> stopped_unix_ms) const {
    control::ReportLoad l;
    l.open = ran.rate > 0;
    l.max_inflight = ran.max_inflight;
    l.connections = ran.connections;
    if (ran.rate > 0) l.rate_per_second = ran.rate;
    if (started_unix_ms) l.started_at_ms = static_cast<double>(*started_unix_ms);
    if (stopped_unix_ms) l.stopped_at_ms = static_cast<double>(*stopped_unix_ms);
    return l;
}

}  // namespace benchdist::generator
