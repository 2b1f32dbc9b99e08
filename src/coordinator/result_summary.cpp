#include "benchdist/coordinator/result_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <span>

#include "benchdist/stats/client_server_check.hpp"
#include "benchdist/stats/interval_series.hpp"
#include "benchdist/stats/round_to.hpp"

namespace benchdist::coordinator {

namespace {

using control::Json;

struct GeneratorInput {
    std::string id;
    std::optional<double> clock_offset_ms;
    std::optional<double> clock_rtt_ms;
    // Absent for generators older than "load": they ran a closed loop with
    // one request in flight per connection.
    std::optional<control::ReportLoad> load;
    std::optional<std::uint64_t> settings_connections;
    // The report's own intervals, not a copy: they are the bulk of it.
    std::span<const stats::Interval> intervals;
    bool usable = false;  // has intervals that merge with the others'
    // From the report's counters (over the whole epoch, not the window):
    // server messages the generator could not take. Absent without counters.
    std::optional<std::uint64_t> protocol_errors;
    std::map<std::string, std::uint64_t, std::less<>> protocol_errors_by_kind;

    bool open() const { return load && load->open; }
    std::uint64_t max_inflight() const { return load ? load->max_inflight : 1; }
    std::optional<std::uint64_t> connections() const {
        if (load && load->connections) return load->connections;
        return settings_connections;
    }
    std::string latency_kind() const { return control::latency_kind(open(), max_inflight()); }
    // In coordinator time: coordinator = generator + offset.
    double offset() const { return clock_offset_ms.value_or(0.0); }
};

// One generator's outcomes counted against the window, and the time they
// are spread over, so that count / seconds is its rate.
struct WindowCounts {
    double committed = 0;
    double attempted = 0;
    double failures = 0;
    double seconds = 0;
    stats::WindowSelection selection;  // the whole seconds (midpoint rule), for histograms and errors
};

std::string quote_id(const std::string& id) { return "\"" + id + "\""; }

std::string format_double(double v, const char* spec) {
    char buf[64];
    std::snprintf(buf, sizeof buf, spec, v);
    return buf;
}

using stats::round_to;

std::uint64_t round_count(double v) { return v <= 0 ? 0 : static_cast<std::uint64_t>(std::llround(v)); }

// The merged client intervals the window selects (the rule of
// stats::select_window: an interval whose midpoint lies inside), one entry
// per second, stamped like the server's "timeline": ms from the window's
// start. What the live view showed, kept in the result for reports.
Json client_timeline(const std::vector<stats::Interval>& merged, const SummaryWindow& window) {
    Json list = Json::array();
    for (const auto& i : merged) {
        const std::int64_t mid = i.start_ms + i.length_ms / 2;
        if (mid < window.start_ms || mid >= window.end_ms) continue;
        const auto& t = i.totals;
        const auto percentile = [&t](double p) {
            return t.latency.empty() ? Json(nullptr) : Json(t.latency.value_at_percentile(p));
        };
        list.push_back(
            {{"t", i.start_ms - window.start_ms},
             {"committed", t.committed},
             {"tps", round_to(static_cast<double>(t.committed) * 1000.0 / static_cast<double>(i.length_ms), 0.01)},
             {"errors", t.failures.total()},
             {"p50", percentile(50)},
             {"p99", percentile(99)},
             {"max", t.latency.empty() ? Json(nullptr) : Json(t.latency.max())}});
    }
    return list;
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

Json latency_json(const std::string& kind, const stats::LatencyHistogram& h, const stats::WindowSelection& sel) {
    Json j = h.summary_json(kind);
    j["coverage"] = round_to(sel.coverage(), 0.0001);
    return j;
}

double overlap(double a0, double a1, double b0, double b1) {
    return std::max(0.0, std::min(a1, b1) - std::max(a0, b0));
}

// The window's share of each second is what the server's counter saw of it.
// With the load span known, a second is weighted by the part of its loaded
// time inside the window, |I ∩ W ∩ S| / |I ∩ S|: a second in which load
// started 400 ms in holds 600 ms of transfers, all of them in a window that
// opened with the load. Seconds outside the span (answers trailing the stop)
// fall back to |I ∩ W| / |I|. Without a span, whole seconds by the midpoint
// rule, as the selection has them.
WindowCounts count_in_window(const GeneratorInput& in, const SummaryWindow& window,
                             const stats::IntervalOptions& shape) {
    WindowCounts c;
    c.selection = stats::select_window(in.intervals, window.start_ms, window.end_ms, shape);
    if (!in.load || !in.load->started_at_ms) {
        c.committed = static_cast<double>(c.selection.totals.committed);
        c.attempted = static_cast<double>(c.selection.totals.attempted);
        c.failures = static_cast<double>(c.selection.totals.failures.total());
        c.seconds = static_cast<double>(c.selection.span_ms()) / 1000.0;
        return c;
    }
    const double offset = in.offset();
    const double s0 = *in.load->started_at_ms + offset;
    const double s1 =
        in.load->stopped_at_ms ? *in.load->stopped_at_ms + offset : std::numeric_limits<double>::infinity();
    const auto w0 = static_cast<double>(window.start_ms);
    const auto w1 = static_cast<double>(window.end_ms);
    for (const auto& iv : in.intervals) {
        const double i0 = static_cast<double>(iv.start_ms) + offset;
        const double i1 = i0 + static_cast<double>(iv.length_ms);
        if (i1 <= w0 || i0 >= w1) continue;
        const double loaded = overlap(i0, i1, s0, s1);
        const double weight = loaded > 0 ? overlap(std::max(i0, w0), std::min(i1, w1), s0, s1) / loaded
                                         : overlap(i0, i1, w0, w1) / (i1 - i0);
        c.committed += weight * static_cast<double>(iv.totals.committed);
        c.attempted += weight * static_cast<double>(iv.totals.attempted);
        c.failures += weight * static_cast<double>(iv.totals.failures.total());
    }
    c.seconds = (w1 - w0) / 1000.0;
    return c;
}

double rate_of(double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; }

// An open-loop schedule judged against its target and send lag.
struct ScheduleCheck {
    Json json;
    bool rate_short = false;
    bool lag_high = false;
    bool kept() const { return !rate_short && !lag_high; }
};

ScheduleCheck check_schedule(std::optional<double> target, double achieved, const stats::LatencyHistogram& lag,
                             const SummaryOptions& options) {
    ScheduleCheck c;
    c.rate_short = options.schedule.rate_short(target, achieved);
    c.lag_high = options.schedule.lag_high(static_cast<double>(lag.value_at_percentile(99)));
    c.json = Json{{"targetPerSecond", target ? Json(*target) : Json(nullptr)},
                  {"achievedPerSecond", round_to(achieved, 0.01)},
                  {"sendLagUs",
                   {{"p50", lag.value_at_percentile(50)}, {"p99", lag.value_at_percentile(99)}, {"max", lag.max()}}},
                  {"kept", c.kept()}};
    return c;
}

std::string describe_mode(const GeneratorInput& in) {
    if (in.open()) {
        return quote_id(in.id) + " open loop" +
               (in.load->rate_per_second ? " at " + format_double(*in.load->rate_per_second, "%g") + "/s"
                                         : std::string());
    }
    return quote_id(in.id) + " closed loop with " + std::to_string(in.max_inflight()) + " in flight per connection" +
           (in.load ? "" : " (no \"load\" sent)");
}

// Takes in one generator's report; every problem becomes a warning.
GeneratorInput read_report(const std::string& id, const control::StopReport* report, const SummaryOptions& options,
                           std::vector<std::string>& warnings) {
    GeneratorInput in;
    in.id = id;
    if (report) {
        if (report->clock) {
            in.clock_offset_ms = report->clock->offset_ms;
            in.clock_rtt_ms = report->clock->rtt_ms;
        }
        if (report->settings) in.settings_connections = report->settings->connections;
        if (report->counters) {
            in.protocol_errors = report->counters->protocol_errors;
            in.protocol_errors_by_kind = report->counters->protocol_errors_by_kind;
        }
        in.load = report->load;
        if (report->load_problem)
            warnings.push_back(
                "generator " + quote_id(id) + " sent a \"load\" that could not be read (" + *report->load_problem +
                "): taken as a closed loop with one in flight, its window edges counted in whole seconds");
    }
    if (in.clock_offset_ms && std::fabs(*in.clock_offset_ms) > options.max_clock_offset_ms) {
        warnings.push_back("generator " + quote_id(id) + " clock offset " + format_double(*in.clock_offset_ms, "%.1f") +
                           " ms exceeds --max-clock-offset-ms " + format_double(options.max_clock_offset_ms, "%g") +
                           ": its intervals are shifted against the measured window by that much");
    }
    if (report && report->intervals_problem) {
        warnings.push_back("generator " + quote_id(id) + " sent intervals that could not be read (" +
                           *report->intervals_problem +
                           "): its operations are missing from latency, clientCommitted and errors");
        return in;
    }
    // No intervals at all (the original harness's generators send none) is
    // said once for all such generators, by the caller.
    if (!report || !report->intervals) return in;
    in.intervals = *report->intervals;
    in.usable = true;
    return in;
}

// What a perGenerator entry carries besides its window counts: the clock,
// and the protocol errors its counters name (a generator whose server
// answered garbage is named as such where its numbers are).
Json report_entry(const GeneratorInput& in) {
    Json entry = Json::object();
    if (in.clock_offset_ms) entry["clockOffsetMs"] = *in.clock_offset_ms;
    if (in.clock_rtt_ms) entry["clockRttMs"] = *in.clock_rtt_ms;
    if (in.protocol_errors) {
        entry["protocolErrors"] = *in.protocol_errors;
        if (!in.protocol_errors_by_kind.empty()) entry["protocolErrorsByKind"] = Json(in.protocol_errors_by_kind);
    }
    return entry;
}

std::string schedule_warning(const std::string& subject, const ScheduleCheck& c, const SummaryOptions& options) {
    const Json& j = c.json;
    std::string text = subject + " did not keep the open-loop schedule:";
    if (c.rate_short) {
        const double target = j["targetPerSecond"].get<double>();
        const double achieved = j["achievedPerSecond"].get<double>();
        text += " achieved " + format_double(achieved, "%.1f") + "/s is " +
                format_double(target > 0 ? achieved / target * 100.0 : 0.0, "%.1f") + "% of the target " +
                format_double(target, "%.1f") + "/s (below " +
                format_double(options.schedule.min_rate_ratio * 100.0, "%g") + "%)";
    }
    if (c.lag_high) {
        if (c.rate_short) text += " and";
        text += " send lag p99 " + format_double(j["sendLagUs"]["p99"].get<double>() / 1000.0, "%.1f") +
                " ms exceeds " + format_double(options.schedule.max_send_lag_p99_ms, "%g") + " ms";
    }
    return text;
}

}  // namespace

StopReports read_stop_reports(const Json& reports) {
    StopReports out;
    if (!reports.is_object()) return out;
    for (const auto& [id, report] : reports.items()) out.emplace(id, control::stop_report_from_json(report));
    return out;
}

Json summarize_generator_reports(const Json& reports, const std::vector<std::string>& participants,
                                 const std::optional<SummaryWindow>& window,
                                 std::optional<std::uint64_t> server_committed_delta, const SummaryOptions& options) {
    return summarize_generator_reports(read_stop_reports(reports), participants, window, server_committed_delta,
                                       options);
}

Json summarize_generator_reports(const StopReports& reports, const std::vector<std::string>& participants,
                                 const std::optional<SummaryWindow>& window,
                                 std::optional<std::uint64_t> server_committed_delta, const SummaryOptions& options) {
    std::vector<std::string> warnings;

    std::set<std::string> ids(participants.begin(), participants.end());
    for (const auto& [id, report] : reports) ids.insert(id);

    std::vector<GeneratorInput> inputs;
    std::vector<std::string> silent;  // sent no client counts at all
    for (const auto& id : ids) {
        const auto it = reports.find(id);
        const auto* report = it == reports.end() ? nullptr : &it->second;
        inputs.push_back(read_report(id, report, options, warnings));
        if (!report || (!report->intervals && !report->intervals_problem)) silent.push_back(quote_id(id));
    }
    if (!silent.empty()) {
        std::string names;
        for (const auto& id : silent) names += (names.empty() ? "" : ", ") + id;
        warnings.push_back(
            std::string(silent.size() == 1 ? "generator " : "generators ") + names +
            (silent.size() == 1 ? " reports" : " report") +
            " no client counts (the original harness's generators send none, and a generator that did not "
            "acknowledge its stop sent no report): clientServerRatio is not computed, and latency, "
            "clientCommitted and errors cover only the other generators");
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
            warnings.push_back("generator " + quote_id(in.id) + " sent " + std::to_string(first.length_ms) +
                               " ms intervals with " + std::to_string(first.totals.latency.significant_digits()) +
                               "-digit histograms, others sent " + std::to_string(shape->length_ms) + " ms with " +
                               std::to_string(shape->significant_digits) + ": left out of the merged numbers");
        }
    }

    Json out = Json::object();
    const bool have_window = window && window->end_ms > window->start_ms;
    Json per_generator = Json::object();
    if (!(have_window && shape)) {
        // No merged numbers, but the clock offsets are still worth listing.
        for (const auto& in : inputs) {
            Json entry = report_entry(in);
            if (!entry.empty()) per_generator[in.id] = std::move(entry);
        }
        if (!per_generator.empty()) out["perGenerator"] = std::move(per_generator);
        out["warnings"] = warnings;
        return out;
    }

    // What was measured: one label when every merged generator ran the same
    // way, "mixed" (and a warning) otherwise.
    std::set<std::string> kinds;
    bool all_open = true;
    bool all_closed = true;
    std::string modes;
    for (const auto& in : inputs) {
        if (!in.usable) continue;
        kinds.insert(in.latency_kind());
        if (in.open()) {
            all_closed = false;
        } else {
            all_open = false;
        }
        modes += (modes.empty() ? "" : ", ") + describe_mode(in);
    }
    const std::string kind = kinds.size() == 1 ? *kinds.begin() : std::string(kMixedLatencyKind);
    if (kinds.size() > 1)
        warnings.push_back("generators ran different load modes (" + modes +
                           "): their latencies measure different things and are merged anyway, so latency.kind is \"" +
                           kMixedLatencyKind + "\"; run every generator with the same --rate and --max-inflight");

    std::vector<stats::Interval> merged;
    double client_committed = 0;
    double client_tps = 0;
    double open_attempted = 0;
    std::optional<double> open_target = 0.0;
    std::vector<std::string> behind;  // generators that did not keep their schedule
    for (const auto& in : inputs) {
        Json entry = Json::object();
        if (in.usable) {
            const WindowCounts c = count_in_window(in, *window, *shape);
            const auto& sel = c.selection;
            entry["committed"] = round_count(c.committed);
            entry["attempted"] = round_count(c.attempted);
            entry["p50"] = sel.totals.latency.value_at_percentile(50);
            entry["p99"] = sel.totals.latency.value_at_percentile(99);
            entry["errors"] = round_count(c.failures);
            if (in.load && in.load->started_at_ms)
                entry["startSkewMs"] =
                    round_to(*in.load->started_at_ms + in.offset() - static_cast<double>(window->start_ms), 0.1);
            if (in.load && in.load->stopped_at_ms)
                entry["stopSkewMs"] =
                    round_to(*in.load->stopped_at_ms + in.offset() - static_cast<double>(window->end_ms), 0.1);
            if (in.open()) {
                const ScheduleCheck check = check_schedule(in.load->rate_per_second, rate_of(c.attempted, c.seconds),
                                                           sel.totals.send_lag, options);
                entry["schedule"] = check.json;
                if (!check.kept()) behind.push_back(quote_id(in.id));
                open_attempted += c.attempted;
                if (open_target && in.load->rate_per_second) {
                    *open_target += *in.load->rate_per_second;
                } else {
                    open_target.reset();  // one unknown rate makes the sum unknown
                }
            }
            client_committed += c.committed;
            client_tps += rate_of(c.committed, c.seconds);
            stats::merge_into(merged, in.intervals);
        }
        const Json extras = report_entry(in);  // named: items() would outlive a temporary
        for (const auto& [key, value] : extras.items()) entry[key] = value;
        per_generator[in.id] = std::move(entry);
    }

    const auto sel = stats::select_window(merged, window->start_ms, window->end_ms, *shape);
    out["latency"] = latency_json(kind, sel.totals.latency, sel);
    out["clientTimeline"] = client_timeline(merged, *window);
    std::optional<ScheduleCheck> schedule;
    if (all_open) {
        out["latencyUncorrected"] = latency_json(kUncorrectedLatencyKind, sel.totals.latency_uncorrected, sel);
        const double window_s = static_cast<double>(window->end_ms - window->start_ms) / 1000.0;
        schedule = check_schedule(open_target, rate_of(open_attempted, window_s), sel.totals.send_lag, options);
        out["schedule"] = schedule->json;
    }
    if ((schedule && !schedule->kept()) || !behind.empty()) {
        // One warning for the whole epoch, naming the generators that fell
        // behind, rather than one per generator.
        std::string text;
        if (schedule && !schedule->kept()) {
            text = schedule_warning("the generators", *schedule, options) + ";";
        } else if (schedule) {
            text = "the open-loop schedule was kept overall, but";
        }
        text += std::string(text.empty() ? "" : " ") + "generators behind their own schedule:";
        if (behind.empty()) text += " none alone";
        for (std::size_t i = 0; i < behind.size(); ++i) text += (i ? ", " : " ") + behind[i];
        text +=
            " (see perGenerator.<id>.schedule); the load was lower or later than asked, so the latency is not "
            "that of the target rate: add generator threads or machines, or lower --rate";
        warnings.push_back(std::move(text));
    }
    const std::uint64_t committed_total = round_count(client_committed);
    out["clientCommitted"] = committed_total;
    out["errors"] = errors_json(sel.totals.failures);
    out["perGenerator"] = std::move(per_generator);
    // The ratio compares the server's whole count with the clients': it
    // means something only when every participant's count is in the sum.
    const bool every_count_merged =
        std::all_of(inputs.begin(), inputs.end(), [](const GeneratorInput& in) { return in.usable; });
    if (!every_count_merged && silent.empty()) {
        std::string names;
        for (const auto& in : inputs)
            if (!in.usable) names += (names.empty() ? "" : ", ") + quote_id(in.id);
        warnings.push_back("clientServerRatio is not computed: the client counts of " + names +
                           " are not in clientCommitted (see the warnings above)");
    }
    if (server_committed_delta && *server_committed_delta == 0 && every_count_merged) {
        // No ratio to speak of, but clients that saw commits the server did
        // not count still disagree with it.
        out["clientServerCheck"] = {
            {"clientCommitted", committed_total},   {"serverCommitted", 0}, {"ratio", nullptr},
            {"tolerance", options.ratio_tolerance}, {"allowance", 0},       {"edgeAllowance", 0},
            {"agrees", committed_total == 0}};
    }
    if (server_committed_delta && *server_committed_delta > 0 && every_count_merged) {
        const double server = static_cast<double>(*server_committed_delta);
        const double window_seconds = window ? static_cast<double>(window->end_ms - window->start_ms) / 1000.0 : 0.0;
        const auto check =
            stats::check_client_server(client_committed, server, window_seconds > 0 ? server / window_seconds : 0.0,
                                       options.counter_round_trips_ms, options.ratio_tolerance);
        const double ratio = check.ratio;
        out["clientServerRatio"] = round_to(ratio, 1e-6);
        // The evidence for the verdict (coordinator/epoch_verdict), which
        // words a disagreement by which side is higher.
        out["clientServerCheck"] = {{"clientCommitted", committed_total},
                                    {"serverCommitted", *server_committed_delta},
                                    {"ratio", round_to(ratio, 1e-6)},
                                    {"tolerance", options.ratio_tolerance},
                                    {"allowance", round_to(check.allowance, 0.1)},
                                    {"edgeAllowance", round_to(check.edge_allowance, 0.1)},
                                    {"agrees", check.agrees}};
    }

    // Little's law in closed loop: each in-flight slot is either waiting for
    // the server or waiting for its generator to send the next request. busy
    // = throughput x mean latency is the average number waiting for the
    // server; well below the slots means the generators were the bottleneck.
    if (all_closed && sel.totals.latency.count() > 0) {
        std::uint64_t capacity = 0;
        bool known = true;
        for (const auto& in : inputs) {
            if (!in.usable) continue;
            const auto connections = in.connections();
            if (!connections) {
                known = false;
                break;
            }
            capacity += *connections * in.max_inflight();
        }
        if (known && capacity > 0) {
            const double mean_s = sel.totals.latency.mean() / 1e6;
            const double busy = client_tps * mean_s;
            const double utilization = busy / static_cast<double>(capacity);
            out["littlesLaw"] = Json{{"inflightCapacity", capacity},
                                     {"busy", round_to(busy, 0.01)},
                                     {"utilization", round_to(utilization, 0.0001)}};
            if (utilization < options.min_inflight_utilization) {
                warnings.push_back(
                    "Little's law: only " + format_double(busy, "%.1f") + " of " + std::to_string(capacity) +
                    " in-flight slots were waiting for the server on average (client " +
                    format_double(client_tps, "%.1f") + " transfers/s x mean latency " +
                    format_double(mean_s * 1000.0, "%.3f") + " ms, utilization " +
                    format_double(utilization * 100.0, "%.1f") + "%, below " +
                    format_double(options.min_inflight_utilization * 100.0, "%g") +
                    "%): the generators, not the server, were the bottleneck -- the time between a reply and the next "
                    "request was spent in the generator; give them more --threads, fewer connections per generator, or "
                    "more machines");
            }
        }
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
