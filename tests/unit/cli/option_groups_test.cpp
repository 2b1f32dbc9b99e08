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

// A coordinator URL that cannot work was only found by the first request,
// and reported as "cannot reach coordinator" (exit 1); it is a usage error.
TEST_F(OptionGroups, ABadCoordinatorUrlIsAUsageErrorNamingTheFlagAndTheForm) {
    for (const std::string bad : {"not a url", "ftp://h:8080", "localhost:8080", "http://", "http:/h", "http://:8080",
                                  "http://h:99999", "http://h:8080/x?y=1", "http://u:p@h:8080", "http://h\x1b[31m"}) {
        CLI::App app;
        cli::CoordinatorConnectionOptions c;
        cli::add_coordinator_connection_options(app, c);
        const auto message = usage_error(app, {"--coordinator-url", bad});
        EXPECT_THAT(message, StartsWith("--coordinator-url: invalid --coordinator-url \"")) << bad;
        EXPECT_THAT(message, HasSubstr("expected http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH]")) << bad;
        for (const char ch : message) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << message;
    }
    EXPECT_THAT(cli::coordinator_url_problem("ftp://h"), HasSubstr("unsupported scheme \"ftp\""));
    EXPECT_THAT(cli::coordinator_url_problem("not a url"), HasSubstr("whitespace or control characters"));
    EXPECT_THAT(cli::coordinator_url_problem("localhost:8080"), HasSubstr("no scheme"));
    // The same rule for BENCH_DIST_COORDINATOR_URL.
    set("BENCH_DIST_COORDINATOR_URL", "ftp://h");
    CLI::App app;
    cli::CoordinatorConnectionOptions c;
    cli::add_coordinator_connection_options(app, c, {.url_from_environment = true});
    EXPECT_THAT(usage_error(app, {}), StartsWith("--coordinator-url: invalid --coordinator-url \"ftp://h\""));
}

TEST_F(OptionGroups, CoordinatorUrlsThatWorkAreAccepted) {
    for (const std::string good : {"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "HTTP://Control.Internal",
                                   "https://control.internal/bench", "http://[::1]:8080"}) {
        EXPECT_EQ(cli::coordinator_url_problem(good), "") << good;
        CLI::App app;
        cli::CoordinatorConnectionOptions c;
        cli::add_coordinator_connection_options(app, c);
        parse(app, {"--coordinator-url", good});
        EXPECT_EQ(c.url, good);
    }
}

// CLI::Range lets NaN through (it compares false with both bounds).
TEST_F(OptionGroups, NumberFromRefusesNaNInfinityAndTheOutOfRange) {
    for (const std::string bad : {"nan", "NaN", "inf", "-inf", "-5", "11", "ten"}) {
        CLI::App app;
        double v = 1;
        app.add_option("--seconds", v)->check(cli::number_from(0, 10));
        EXPECT_THAT(usage_error(app, {"--seconds", bad}), StartsWith("--seconds: must be a number from 0 to 10, got `"))
            << bad;
    }
    CLI::App app;
    double v = 1;
    app.add_option("--seconds", v)->check(cli::number_from(0.1, 10));
    parse(app, {"--seconds", "0.1"});
    EXPECT_EQ(v, 0.1);
}

TEST_F(OptionGroups, AccountsNeedTwo) {
    for (const std::string bad : {"0", "1"}) {
        CLI::App app;
        std::uint32_t n = 5;
        app.add_option("--accounts", n)->check(cli::account_count());
        EXPECT_THAT(usage_error(app, {"--accounts", bad}),
                    StartsWith("--accounts: must be at least 2: a transfer moves money between two distinct accounts"));
    }
    CLI::App app;
    std::uint32_t n = 5;
    app.add_option("--accounts", n)->check(cli::account_count());
    parse(app, {"--accounts", "2"});
    EXPECT_EQ(n, 2u);
}

TEST_F(OptionGroups, NamesAndLabelsFollowTheControlPlaneRules) {
    CLI::App app;
    std::string id, label;
    app.add_option("--id", id)->check(cli::valid_name(benchdist::control::NameKind::GeneratorId));
    app.add_option("--label", label)->check(cli::valid_label());
    EXPECT_THAT(usage_error(app, {"--id", "gen a"}), StartsWith("--id: is not a valid generator id: byte 4"));
    CLI::App app2;
    app2.add_option("--label", label)->check(cli::valid_label());
    EXPECT_THAT(usage_error(app2, {"--label", "a\x1b[2J"}), StartsWith("--label: holds a control character"));
    CLI::App app3;
    app3.add_option("--id", id)->check(cli::valid_name(benchdist::control::NameKind::GeneratorId));
    parse(app3, {"--id", "load1-42"});
    EXPECT_EQ(id, "load1-42");
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

// A token read from a file (a Kubernetes Secret, `$(cat token)` keeps none
// but `export BENCH_DIST_TOKEN="$(< token)"` variants differ) ends in a line
// ending: dropped, from the flag and the environment alike, so the
// coordinator and its clients hold the same secret.
TEST_F(OptionGroups, TokensLoseTheLineEndingAFileGaveThem) {
    set("BENCH_DIST_TOKEN", "abc123\n");
    set("STDB_TOKEN", "stdb-secret\r\n");
    CLI::App app;
    cli::StdbConnectionOptions stdb_options;
    cli::CoordinatorConnectionOptions coordinator_options;
    cli::add_stdb_connection_options(app, stdb_options, kGenerator);
    cli::add_coordinator_connection_options(app, coordinator_options, {});
    parse(app, {});
    EXPECT_EQ(coordinator_options.auth_token, "abc123");
    EXPECT_EQ(stdb_options.token, "stdb-secret");

    CLI::App flags;
    cli::CoordinatorConnectionOptions from_flag;
    cli::add_coordinator_connection_options(flags, from_flag, {});
    parse(flags, {"--auth-token", "def456\n"});
    EXPECT_EQ(from_flag.auth_token, "def456");
}

// What an HTTP header cannot carry is refused with the position, never the
// secret itself.
TEST_F(OptionGroups, TokensAnHttpHeaderCannotCarryAreUsageErrorsThatDoNotShowThem) {
    for (const std::string& token : {std::string("sec\x01ret"), std::string("sec\nret"), std::string(" secret"),
                                     std::string("secret "), std::string("sec\x7fret")}) {
        CLI::App app;
        cli::CoordinatorConnectionOptions o;
        cli::add_coordinator_connection_options(app, o, {});
        const auto error = usage_error(app, {"--auth-token", token});
        EXPECT_THAT(error, HasSubstr("--auth-token")) << error;
        EXPECT_THAT(error, HasSubstr("openssl rand -hex 32")) << error;
        EXPECT_THAT(error, ::testing::Not(HasSubstr("sec"))) << error;
    }
}
