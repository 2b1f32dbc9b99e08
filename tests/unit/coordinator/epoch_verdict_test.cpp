// The verdict on an epoch: one test per reason code, from hand-made
// observations through build_epoch_result, asserting the code, the message
// a user acts on and the numbers behind it.
#include "benchdist/coordinator/epoch_verdict.hpp"

#include <gtest/gtest.h>

#include "epoch_fixtures.hpp"

using namespace benchdist;
using namespace benchdist::coordinator;
using namespace benchdist::coordinator::testing;

namespace {

// Both participants saw the server's 1000 commits, 50 each per second, with
// every connection they asked for.
EpochObservations clean() {
    auto o = ten_second_window();
    o.stop_reports["a"] = report_with(50);
    o.stop_reports["b"] = report_with(50);
    o.connections = {{"a", {32, 32}}, {"b", {32, 32}}};
    return o;
}

// The reasons of an invalid result, as (code, message) JSON objects.
Json reasons_of(const control::EpochResult& r) { return r.extra.value("reasons", Json::array()); }

const Json* reason(const control::EpochResult& r, std::string_view code) {
    for (const auto& x : r.extra["reasons"])
        if (x["code"] == code) return &x;
    return nullptr;
}

std::string message(const control::EpochResult& r, std::string_view code) {
    const auto* x = reason(r, code);
    return x ? (*x)["message"].get<std::string>() : std::string("(no ") + std::string(code) + ")";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(EpochVerdict, ACleanEpochIsValid) {
    const auto r = build_epoch_result(clean());
    EXPECT_EQ(r.extra["verdict"], "valid");
    EXPECT_EQ(reasons_of(r), Json::array());
    EXPECT_FALSE(r.extra.contains("toleratedReasons"));
}

TEST(EpochVerdict, AnotherClientsLoadMakesItInvalidNamingWhichSideIsHigher) {
    auto o = clean();
    o.after = read_at(6600, kT0 + 10000);  // the server counted 1600, the clients 1000
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["verdict"], "invalid");
    const auto m = message(r, "client_server_mismatch");
    EXPECT_TRUE(contains(m, "the generators saw 1000 commits in the window, the server counted 1600")) << m;
    EXPECT_TRUE(contains(m, "another client wrote to this database")) << m;
    EXPECT_EQ((*reason(r, "client_server_mismatch"))["ratio"], 0.625);

    o.after = read_at(5700, kT0 + 10000);  // the clients saw more than the server
    const auto more = message(build_epoch_result(o), "client_server_mismatch");
    EXPECT_TRUE(contains(more, "the generators saw more commits than the server counted")) << more;
}

TEST(EpochVerdict, AParticipantThatCommittedNothingOrFailedTooOftenIsNamed) {
    auto o = clean();
    stats::IntervalRecorder failing;
    for (int s = 0; s < 10; ++s)
        for (int i = 0; i < 8; ++i) failing.record_failure(kT0 + s * 1000 + 10, stats::FailureKind::InternalError);
    o.stop_reports["b"] = Json{{"counters", {{"committed", 0}}}, {"intervals", failing.to_json()}};
    o.after = read_at(5500, kT0 + 10000);
    const auto r = build_epoch_result(o);
    const auto m = message(r, "committed_nothing");
    EXPECT_TRUE(contains(m, "generator b committed nothing over the window (80 calls attempted, 80 failed)")) << m;

    // 2 failures in 502 calls: 0.4%, within the default 1%; 8 in 508 is not.
    auto some = clean();
    stats::IntervalRecorder mostly;
    for (int s = 0; s < 10; ++s) {
        for (int i = 0; i < 50; ++i) mostly.record_success(kT0 + s * 1000 + 10, 900);
        if (s < 8) mostly.record_failure(kT0 + s * 1000 + 10, stats::FailureKind::Timeout);
    }
    some.stop_reports["b"] = Json{{"intervals", mostly.to_json()}};
    const auto r2 = build_epoch_result(some);
    const auto* x = reason(r2, "error_ratio");
    ASSERT_NE(x, nullptr) << reasons_of(r2);
    EXPECT_TRUE(contains((*x)["message"], "generator b failed 8 of 508 calls over the window")) << *x;
    EXPECT_EQ((*x)["limit"], 0.01);
    some.options.max_error_ratio = 0.02;
    EXPECT_EQ(build_epoch_result(some).extra["verdict"], "valid");
}

TEST(EpochVerdict, TheOriginalsGeneratorsReportNoCountsAndAreNotJudgedOnThem) {
    auto o = clean();
    o.stop_reports.erase("b");
    o.stop_reports["b"] = Json::object();
    o.after = read_at(5500, kT0 + 10000);  // only a's 500
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["verdict"], "valid") << reasons_of(r);
    EXPECT_FALSE(r.extra.contains("clientServerRatio"));
}

TEST(EpochVerdict, AnAbortedEpochIsInvalid) {
    auto o = clean();
    o.aborted = true;
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(contains(message(r, "aborted"), "stopped early")) << reasons_of(r);
    EXPECT_EQ(reason(r, "window_length"), nullptr) << "the abort says it already";
}

TEST(EpochVerdict, NothingMeasuredOrAFailedEpochIsInvalid) {
    auto o = clean();
    o.before.reset();
    o.after.reset();
    o.failure = "Failed to read spacetime committed transfer counter at measurement start";
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(contains(message(r, "not_measured"), "Failed to read")) << reasons_of(r);

    auto late = clean();
    late.failure = "verification could not run";
    EXPECT_NE(reason(build_epoch_result(late), "epoch_failed"), nullptr);
}

TEST(EpochVerdict, MissingAcknowledgementsLossesAndRestartsAreEachAReason) {
    auto o = clean();
    o.missing_start_acks = {"b"};
    o.missing_stop_acks = {"a"};
    o.lost_errors = {"generator b lost: silent for 10.2 s during measure"};
    o.restarts = {"generator a restarted during measure (a new process registered under its id)"};
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(contains(message(r, "start_ack_missing"), "b")) << reasons_of(r);
    EXPECT_TRUE(contains(message(r, "stop_ack_missing"), "a")) << reasons_of(r);
    EXPECT_EQ(message(r, "participant_lost"), "generator b lost: silent for 10.2 s during measure");
    EXPECT_TRUE(contains(message(r, "participant_restarted"), "restarted during measure"));
    EXPECT_TRUE(r.error && contains(*r.error, "restarted during measure")) << "also in the original's error";
}

TEST(EpochVerdict, TheCoordinatorsOwnStallIsNamedAsItsOwn) {
    auto o = clean();
    o.stalls_ms = {8200};
    o.after = read_at(6000, kT0 + 18200);
    o.finished_ms = kT0 + 18200;
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(contains(message(r, "coordinator_stalled"), "the coordinator itself did not run for 8.2 s"))
        << reasons_of(r);
    EXPECT_EQ((*reason(r, "coordinator_stalled"))["stalledMs"], 8200);
    EXPECT_TRUE(contains(message(r, "window_length"), "lasted 18.200 s instead of 10 s (allowed 1 s)"));
}

TEST(EpochVerdict, TheWindowMayDifferByOneSecondOrFivePercent) {
    EXPECT_EQ(control::window_length_allowance_seconds(10), 1.0);
    EXPECT_EQ(control::window_length_allowance_seconds(60), 3.0);
    auto o = clean();
    o.after = read_at(6000, kT0 + 10900);
    o.finished_ms = kT0 + 10900;
    EXPECT_EQ(reason(build_epoch_result(o), "window_length"), nullptr);
}

TEST(EpochVerdict, FewerConnectionsThanAskedForIsInvalid) {
    auto o = clean();
    o.connections["b"] = {32, 20};
    const auto r = build_epoch_result(o);
    EXPECT_TRUE(contains(message(r, "connections_short"), "b 20/32")) << reasons_of(r);
    EXPECT_EQ((*reason(r, "connections_short"))["opened"], 52);
}

TEST(EpochVerdict, ACounterThatWentBackwardsAndAFailedVerificationAreInvalid) {
    auto o = clean();
    o.after = read_at(10, kT0 + 10000);
    o.verification = "failed";
    o.verification_error = "spacetimedb verification failed: total_balance mismatch";
    const auto r = build_epoch_result(o);
    EXPECT_NE(reason(r, "counter_backwards"), nullptr) << reasons_of(r);
    EXPECT_TRUE(contains(message(r, "verification_failed"), "total_balance mismatch"));
}

TEST(EpochVerdict, ThresholdsAreRecordedWithTheirValuesAndAFailedOneIsAReason) {
    auto o = clean();
    o.options.thresholds = {stats::parse_threshold("tps>=50"), stats::parse_threshold("p99<=0.5ms")};
    o.epoch_thresholds = {"clientServerRatio>=0.99"};
    const auto r = build_epoch_result(o);
    ASSERT_EQ(r.extra["thresholds"].size(), 3u) << r.extra["thresholds"];
    EXPECT_EQ(r.extra["thresholds"][0]["passed"], true);
    EXPECT_EQ(r.extra["thresholds"][0]["observed"], 100.0);
    EXPECT_EQ(r.extra["thresholds"][1]["passed"], false);  // every call took 0.9 ms
    EXPECT_EQ(r.extra["thresholds"][2]["passed"], true);
    const auto* x = reason(r, "threshold_failed");
    ASSERT_NE(x, nullptr) << reasons_of(r);
    EXPECT_EQ((*x)["threshold"], "p99<=0.5ms");

    // A threshold on a number the epoch does not have fails too.
    auto unmeasured = clean();
    unmeasured.after.reset();
    unmeasured.options.thresholds = {stats::parse_threshold("tps>=1")};
    const auto u = build_epoch_result(unmeasured);
    EXPECT_EQ(u.extra["thresholds"][0]["passed"], false);
    EXPECT_EQ(u.extra["thresholds"][0]["observed"], nullptr);
}

TEST(EpochVerdict, ATolaratedCodeBecomesAWarningAndIsRecorded) {
    auto o = clean();
    o.connections["b"] = {32, 20};
    o.options.tolerate = {"connections_short"};
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["verdict"], "valid");
    ASSERT_EQ(r.extra["toleratedReasons"].size(), 1u);
    EXPECT_EQ(r.extra["toleratedReasons"][0]["code"], "connections_short");
    bool warned = false;
    for (const auto& w : r.extra["warnings"])
        warned = warned || contains(w.get<std::string>(), "tolerated (--tolerate connections_short)");
    EXPECT_TRUE(warned) << r.extra["warnings"];
    // start-epoch's own --tolerate works the same way.
    o.options.tolerate.clear();
    o.epoch_tolerate = {"connections_short"};
    EXPECT_EQ(build_epoch_result(o).extra["verdict"], "valid");
}

TEST(EpochVerdict, EveryCodeIsKnownAndDocumentedOnce) {
    const auto& codes = control::known_reason_codes();
    EXPECT_EQ(std::set<std::string_view>(codes.begin(), codes.end()).size(), codes.size());
    EXPECT_TRUE(control::is_known_reason_code("client_server_mismatch"));
    EXPECT_FALSE(control::is_known_reason_code("client-server-mismatch"));
}

// ---- load_not_applied: the participants ran the shares of the epoch's load

namespace {

// clean() with a load: a runs 10 connections (of 32 opened) and b 22, each
// at 8 in flight, open loop at 100 and 220 calls/s, alpha 0.5 over 1000
// accounts -- and each reports exactly that.
EpochObservations with_load() {
    auto o = clean();
    control::EpochLoadRequest request;
    request.connections = 32;
    request.inflight = 8;
    request.rate = 320;
    request.alpha = 0.5;
    request.accounts = 1000;
    o.load = request;
    for (const auto& [id, n] : {std::pair{"a", 10}, std::pair{"b", 22}}) {
        control::LoadAssignment share;
        share.connections = n;
        share.inflight = 8;
        share.rate = n * 10.0;
        share.alpha = 0.5;
        share.accounts = 1000;
        o.assignments[id] = share;
        o.stop_reports[id]["settings"] = {
            {"connections", n}, {"accounts", 1000}, {"alpha", 0.5}, {"maxInflight", 8}, {"rate", n * 10.0}};
        o.stop_reports[id]["load"] = {{"mode", "open"},
                                      {"maxInflight", 8},
                                      {"connections", n},
                                      {"ratePerSecond", n * 10.0}};
    }
    return o;
}

}  // namespace

TEST(EpochVerdict, ParticipantsThatRanTheirSharesAreValid) {
    const auto r = build_epoch_result(with_load());
    EXPECT_EQ(r.extra["verdict"], "valid") << r.extra["reasons"];
    EXPECT_EQ(r.participant_connections, 32u) << "what they ran, not the 64 they opened";
}

TEST(EpochVerdict, AShareNotRunIsInvalidNamingTheGeneratorTheFieldAndBothValues) {
    auto o = with_load();
    o.stop_reports["b"]["settings"]["alpha"] = 1.5;
    o.stop_reports["b"]["load"]["connections"] = 32;
    auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["verdict"], "invalid");
    std::vector<Json> found;
    for (const auto& x : r.extra["reasons"])
        if (x["code"] == "load_not_applied") found.push_back(x);
    ASSERT_EQ(found.size(), 2u) << r.extra["reasons"];
    EXPECT_EQ(found[0]["generator"], "b");
    EXPECT_EQ(found[0]["field"], "connections");
    EXPECT_EQ(found[0]["assigned"], 22);
    EXPECT_EQ(found[0]["ran"], 32);
    EXPECT_EQ(found[1]["field"], "alpha");
    const auto m = found[1]["message"].get<std::string>();
    EXPECT_TRUE(contains(m, "generator b ran alpha 1.5 where the epoch assigned it 0.5")) << m;
    EXPECT_EQ(r.participant_connections, 42u) << "10 + the 32 b ran";

    // Closed loop where open was assigned, and a rate that is off.
    o = with_load();
    o.stop_reports["a"]["load"] = {{"mode", "closed"}, {"maxInflight", 8}, {"connections", 10}};
    o.stop_reports["b"]["load"]["ratePerSecond"] = 200;
    r = build_epoch_result(o);
    ASSERT_EQ(r.extra["reasons"].size(), 2u) << r.extra["reasons"];
    EXPECT_EQ(r.extra["reasons"][0]["generator"], "a");
    EXPECT_EQ(r.extra["reasons"][0]["field"], "rate");
    EXPECT_EQ(r.extra["reasons"][0]["ran"], 0.0);
    EXPECT_EQ(r.extra["reasons"][1]["generator"], "b");
    EXPECT_EQ(r.extra["reasons"][1]["ran"], 200.0);
}

TEST(EpochVerdict, AMissingReportOrAnUnreportedFieldIsInvalidToo) {
    auto o = with_load();
    o.stop_reports.erase("a");
    o.stop_reports["b"]["settings"].erase("accounts");
    const auto r = build_epoch_result(o);
    std::vector<Json> found;
    for (const auto& x : r.extra["reasons"])
        if (x["code"] == "load_not_applied") found.push_back(x);
    ASSERT_EQ(found.size(), 2u) << r.extra["reasons"];
    EXPECT_EQ(found[0]["generator"], "a");
    EXPECT_EQ(found[0]["ran"], nullptr);
    EXPECT_EQ(found[0]["assigned"]["connections"], 10);
    EXPECT_TRUE(contains(found[0]["message"].get<std::string>(), "generator a sent no report of the load it ran"))
        << found[0]["message"];
    EXPECT_EQ(found[1]["generator"], "b");
    EXPECT_EQ(found[1]["field"], "accounts");
    EXPECT_EQ(found[1]["ran"], nullptr);
    EXPECT_TRUE(contains(found[1]["message"].get<std::string>(), "did not report the accounts it ran"))
        << found[1]["message"];
}

TEST(EpochVerdict, ClosedLoopSharesMatchAClosedReportAndOnlyAssignedFieldsAreChecked) {
    auto o = clean();
    control::LoadAssignment share;
    share.rate = 0;
    o.assignments = {{"a", share}, {"b", share}};
    o.stop_reports["a"]["load"] = {{"mode", "closed"}, {"maxInflight", 1}};
    o.stop_reports["b"]["settings"] = {{"rate", nullptr}, {"alpha", 3}};  // older reports: settings only
    EXPECT_EQ(build_epoch_result(o).extra["verdict"], "valid") << build_epoch_result(o).extra["reasons"];
}

TEST(EpochVerdict, ConnectionsShortIsNotCheckedWhenTheLoadSetsEveryonesConnections) {
    auto o = with_load();
    o.connections = {{"a", {32, 16}}, {"b", {32, 32}}};  // a opened 16 of its 32: its share was 10
    EXPECT_EQ(build_epoch_result(o).extra["verdict"], "valid");
    o.assignments["a"].connections.reset();  // a share without connections: its command line's count matters
    o.stop_reports["a"]["load"].erase("connections");
    o.stop_reports["a"]["settings"].erase("connections");
    const auto m = message(build_epoch_result(o), "connections_short");
    EXPECT_TRUE(contains(m, "fewer connections were open than asked for (a 16/32)")) << m;
}

TEST(EpochVerdict, AnAutoWarmupThatNeverSettledIsNotSteady) {
    auto o = clean();
    o.options.warmup_auto = true;
    o.options.stable_cv = 0.05;
    o.options.stable_seconds = 3;
    o.options.warmup_max_seconds = 4;
    o.warmup = WarmupObservation{4.01, false, 0.4, {100, 300, 100, 300}};
    const auto r = build_epoch_result(o);
    EXPECT_EQ(r.extra["verdict"], "invalid");
    const auto m = message(r, "not_steady");
    EXPECT_TRUE(contains(m, "did not settle within --warmup-max 4 s (last CV over 3 s: 40.0%, allowed 5%)")) << m;
    EXPECT_TRUE(contains(m, "Raise --warmup-max")) << m;
    EXPECT_EQ((*reason(r, "not_steady"))["cv"], 0.4);
    EXPECT_EQ((*reason(r, "not_steady"))["warmupMaxSeconds"], 4.0);
    EXPECT_EQ(r.extra["warmup"]["stable"], false);

    // Without a CV (nothing committed during the warmup) it says so.
    o.warmup->cv.reset();
    EXPECT_TRUE(contains(message(build_epoch_result(o), "not_steady"), "not computable")) << r.extra.dump();

    // Tolerated like every code.
    o.options.tolerate = {"not_steady"};
    EXPECT_EQ(build_epoch_result(o).extra["verdict"], "valid");

    // A settled warmup is no reason.
    o.options.tolerate.clear();
    o.warmup = WarmupObservation{3.0, true, 0.01, {100, 101, 100}};
    EXPECT_EQ(build_epoch_result(o).extra["verdict"], "valid");
}

TEST(EpochVerdict, ACollapseCanBeTolerated) {
    auto o = clean();
    // 100/s for 7.5 s, then nothing: the last quarter at 0.
    o.samples = {read_at(5100, kT0 + 1000), read_at(5200, kT0 + 2000), read_at(5300, kT0 + 3000),
                 read_at(5400, kT0 + 4000), read_at(5500, kT0 + 5000), read_at(5600, kT0 + 6000),
                 read_at(5700, kT0 + 7000), read_at(5750, kT0 + 8000), read_at(5750, kT0 + 9000)};
    o.after = read_at(5750, kT0 + 10000);
    o.stop_reports["a"] = report_with(38);
    o.stop_reports["b"] = report_with(37);
    auto r = build_epoch_result(o);
    EXPECT_TRUE(contains(message(r, "throughput_collapsed"), "throughput collapsed inside the window"))
        << r.extra.dump(2);
    o.options.tolerate = {"throughput_collapsed"};
    r = build_epoch_result(o);
    EXPECT_EQ(r.extra["verdict"], "valid") << r.extra["reasons"];
}

TEST(EpochVerdict, TheSteadyStateCodesAreKnown) {
    EXPECT_TRUE(control::is_known_reason_code("not_steady"));
    EXPECT_TRUE(control::is_known_reason_code("throughput_collapsed"));
}
