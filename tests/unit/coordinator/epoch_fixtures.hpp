// Hand-made epoch observations for the result and verdict tests: counter
// reads at given times, a ten-second window, per-second reports.
#pragma once

#include <optional>

#include "benchdist/coordinator/epoch_result.hpp"
#include "benchdist/stats/interval_recorder.hpp"

namespace benchdist::coordinator::testing {

using control::Json;

constexpr std::int64_t kT0 = 1775822400000;  // 2026-04-10T12:00:00.000Z

inline ObservedRead read_at(std::uint64_t committed, std::int64_t at_ms, std::int64_t round_trip_ms = 4,
                            bool absent = false) {
    stdbhttp::CounterRead r;
    r.committed = committed;
    r.series_absent = absent;
    r.sent_at_ms = at_ms - round_trip_ms;
    r.received_at_ms = at_ms;
    return observe(r, 0);
}

// Two participants, a 10 s window from kT0 with 1000 commits in it.
inline EpochObservations ten_second_window() {
    EpochObservations o;
    o.epoch = 3;
    o.label = "run-1";
    o.participant_ids = {"a", "b"};
    o.participant_connections = 64;
    o.options.window_seconds = 10;
    o.options.sample_ms = 1000;
    o.options.hostname = "control-host";
    o.started_ms = kT0 - 2000;
    o.before = read_at(5000, kT0);
    o.after = read_at(6000, kT0 + 10000);
    o.finished_ms = kT0 + 10000;
    return o;
}

// A report whose intervals hold `per_second` commits in each of the window's
// ten seconds, from a generator whose clock is `offset_ms` off.
inline Json report_with(int per_second, std::optional<double> offset_ms = std::nullopt) {
    stats::IntervalRecorder rec;
    for (int s = 0; s < 10; ++s)
        for (int i = 0; i < per_second; ++i) rec.record_success(kT0 + s * 1000 + 10, 900);
    Json report = {{"counters", {{"committed", per_second * 10}}}, {"intervals", rec.to_json()}};
    if (offset_ms) report["clock"] = {{"offsetMs", *offset_ms}, {"rttMs", 1.0}, {"samples", 5}};
    return report;
}

}  // namespace benchdist::coordinator::testing
