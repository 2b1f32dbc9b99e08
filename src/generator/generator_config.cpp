#include "benchdist/generator/generator_config.hpp"

namespace benchdist::generator {

namespace {

control::Json optional_json(const std::optional<bool>& v) { return v ? control::Json(*v) : control::Json(nullptr); }

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
    o.source_addresses = source_addresses;
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

control::Json GeneratorConfig::workload_json() const {
    control::Json w = control::Json::object();
    w["alpha"] = alpha;
    w["accounts"] = accounts;
    w["pairMode"] = std::string(pair_mode_name(pair_mode));
    w["amount"] = session_options().amount;
    w["maxInflight"] = max_inflight;
    w["rateMode"] = rate_mode();
    w["compression"] = std::string(stdb::compression_flag_name(compression));
    w["confirmedReads"] = optional_json(confirmed);
    w["protocol"] = protocol_offer();
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
    o["threads"] = threads_used;
    return o;
}

control::Json GeneratorConfig::settings_json() const {
    control::Json s = control::Json::object();
    s["connections"] = concurrency;
    s["compression"] = std::string(stdb::compression_flag_name(compression));
    s["confirmedReads"] = confirmed ? control::Json(*confirmed) : control::Json("server default (true on v2/v3)");
    s["protocol"] = protocol ? std::string(stdb::subprotocol_name(*protocol)) : std::string("v3 or v2, server's choice");
    s["accounts"] = accounts;
    s["alpha"] = alpha;
    s["pairMode"] = std::string(pair_mode_name(pair_mode));
    s["opTimeoutMs"] = op_timeout.count();
    s["maxInflight"] = max_inflight;
    s["rate"] = rate_json(rate);
    return s;
}

control::Json GeneratorConfig::load_json(std::optional<std::int64_t> started_unix_ms,
                                         std::optional<std::int64_t> stopped_unix_ms) const {
    control::Json l = control::Json::object();
    l["mode"] = rate_mode();
    l["maxInflight"] = max_inflight;
    l["connections"] = concurrency;
    l["ratePerSecond"] = rate_json(rate);
    if (started_unix_ms) l["startedAtMs"] = *started_unix_ms;
    if (stopped_unix_ms) l["stoppedAtMs"] = *stopped_unix_ms;
    return l;
}

}  // namespace benchdist::generator
