// The /admin/live answer as bench-dist-control reads it (live_view.hpp):
// the contract's example, what a missing or null key means, wrong types
// refused naming the key, and partial answers applied to what was known.
#include "live_view.hpp"

#include <gtest/gtest.h>

#include <string>

namespace bc = benchdist::control;
using namespace benchdist::control_tool;

namespace {

// The contract's example (issue 16), with one more second and sample.
bc::Json example() {
    return bc::Json::parse(R"({
      "version": 57, "full": true, "epoch": 3, "label": "x", "phase": "measure", "running": true,
      "startedAtMs": 1796622220000, "warmupSeconds": 2.0, "warmupAuto": false, "windowSeconds": 10.0,
      "windowStartMs": 1796622222500, "windowEndMs": null, "finishedAtMs": null,
      "seconds": [
        {"t": 1796622228000, "attempted": 40000, "committed": 39990, "tps": 39990.0,
         "errors": {"moduleErrors": 0, "internalErrors": 0, "timeouts": 0, "disconnects": 10, "total": 10},
         "p50": 193, "p99": 422, "max": 4610,
         "generators": {"gen-a": {"committed": 20000, "errors": 5, "p50": 190, "p99": 420}}},
        {"t": 1796622227000, "attempted": 100, "committed": 0, "tps": 0,
         "errors": {"total": 0}, "p50": null, "p99": null, "max": null, "generators": {}}
      ],
      "server": [{"atMs": 1796622228100, "committed": 471707, "tps": 38420.2, "inWindow": true},
                 {"atMs": 1796622227100, "committed": 433287, "tps": null, "inWindow": false}],
      "generators": {"gen-a": {"connections": 8, "lastProgressMs": 1796622228050, "committed": 120000, "errors": 5}},
      "totals": {"committed": 240000, "errors": 10, "p50": 193, "p99": 422, "max": 4610,
                 "clientTps": 39990.0, "serverTps": 38420.2},
      "result": null
    })");
}

LiveSecond second_at(std::int64_t t, std::uint64_t committed) {
    LiveSecond s;
    s.t = t;
    s.committed = committed;
    return s;
}

}  // namespace

TEST(LiveViewParse, ParsesTheContractsExample) {
    const auto v = parse_live(example());
    EXPECT_EQ(v.version, 57u);
    EXPECT_TRUE(v.full);
    EXPECT_EQ(v.epoch, 3u);
    EXPECT_EQ(v.label, "x");
    EXPECT_EQ(v.phase, "measure");
    EXPECT_TRUE(v.running);
    EXPECT_EQ(v.started_at_ms, 1796622220000);
    EXPECT_FALSE(v.stage);  // not in the contract's example; the coordinator adds it
    EXPECT_FALSE(v.warmup_start_ms);
    EXPECT_DOUBLE_EQ(v.warmup_seconds, 2.0);
    EXPECT_FALSE(v.warmup_auto);
    EXPECT_DOUBLE_EQ(v.window_seconds, 10.0);
    EXPECT_EQ(v.window_start_ms, 1796622222500);
    EXPECT_FALSE(v.window_end_ms);
    EXPECT_FALSE(v.finished_at_ms);
    // Sorted by t, whatever order they came in.
    ASSERT_EQ(v.seconds.size(), 2u);
    EXPECT_EQ(v.seconds[0].t, 1796622227000);
    EXPECT_FALSE(v.seconds[0].p50_us);
    const auto& s = v.seconds[1];
    EXPECT_EQ(s.attempted, 40000u);
    EXPECT_EQ(s.committed, 39990u);
    EXPECT_EQ(s.tps, 39990.0);
    EXPECT_EQ(s.errors.disconnects, 10u);
    EXPECT_EQ(s.errors.total, 10u);
    EXPECT_EQ(s.p50_us, 193.0);
    EXPECT_EQ(s.p99_us, 422.0);
    EXPECT_EQ(s.max_us, 4610.0);
    ASSERT_EQ(s.generators.count("gen-a"), 1u);
    EXPECT_EQ(s.generators.at("gen-a").committed, 20000u);
    EXPECT_EQ(s.generators.at("gen-a").p99_us, 420.0);
    ASSERT_EQ(v.server.size(), 2u);
    EXPECT_EQ(v.server[1].at_ms, 1796622228100);
    EXPECT_EQ(v.server[1].tps, 38420.2);
    EXPECT_TRUE(v.server[1].in_window);
    EXPECT_FALSE(v.server[0].tps);
    EXPECT_EQ(v.generators.at("gen-a").connections, 8u);
    EXPECT_EQ(v.generators.at("gen-a").last_progress_ms, 1796622228050);
    EXPECT_EQ(v.totals.errors, 10u);
    EXPECT_EQ(v.totals.client_tps, 39990.0);
    EXPECT_EQ(v.totals.server_tps, 38420.2);
    EXPECT_FALSE(v.result);
}

TEST(LiveViewParse, ReadsAResult) {
    auto j = example();
    j["running"] = false;
    j["phase"] = "idle";
    j["result"] = bc::Json::parse(
        R"({"verdict": "invalid", "tps": 38420.19,
            "reasons": [{"code": "error_ratio", "message": "too many errors", "observed": 0.1}]})");
    const auto v = parse_live(j);
    ASSERT_TRUE(v.result);
    EXPECT_EQ(v.result->verdict, "invalid");
    EXPECT_EQ(v.result->tps, 38420.19);
    ASSERT_EQ(v.result->reasons.size(), 1u);
    EXPECT_EQ(v.result->reasons[0].code, "error_ratio");
    EXPECT_EQ(v.result->reasons[0].message, "too many errors");
}

// Only "version" is required; absent and null keys take their defaults.
TEST(LiveViewParse, MissingAndNullKeysTakeTheirDefaults) {
    const auto v = parse_live(bc::Json::parse(R"({"version": 1})"));
    EXPECT_EQ(v.version, 1u);
    EXPECT_TRUE(v.full);
    EXPECT_FALSE(v.epoch);
    EXPECT_EQ(v.phase, "idle");
    EXPECT_FALSE(v.running);
    EXPECT_TRUE(v.seconds.empty());
    EXPECT_FALSE(v.totals.client_tps);
    EXPECT_FALSE(v.result);
    const auto n = parse_live(bc::Json::parse(
        R"({"version": 2, "epoch": null, "label": null, "seconds": null, "totals": {"p50": null}, "result": null,
            "generators": {"g": {}}})"));
    EXPECT_FALSE(n.epoch);
    EXPECT_FALSE(n.label);
    EXPECT_FALSE(n.totals.p50_us);
    EXPECT_EQ(n.generators.at("g").connections, 0u);
    EXPECT_FALSE(n.generators.at("g").last_progress_ms);
    // A total left out is the sum of the kinds.
    const auto e = parse_live(
        bc::Json::parse(R"({"version": 3, "seconds": [{"t": 1000, "errors": {"timeouts": 2, "disconnects": 3}}]})"));
    EXPECT_EQ(e.seconds[0].errors.total, 5u);
    EXPECT_THROW(parse_live(bc::Json::parse(R"({"phase": "idle"})")), LiveFormatError);
}

TEST(LiveViewParse, AWrongTypeIsRefusedNamingTheKey) {
    struct Case {
        const char* pointer;
        bc::Json value;
        const char* names;
    };
    const Case cases[] = {
        {"/version", "57", "\"version\" must be a non-negative integer"},
        {"/epoch", -3, "\"epoch\" must be a non-negative integer or null"},
        {"/label", 5, "\"label\" must be a string or null"},
        {"/running", "yes", "\"running\" must be true or false"},
        {"/windowStartMs", "soon", "\"windowStartMs\" must be an integer (unix milliseconds) or null"},
        {"/seconds", bc::Json::object(), "\"seconds\" must be an array or null"},
        {"/seconds/1/p50", "193", "\"seconds\"[1].\"p50\" must be a number or null"},
        {"/seconds/1/committed", 1.5, "\"seconds\"[1].\"committed\" must be a non-negative integer or null"},
        {"/seconds/1/t", nullptr, "\"seconds\"[1].\"t\" must be an integer (unix milliseconds)"},
        {"/seconds/1/generators/gen-a/p99", true, "\"seconds\"[1].\"generators\".\"gen-a\".\"p99\" must be"},
        {"/server/0", 7, "\"server\"[0] must be an object"},
        {"/generators", bc::Json::array(), "\"generators\" must be an object or null"},
        {"/totals/clientTps", "fast", "\"totals\".\"clientTps\" must be a number or null"},
        {"/result", bc::Json::parse(R"({"verdict": "valid", "reasons": [{"code": 5}]})"),
         "\"result\".\"reasons\"[0].\"code\" must be a string or null"},
    };
    for (const auto& c : cases) {
        auto j = example();
        j[bc::Json::json_pointer(c.pointer)] = c.value;
        try {
            parse_live(j);
            ADD_FAILURE() << c.pointer << " was accepted";
        } catch (const LiveFormatError& e) {
            EXPECT_NE(std::string(e.what()).find(c.names), std::string::npos) << c.pointer << ": " << e.what();
        }
    }
    EXPECT_THROW(parse_live(bc::Json::array()), LiveFormatError);
}

// A generator id in an error message is quoted as JSON quotes it: an escape
// sequence in it reaches the message escaped.
TEST(LiveViewParse, AHostileKeyInAnErrorMessageIsQuotedAsJson) {
    auto j = example();
    j["generators"]["gen\x1b[2J\nx"] = 5;
    try {
        parse_live(j);
        FAIL() << "accepted";
    } catch (const LiveFormatError& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.find('\x1b'), std::string::npos) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << what;
        EXPECT_NE(what.find("\"gen\\u001b[2J\\nx\" must be an object"), std::string::npos) << what;
    }
}

TEST(LiveViewParse, APartialAnswerReplacesSecondsByTAndAddsTheNewOnes) {
    auto known = parse_live(example());
    auto partial = bc::Json::parse(R"({
      "version": 58, "full": false, "epoch": 3, "phase": "measure", "running": true,
      "seconds": [{"t": 1796622228000, "committed": 40000}, {"t": 1796622229000, "committed": 7}],
      "server": [{"atMs": 1796622229100, "committed": 500000, "tps": 28293.0, "inWindow": true}],
      "totals": {"committed": 240007, "errors": 10, "clientTps": 40000.0, "serverTps": 28293.0}
    })");
    apply_live(known, parse_live(partial));
    EXPECT_EQ(known.version, 58u);
    EXPECT_FALSE(known.full);
    ASSERT_EQ(known.seconds.size(), 3u);
    EXPECT_EQ(known.seconds[0].t, 1796622227000);
    EXPECT_EQ(known.seconds[1].committed, 40000u);  // replaced
    EXPECT_EQ(known.seconds[2].committed, 7u);      // added
    ASSERT_EQ(known.server.size(), 3u);
    EXPECT_EQ(known.server.back().tps, 28293.0);
    EXPECT_EQ(known.totals.server_tps, 28293.0);
    // Keys other than the series come from the answer.
    EXPECT_TRUE(known.generators.empty());
}

TEST(LiveViewParse, AFullAnswerOrAnotherEpochReplacesEverything) {
    auto known = parse_live(example());
    apply_live(known, parse_live(bc::Json::parse(R"({"version": 60, "full": true, "epoch": 3,
        "seconds": [{"t": 5000}]})")));
    ASSERT_EQ(known.seconds.size(), 1u);
    EXPECT_EQ(known.seconds[0].t, 5000);
    EXPECT_TRUE(known.server.empty());
    // Not marked full, but of a new epoch: nothing of the old one stays.
    apply_live(known, parse_live(bc::Json::parse(R"({"version": 61, "full": false, "epoch": 4,
        "seconds": [{"t": 9000}]})")));
    ASSERT_EQ(known.seconds.size(), 1u);
    EXPECT_EQ(known.seconds[0].t, 9000);
    EXPECT_EQ(known.epoch, 4u);
}

TEST(LiveViewParse, PartialAnswersNeverGrowTheSeriesPastTheBound) {
    LiveView known;
    known.epoch = 1;
    for (std::int64_t i = 0; i < 4000; i += 100) {
        LiveView answer;
        answer.full = false;
        answer.epoch = 1;
        for (std::int64_t t = i; t < i + 100; ++t) answer.seconds.push_back(second_at(t * 1000, 1));
        apply_live(known, std::move(answer));
    }
    ASSERT_EQ(known.seconds.size(), kMaxLiveEntries);
    EXPECT_EQ(known.seconds.front().t, 400 * 1000);  // the oldest dropped
    EXPECT_EQ(known.seconds.back().t, 3999 * 1000);
}

// As the coordinator's clientTps: the newest second every generator has
// posted past -- never a generator's newest (still filling, or cut short by
// the load's stop), nor one after it (it may lack that generator's part).
TEST(LiveViewParse, TheLastCompleteSecondIsTheNewestEveryGeneratorPostedPast) {
    const auto with = [](std::int64_t t, std::vector<std::string> ids) {
        auto s = second_at(t, 1);
        for (const auto& id : ids) s.generators[id] = {};
        return s;
    };
    LiveView v;
    v.running = true;
    EXPECT_EQ(last_complete_second(v), nullptr);
    v.seconds = {with(1000, {"a", "b"})};
    EXPECT_EQ(last_complete_second(v), nullptr);
    v.seconds.push_back(with(2000, {"a", "b"}));
    ASSERT_NE(last_complete_second(v), nullptr);
    EXPECT_EQ(last_complete_second(v)->t, 1000);
    // a posted on to 4000, b only to 2000: 3000 may still lack b's part.
    v.seconds.push_back(with(3000, {"a"}));
    v.seconds.push_back(with(4000, {"a"}));
    EXPECT_EQ(last_complete_second(v)->t, 1000);
    v.seconds[2].generators["b"] = {};
    EXPECT_EQ(last_complete_second(v)->t, 2000);
    // Seconds that name no generator: the one before the newest.
    LiveView bare;
    bare.seconds = {second_at(1000, 1), second_at(2000, 1), second_at(3000, 1)};
    EXPECT_EQ(last_complete_second(bare)->t, 2000);
}
