#include "benchdist/coordinator/live_series.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

namespace benchdist::coordinator {

namespace {

using control::Json;

using control::optional_json;

double rounded(double v) { return std::round(v * 100.0) / 100.0; }

// p50/p99 of a histogram, none when it holds nothing.
std::optional<std::uint64_t> percentile(const stats::LatencyHistogram& h, double p) {
    if (h.empty()) return std::nullopt;
    return h.value_at_percentile(p);
}

std::uint64_t failures_of(const stats::OutcomeTotals& t) { return t.failures.total(); }

}  // namespace

std::string_view live_stage_name(LiveStage stage) {
    switch (stage) {
        case LiveStage::Barrier:
            return "barrier";
        case LiveStage::Warmup:
            return "warmup";
        case LiveStage::Window:
            return "window";
        case LiveStage::Stopping:
            return "stopping";
        case LiveStage::Verifying:
            return "verifying";
        case LiveStage::Done:
            return "done";
    }
    return "done";
}

LiveSeries::LiveSeries(LiveLimits limits) : limits_(limits) {}

void LiveSeries::begin_epoch(LiveEpochInfo info) {
    info_ = std::move(info);
    stage_ = LiveStage::Barrier;
    warmup_start_ms_.reset();
    window_start_ms_.reset();
    window_end_ms_.reset();
    finished_ms_.reset();
    seconds_.clear();
    server_.clear();
    generators_.clear();
    for (const auto& id : info_->participants) generators_[id];
    latency_ = stats::LatencyHistogram();
    committed_ = errors_ = 0;
    result_ = nullptr;
    epoch_version_ = bump();
}

void LiveSeries::set_stage(LiveStage stage, std::int64_t at_ms) {
    if (!info_) return;
    stage_ = stage;
    if (stage == LiveStage::Warmup && !warmup_start_ms_) warmup_start_ms_ = at_ms;
    bump();
}

void LiveSeries::window_opened(std::int64_t at_ms) {
    if (!info_) return;
    window_start_ms_ = at_ms;
    stage_ = LiveStage::Window;
    bump();
}

void LiveSeries::window_closed(std::int64_t at_ms) {
    if (!info_ || !window_start_ms_) return;
    window_end_ms_ = at_ms;
    bump();
}

void LiveSeries::finished(const control::EpochResult& result, std::int64_t at_ms) {
    if (!info_ || info_->epoch != result.epoch) return;
    stage_ = LiveStage::Done;
    finished_ms_ = at_ms;
    Json r{{"tps", result.tps}};
    const auto verdict = result.extra.find("verdict");
    r["verdict"] = verdict != result.extra.end() ? *verdict : Json(nullptr);
    const auto reasons = result.extra.find("reasons");
    r["reasons"] = reasons != result.extra.end() ? *reasons : Json::array();
    if (result.error) r["error"] = *result.error;
    result_ = std::move(r);
    // Every second is final now: nothing more arrives for this epoch.
    finalize(std::numeric_limits<std::int64_t>::max());
    bump();
}

std::optional<std::uint64_t> LiveSeries::epoch() const {
    if (!info_) return std::nullopt;
    return info_->epoch;
}

std::size_t LiveSeries::add_progress(const control::ProgressReport& report, std::int64_t now_ms) {
    if (!info_ || stage_ == LiveStage::Done)
        throw ProgressRefused("no epoch is running: progress for epoch " + std::to_string(report.epoch) +
                              " is not taken");
    if (report.epoch != info_->epoch)
        throw ProgressRefused("progress for epoch " + std::to_string(report.epoch) + ", but epoch " +
                              std::to_string(info_->epoch) + " is running");
    const auto gen = generators_.find(report.id);
    if (gen == generators_.end())
        throw ProgressRefused("generator \"" + report.id + "\" is not a participant of epoch " +
                              std::to_string(info_->epoch));
    // Check every histogram before changing anything, so a refused report
    // leaves no part of itself behind.
    for (const auto& interval : report.intervals) {
        if (interval.totals.latency.significant_digits() != latency_.significant_digits())
            throw control::ProtocolError(
                "\"intervals\": latency histograms of " + std::to_string(interval.totals.latency.significant_digits()) +
                " significant digits; the live view takes " + std::to_string(latency_.significant_digits()));
    }
    const std::uint64_t v = bump();
    auto& totals = gen->second;
    totals.connections = report.connections;
    totals.last_progress_ms = now_ms;
    for (const auto& interval : report.intervals) {
        const auto& t = interval.totals;
        Second& s = seconds_[interval.start_ms];
        s.length_ms = interval.length_ms;
        s.attempted += t.attempted;
        s.committed += t.committed;
        s.module_errors += t.failures.module_errors.total();
        s.internal_errors += t.failures.internal_errors;
        s.timeouts += t.failures.timeouts;
        s.disconnects += t.failures.disconnects;
        auto& g = s.generators[report.id];
        g.committed += t.committed;
        g.errors += failures_of(t);
        // A part of an already finalized second keeps its counts; its
        // latencies would need the histograms that were dropped.
        if (!s.finalized) {
            s.latency.merge(t.latency);
            g.latency.merge(t.latency);
        }
        s.version = v;
        totals.committed += t.committed;
        totals.errors += failures_of(t);
        totals.newest_start_ms = std::max(totals.newest_start_ms.value_or(interval.start_ms), interval.start_ms);
        committed_ += t.committed;
        errors_ += failures_of(t);
        latency_.merge(t.latency);
    }
    while (seconds_.size() > limits_.max_seconds) seconds_.erase(seconds_.begin());
    finalize(now_ms);
    return report.intervals.size();
}

void LiveSeries::add_server_read(std::int64_t at_ms, std::uint64_t committed, bool in_window) {
    if (!info_) return;
    ServerRead read{at_ms, committed, std::nullopt, in_window, bump()};
    if (!server_.empty()) {
        const auto& prev = server_.back();
        if (at_ms > prev.at_ms && committed >= prev.committed)
            read.tps = rounded(static_cast<double>(committed - prev.committed) * 1000.0 /
                               static_cast<double>(at_ms - prev.at_ms));
    }
    server_.push_back(read);
    if (server_.size() > limits_.max_seconds) server_.erase(server_.begin());
}

void LiveSeries::finalize(std::int64_t now_ms) {
    for (auto& [t, s] : seconds_) {
        if (s.finalized) continue;
        // Saturating: `now_ms` may be the largest value (finished()).
        if (now_ms - limits_.finalize_after_ms < t + s.length_ms) break;  // sorted by t: the rest are newer
        s.p50 = percentile(s.latency, 50);
        s.p99 = percentile(s.latency, 99);
        if (!s.latency.empty()) s.max = s.latency.max();
        s.latency = stats::LatencyHistogram();
        for (auto& [id, g] : s.generators) {
            g.p50 = percentile(g.latency, 50);
            g.p99 = percentile(g.latency, 99);
            g.latency = stats::LatencyHistogram();
        }
        s.finalized = true;
    }
}

std::optional<LiveSeries::ServerRead> LiveSeries::last_server_read() const {
    if (server_.empty()) return std::nullopt;
    return server_.back();
}

Json LiveSeries::second_json(std::int64_t t, const Second& s) const {
    const std::uint64_t errors = s.module_errors + s.internal_errors + s.timeouts + s.disconnects;
    Json j{{"t", t},
           {"attempted", s.attempted},
           {"committed", s.committed},
           {"tps", rounded(static_cast<double>(s.committed) * 1000.0 / static_cast<double>(s.length_ms))},
           {"errors",
            {{"moduleErrors", s.module_errors},
             {"internalErrors", s.internal_errors},
             {"timeouts", s.timeouts},
             {"disconnects", s.disconnects},
             {"total", errors}}}};
    if (s.finalized) {
        j["p50"] = optional_json(s.p50);
        j["p99"] = optional_json(s.p99);
        j["max"] = optional_json(s.max);
    } else {
        j["p50"] = optional_json(percentile(s.latency, 50));
        j["p99"] = optional_json(percentile(s.latency, 99));
        j["max"] = s.latency.empty() ? Json(nullptr) : Json(s.latency.max());
    }
    Json gens = Json::object();
    for (const auto& [id, g] : s.generators) {
        gens[id] = {{"committed", g.committed},
                    {"errors", g.errors},
                    {"p50", optional_json(s.finalized ? g.p50 : percentile(g.latency, 50))},
                    {"p99", optional_json(s.finalized ? g.p99 : percentile(g.latency, 99))}};
    }
    j["generators"] = std::move(gens);
    return j;
}

Json LiveSeries::to_json(std::uint64_t since, const LiveContext& context) const {
    // A version from before this epoch (or from another coordinator process,
    // ahead of ours) gets everything.
    const bool full = since < epoch_version_ || since > version_;
    Json j{{"version", version_}, {"full", full}};
    j["phase"] = context.phase;
    j["running"] = context.running;
    if (!info_) {
        j["epoch"] = nullptr;
        j["stage"] = nullptr;
        j["seconds"] = Json::array();
        j["server"] = Json::array();
        j["generators"] = Json::object();
        j["totals"] = nullptr;
        j["result"] = nullptr;
        return j;
    }
    j["epoch"] = info_->epoch;
    j["label"] = info_->label ? Json(*info_->label) : Json(nullptr);
    j["stage"] = live_stage_name(stage_);
    j["startedAtMs"] = info_->started_ms;
    j["warmupStartMs"] = optional_json(warmup_start_ms_);
    j["warmupSeconds"] = info_->warmup_seconds;
    j["warmupAuto"] = info_->warmup_auto;
    j["windowSeconds"] = info_->window_seconds;
    j["windowStartMs"] = optional_json(window_start_ms_);
    j["windowEndMs"] = optional_json(window_end_ms_);
    j["finishedAtMs"] = optional_json(finished_ms_);

    Json seconds = Json::array();
    std::optional<double> client_tps;
    for (const auto& [t, s] : seconds_) {
        if (full || s.version > since) seconds.push_back(second_json(t, s));
    }
    // The last complete second: the newest one every reporting generator
    // has reported past. Each posts the second in progress and the rest of
    // it later, so a newer second may still lack some generator's part; a
    // generator's newest second is never complete (in progress, or cut
    // short by the load's stop).
    std::optional<std::int64_t> complete_before;
    for (const auto& [id, g] : generators_)
        if (g.newest_start_ms)
            complete_before = std::min(complete_before.value_or(*g.newest_start_ms), *g.newest_start_ms);
    if (complete_before) {
        const auto it = seconds_.lower_bound(*complete_before);
        if (it != seconds_.begin()) {
            const Second& complete = std::prev(it)->second;
            client_tps =
                rounded(static_cast<double>(complete.committed) * 1000.0 / static_cast<double>(complete.length_ms));
        }
    }
    j["seconds"] = std::move(seconds);

    Json server = Json::array();
    for (const auto& r : server_) {
        if (full || r.version > since)
            server.push_back({{"atMs", r.at_ms},
                              {"committed", r.committed},
                              {"tps", optional_json(r.tps)},
                              {"inWindow", r.in_window}});
    }
    j["server"] = std::move(server);

    Json gens = Json::object();
    for (const auto& [id, g] : generators_) {
        gens[id] = {{"connections", g.connections},
                    {"lastProgressMs", g.last_progress_ms > 0 ? Json(g.last_progress_ms) : Json(nullptr)},
                    {"committed", g.committed},
                    {"errors", g.errors}};
    }
    j["generators"] = std::move(gens);

    const auto last = last_server_read();
    j["totals"] = {{"committed", committed_},
                   {"errors", errors_},
                   {"p50", optional_json(percentile(latency_, 50))},
                   {"p99", optional_json(percentile(latency_, 99))},
                   {"max", latency_.empty() ? Json(nullptr) : Json(latency_.max())},
                   {"clientTps", optional_json(client_tps)},
                   {"serverTps", last ? optional_json(last->tps) : Json(nullptr)}};
    j["result"] = result_;
    return j;
}

}  // namespace benchdist::coordinator
