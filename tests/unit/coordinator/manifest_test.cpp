// Workload comparison, its texts and the manifest's generator entries, from
// plain register/ready requests.
#include "benchdist/coordinator/manifest.hpp"

#include <gtest/gtest.h>

using namespace benchdist;
using namespace benchdist::coordinator;
using control::Json;

namespace {

Json workload(double alpha = 1.5, const char* pair_mode = "zipf") {
    return Json{{"alpha", alpha},        {"accounts", 100000},        {"pairMode", pair_mode},
                {"amount", 1},           {"maxInflight", 1},          {"rateMode", "closed"},
                {"compression", "none"}, {"confirmedReads", nullptr}, {"protocol", "auto"}};
}

GeneratorManifest generator(const std::string& host, Json w,
                            std::optional<std::string> protocol = "v3.bsatn.spacetimedb",
                            Json options = Json{{"concurrency", 32}}) {
    control::RegisterRequest reg{"id", host, 32};
    reg.extra["manifest"] = Json{{"toolVersion", "0.1.0+gabc"},
                                 {"hostname", host + ".example"},
                                 {"pid", 7},
                                 {"options", std::move(options)},
                                 {"workload", std::move(w)}};
    auto m = manifest_from_register(reg);
    if (protocol) {
        control::ReadyRequest ready{"id", 32};
        ready.extra["negotiatedProtocol"] = *protocol;
        update_from_ready(m, ready);
    }
    return m;
}

GeneratorManifest old_generator(const std::string& host) {
    auto m = manifest_from_register(control::RegisterRequest{"id", host, 4});
    update_from_ready(m, control::ReadyRequest{"id", 4});
    return m;
}

}  // namespace

TEST(Manifest, SameWorkloadIsCommonEvenWhenConcurrencyDiffers) {
    const ManifestsById p{{"a", generator("ha", workload(), "v3.bsatn.spacetimedb", Json{{"concurrency", 32}})},
                          {"b", generator("hb", workload(), "v3.bsatn.spacetimedb", Json{{"concurrency", 8}})}};
    const auto c = compare_workloads(p);
    EXPECT_TRUE(c.differences.empty());
    EXPECT_TRUE(c.unknown.empty());
    EXPECT_EQ(c.common, workload());
    EXPECT_TRUE(manifest_warnings(c, p, "0.1.0+gabc").empty());
}

TEST(Manifest, EachDifferingKeyNamesItsValuesAndGenerators) {
    auto w_c = workload(2.0, "uniform");
    w_c["accounts"] = 100000.0;  // the same number written as a float is the same
    const ManifestsById p{{"a", generator("ha", workload())},
                          {"b", generator("hb", workload())},
                          {"c", generator("hc", w_c, "v2.bsatn.spacetimedb")}};
    const auto c = compare_workloads(p);
    ASSERT_EQ(c.differences.size(), 3u);
    EXPECT_EQ(c.differences[0].key, "alpha");
    ASSERT_EQ(c.differences[0].values.size(), 2u);
    EXPECT_EQ(c.differences[0].values[0].value, 1.5);
    EXPECT_EQ(c.differences[0].values[0].generator_ids, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c.differences[0].values[1].generator_ids, (std::vector<std::string>{"c"}));
    EXPECT_EQ(c.differences[1].key, "pairMode");
    EXPECT_EQ(c.differences[2].key, "negotiatedProtocol");
    EXPECT_EQ(c.common, nullptr);
    EXPECT_EQ(describe_differences(c.differences),
              "\"alpha\": 1.5 on a, b vs 2.0 on c; \"pairMode\": \"zipf\" on a, b vs \"uniform\" on c; "
              "\"negotiatedProtocol\": \"v3.bsatn.spacetimedb\" on a, b vs \"v2.bsatn.spacetimedb\" on c");
    const auto refusal = mixed_workload_refusal(c.differences);
    EXPECT_EQ(refusal.rfind("Refusing to start: the participants' workloads differ -- \"alpha\": 1.5 on a, b", 0), 0u)
        << refusal;
    EXPECT_NE(refusal.find("Start every generator with the same options, or run bench-dist-coordinator with "
                           "--allow-mixed."),
              std::string::npos);
    EXPECT_EQ(differences_to_json(c.differences)[0],
              Json::parse(R"({"key":"alpha","values":[{"value":1.5,"generatorIds":["a","b"]},
                                                      {"value":2.0,"generatorIds":["c"]}]})"));
    const auto warnings = manifest_warnings(c, p, "0.1.0+gabc");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind("the participants' workloads differ (the epoch was started with --allow-mixed", 0), 0u);
    EXPECT_NE(warnings[0].find("\"pairMode\": \"zipf\" on a, b vs \"uniform\" on c"), std::string::npos);
}

TEST(Manifest, AKeyOnlyOneSideHasCountsAsNull) {
    auto extended = workload();
    extended["batch"] = 4;
    auto with_null = workload();
    with_null["batch"] = nullptr;
    const ManifestsById same{{"a", generator("ha", workload())}, {"b", generator("hb", with_null)}};
    EXPECT_TRUE(compare_workloads(same).differences.empty());
    const ManifestsById differ{{"a", generator("ha", workload())}, {"b", generator("hb", extended)}};
    const auto c = compare_workloads(differ);
    ASSERT_EQ(c.differences.size(), 1u);
    EXPECT_EQ(describe_differences(c.differences), "\"batch\": null on a vs 4 on b");
}

TEST(Manifest, NestedObjectsCompareRegardlessOfKeyOrder) {
    auto w1 = workload();
    w1["mix"] = Json{{"x", 1}, {"y", 2}};
    auto w2 = workload();
    w2["mix"] = Json{{"y", 2}, {"x", 1}};
    const ManifestsById p{{"a", generator("ha", w1)}, {"b", generator("hb", w2)}};
    EXPECT_TRUE(compare_workloads(p).differences.empty());
}

TEST(Manifest, OlderGeneratorsMakeTheWorkloadUnknownWithoutADifference) {
    const ManifestsById p{{"a", generator("ha", workload())}, {"old", old_generator("hold")}};
    const auto c = compare_workloads(p);
    EXPECT_TRUE(c.differences.empty());
    EXPECT_EQ(c.unknown, (std::vector<std::string>{"old"}));
    EXPECT_EQ(c.common, nullptr);
    const auto warnings = manifest_warnings(c, p, "0.1.0+gabc");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              "generator old sent no workload manifest (the original harness's generators and older "
              "bench-dist-generators send none): the epoch's workload is "
              "unknown and was not checked for differences");
}

TEST(Manifest, MissingProtocolIsLeftOutOfTheComparisonAndWarned) {
    const ManifestsById p{{"a", generator("ha", workload(), "v3.bsatn.spacetimedb")},
                          {"b", generator("hb", workload(), std::nullopt)},
                          {"c", generator("hc", workload(), std::nullopt)}};
    const auto c = compare_workloads(p);
    EXPECT_TRUE(c.differences.empty());
    EXPECT_EQ(c.common, workload());
    const auto warnings = manifest_warnings(c, p, "0.1.0+gabc");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0], "generators b, c did not report the negotiated protocol: protocols were not compared");
}

TEST(Manifest, ReadyKeepsTheProtocolUnlessItNamesOneAndRegisterForgetsIt) {
    auto m = generator("h", workload(), "v3.bsatn.spacetimedb");
    update_from_ready(m, control::ReadyRequest{"id", 1});
    EXPECT_EQ(m.negotiated_protocol, "v3.bsatn.spacetimedb");
    control::ReadyRequest v2{"id", 1};
    v2.extra["negotiatedProtocol"] = "v2.bsatn.spacetimedb";
    update_from_ready(m, v2);
    EXPECT_EQ(m.negotiated_protocol, "v2.bsatn.spacetimedb");
    m = manifest_from_register(control::RegisterRequest{"id", "h", 1});
    EXPECT_FALSE(m.negotiated_protocol);
    EXPECT_FALSE(m.manifest);
}

TEST(Manifest, OtherToolVersionsAreWarned) {
    const ManifestsById p{{"a", generator("ha", workload())}};
    const auto warnings = manifest_warnings(compare_workloads(p), p, "0.2.0+gdef");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0], "generator \"a\" runs bench-dist 0.1.0+gabc, the coordinator 0.2.0+gdef");
}

TEST(Manifest, GeneratorEntriesCarryWhatEachSaidAndNullForTheRest) {
    const ManifestsById p{{"a", generator("ha", workload())}, {"old", old_generator("hold")}};
    const auto e = generator_entries(p);
    EXPECT_EQ(e["a"], (Json{{"hostname", "ha.example"},
                            {"toolVersion", "0.1.0+gabc"},
                            {"options", {{"concurrency", 32}}},
                            {"workload", workload()},
                            {"negotiatedProtocol", "v3.bsatn.spacetimedb"}}));
    EXPECT_EQ(e["old"], (Json{{"hostname", "hold"},
                              {"toolVersion", nullptr},
                              {"options", nullptr},
                              {"workload", nullptr},
                              {"negotiatedProtocol", nullptr}}));
}

// With an epoch's load, each generator is compared with its share in place
// of what the share sets: different alphas on the command line are no
// difference when the epoch sets alpha, and the common workload is the one
// the epoch ran.
TEST(Manifest, AnEpochsSharesReplaceTheKeysTheySetBeforeComparing) {
    ManifestsById p;
    p["gen-a"] = generator("host-a", workload(1.5));
    p["gen-b"] = generator("host-b", workload(0.5));
    control::LoadAssignment share;
    share.alpha = 1;
    share.inflight = 4;
    share.rate = 50;
    share.accounts = 500;
    const auto c = compare_workloads(p, {{"gen-a", share}, {"gen-b", share}});
    EXPECT_TRUE(c.differences.empty()) << describe_differences(c.differences);
    EXPECT_EQ(c.common["alpha"], 1.0);
    EXPECT_EQ(c.common["maxInflight"], 4);
    EXPECT_EQ(c.common["rateMode"], "open");
    EXPECT_EQ(c.common["accounts"], 500);
    EXPECT_EQ(c.common["pairMode"], "zipf");

    // A key the shares do not set is still compared; rate 0 is closed loop.
    p["gen-b"] = generator("host-b", workload(1.5, "uniform"));
    share = {};
    share.rate = 0;
    const auto d = compare_workloads(p, {{"gen-a", share}, {"gen-b", share}});
    ASSERT_EQ(d.differences.size(), 1u);
    EXPECT_EQ(d.differences[0].key, "pairMode");
    // Without shares: as before.
    p["gen-b"] = generator("host-b", workload(0.5));
    EXPECT_EQ(compare_workloads(p, {}).differences.size(), 1u);
}
