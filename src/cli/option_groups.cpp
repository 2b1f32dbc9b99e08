#include "benchdist/cli/option_groups.hpp"

#include "benchdist/cli/original_syntax.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <string_view>

namespace benchdist::cli {

namespace {

// A CLI11 check from a function returning what is wrong with a value ("" when
// nothing is). Its description stays empty so --help shows the option's type
// alone, as it did before the check was shared.
CLI::Validator check(std::string (*what_is_wrong)(const std::string&)) {
    return CLI::Validator([what_is_wrong](std::string& value) { return what_is_wrong(value); }, "");
}

std::string url_error(const std::string& value) {
    try {
        stdb::parse_endpoint(value);
        return {};
    } catch (const std::exception& e) {
        return e.what();
    }
}

// The three typed values are parsed where CLI11 hands them over; a value
// that does not parse is thrown as CLI11's own ValidationError, so it ends
// like any other usage error of the tool (exit 2) and names the flag.

stdb::Compression compression_from(const std::string& value) {
    const auto c = stdb::compression_from_flag(value);
    if (!c) throw CLI::ValidationError("--stdb-compression", "expected none|gzip|brotli, got `" + value + "`");
    return *c;
}

// Empty: not given, so the server's default applies (an empty environment
// variable never gets here: CLI11 skips it).
std::optional<bool> confirmed_from(const std::string& value) {
    if (value.empty()) return std::nullopt;
    if (value == "true" || value == "1") return true;
    if (value == "false" || value == "0") return false;
    throw CLI::ValidationError("--confirmed-reads", "expected true|false, got `" + value + "`");
}

// Empty: offer both.
std::optional<stdb::ProtocolVersion> protocol_from(const std::string& value) {
    if (value.empty()) return std::nullopt;
    if (value == "v3") return stdb::ProtocolVersion::V3;
    if (value == "v2") return stdb::ProtocolVersion::V2;
    throw CLI::ValidationError("--stdb-protocol", "expected v3|v2, got `" + value + "`");
}

}  // namespace

stdb::Endpoint StdbConnectionOptions::endpoint() const { return stdb::parse_endpoint(url); }

void add_stdb_connection_options(CLI::App& app, StdbConnectionOptions& values, StdbOptionSet offered) {
    app.add_option("--stdb-url", values.url, "SpacetimeDB server (ws://, http://, wss://, https:// or HOST:PORT)")
        ->envname("STDB_URL")
        ->capture_default_str()
        ->check(check(url_error));
    app.add_option("--stdb-module", values.database, "Database name or identity of the transfer module")
        ->envname("STDB_MODULE")
        ->capture_default_str();
    app.add_option("--stdb-token", values.token,
                   "Token sent as \"Authorization: Bearer\" on every request to SpacetimeDB, for servers that "
                   "refuse anonymous callers [default: anonymous]")
        ->envname("STDB_TOKEN");
    app.add_option("--stdb-ca-file", values.tls.ca_file,
                   "PEM file of a CA to trust for a wss:// / https:// --stdb-url, besides the system store")
        ->envname("STDB_CA_FILE");
    add_bool_flag(app, "--stdb-insecure-skip-verify", values.tls.insecure_skip_verify,
                  "Do not check the server's TLS certificate (throwaway test servers only)");
    if (offered.compression) {
        app.add_option_function<std::string>(
               "--stdb-compression", [&values](const std::string& v) { values.compression = compression_from(v); },
               "none|gzip|brotli: compression of the server's WebSocket messages; always sent as the "
               "`compression` query parameter, because the server compresses with Brotli when it is absent")
            ->envname("STDB_COMPRESSION")
            ->default_str(std::string(stdb::compression_flag_name(values.compression)));
    }
    if (offered.confirmed_reads) {
        app.add_option_function<std::string>(
               "--confirmed-reads", [&values](const std::string& v) { values.confirmed = confirmed_from(v); },
               "true|false; sent only when given. v2/v3 servers default to true, which holds every reply until "
               "the transaction is durable (adds the fsync wait to every closed-loop call)")
            ->envname("STDB_CONFIRMED_READS");
    }
    if (offered.protocol) {
        app.add_option_function<std::string>(
            "--stdb-protocol", [&values](const std::string& v) { values.protocol = protocol_from(v); },
            "v3|v2: offer only this protocol [default: offer both, server picks v3]");
    }
}

void install_stdb_tls(const StdbConnectionOptions& values) {
    try {
        net::set_default_tls_options(values.tls);
    } catch (const net::TlsConfigError& e) {
        // The message already names --stdb-ca-file and the file.
        throw CLI::ValidationError(e.what());
    }
}

void add_coordinator_connection_options(CLI::App& app, CoordinatorConnectionOptions& values,
                                        CoordinatorOptionSet offered) {
    auto* url =
        app.add_option("--coordinator-url", values.url, "bench-dist-coordinator's base URL")->capture_default_str();
    if (offered.url_from_environment) url->envname("BENCH_DIST_COORDINATOR_URL");
    app.add_option("--auth-token", values.auth_token,
                   "The coordinator's --auth-token, sent as \"Authorization: Bearer\" on every control request "
                   "(prefer the environment variable: command lines are visible to other users)")
        ->envname("BENCH_DIST_TOKEN");
}

}  // namespace benchdist::cli
