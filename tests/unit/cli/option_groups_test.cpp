#include "benchdist/cli/option_groups.hpp"

#include "parse_args.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace cli = benchdist::cli;
namespace stdb = benchdist::stdb;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Every variable the groups read, plus one they must not (no --stdb-protocol
// fallback exists). Each test starts with none of them set and leaves the
// process's environment as it found it.
const std::vector<std::string> kVariables{"STDB_URL",      "STDB_MODULE",      "STDB_TOKEN",
                                          "STDB_CA_FILE",  "STDB_COMPRESSION", "STDB_CONFIRMED_READS",
                                          "STDB_PROTOCOL", "BENCH_DIST_TOKEN", "BENCH_DIST_COORDINATOR_URL"};

class OptionGroups : public ::testing::Test {
protected:
    void SetUp() override {
        for (const auto& name : kVariables) {
            if (const char* v = std::getenv(name.c_str())) saved_[name] = v;
            ::unsetenv(name.c_str());
        }
    }
    void TearDown() override {
        for (const auto& name : kVariables) {
            const auto it = saved_.find(name);
            if (it == saved_.end())
                ::unsetenv(name.c_str());
            else
                ::setenv(name.c_str(), it->second.c_str(), 1);
        }
    }
    static void set(const std::string& name, const std::string& value) { ::setenv(name.c_str(), value.c_str(), 1); }

    static void parse(CLI::App& app, const std::vector<std::string>& args) {
        benchdist::testing::parse_args(app, args);
    }
    static std::string usage_error(CLI::App& app, const std::vector<std::string>& args) {
        return benchdist::testing::usage_error(app, args);
    }

    static constexpr cli::StdbOptionSet kGenerator{.compression = true, .confirmed_reads = true, .protocol = true};

private:
    std::map<std::string, std::string> saved_;
};

TEST_F(OptionGroups, StdbDefaultsWithoutFlagsOrEnvironment) {
    CLI::App app;
    cli::StdbConnectionOptions o;
    cli::add_stdb_connection_options(app, o, kGenerator);
    parse(app, {});
    EXPECT_EQ(o.url, "ws://127.0.0.1:3000");
    EXPECT_EQ(o.endpoint().display(), "ws://127.0.0.1:3000");
    EXPECT_EQ(o.database, "test-1");
    EXPECT_EQ(o.token, "");
    EXPECT_EQ(o.tls.ca_file, "");
    EXPECT_FALSE(o.tls.insecure_skip_verify);
    EXPECT_EQ(o.compression, stdb::Compression::None);
    EXPECT_EQ(o.confirmed, std::nullopt);
    EXPECT_EQ(o.protocol, std::nullopt);
}

// Name, environment variable and the default --help shows, per flag: what
// the tools offered before the groups existed.
TEST_F(OptionGroups, EveryFlagKeepsItsEnvironmentVariableAndDefault) {
    CLI::App app;
    cli::StdbConnectionOptions stdb_options;
    cli::CoordinatorConnectionOptions coordinator_options;
    cli::add_stdb_connection_options(app, stdb_options, kGenerator);
    cli::add_coordinator_connection_options(app, coordinator_options, {.url_from_environment = true});
    struct Expected {
        std::string flag, env, default_shown;
    };
    for (const auto& e :
         std::vector<Expected>{{"--stdb-url", "STDB_URL", "ws://127.0.0.1:3000"},
                               {"--stdb-module", "STDB_MODULE", "test-1"},
                               {"--stdb-token", "STDB_TOKEN", ""},
                               {"--stdb-ca-file", "STDB_CA_FILE", ""},
                               {"--stdb-insecure-skip-verify", "", ""},
                               {"--stdb-compression", "STDB_COMPRESSION", "none"},
                               {"--confirmed-reads", "STDB_CONFIRMED_READS", ""},
                               {"--stdb-protocol", "", ""},
                               {"--coordinator-url", "BENCH_DIST_COORDINATOR_URL", "http://127.0.0.1:8080"},
                               {"--auth-token", "BENCH_DIST_TOKEN", ""}}) {
        const CLI::Option* opt = app.get_option(e.flag);
        EXPECT_EQ(opt->get_envname(), e.env) << e.flag;
        EXPECT_EQ(opt->get_default_str(), e.default_shown) << e.flag;
    }
}

TEST_F(OptionGroups, EachStdbVariableIsTheFallbackOfItsFlag) {
    set("STDB_URL", "wss://db.example.com/stdb");
    set("STDB_MODULE", "bank");
    set("STDB_TOKEN", "stdb-secret");
    set("STDB_CA_FILE", "/etc/ca.pem");
    set("STDB_COMPRESSION", "brotli");
    set("STDB_CONFIRMED_READS", "false");
    CLI::App app;
    cli::StdbConnectionOptions o;
    cli::add_stdb_connection_options(app, o, kGenerator);
    parse(app, {});
    EXPECT_EQ(o.url, "wss://db.example.com/stdb");
    EXPECT_EQ(o.endpoint().display(), "wss://db.example.com:443/stdb");
    EXPECT_EQ(o.database, "bank");
    EXPECT_EQ(o.token, "stdb-secret");
    EXPECT_EQ(o.tls.ca_file, "/etc/ca.pem");
    EXPECT_EQ(o.compression, stdb::Compression::Brotli);
    EXPECT_EQ(o.confirmed, false);
}

TEST_F(OptionGroups, StdbFlagsBeatTheEnvironment) {
    set("STDB_URL", "ws://10.0.0.1:3000");
    set("STDB_MODULE", "bank");
    set("STDB_TOKEN", "from-env");
    set("STDB_CA_FILE", "/env/ca.pem");
    set("STDB_COMPRESSION", "brotli");
    set("STDB_CONFIRMED_READS", "false");
    CLI::App app;
    cli::StdbConnectionOptions o;
    cli::add_stdb_connection_options(app, o, kGenerator);
    parse(app, {"--stdb-url", "http://127.0.0.1:4000", "--stdb-module", "test-2", "--stdb-token", "from-flag",
                "--stdb-ca-file", "/flag/ca.pem", "--stdb-insecure-skip-verify", "--stdb-compression", "gzip",
                "--confirmed-reads", "true", "--stdb-protocol", "v2"});
    EXPECT_EQ(o.url, "http://127.0.0.1:4000");
    EXPECT_EQ(o.database, "test-2");
    EXPECT_EQ(o.token, "from-flag");
    EXPECT_EQ(o.tls.ca_file, "/flag/ca.pem");
    EXPECT_TRUE(o.tls.insecure_skip_verify);
    EXPECT_EQ(o.compression, stdb::Compression::Gzip);
    EXPECT_EQ(o.confirmed, true);
    EXPECT_EQ(o.protocol, stdb::ProtocolVersion::V2);
}

TEST_F(OptionGroups, AnEmptyVariableLeavesTheDefault) {
    for (const auto& name : kVariables) set(name, "");
    CLI::App app;
    cli::StdbConnectionOptions o;
    cli::CoordinatorConnectionOptions c;
    cli::add_stdb_connection_options(app, o, kGenerator);
    cli::add_coordinator_connection_options(app, c, {.url_from_environment = true});
    parse(app, {});
    EXPECT_EQ(o.url, "ws://127.0.0.1:3000");
    EXPECT_EQ(o.database, "test-1");
    EXPECT_EQ(o.compression, stdb::Compression::None);
    EXPECT_EQ(o.confirmed, std::nullopt);
    EXPECT_EQ(c.url, "http://127.0.0.1:8080");
}

TEST_F(OptionGroups, ABadStdbUrlIsAUsageErrorNamingTheFlag) {
    {
        CLI::App app;
        cli::StdbConnectionOptions o;
        cli::add_stdb_connection_options(app, o);
        EXPECT_THAT(usage_error(app, {"--stdb-url", "ftp://h"}),
                    StartsWith("--stdb-url: invalid --stdb-url \"ftp://h\": "));
    }
    {
        set("STDB_URL", "ftp://h");
        CLI::App app;
        cli::StdbConnectionOptions o;
        cli::add_stdb_connection_options(app, o);
        EXPECT_THAT(usage_error(app, {}), StartsWith("--stdb-url: invalid --stdb-url \"ftp://h\": "));
    }
}

TEST_F(OptionGroups, CompressionIsNoneGzipOrBrotliInAnyCase) {
    for (const auto& [given, expected] :
         std::vector<std::pair<std::string, stdb::Compression>>{{"none", stdb::Compression::None},
                                                                {"GZIP", stdb::Compression::Gzip},
                                                                {"Brotli", stdb::Compression::Brotli}}) {
        CLI::App app;
        cli::StdbConnectionOptions o;
        cli::add_stdb_connection_options(app, o, {.compression = true});
        parse(app, {"--stdb-compression", given});
        EXPECT_EQ(o.compression, expected) << given;
    }
    CLI::App app;
    cli::StdbConnectionOptions o;
    cli::add_stdb_connection_options(app, o, {.compression = true});
    EXPECT_EQ(usage_error(app, {"--stdb-compression", "zstd"}),
              "--stdb-compression: expected none|gzip|brotli, got `zstd`");
    set("STDB_COMPRESSION", "lz4");
    CLI::App from_env;
    cli::add_stdb_connection_options(from_env, o, {.compression = true});
    EXPECT_EQ(usage_error(from_env, {}), "--stdb-compression: expected none|gzip|brotli, got `lz4`");
}

TEST_F(OptionGroups, ConfirmedReadsAreTrueFalseOrNotSent) {
    for (const auto& [given, expected] : std::vector<std::pair<std::string, std::optional<bool>>>{
             {"true", true}, {"1", true}, {"false", false}, {"0", false}, {"", std::nullopt}}) {
        CLI::App app;
        cli::StdbConnectionOptions o;
        cli::add_stdb_connection_options(app, o, {.confirmed_reads = true});
        parse(app, {"--confirmed-reads", given});
        EXPECT_EQ(o.confirmed, expected) << given;
    }
    CLI::App app;
    cli::StdbConnectionOptions o;
    cli::add_stdb_connection_options(app, o, {.confirmed_reads = true});
    EXPECT_EQ(usage_error(app, {"--confirmed-reads", "yes"}), "--confirmed-reads: expected true|false, got `yes`");
}

TEST_F(OptionGroups, ProtocolIsV3OrV2AndHasNoVariable) {
    for (const auto& [given, expected] : std::vector<std::pair<std::string, std::optional<stdb::ProtocolVersion>>>{
             {"v3", stdb::ProtocolVersion::V3}, {"v2", stdb::ProtocolVersion::V2}, {"", std::nullopt}}) {
        CLI::App app;
        cli::StdbConnectionOptions o;
        cli::add_stdb_connection_options(app, o, {.protocol = true});
        parse(app, {"--stdb-protocol", given});
        EXPECT_EQ(o.protocol, expected) << given;
    }
    CLI::App app;
    cli::StdbConnectionOptions o;
    cli::add_stdb_connection_options(app, o, {.protocol = true});
    EXPECT_EQ(usage_error(app, {"--stdb-protocol", "v1"}), "--stdb-protocol: expected v3|v2, got `v1`");
    set("STDB_PROTOCOL", "v2");
    CLI::App from_env;
    cli::StdbConnectionOptions unset;
    cli::add_stdb_connection_options(from_env, unset, {.protocol = true});
    parse(from_env, {});
    EXPECT_EQ(unset.protocol, std::nullopt);
}

// The coordinator and bench-dist-control have no confirmed reads or
// protocol, bench-dist-control no compression: neither flag nor variable.
TEST_F(OptionGroups, OptionsNotOfferedDoNotExist) {
    set("STDB_COMPRESSION", "gzip");
    set("STDB_CONFIRMED_READS", "true");
    CLI::App app;
    cli::StdbConnectionOptions o;
    cli::add_stdb_connection_options(app, o);
    parse(app, {});
    EXPECT_EQ(o.compression, stdb::Compression::None);
    EXPECT_EQ(o.confirmed, std::nullopt);
    for (const char* flag : {"--stdb-compression", "--confirmed-reads", "--stdb-protocol"}) {
        CLI::App strict;
        cli::StdbConnectionOptions ignored;
        cli::add_stdb_connection_options(strict, ignored);
        EXPECT_THROW(parse(strict, {flag, "v2"}), CLI::ParseError) << flag;
    }
}

TEST_F(OptionGroups, AnUnusableCaFileIsAUsageErrorNamingTheFlag) {
    cli::StdbConnectionOptions o;
    o.tls.ca_file = "/nonexistent/ca.pem";
    try {
        cli::install_stdb_tls(o);
        ADD_FAILURE() << "expected a usage error";
    } catch (const CLI::ValidationError& e) {
        EXPECT_THAT(e.what(), HasSubstr("--stdb-ca-file `/nonexistent/ca.pem` is not a readable file"));
    }
}

TEST_F(OptionGroups, CoordinatorDefaults) {
    CLI::App app;
    cli::CoordinatorConnectionOptions c;
    cli::add_coordinator_connection_options(app, c);
    parse(app, {});
    EXPECT_EQ(c.url, "http://127.0.0.1:8080");
    EXPECT_EQ(c.auth_token, "");
}

TEST_F(OptionGroups, CoordinatorFlagsBeatTheEnvironmentWhichBeatsTheDefault) {
    set("BENCH_DIST_TOKEN", "env-token");
    set("BENCH_DIST_COORDINATOR_URL", "http://10.0.0.5:8080");
    {
        CLI::App app;
        cli::CoordinatorConnectionOptions c;
        cli::add_coordinator_connection_options(app, c, {.url_from_environment = true});
        parse(app, {});
        EXPECT_EQ(c.url, "http://10.0.0.5:8080");
        EXPECT_EQ(c.auth_token, "env-token");
    }
    {
        CLI::App app;
        cli::CoordinatorConnectionOptions c;
        cli::add_coordinator_connection_options(app, c, {.url_from_environment = true});
        parse(app, {"--coordinator-url", "http://127.0.0.1:9090/", "--auth-token", "flag-token"});
        EXPECT_EQ(c.url, "http://127.0.0.1:9090/");
        EXPECT_EQ(c.auth_token, "flag-token");
    }
}

// The generator never read BENCH_DIST_COORDINATOR_URL; only the token has a
// variable there.
TEST_F(OptionGroups, CoordinatorUrlVariableOnlyWhereOffered) {
    set("BENCH_DIST_TOKEN", "env-token");
    set("BENCH_DIST_COORDINATOR_URL", "http://10.0.0.5:8080");
    CLI::App app;
    cli::CoordinatorConnectionOptions c;
    cli::add_coordinator_connection_options(app, c);
    parse(app, {});
    EXPECT_EQ(c.url, "http://127.0.0.1:8080");
    EXPECT_EQ(c.auth_token, "env-token");
}

// bench-dist-control's shape: the SpacetimeDB group on the `seed` command,
// which has a parse-complete callback so the environment is read for it only
// when it is given.
TEST_F(OptionGroups, OnASubcommandTheVariablesCountOnlyWhenItIsGiven) {
    set("STDB_URL", "ftp://h");
    const auto make = [](CLI::App& app, cli::StdbConnectionOptions& o) {
        app.add_subcommand("status", "");
        auto* seed = app.add_subcommand("seed", "");
        cli::add_stdb_connection_options(*seed, o);
        seed->parse_complete_callback([] {});
    };
    {
        CLI::App app;
        cli::StdbConnectionOptions o;
        make(app, o);
        parse(app, {"status"});
        EXPECT_EQ(o.url, "ws://127.0.0.1:3000");
    }
    {
        CLI::App app;
        cli::StdbConnectionOptions o;
        make(app, o);
        EXPECT_THAT(usage_error(app, {"seed"}), StartsWith("--stdb-url: invalid --stdb-url \"ftp://h\""));
    }
    set("STDB_URL", "ws://10.0.0.1:3000");
    set("STDB_MODULE", "bank");
    CLI::App app;
    cli::StdbConnectionOptions o;
    make(app, o);
    parse(app, {"seed", "--stdb-module", "test-2"});
    EXPECT_EQ(o.url, "ws://10.0.0.1:3000");
    EXPECT_EQ(o.database, "test-2");
}

}  // namespace
