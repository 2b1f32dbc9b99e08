#include "benchdist/generator/generator_config.hpp"

#include <gtest/gtest.h>

namespace {

using benchdist::generator::GeneratorConfig;
using benchdist::generator::PairMode;
namespace stdb = benchdist::stdb;

GeneratorConfig sample() {
    GeneratorConfig c;
    c.id = "gen-a";
    c.hostname = "host-a";
    c.stdb_url = "ws://127.0.0.1:3000";
    c.endpoint = stdb::parse_endpoint(c.stdb_url);
    c.database = "bank";
    c.concurrency = 64;
    c.max_inflight = 4;
    c.accounts = 5000;
    c.alpha = 0.9;
    c.pairs = 1234;
    c.pair_mode = PairMode::harness;
    c.seed = 99;
    c.compression = stdb::Compression::Gzip;
    c.confirmed = false;
    c.protocol = stdb::ProtocolVersion::V2;
    c.stdb_token = "stdb-secret-token-1";
    c.auth_token = "control-secret-token-2";
    c.op_timeout = std::chrono::milliseconds(2500);
    return c;
}

TEST(GeneratorConfig, SessionOptionsCarryEveryLoadSetting) {
    const auto c = sample();
    const auto o = c.session_options();
    EXPECT_EQ(o.endpoint, c.endpoint);
    EXPECT_EQ(o.database, "bank");
    EXPECT_EQ(o.concurrency, 64u);
    EXPECT_EQ(o.max_inflight, 4u);
    EXPECT_EQ(o.compression, stdb::Compression::Gzip);
    EXPECT_EQ(o.confirmed, std::optional<bool>(false));
    EXPECT_EQ(o.protocol, std::optional(stdb::ProtocolVersion::V2));
    EXPECT_EQ(o.token, "stdb-secret-token-1");
    EXPECT_EQ(o.op_timeout, std::chrono::milliseconds(2500));
    EXPECT_EQ(o.rate_per_second, 0.0);

    const auto p = c.pair_options();
    EXPECT_EQ(p.accounts, 5000u);
    EXPECT_EQ(p.count, 1234u);
    EXPECT_EQ(p.mode, PairMode::harness);
    EXPECT_EQ(p.seed, std::optional<std::uint64_t>(99));
}

TEST(GeneratorConfig, WorkloadHoldsWhatMustMatchAcrossGenerators) {
    auto c = sample();
    const auto w = c.workload_json();
    EXPECT_EQ(w["pairMode"], "harness");
    EXPECT_EQ(w["maxInflight"], 4);
    EXPECT_EQ(w["rateMode"], "closed");
    EXPECT_EQ(w["compression"], "gzip");
    EXPECT_EQ(w["confirmedReads"], false);
    EXPECT_EQ(w["protocol"], "v2");
    EXPECT_FALSE(w.contains("concurrency")) << "concurrency only scales the load";
    c.rate = 500;
    c.protocol.reset();
    EXPECT_EQ(c.workload_json()["rateMode"], "open");
    EXPECT_EQ(c.workload_json()["protocol"], "auto");
}

TEST(GeneratorConfig, NoReportedBlockContainsATokenOnlyWhetherOneWasSet) {
    const auto c = sample();
    const std::string all =
        c.options_json(2).dump() + c.workload_json().dump() + c.settings_json().dump() + c.load_json(1000, 2000).dump();
    EXPECT_EQ(all.find("stdb-secret-token-1"), std::string::npos) << all;
    EXPECT_EQ(all.find("control-secret-token-2"), std::string::npos) << all;
    const auto o = c.options_json(2);
    EXPECT_EQ(o["stdbToken"], "set (not shown)");
    EXPECT_EQ(o["authToken"], "set");
    EXPECT_EQ(o["threads"], 2);
    EXPECT_EQ(o["stdbModule"], "bank");
    GeneratorConfig anonymous = sample();
    anonymous.stdb_token.clear();
    anonymous.auth_token.clear();
    EXPECT_EQ(anonymous.options_json(1)["stdbToken"], "none");
    EXPECT_EQ(anonymous.options_json(1)["authToken"], "none");
}

TEST(GeneratorConfig, LoadSpanIsReportedOnlyWhenKnown) {
    auto c = sample();
    const auto both = c.load_json(1000, 4000);
    EXPECT_EQ(both["startedAtMs"], 1000);
    EXPECT_EQ(both["stoppedAtMs"], 4000);
    EXPECT_EQ(both["mode"], "closed");
    EXPECT_TRUE(both["ratePerSecond"].is_null());
    const auto none = c.load_json(std::nullopt, std::nullopt);
    EXPECT_FALSE(none.contains("startedAtMs"));
    EXPECT_FALSE(none.contains("stoppedAtMs"));
    c.rate = 250;
    EXPECT_EQ(c.load_json(std::nullopt, std::nullopt)["ratePerSecond"], 250.0);
    EXPECT_EQ(c.settings_json()["rate"], 250.0);
}

}  // namespace

TEST(GeneratorConfig, TheManifestSaysItAppliesAnEpochsLoad) {
    EXPECT_TRUE(sample().manifest(2, 1, 0, "abc").applies_epoch_load);
    EXPECT_TRUE(benchdist::control::to_json(sample().manifest(2, 1, 0, "abc"))["appliesEpochLoad"]);
}

TEST(GeneratorConfig, AnAssignmentReplacesOnlyTheFieldsItSets) {
    using benchdist::generator::EpochLoadSettings;
    const GeneratorConfig c = sample();
    EXPECT_EQ(c.epoch_settings(), (EpochLoadSettings{64, 4, 0, 0.9, 5000}));
    benchdist::control::LoadAssignment a;
    a.connections = 0;
    a.rate = 250;
    EXPECT_EQ(c.epoch_settings(a), (EpochLoadSettings{0, 4, 250, 0.9, 5000}));
    a.inflight = 16;
    a.alpha = 0;
    a.accounts = 2;
    const auto ran = c.epoch_settings(a);
    EXPECT_EQ(ran, (EpochLoadSettings{0, 16, 250, 0, 2}));
    // The reported blocks describe what ran, not the command line.
    const auto s = c.settings(ran);
    EXPECT_EQ(s.connections, 0u);
    EXPECT_EQ(s.max_inflight, 16u);
    EXPECT_EQ(s.rate, 250.0);
    EXPECT_EQ(s.alpha, 0.0);
    EXPECT_EQ(s.accounts, 2u);
    const auto l = c.load(ran, 1000, 2000);
    EXPECT_TRUE(l.open);
    EXPECT_EQ(l.connections, 0u);
    EXPECT_EQ(l.max_inflight, 16u);
    EXPECT_EQ(l.rate_per_second, 250.0);
    // Without an epoch's settings: the command line, as before.
    EXPECT_EQ(c.settings().connections, 64u);
    EXPECT_FALSE(c.load(std::nullopt, std::nullopt).open);
}
