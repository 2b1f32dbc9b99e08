// generatorLimited: each code from the numbers that call for it, none
// without them, and the server's own limit never blamed on a generator.
#include "benchdist/coordinator/generator_limit.hpp"

#include <gtest/gtest.h>

namespace benchdist::coordinator {
namespace {

using control::Json;

control::StopReport open_report(std::uint64_t connections, std::uint64_t inflight, double rate) {
    control::StopReport r;
    control::ReportLoad l;
    l.open = true;
    l.connections = connections;
    l.max_inflight = inflight;
    l.rate_per_second = rate;
    r.load = l;
    return r;
}

// An all-open-loop summary: achieved rate, mean service time, whether kept.
Json open_summary(double achieved, double mean_us, bool kept) {
    return Json{{"latencyUncorrected", {{"mean", mean_us}}},
                {"schedule", {{"targetPerSecond", 1000}, {"achievedPerSecond", achieved}, {"kept", kept}}},
                {"perGenerator", {{"gen-a", {{"schedule", {{"kept", kept}}}}}}},
                {"warnings", Json::array()}};
}

TEST(GeneratorLimit, NothingToBlameIsNotLimited) {
    const auto limit = find_generator_limit(Json{{"warnings", Json::array()}}, {});
    EXPECT_FALSE(limit.limited);
    EXPECT_TRUE(limit.why.empty());
    const Json j = to_json(limit);
    EXPECT_EQ(j["limited"], false);
    EXPECT_EQ(j["why"], Json::array());
    EXPECT_NE(j["message"].get<std::string>().find("no sign"), std::string::npos);
}

TEST(GeneratorLimit, LittlesLawBelowItsMinimumBlamesTheGenerators) {
    const Json low{{"littlesLaw", {{"inflightCapacity", 64}, {"busy", 32.0}, {"utilization", 0.5}}}};
    const auto limit = find_generator_limit(low, {});
    EXPECT_TRUE(limit.limited);
    EXPECT_EQ(limit.why, (std::vector<std::string>{"littles_law"}));
    EXPECT_NE(limit.message.find("utilization 50.0% is below 90%"), std::string::npos) << limit.message;
    const Json high{{"littlesLaw", {{"inflightCapacity", 64}, {"busy", 63.0}, {"utilization", 0.984}}}};
    EXPECT_FALSE(find_generator_limit(high, {}).limited);
    // The minimum is the summary's.
    EXPECT_FALSE(find_generator_limit(low, {}, {0.4}).limited);
}

TEST(GeneratorLimit, AScheduleMissedWithFreeSlotsIsTheGenerators) {
    StopReports reports{{"gen-a", open_report(10, 4, 1000)}};  // 40 slots
    // 600/s x 10 ms = 6 of 40 slots busy: the sends were late with room to spare.
    const auto limit = find_generator_limit(open_summary(600, 10000, false), reports);
    EXPECT_EQ(limit.why, (std::vector<std::string>{"schedule_not_kept"}));
    EXPECT_NE(limit.message.find("behind: \"gen-a\""), std::string::npos) << limit.message;
    EXPECT_NE(limit.message.find("only 6.0 of 40 in-flight slots"), std::string::npos) << limit.message;
}

TEST(GeneratorLimit, AScheduleMissedWithEverySlotWaitingIsTheServers) {
    StopReports reports{{"gen-a", open_report(10, 4, 1000)}};
    // 600/s x 65 ms = 39 of 40 slots waiting for the server.
    EXPECT_FALSE(find_generator_limit(open_summary(600, 65000, false), reports).limited);
    // A kept schedule is nobody's limit.
    EXPECT_FALSE(find_generator_limit(open_summary(1000, 1000, true), reports).limited);
}

TEST(GeneratorLimit, AScheduleMissedWithUnknownSlotsIsNotBlamedOnTheGenerators) {
    control::StopReport no_load;
    StopReports reports{{"gen-a", no_load}};
    EXPECT_FALSE(find_generator_limit(open_summary(600, 10000, false), reports).limited);
}

TEST(GeneratorLimit, AGeneratorAtItsThreadsCpuIsBlamed) {
    control::StopReport busy, idle;
    busy.resources = control::ReportResources{1900000, 1000000, 2};  // 95% of 2 threads
    idle.resources = control::ReportResources{1000000, 1000000, 2};  // 50%
    StopReports reports{{"gen-a", busy}, {"gen-b", idle}};
    const auto limit = find_generator_limit(Json::object(), reports);
    EXPECT_EQ(limit.why, (std::vector<std::string>{"generator_cpu"}));
    EXPECT_NE(limit.message.find("\"gen-a\" 95% of 2 threads"), std::string::npos) << limit.message;
    EXPECT_EQ(limit.message.find("gen-b"), std::string::npos) << limit.message;
    // Exactly 90% counts; an empty span or no threads says nothing.
    StopReports edge{{"gen-a", busy}};
    edge["gen-a"].resources = control::ReportResources{900, 1000, 1};
    EXPECT_TRUE(find_generator_limit(Json::object(), edge).limited);
    edge["gen-a"].resources = control::ReportResources{900, 0, 1};
    EXPECT_FALSE(find_generator_limit(Json::object(), edge).limited);
    edge["gen-a"].resources = control::ReportResources{900, 1000, 0};
    EXPECT_FALSE(find_generator_limit(Json::object(), edge).limited);
}

TEST(GeneratorLimit, EveryCodeIsListedInOrder) {
    control::StopReport r = open_report(10, 4, 1000);
    r.resources = control::ReportResources{1000, 1000, 1};
    Json summary = open_summary(600, 10000, false);
    summary["littlesLaw"] = Json{{"utilization", 0.1}};
    const auto limit = find_generator_limit(summary, {{"gen-a", r}});
    EXPECT_EQ(limit.why, (std::vector<std::string>{"littles_law", "schedule_not_kept", "generator_cpu"}));
    EXPECT_EQ(limit.message.rfind("the generators, not the server, limited the throughput: ", 0), 0u);
}

}  // namespace
}  // namespace benchdist::coordinator
