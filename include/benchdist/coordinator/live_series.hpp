// The live view of one epoch (GET /admin/live): what the generators'
// progress reports (POST /progress) and the coordinator's own counter reads
// say while the epoch runs, per second. Pure: no lock, no clock, no I/O --
// the coordinator calls it under its mutex with the times it read.
//
// It is for watching, not for judging: the result is still built from the
// stop reports and the window's edge reads. So it may drop what would cost
// memory without bound: a second's latency histograms are reduced to
// p50/p99/max once the second is `finalize_after_ms` old (a part of that
// second arriving later still adds its counts, not its latencies), at most
// `max_seconds` seconds and server reads are kept (the oldest go), and the
// series of an epoch lasts until the next epoch begins.
//
// Seconds are stamped by the generators' clocks (their intervals), server
// reads by the coordinator's; on one chart they agree to the clock offsets
// the result reports (tens of ms at most, or the epoch is invalid).
//
// Versions: every change bumps version(); each second and server read
// remembers the version that last changed it, so a client that passes the
// version it saw gets only what changed since (to_json's `since`), or
// everything when it saw none of this epoch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "benchdist/control/protocol.hpp"
#include "benchdist/stats/interval.hpp"
#include "benchdist/stats/latency_histogram.hpp"

namespace benchdist::coordinator {

// A progress report the live view does not take: 409 for the wrong epoch or
// a generator that is not one of its participants.
class ProgressRefused : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Where the epoch's runner is, as the live view shows it.
enum class LiveStage { Barrier, Warmup, Window, Stopping, Verifying, Done };
std::string_view live_stage_name(LiveStage stage);  // "barrier", "warmup", "window", "stopping", "verifying", "done"

struct LiveLimits {
    std::size_t max_seconds = 3600;
    std::int64_t finalize_after_ms = 5000;
};

// What start-epoch fixed for the epoch.
struct LiveEpochInfo {
    std::uint64_t epoch = 0;
    std::optional<std::string> label;
    std::vector<std::string> participants;
    std::int64_t started_ms = 0;
    double warmup_seconds = 0;
    bool warmup_auto = false;
    double window_seconds = 0;
};

// The coordinator's state to show beside the series.
struct LiveContext {
    std::string phase;  // control::phase_name
    bool running = false;
};

class LiveSeries {
public:
    explicit LiveSeries(LiveLimits limits = {});

    // A new epoch: the previous one's series is dropped.
    void begin_epoch(LiveEpochInfo info);
    void set_stage(LiveStage stage, std::int64_t at_ms);
    void window_opened(std::int64_t at_ms);
    void window_closed(std::int64_t at_ms);
    // The result's verdict, TPS and reasons, once the epoch is over.
    void finished(const control::EpochResult& result, std::int64_t at_ms);

    // Merges a generator's report; returns the intervals taken. Throws
    // ProgressRefused when no epoch is running, it is another epoch, or
    // `report.id` is not a participant.
    std::size_t add_progress(const control::ProgressReport& report, std::int64_t now_ms);
    // A successful read of the server's committed counter, at the
    // coordinator's `at_ms`; in_window: a window edge or a timeline sample.
    void add_server_read(std::int64_t at_ms, std::uint64_t committed, bool in_window);
    // Reduces seconds older than finalize_after_ms (by `now_ms`) to their
    // percentiles. Called by add_progress and before rendering.
    void finalize(std::int64_t now_ms);

    std::uint64_t version() const noexcept { return version_; }
    std::optional<std::uint64_t> epoch() const;
    bool running() const noexcept { return info_.has_value() && stage_ != LiveStage::Done; }

    // The GET /admin/live body (docs/observability.md): changes after
    // `since` only, unless `since` predates this epoch ("full": true).
    control::Json to_json(std::uint64_t since, const LiveContext& context) const;

    // For /metrics: the merged client latency of the epoch so far, and the
    // last server read with the rate since the one before it.
    const stats::LatencyHistogram& latency() const noexcept { return latency_; }
    struct ServerRead {
        std::int64_t at_ms = 0;
        std::uint64_t committed = 0;
        std::optional<double> tps;  // since the previous read; none for the first or a counter that went back
        bool in_window = false;
        std::uint64_t version = 0;
    };
    std::optional<ServerRead> last_server_read() const;
    bool in_window() const noexcept { return window_start_ms_.has_value() && !window_end_ms_.has_value(); }

private:
    struct GeneratorSecond {
        std::uint64_t committed = 0;
        std::uint64_t errors = 0;
        stats::LatencyHistogram latency;
        std::optional<std::uint64_t> p50, p99;  // once finalized
    };
    struct Second {
        std::int64_t length_ms = 1000;
        std::uint64_t attempted = 0;
        std::uint64_t committed = 0;
        std::uint64_t module_errors = 0, internal_errors = 0, timeouts = 0, disconnects = 0;
        stats::LatencyHistogram latency;
        bool finalized = false;
        std::optional<std::uint64_t> p50, p99, max;  // once finalized
        std::map<std::string, GeneratorSecond> generators;
        std::uint64_t version = 0;
    };
    struct GeneratorTotals {
        std::uint64_t connections = 0;
        std::int64_t last_progress_ms = 0;
        std::uint64_t committed = 0;
        std::uint64_t errors = 0;
        // The start of the newest interval it reported: every second before
        // it is complete as far as this generator is concerned.
        std::optional<std::int64_t> newest_start_ms;
    };

    std::uint64_t bump() { return ++version_; }
    control::Json second_json(std::int64_t t, const Second& s) const;

    LiveLimits limits_;
    std::uint64_t version_ = 0;
    std::uint64_t epoch_version_ = 0;  // the version begin_epoch() set
    std::optional<LiveEpochInfo> info_;
    LiveStage stage_ = LiveStage::Barrier;
    std::optional<std::int64_t> warmup_start_ms_, window_start_ms_, window_end_ms_, finished_ms_;
    std::map<std::int64_t, Second> seconds_;
    std::vector<ServerRead> server_;
    std::map<std::string, GeneratorTotals> generators_;
    stats::LatencyHistogram latency_;
    std::uint64_t committed_ = 0, errors_ = 0;
    control::Json result_ = nullptr;
};

}  // namespace benchdist::coordinator
