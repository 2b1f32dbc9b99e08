#include "benchdist/coordinator/epoch_result.hpp"

#include <cmath>

#include "benchdist/control/report_counters.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/control/version.hpp"
#include "benchdist/coordinator/epoch_verdict.hpp"
#include "benchdist/coordinator/generator_limit.hpp"
#include "benchdist/coordinator/load_applied.hpp"
#include "benchdist/coordinator/result_summary.hpp"
#include "benchdist/stats/round_to.hpp"
#include "coordinator/steady_state_result.hpp"

namespace benchdist::coordinator {

namespace {

std::string append_error(const std::optional<std::string>& existing, const std::string& more) {
    return existing ? *existing + "; " + more : more;
}

// Summary warnings first (they are about the numbers), then ours.
void append_warnings(control::Json& extra, const std::vector<std::string>& warnings) {
    if (warnings.empty()) return;
    auto& list = extra["warnings"];
    if (!list.is_array()) list = control::Json::array();
    for (const auto& w : warnings) list.push_back(w);
}

// Connections the server dropped are a fault of the run, not of the numbers'
// arithmetic: name them per generator so nobody reads a dip as the server's
// steady rate. When the generator counted protocol errors -- messages it
// could not take, each of which closed its connection -- those are the cause
// and the warning says so, rather than guessing at a restart.
std::vector<std::string> connection_fault_warnings(const StopReports& reports) {
    std::vector<std::string> out;
    for (const auto& [id, report] : reports) {
        const auto counters = report.counters.value_or(control::ReportCounters{});
        const auto disconnects = counters.disconnects;
        const auto reopened = counters.reopened;
        const auto failures = counters.reopen_failures;
        const auto protocol = counters.protocol_errors;
        if (disconnects == 0 && reopened == 0 && failures == 0 && protocol == 0) continue;
        const std::string counts = std::to_string(disconnects) + " calls lost as disconnects, " +
                                   std::to_string(reopened) + " connections reopened, " + std::to_string(failures) +
                                   " reopen attempts failed";
        if (protocol == 0) {
            out.push_back("generator " + id + ": connections dropped during the epoch (" + counts +
                          "): did the server restart or shed load?");
            continue;
        }
        std::string kinds;
        for (const auto& [kind, n] : counters.protocol_errors_by_kind)
            kinds += (kinds.empty() ? "" : ", ") + kind + " " + std::to_string(n);
        out.push_back("generator " + id + ": the server sent " + std::to_string(protocol) +
                      " messages it could not take (protocol errors" + (kinds.empty() ? "" : ": " + kinds) +
                      "), and each closed its connection (" + counts +
                      "): its answers are not the v2/v3 BSATN protocol the generator speaks (another server or "
                      "version, or something between altering them) -- the generator's `protocol error` log lines "
                      "show each kind and the first bytes of the frames");
    }
    return out;
}

control::Json string_or_null(const std::string& s) { return s.empty() ? control::Json(nullptr) : control::Json(s); }

std::string restart_explanation() {
    return ": the server restarted (or the database was republished) during the window; this epoch has no valid "
           "throughput";
}

// A counter that dropped anywhere in the window -- at a timeline sample even
// if the end read climbed past the start again -- means the server restarted
// (or the database was republished) inside it: the delta of the edge reads
// would be meaningless.
std::optional<std::string> counter_reset_in_samples(const EpochObservations& o) {
    const stdbhttp::CounterRead* prev = &o.before->read;
    for (const auto& sample : o.samples) {
        const auto& read = sample.read;
        if (read.committed < prev->committed) {
            return "committed transfer counter went backwards from " + std::to_string(prev->committed) + " to " +
                   std::to_string(read.committed) + " " + std::to_string(sample.at_ms - o.before->at_ms) +
                   " ms into the window" + (read.series_absent ? " (its series vanished)" : "") + restart_explanation();
        }
        prev = &read;
    }
    return std::nullopt;
}

// Each point: ms since measuredAt, committed since the window's first read,
// and the rate since the previous point (the window's end read is the last
// point, so the last step is not lost).
control::Json timeline_of(const EpochObservations& o) {
    const auto& before = *o.before;
    control::Json timeline = control::Json::array();
    std::int64_t prev_t = 0;
    std::int64_t prev_committed = 0;
    const auto add_point = [&](const ObservedRead& sample) {
        const std::int64_t t = sample.at_ms - before.at_ms;
        const std::int64_t committed =
            static_cast<std::int64_t>(sample.read.committed) - static_cast<std::int64_t>(before.read.committed);
        const double tps =
            t > prev_t ? static_cast<double>(committed - prev_committed) * 1000.0 / static_cast<double>(t - prev_t)
                       : 0.0;
        timeline.push_back({{"t", t}, {"committed", committed}, {"tps", std::round(tps * 100.0) / 100.0}});
        prev_t = t;
        prev_committed = committed;
    };
    for (const auto& sample : o.samples) {
        // A read that answered after the window closed belongs to no step.
        if (sample.at_ms > before.at_ms && sample.at_ms < o.after->at_ms) add_point(sample);
    }
    add_point(*o.after);
    return timeline;
}

control::Json manifest_of(const EpochObservations& o) {
    control::Json coordinator{{"hostname", o.options.hostname}};
    const auto options = coordinator_options_json(o.options);
    for (const auto& [k, v] : options.items()) coordinator[k] = v;
    control::Json manifest;
    manifest["toolVersion"] = std::string(control::tool_version());
    manifest["coordinator"] = std::move(coordinator);
    manifest["server"] = {{"url", string_or_null(o.options.server_url)},
                          {"database", string_or_null(o.options.database)},
                          {"databaseIdentity",
                           o.database_identity ? control::Json(*o.database_identity) : control::Json(nullptr)}};
    manifest["startedAt"] = control::iso8601_millis(o.started_ms);
    manifest["generators"] = generator_entries(o.manifests);
    // With a load, each participant's share: what it was told to run (the
    // verdict's load_not_applied holds it to it), and `workload` is the one
    // the epoch ran (compare_workloads with the shares).
    for (const auto& [id, share] : o.assignments)
        if (manifest["generators"].contains(id)) manifest["generators"][id]["epochLoad"] = control::to_json(share);
    manifest["workload"] = o.workload.common;
    return manifest;
}

// With a load, the connections the participants ran: each one's report,
// else its share, else what it opened (a missing report is already a
// load_not_applied reason). Without one, what they opened, as the original.
std::uint64_t participant_connections(const EpochObservations& o) {
    if (o.assignments.empty()) return o.participant_connections;
    std::uint64_t sum = 0;
    for (const auto& id : o.participant_ids) {
        std::optional<std::uint64_t> ran;
        if (o.stop_reports.contains(id)) ran = ran_load(o.stop_reports[id]).connections;
        if (!ran) {
            const auto share = o.assignments.find(id);
            if (share != o.assignments.end()) ran = share->second.connections;
        }
        if (!ran) {
            const auto opened = o.connections.find(id);
            ran = opened == o.connections.end() ? 0 : opened->second.second;
        }
        sum += *ran;
    }
    return sum;
}

// "epochLoad": {"request", "assignments", <the timing keys the request set>}.
control::Json epoch_load_of(const EpochObservations& o) {
    control::Json j = control::Json::object();
    j["request"] = o.load ? control::to_json(*o.load) : control::Json::object();
    control::Json assignments = control::Json::object();
    for (const auto& [id, share] : o.assignments) assignments[id] = control::to_json(share);
    j["assignments"] = std::move(assignments);
    control::add_timing_keys(j, o.timing);
    return j;
}

}  // namespace

ObservedRead observe(const stdbhttp::CounterRead& read, std::int64_t clock_now_ms) {
    return ObservedRead{read, read.received_at_ms != 0 ? read.received_at_ms : clock_now_ms};
}

control::EpochResult build_epoch_result(const EpochObservations& o) {
    control::EpochResult r;
    r.epoch = o.epoch;
    r.test = o.options.test;
    r.connector = o.options.connector;
    r.window_seconds = o.options.window_seconds;
    r.label = o.label;
    r.participant_ids = o.participant_ids;
    r.participant_connections = participant_connections(o);
    r.verification = o.verification;
    r.verification_error = o.verification_error;
    // The first revision's results always carry it; the final's never did.
    // With --warmup auto, the warmup that actually ran.
    if (o.options.warmup_auto && o.warmup) {
        r.extra["warmupSeconds"] = stats::round_to(o.warmup->seconds, 0.001);
    } else if (o.options.warmup_seconds > 0 || o.options.revision == OriginalRevision::First) {
        r.extra["warmupSeconds"] = o.options.warmup_seconds;
    }
    if (auto warmup = warmup_json(o)) r.extra["warmup"] = std::move(*warmup);

    // Participants lost during the epoch come first in the error: they are
    // why the rest may look odd (missing reports, a lower rate).
    r.error = o.runner_error;
    if (!o.lost_errors.empty() || !o.restarts.empty()) {
        std::string lost;
        for (const auto* list : {&o.lost_errors, &o.restarts})
            for (const auto& e : *list) lost += (lost.empty() ? "" : "; ") + e;
        r.error = r.error ? lost + "; " + *r.error : lost;
    }

    // Numbers: only from two successful reads, and never a silent zero for
    // a counter that went backwards.
    const auto& before = o.before;
    const auto& after = o.after;
    std::optional<std::uint64_t> server_delta;
    if (before) {
        r.measured_at = control::iso8601_millis(before->at_ms);
        r.actual_window_seconds =
            o.finished_ms >= before->at_ms ? static_cast<double>(o.finished_ms - before->at_ms) / 1000.0 : 0;
    } else {
        r.measured_at = control::iso8601_millis(o.finished_ms);
        r.actual_window_seconds = 0;
    }
    r.finished_at = control::iso8601_millis(o.finished_ms);
    if (before) r.committed_before = std::to_string(before->read.committed);
    if (after) r.committed_after = std::to_string(after->read.committed);
    if (before && after) {
        if (const auto reset = counter_reset_in_samples(o)) {
            r.error = append_error(r.error, *reset);
            r.extra["counterWentBackwards"] = true;
        } else if (after->read.committed >= before->read.committed) {
            const std::uint64_t delta = after->read.committed - before->read.committed;
            server_delta = delta;
            r.committed_delta = std::to_string(delta);
            r.tps = r.actual_window_seconds > 0 ? static_cast<double>(delta) / r.actual_window_seconds : 0;
        } else {
            r.error = append_error(r.error, "committed transfer counter went backwards from " +
                                                std::to_string(before->read.committed) + " to " +
                                                std::to_string(after->read.committed) + " during the window" +
                                                (after->read.series_absent ? " (its series vanished)" : "") +
                                                restart_explanation());
            r.extra["counterWentBackwards"] = true;
        }
        // How long each read took bounds how uncertain the window edges are.
        r.extra["counterReadMs"] = control::Json::array({before->read.round_trip_ms(), after->read.round_trip_ms()});
        if (before->read.series_absent) r.extra["counterSeriesAbsentAtStart"] = true;
    }
    if (o.aborted) r.extra["aborted"] = true;
    if (o.load || !o.timing.empty()) r.extra["epochLoad"] = epoch_load_of(o);
    // The per-interval arrays are merged into the summary and left out of
    // the file: hours of per-second histograms per generator would dwarf
    // everything else in it.
    if (!o.stop_reports.empty()) r.extra["generatorReports"] = strip_intervals(o.stop_reports);
    const StopReports reports = read_stop_reports(o.stop_reports);
    {
        std::optional<SummaryWindow> window;
        if (before && o.finished_ms > before->at_ms) window = SummaryWindow{before->at_ms, o.finished_ms};
        SummaryOptions summary_options;
        summary_options.max_clock_offset_ms = o.options.max_clock_offset_ms;
        if (before && after)
            summary_options.counter_round_trips_ms =
                static_cast<double>(before->read.round_trip_ms() + after->read.round_trip_ms());
        const auto summary =
            summarize_generator_reports(reports, r.participant_ids, window, server_delta, summary_options);
        for (const auto& [key, value] : summary.items()) r.extra[key] = value;
        // Information for campaigns and a warning line, not a verdict reason.
        const auto limit = find_generator_limit(summary, reports, {summary_options.min_inflight_utilization});
        r.extra["generatorLimited"] = to_json(limit);
        if (limit.limited) append_warnings(r.extra, {limit.message});
    }
    append_warnings(r.extra, connection_fault_warnings(reports));
    if (o.options.sample_ms > 0 && before && after) r.extra["timeline"] = timeline_of(o);
    // How steady the rate was, from the same reads; a counter that went
    // backwards has no rates to judge (counter_backwards says why).
    if (server_delta) {
        const auto stability = stability_of_window(o);
        r.extra["windowStability"] = window_stability_json(stability);
        if (const auto warning = decay_warning(stability)) append_warnings(r.extra, {*warning});
    }
    append_warnings(r.extra, manifest_warnings(o.workload, o.manifests, control::tool_version()));
    auto reasons = find_epoch_reasons(r, o);
    auto thresholds = check_thresholds(r, o);
    if (!thresholds.outcomes.empty()) r.extra["thresholds"] = std::move(thresholds.outcomes);
    reasons.insert(reasons.end(), thresholds.reasons.begin(), thresholds.reasons.end());
    auto tolerate = o.options.tolerate;
    tolerate.insert(o.epoch_tolerate.begin(), o.epoch_tolerate.end());
    control::write_verdict(r.extra, control::judge(std::move(reasons), tolerate));
    r.extra["manifest"] = manifest_of(o);
    return r;
}

}  // namespace benchdist::coordinator
