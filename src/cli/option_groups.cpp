#include "benchdist/cli/option_groups.hpp"

#include "benchdist/cli/original_syntax.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string_view>

#include "benchdist/net/http_client.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/text/printable.hpp"

namespace benchdist::cli {

namespace {

// A CLI11 check from a function returning what is wrong with a value ("" when
// nothing is). Its description stays empty so --help shows the option's type
// alone, as it did before the check was shared.
CLI::Validator check(std::string (*what_is_wrong)(const std::string&)) {
    return CLI::Validator([what_is_wrong](std::string& value) { return what_is_wrong(value); }, "");
}

std::string coordinator_url_error(const std::string& value) { return coordinator_url_problem(value); }

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
        ->envname("STDB_TOKEN")
        ->transform(secret_token());
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
    auto* url = app.add_option("--coordinator-url", values.url,
                               "bench-dist-coordinator's base URL: http://HOST[:PORT][/PATH] (or https:// through a "
                               "TLS proxy)")
                    ->capture_default_str()
                    ->check(check(coordinator_url_error));
    if (offered.url_from_environment) url->envname("BENCH_DIST_COORDINATOR_URL");
    app.add_option("--auth-token", values.auth_token,
                   "The coordinator's --auth-token, sent as \"Authorization: Bearer\" on every control request "
                   "(prefer the environment variable: command lines are visible to other users)")
        ->envname("BENCH_DIST_TOKEN")
        ->transform(secret_token());
}

std::string coordinator_url_problem(std::string_view url) {
    const std::string expected =
        "; expected http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH], e.g. http://127.0.0.1:8080 (the address "
        "on bench-dist-coordinator's \"listening on\" line)";
    const auto invalid = [&](const std::string& why) {
        return "invalid --coordinator-url " + text::quoted_excerpt(url) + ": " + why + expected;
    };
    if (url.empty()) return invalid("it is empty");
    for (const char ch : url) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == 0x7f) return invalid("it contains whitespace or control characters");
    }
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return invalid("it has no scheme (http:// or https://)");
    std::string scheme(url.substr(0, scheme_end));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "http" && scheme != "https") return invalid("unsupported scheme " + text::quoted_excerpt(scheme));
    if (url.find_first_of("?#") != std::string_view::npos)
        return invalid("a query or fragment cannot take the route the tools append");
    const auto rest = url.substr(scheme_end + 3);
    if (rest.substr(0, rest.find('/')).find('@') != std::string_view::npos)
        return invalid("user info is not supported (pass a token with --auth-token)");
    net::ParsedHttpUrl parsed;
    std::string why;
    if (!net::parse_http_url(url, parsed, why)) return invalid(why);
    return {};
}

namespace {

// 31536000, not 3.1536e+07: bounds read as the user would type them.
std::string number_text(double d) {
    char buf[64];
    if (d == std::floor(d) && std::fabs(d) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", d);
    } else {
        std::snprintf(buf, sizeof buf, "%g", d);
    }
    return buf;
}

}  // namespace

CLI::Validator number_from(double min, double max) {
    const std::string range = number_text(min) + " to " + number_text(max);
    return CLI::Validator(
        [min, max, range](std::string& value) -> std::string {
            double d = 0;
            if (!CLI::detail::lexical_cast(value, d) || std::isnan(d) || d < min || d > max)
                return "must be a number from " + range + ", got `" + text::printable(value) + "`";
            return {};
        },
        "");
}

CLI::Validator valid_name(control::NameKind kind) {
    return CLI::Validator([kind](std::string& value) { return control::name_problem(kind, value); }, "");
}

CLI::Validator valid_label() {
    return CLI::Validator([](std::string& value) { return control::label_problem(value); }, "");
}

CLI::Validator secret_token() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
            const std::string fix =
                ": a token travels in an HTTP header, which cannot carry it intact; make one of letters and digits, "
                "e.g. `openssl rand -hex 32`";
            if (!value.empty() &&
                (value.front() == ' ' || value.back() == ' ' || value.front() == '\t' || value.back() == '\t'))
                return "the token starts or ends with a space or tab" + fix;
            for (std::size_t i = 0; i < value.size(); ++i) {
                const auto c = static_cast<unsigned char>(value[i]);
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                    return "the token has a control character at byte " + std::to_string(i + 1) + " of " +
                           std::to_string(value.size()) + fix;
            }
            return {};
        },
        "");
}

CLI::Validator account_count() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            std::uint64_t n = 0;
            if (CLI::detail::lexical_cast(value, n) && n >= stdb::transfer::kMinAccounts) return {};
            return "must be at least " + std::to_string(stdb::transfer::kMinAccounts) +
                   ": a transfer moves money between two distinct accounts, so with fewer every drawn pair is one "
                   "account twice and nothing is sent; got `" +
                   text::printable(value) + "`";
        },
        "");
}

}  // namespace benchdist::cli
