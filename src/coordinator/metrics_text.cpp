// Rendering the coordinator's /metrics (metrics_text.hpp).
#include "coordinator/metrics_text.hpp"

#include <array>
#include <charconv>
#include <string_view>

#include "benchdist/control/verdict.hpp"
#include "benchdist/metrics/exposition.hpp"

namespace benchdist::coordinator {

namespace {

using control::GeneratorState;
using control::Phase;

constexpr std::array kPhases{Phase::Idle, Phase::Starting, Phase::Warmup, Phase::Measure, Phase::Stop};
constexpr std::array kGeneratorStates{GeneratorState::Registered, GeneratorState::Ready, GeneratorState::Starting,
                                      GeneratorState::Running, GeneratorState::Lost};

constexpr double kMillisecondsPerSecond = 1000.0;

// The result's decimal counter strings (bigint in the original); nullopt
// when one does not hold a u64.
std::optional<std::uint64_t> parse_count(const std::string& text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// What the result says of its verdict; nullopt for a result without one (an
// older coordinator's, read back from the results directory) or whose
// reasons do not parse -- a scrape must not fail over it.
std::optional<control::StoredVerdict> verdict_of(const control::EpochResult& r) {
    try {
        return control::read_verdict(r.extra);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void write_state(stdb::MetricsWriter& out, const control::CoordinatorState& s) {
    metrics::family(out, "benchdist_coordinator_phase", "gauge",
                    "The coordinator's phase: 1 for the current one (idle, starting, warmup, measure, stop), 0 for "
                    "the others");
    for (const Phase p : kPhases) {
        out.sample("benchdist_coordinator_phase", {{"phase", std::string(control::phase_name(p))}},
                   s.phase == p ? 1 : 0);
    }
    // The running epoch, else the last one that ran; 0 before the first.
    std::uint64_t epoch = s.current_epoch.value_or(0);
    if (!s.current_epoch && s.last_result) epoch = s.last_result->epoch;
    metrics::gauge(out, "benchdist_coordinator_epoch",
                   "The running epoch's number, else the last epoch's; 0 before the first epoch",
                   static_cast<double>(epoch));

    std::array<std::uint64_t, kGeneratorStates.size()> by_state{};
    std::uint64_t open = 0;
    for (const auto& g : s.generators) {
        for (std::size_t k = 0; k < kGeneratorStates.size(); ++k) {
            if (g.local_state == kGeneratorStates[k]) ++by_state[k];
        }
        // A lost generator's last report says nothing about now.
        if (g.local_state != GeneratorState::Lost) open += g.opened_connections;
    }
    metrics::family(out, "benchdist_coordinator_generators", "gauge",
                    "Registered generators by state (registered, ready, starting, running, lost)");
    for (std::size_t k = 0; k < kGeneratorStates.size(); ++k) {
        out.sample("benchdist_coordinator_generators",
                   {{"state", std::string(control::generator_state_name(kGeneratorStates[k]))}}, by_state[k]);
    }
    metrics::gauge(out, "benchdist_coordinator_open_connections",
                   "SpacetimeDB connections the generators that are not lost reported open", static_cast<double>(open));
    metrics::family(out, "benchdist_coordinator_generator_open_connections", "gauge",
                    "SpacetimeDB connections each generator reported open (its last report; a lost one's is stale)");
    for (const auto& g : s.generators) {
        out.sample("benchdist_coordinator_generator_open_connections", {{"generator", g.id}}, g.opened_connections);
    }
    metrics::family(out, "benchdist_coordinator_generator_desired_connections", "gauge",
                    "SpacetimeDB connections each generator registered to open (its --concurrency)");
    for (const auto& g : s.generators) {
        out.sample("benchdist_coordinator_generator_desired_connections", {{"generator", g.id}}, g.desired_connections);
    }
}

void write_server(stdb::MetricsWriter& out, const MetricsView& v) {
    // Absent until the coordinator first read the counter: a 0 would read as
    // a server that committed nothing.
    if (v.server_committed) {
        metrics::counter(out, "benchdist_coordinator_server_committed_transfers_total",
                         "The server's committed transfer transactions of the database "
                         "(spacetime_num_txns_total{committed=\"true\",reducer=\"transfer\"}), as the coordinator "
                         "last read it; it reads during epochs only",
                         *v.server_committed);
    }
    if (v.server_read_ms) {
        metrics::gauge(out, "benchdist_coordinator_server_read_timestamp_seconds",
                       "When the coordinator last read the server's counter (unix time)",
                       static_cast<double>(*v.server_read_ms) / kMillisecondsPerSecond);
    }
    if (v.server_tps) {
        metrics::gauge(out, "benchdist_coordinator_server_transfers_per_second",
                       "The server's committed transfers per second between the coordinator's last two reads of "
                       "its counter",
                       *v.server_tps);
    }
    metrics::gauge(out, "benchdist_coordinator_window_open", "1 while the measured window of an epoch is open, else 0",
                   v.in_window ? 1 : 0);
}

void write_last_epoch(stdb::MetricsWriter& out, const control::EpochResult& r) {
    const auto verdict = verdict_of(r);
    metrics::family(out, "benchdist_coordinator_last_epoch_info", "gauge",
                    "The last finished epoch: its number, label and verdict (valid, invalid, or unknown for a result "
                    "without one), as labels of a sample of value 1");
    out.sample("benchdist_coordinator_last_epoch_info",
               {{"epoch", std::to_string(r.epoch)},
                {"label", r.label.value_or("")},
                {"verdict", verdict ? (verdict->valid ? "valid" : "invalid") : "unknown"}},
               1);
    if (verdict) {
        metrics::gauge(out, "benchdist_coordinator_last_epoch_valid",
                       "1 when the last finished epoch's verdict is valid, 0 when invalid", verdict->valid ? 1 : 0);
        metrics::family(out, "benchdist_coordinator_last_epoch_reason", "gauge",
                        "1 for each reason code that made the last finished epoch invalid (docs/results.md)");
        for (const auto& reason : verdict->reasons) {
            out.sample("benchdist_coordinator_last_epoch_reason", {{"code", reason.code}}, 1);
        }
    }
    metrics::gauge(out, "benchdist_coordinator_last_epoch_transfers_per_second",
                   "The last finished epoch's throughput: committed transfers in its window over the window's "
                   "length, from the server's counter",
                   r.tps);
    if (const auto delta = parse_count(r.committed_delta)) {
        metrics::gauge(out, "benchdist_coordinator_last_epoch_committed_transfers",
                       "Transfers the server committed in the last finished epoch's window",
                       static_cast<double>(*delta));
    }
    metrics::gauge(out, "benchdist_coordinator_last_epoch_window_seconds",
                   "The length of the last finished epoch's measured window", r.actual_window_seconds);
}

}  // namespace

std::string render_metrics(const MetricsView& view) {
    stdb::MetricsWriter out;
    write_state(out, view.state);
    write_server(out, view);
    if (view.state.last_result) write_last_epoch(out, *view.state.last_result);
    metrics::gauge(out, "benchdist_coordinator_latency_epoch",
                   "The epoch whose calls benchdist_coordinator_transfer_latency_seconds holds; 0 before the first",
                   static_cast<double>(view.latency_epoch.value_or(0)));
    metrics::latency_histogram(out, "benchdist_coordinator_transfer_latency_seconds",
                               "Latency of the committed transfer calls of the live epoch (the last one between "
                               "epochs), merged from every generator's per-second reports; starts again from 0 "
                               "with each epoch",
                               view.latency);
    return out.take();
}

}  // namespace benchdist::coordinator
