// The generator report schema: what generators write is what they always
// wrote, byte for byte, and the coordinator's tolerant reading of old or
// broken reports.
#include "benchdist/control/generator_report.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace benchdist::control {
namespace {

TEST(GeneratorReport, StopReportWritesTheKeysInTheirWireOrder) {
    StopReport r;
    r.counters = ReportCounters{10, 8, 2, 1, 0, 1, 0, 0, 0};
    ReportSettings s;
    s.connections = 4;
    s.compression = "none";
    s.accounts = 100000;
    s.alpha = 1.5;
    s.pair_mode = "zipf";
    s.op_timeout_ms = 15000;
    r.settings = s;
    ReportLoad l;
    l.max_inflight = 1;
    l.connections = 4;
    l.started_at_ms = 1000;
    l.stopped_at_ms = 2000;
    r.load = l;
    r.intervals = std::vector<stats::Interval>{};
    r.clock = ReportClock{1.5, 0.25, 8};
    EXPECT_EQ(to_json(r, false).dump(),
              R"({"counters":{"attempted":10,"committed":8,"errors":2,"moduleErrors":1,"internalErrors":0,)"
              R"("timeouts":1,"disconnects":0,"reopened":0,"reopenFailures":0,"protocolErrors":0,)"
              R"("protocolErrorsByKind":{}},)"
              R"x("settings":{"connections":4,"compression":"none","confirmedReads":"server default (true on v2/v3)",)x"
              R"("protocol":"v3 or v2, server's choice","accounts":100000,"alpha":1.5,"pairMode":"zipf",)"
              R"("opTimeoutMs":15000,"maxInflight":1,"rate":null},)"
              R"("load":{"mode":"closed","maxInflight":1,"connections":4,"ratePerSecond":null,)"
              R"("startedAtMs":1000,"stoppedAtMs":2000},)"
              R"("clock":{"offsetMs":1.5,"rttMs":0.25,"samples":8}})");
    EXPECT_EQ(to_json(r)["intervals"], Json::array());
}

TEST(GeneratorReport, AReportWrittenReadsBack) {
    StopReport r;
    r.counters = ReportCounters{5, 5, 0, 0, 0, 0, 0, 0, 0};
    ReportLoad l;
    l.open = true;
    l.rate_per_second = 250;
    l.started_at_ms = 1000;
    r.load = l;
    stats::Interval second;
    second.start_ms = 1000;
    second.totals.attempted = 5;
    second.totals.failures.timeouts = 5;
    r.intervals = std::vector<stats::Interval>{second};
    const auto back = stop_report_from_json(to_json(r));
    EXPECT_EQ(back.counters, r.counters);
    ASSERT_TRUE(back.load);
    EXPECT_TRUE(back.load->open);
    EXPECT_EQ(back.load->rate_per_second, 250.0);
    EXPECT_EQ(back.load->started_at_ms, 1000.0);
    EXPECT_FALSE(back.load->stopped_at_ms);
    EXPECT_EQ(back.intervals, r.intervals) << back.intervals_problem.value_or("");
    EXPECT_FALSE(back.clock);
    EXPECT_FALSE(back.settings);
}

TEST(GeneratorReport, ProtocolErrorsFollowTheOldCountersAndReadBack) {
    ReportCounters c{80, 0, 80, 0, 0, 0, 80, 80, 0};
    c.protocol_errors = 80;
    c.protocol_errors_by_kind = {{"decode", 50}, {"unknownMessageTag", 30}};
    const Json j = to_json(c);
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"attempted", "committed", "errors", "moduleErrors", "internalErrors",
                                              "timeouts", "disconnects", "reopened", "reopenFailures", "protocolErrors",
                                              "protocolErrorsByKind"}));
    EXPECT_EQ(j["protocolErrorsByKind"].dump(), R"({"decode":50,"unknownMessageTag":30})");
    EXPECT_EQ(report_counters_from_json(j), c);
    // A kind this build does not know still reads (a newer generator's);
    // entries that are not counts are left out, and an older generator's
    // counters without the keys read as none.
    const auto odd = report_counters_from_json(Json::parse(
        R"({"protocolErrors":3,"protocolErrorsByKind":{"someNewKind":2,"decode":-1,"framing":"1","textFrame":1}})"));
    EXPECT_EQ(odd.protocol_errors, 3u);
    EXPECT_EQ(odd.protocol_errors_by_kind,
              (std::map<std::string, std::uint64_t, std::less<>>{{"someNewKind", 2}, {"textFrame", 1}}));
    const auto old = report_counters_from_json(Json::parse(R"({"attempted":4,"disconnects":4})"));
    EXPECT_EQ(old.protocol_errors, 0u);
    EXPECT_TRUE(old.protocol_errors_by_kind.empty());
}

TEST(GeneratorReport, AnOriginalHarnessReportHasNothingButReadsFine) {
    const auto r = stop_report_from_json(Json::object());
    EXPECT_FALSE(r.counters || r.settings || r.load || r.load_problem || r.clock || r.intervals || r.intervals_problem);
    const auto not_object = stop_report_from_json(Json(5));
    EXPECT_FALSE(not_object.counters || not_object.intervals || not_object.intervals_problem);
}

TEST(GeneratorReport, BadFieldsReadAsAbsentOrAsAProblem) {
    const auto r = stop_report_from_json(Json::parse(R"({
        "counters": {"committed": -3, "attempted": "7"},
        "settings": {"connections": 2.5},
        "load": {"mode": "sometimes"},
        "clock": {"offsetMs": "near", "rttMs": 0.5},
        "intervals": "oops"})"));
    ASSERT_TRUE(r.counters);
    EXPECT_EQ(*r.counters, ReportCounters{});
    ASSERT_TRUE(r.settings);
    EXPECT_FALSE(r.settings->connections);
    EXPECT_FALSE(r.load);
    EXPECT_EQ(r.load_problem, "\"mode\" must be \"closed\" or \"open\"");
    ASSERT_TRUE(r.clock);
    EXPECT_FALSE(r.clock->offset_ms);
    EXPECT_EQ(r.clock->rtt_ms, 0.5);
    EXPECT_FALSE(r.intervals);
    ASSERT_TRUE(r.intervals_problem);

    std::string problem;
    EXPECT_FALSE(report_load_from_json(Json::parse(R"({"mode":"closed","maxInflight":0})"), problem));
    EXPECT_EQ(problem, "\"maxInflight\" must be a positive integer");
    EXPECT_FALSE(report_load_from_json(Json::parse(R"({"mode":"open","startedAtMs":5,"stoppedAtMs":4})"), problem));
    EXPECT_EQ(problem, "\"stoppedAtMs\" is before \"startedAtMs\"");
    EXPECT_FALSE(report_load_from_json(Json(nullptr), problem));
    EXPECT_EQ(problem, "it is not an object");
    // An empty list is the same as none.
    EXPECT_FALSE(stop_report_from_json(Json::parse(R"({"intervals":[]})")).intervals);
    EXPECT_FALSE(stop_report_from_json(Json::parse(R"({"intervals":[]})")).intervals_problem);
}

TEST(GeneratorReport, ManifestTravelsInTheRegisterRequestAndIsCheckedAtTheDoor) {
    RegisterManifest m;
    m.tool_version = "0.1.0";
    m.hostname = "h";
    m.pid = 7;
    m.started_at = "2026-04-10T12:00:00.000Z";
    m.workload = Json{{"alpha", 1.5}};
    m.options = Json{{"concurrency", 4}};
    RegisterRequest req{"g", "h", 4};
    set_manifest(req, m);
    EXPECT_EQ(
        to_json(req).dump(),
        R"({"id":"g","hostname":"h","desiredConnections":4,"manifest":{"toolVersion":"0.1.0","hostname":"h",)"
        R"("pid":7,"startedAt":"2026-04-10T12:00:00.000Z","workload":{"alpha":1.5},"options":{"concurrency":4}}})");
    const auto parsed = register_request_from_json(to_json(req));
    const auto back = manifest_of(parsed);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->pid, 7);
    EXPECT_EQ(back->workload, m.workload);
    EXPECT_FALSE(manifest_of(RegisterRequest{"g", "h", 1}));
    try {
        register_request_from_json(Json::parse(R"({"id":"g","hostname":"h","desiredConnections":1,
            "manifest":{"workload":[1]}})"));
        FAIL() << "a non-object workload is refused";
    } catch (const ProtocolError& e) {
        EXPECT_STREQ(e.what(), "\"manifest.workload\" must be an object");
    }

    ReadyRequest ready{"g", 4};
    EXPECT_FALSE(negotiated_protocol_of(ready));
    set_negotiated_protocol(ready, "v2.bsatn.spacetimedb");
    EXPECT_EQ(negotiated_protocol_of(ready), "v2.bsatn.spacetimedb");
}

TEST(GeneratorReport, WorkloadKeysAreThoseGeneratorsAlwaysSent) {
    WorkloadReport w;
    w.pair_mode = "zipf";
    w.rate_mode = "closed";
    w.compression = "none";
    w.protocol = "auto";
    w.accounts = 100000;
    EXPECT_EQ(to_json(w).dump(),
              R"({"alpha":1.5,"accounts":100000,"pairMode":"zipf","amount":1,"maxInflight":1,"rateMode":"closed",)"
              R"("compression":"none","confirmedReads":null,"protocol":"auto"})");
}

TEST(GeneratorReport, ResourcesFollowTheClockAndReadBack) {
    StopReport r;
    r.clock = ReportClock{1.5, 0.25, 8};
    r.resources = ReportResources{1800000, 1000000, 2};
    const Json j = to_json(r);
    std::vector<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"clock", "resources"}));
    EXPECT_EQ(j["resources"].dump(), R"({"cpuUs":1800000,"wallUs":1000000,"threads":2})");
    EXPECT_EQ(stop_report_from_json(j).resources, r.resources);
}

TEST(GeneratorReport, ResourcesMissingAPartOrNotCountsAreIgnored) {
    for (const char* text :
         {R"({"resources":{"cpuUs":5,"wallUs":10}})", R"({"resources":{"cpuUs":-1,"wallUs":10,"threads":1}})",
          R"({"resources":{"cpuUs":"5","wallUs":10,"threads":1}})", R"({"resources":[1,2,3]})",
          R"({"resources":null})"}) {
        const auto r = stop_report_from_json(Json::parse(text));
        EXPECT_FALSE(r.resources) << text;
    }
    EXPECT_FALSE(stop_report_from_json(Json::object()).resources);
}

}  // namespace
}  // namespace benchdist::control

TEST(GeneratorReport, AManifestSaysWhetherItAppliesEpochLoad) {
    benchdist::control::RegisterManifest m;
    EXPECT_FALSE(benchdist::control::to_json(m).contains("appliesEpochLoad"));
    m.applies_epoch_load = true;
    const auto j = benchdist::control::to_json(m);
    EXPECT_EQ(j["appliesEpochLoad"], true);
    EXPECT_TRUE(benchdist::control::register_manifest_from_json(j).applies_epoch_load);
    EXPECT_THROW(benchdist::control::register_manifest_from_json(
                     benchdist::control::Json::parse(R"({"appliesEpochLoad":"yes"})")),
                 benchdist::control::ProtocolError);
}
