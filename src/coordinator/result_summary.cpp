#include "benchdist/coordinator/result_summary.hpp"

#include <cmath>
#include <cstdio>
#include <exception>
#include <set>

#include "benchdist/stats/interval_series.hpp"

namespace benchdist::coordinator {

namespace {

using control::Json;

struct GeneratorInput {
    std::string id;
    std::optional<double> clock_offset_ms;
    std::optional<double> clock_rtt_ms;
    std::vector<stats::Interval> intervals;
    bool usable = false;  // has intervals that merge with the others'
};

std::string quote_id(const std::string& id) { return "\"" + id + "\""; }

std::string format_double(double v, const char* spec) {
    char buf[64];
    std::snprintf(buf, sizeof buf, spec, v);
    return buf;
}

double round_to(double v, double step) { return std::round(v / step) * step; }

std::optional<double> number_at(const Json& object, const char* key) {
    if (!object.is_object()) return std::nullopt;
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
}

Json errors_json(const stats::FailureCounts& f) {
    Json module = Json::object();
    for (const auto& [message, n] : f.module_errors.entries()) module[message] = n;
    return Json{{"moduleErrors", module},
                {"internalErrors", f.internal_errors},
                {"timeouts", f.timeouts},
                {"disconnects", f.disconnects},
                {"total", f.total()}};
}

Json latency_json(const stats::WindowSelection& sel) {
    const auto& h = sel.totals.latency;
    return Json{{"kind", kLatencyKind},
                {"unit", "us"},
                {"count", h.count()},
                {"mean", round_to(h.mean(), 0.1)},
                {"p50", h.value_at_percentile(50)},
                {"p90", h.value_at_percentile(90)},
                {"p99", h.value_at_percentile(99)},
                {"p999", h.value_at_percentile(99.9)},
                {"max", h.max()},
                {"coverage", round_to(sel.coverage(), 0.0001)}};
}

// Reads one generator's report; every problem becomes a warning.
GeneratorInput read_report(const std::string& id, const Json* report, const SummaryOptions& options,
                           std::vector<std::string>& warnings) {
    GeneratorInput in;
    in.id = id;
    if (report && report->is_object()) {
        if (const auto clock = report->find("clock"); clock != report->end()) {
            in.clock_offset_ms = number_at(*clock, "offsetMs");
            in.clock_rtt_ms = number_at(*clock, "rttMs");
        }
    }
    if (in.clock_offset_ms && std::fabs(*in.clock_offset_ms) > options.max_clock_offset_ms) {
        warnings.push_back("generator " + quote_id(id) + " clock offset " + format_double(*in.clock_offset_ms, "%.1f") +
                           " ms exceeds --max-clock-offset-ms " + format_double(options.max_clock_offset_ms, "%g") +
                           ": its intervals are shifted against the measured window by that much");
    }
    const Json* intervals = nullptr;
    if (report && report->is_object()) {
        if (const auto it = report->find("intervals"); it != report->end()) intervals = &*it;
    }
    if (!intervals || (intervals->is_array() && intervals->empty())) {
        warnings.push_back("generator " + quote_id(id) +
                           " sent no intervals: its operations are missing from latency, clientCommitted and errors");
        return in;
    }
    try {
        in.intervals = stats::intervals_from_json(*intervals);
        in.usable = true;
    } catch (const std::exception& e) {
        warnings.push_back("generator " + quote_id(id) + " sent intervals that could not be read (" + e.what() +
                           "): its operations are missing from latency, clientCommitted and errors");
    }
    return in;
}

}  // namespace

Json summarize_generator_reports(const Json& reports, const std::vector<std::string>& participants,
                                 const std::optional<SummaryWindow>& window,
                                 std::optional<std::uint64_t> server_committed_delta, const SummaryOptions& options) {
    std::vector<std::string> warnings;

    std::set<std::string> ids(participants.begin(), participants.end());
    if (reports.is_object())
        for (const auto& [id, report] : reports.items()) ids.insert(id);

    std::vector<GeneratorInput> inputs;
    for (const auto& id : ids) {
        const Json* report = nullptr;
        if (reports.is_object()) {
            if (const auto it = reports.find(id); it != reports.end()) report = &*it;
        }
        inputs.push_back(read_report(id, report, options, warnings));
    }

    // The first generator with intervals fixes their length and histogram
    // precision; others must match, since histograms only merge exactly when
    // their buckets agree.
    std::optional<stats::IntervalOptions> shape;
    for (auto& in : inputs) {
        if (!in.usable) continue;
        const auto& first = in.intervals.front();
        if (!shape) {
            shape = stats::IntervalOptions{first.length_ms, first.totals.latency.significant_digits()};
            continue;
        }
        if (first.length_ms != shape->length_ms ||
            first.totals.latency.significant_digits() != shape->significant_digits) {
            in.usable = false;
            warnings.push_back("generator " + quote_id(in.id) + " sent " + std::to_string(first.length_ms) + " ms intervals with " +
                               std::to_string(first.totals.latency.significant_digits()) +
                               "-digit histograms, others sent " + std::to_string(shape->length_ms) + " ms with " +
                               std::to_string(shape->significant_digits) + ": left out of the merged numbers");
        }
    }

    Json out = Json::object();
    const bool have_window = window && window->end_ms > window->start_ms;
    Json per_generator = Json::object();
    if (have_window && shape) {
        std::vector<stats::Interval> merged;
        for (const auto& in : inputs) {
            Json entry = Json::object();
            if (in.usable) {
                const auto sel = stats::select_window(in.intervals, window->start_ms, window->end_ms, *shape);
                entry["committed"] = sel.totals.committed;
                entry["attempted"] = sel.totals.attempted;
                entry["p50"] = sel.totals.latency.value_at_percentile(50);
                entry["p99"] = sel.totals.latency.value_at_percentile(99);
                entry["errors"] = sel.totals.failures.total();
                stats::merge_into(merged, in.intervals);
            }
            if (in.clock_offset_ms) entry["clockOffsetMs"] = *in.clock_offset_ms;
            if (in.clock_rtt_ms) entry["clockRttMs"] = *in.clock_rtt_ms;
            per_generator[in.id] = std::move(entry);
        }
        const auto sel = stats::select_window(merged, window->start_ms, window->end_ms, *shape);
        out["latency"] = latency_json(sel);
        out["clientCommitted"] = sel.totals.committed;
        out["errors"] = errors_json(sel.totals.failures);
        out["perGenerator"] = std::move(per_generator);
        if (server_committed_delta && *server_committed_delta > 0) {
            const double ratio =
                static_cast<double>(sel.totals.committed) / static_cast<double>(*server_committed_delta);
            out["clientServerRatio"] = round_to(ratio, 1e-6);
            if (std::fabs(ratio - 1.0) > options.ratio_tolerance) {
                warnings.push_back("client-observed commits in the window (" + std::to_string(sel.totals.committed) +
                                   ") differ from the server's committed delta (" +
                                   std::to_string(*server_committed_delta) + ") by " +
                                   format_double((ratio - 1.0) * 100.0, "%+.1f") + "% (clientServerRatio " +
                                   format_double(ratio, "%.4f") + ", tolerance " +
                                   format_double(options.ratio_tolerance * 100.0, "%g") +
                                   "%): another client wrote, a generator's report is missing, or clocks disagree");
            }
        }
    } else {
        // No merged numbers, but the clock offsets are still worth listing.
        for (const auto& in : inputs) {
            if (!in.clock_offset_ms && !in.clock_rtt_ms) continue;
            Json entry = Json::object();
            if (in.clock_offset_ms) entry["clockOffsetMs"] = *in.clock_offset_ms;
            if (in.clock_rtt_ms) entry["clockRttMs"] = *in.clock_rtt_ms;
            per_generator[in.id] = std::move(entry);
        }
        if (!per_generator.empty()) out["perGenerator"] = std::move(per_generator);
    }
    out["warnings"] = warnings;
    return out;
}

Json strip_intervals(const Json& reports) {
    if (!reports.is_object()) return reports;
    Json out = Json::object();
    for (const auto& [id, report] : reports.items()) {
        if (!report.is_object()) {
            out[id] = report;
            continue;
        }
        Json kept = Json::object();
        for (const auto& [key, value] : report.items())
            if (key != "intervals") kept[key] = value;
        out[id] = std::move(kept);
    }
    return out;
}

}  // namespace benchdist::coordinator
