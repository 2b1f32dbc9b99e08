// Inputs the report's unit tests share: real result and campaign files from
// a demo run (tests/data/report/), and variations of them -- an invalid
// epoch with hostile text, a result with a clientTimeline, a saturation
// campaign with an invalid point and a knee.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "benchdist/campaign/campaign_file.hpp"
#include "benchdist/control/verdict.hpp"
#include "benchdist/report/model.hpp"

namespace report_fixtures {

using Json = benchdist::report::Json;

inline std::string data_path(const std::string& name) {
    return std::string(BENCHDIST_TEST_DATA_DIR) + "/report/" + name;
}

inline Json fixture(const std::string& name) {
    std::ifstream in(data_path(name));
    std::stringstream text;
    text << in.rdbuf();
    return Json::parse(text.str());
}

// The demo's single epoch (64 connections, alpha 1.5, no clientTimeline).
inline Json demo_result() { return fixture("result-demo.json"); }
// Epoch 2 of the demo's sweep (8 connections, alpha 0).
inline Json sweep_result() { return fixture("sweep/test-1-spacetimedb-epoch-002-2026-12-07T05-43-53-002Z.json"); }
inline Json sweep_campaign() { return fixture("sweep/campaign-20261207T054348Z-2c484b.json"); }

// Text that breaks every output that does not escape it: HTML and script
// ends, CSV separators and a formula, markdown table syntax, a line break.
inline const std::string kHostile =
    "=cmd|'/c calc'!A1, \"q\" </script><script>alert(1)</script><img src=x onerror=alert(2)> | **x** `y`\nz";

// An invalid epoch (participant_lost) with hostile text in its label and
// its reason's message.
inline Json invalid_hostile_result() {
    auto j = demo_result();
    j["epoch"] = 7;
    j["label"] = kHostile;
    j["verdict"] = "invalid";
    j["reasons"] = Json::array({benchdist::control::to_json(
        benchdist::control::make_reason("participant_lost", "gen-a went silent " + kHostile))});
    return j;
}

// The sweep's epoch 2 with the lead's clientTimeline: three seconds.
inline Json client_timeline_result() {
    auto j = sweep_result();
    j["clientTimeline"] = Json::array({
        Json{
            {"t", 0}, {"committed", 40100}, {"tps", 40100.0}, {"errors", 0}, {"p50", 190}, {"p99", 420}, {"max", 4000}},
        Json{{"t", 1000},
             {"committed", 40900},
             {"tps", 40900.0},
             {"errors", 2},
             {"p50", 195},
             {"p99", 430},
             {"max", 4610}},
        Json{{"t", 2000},
             {"committed", 0},
             {"tps", 0.0},
             {"errors", 0},
             {"p50", nullptr},
             {"p99", nullptr},
             {"max", nullptr}},
    });
    return j;
}

inline benchdist::campaign::EpochRecord measured_epoch(std::uint64_t n, double tps, double p99_us, bool slo_ok = true) {
    benchdist::campaign::EpochRecord e;
    e.epoch = n;
    e.label = "s1 r" + std::to_string(n);
    e.verdict = slo_ok ? "valid" : "invalid";
    e.measured = true;
    e.slo_ok = slo_ok;
    e.tps = tps;
    e.latency = Json{{"p50Us", p99_us / 4}, {"p99Us", p99_us}};
    if (!slo_ok) e.reasons.push_back(benchdist::control::make_reason("threshold_failed", "p99<=2ms did not hold"));
    e.result_finished_at = "2026-12-07T06:00:0" + std::to_string(n) + ".000Z";
    e.generator_limited = benchdist::campaign::GeneratorLimit::No;
    return e;
}

// A saturation search over connections: 8, 16, 32 (invalid after its
// retries), 64 (SLO broken); knee at 16.
inline Json saturate_campaign() {
    namespace bcp = benchdist::campaign;
    bcp::Campaign c;
    c.id = "s1";
    c.kind = bcp::Kind::Saturate;
    c.status = bcp::Status::Complete;
    c.created_at = c.updated_at = "2026-12-07T06:00:00.000Z";
    c.coordinator = "http://127.0.0.1:1";
    c.base = Json{{"windowSeconds", 3.0}, {"thresholds", {"p99<=2ms"}}};
    c.retries = 1;
    c.saturate = Json{{"knob", "connections"}, {"start", 8}, {"max", 64}, {"precision", 0.1}, {"slos", {"p99<=2ms"}}};
    const auto point = [&](std::size_t index, int load, std::vector<bcp::EpochRecord> epochs) {
        bcp::PointRecord p;
        p.index = index;
        p.values = Json{{"connections", load}};
        p.description = "connections=" + std::to_string(load);
        p.request = bcp::apply_values(c.base, p.values);
        p.epochs = std::move(epochs);
        p.status = bcp::point_progress(p, c.repeat, c.retries).status;
        c.points.push_back(p);
    };
    point(0, 8, {measured_epoch(1, 20000, 800)});
    point(1, 16, {measured_epoch(2, 30000, 1500)});
    bcp::EpochRecord lost;
    lost.epoch = 3;
    lost.verdict = "invalid";
    lost.reasons.push_back(benchdist::control::make_reason("participant_lost", "gen-b " + kHostile));
    lost.result_finished_at = "2026-12-07T06:00:03.000Z";
    auto lost_again = lost;
    lost_again.epoch = 4;
    point(2, 32, {lost, lost_again});
    point(3, 64, {measured_epoch(5, 31000, 5000, false)});
    c.result =
        Json{{"knee", Json{{"load", 16}, {"tps", 30000.0}, {"latency", Json{{"p50Us", 375.0}, {"p99Us", 1500.0}}}}},
             {"curve", Json::array()},
             {"stopReason", "slo_broken"},
             {"limit", "server"},
             {"stopMessage", "connections=64 broke p99<=2ms"}};
    return bcp::to_json(c);
}

}  // namespace report_fixtures
