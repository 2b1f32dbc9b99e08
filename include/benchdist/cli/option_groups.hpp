// The command-line options that several tools share, declared once: how to
// reach SpacetimeDB (--stdb-url, --stdb-module, --stdb-token, TLS, and for
// the tools that open WebSocket connections the compression, confirmed-reads
// and protocol choices) and how to reach the coordinator (--coordinator-url,
// --auth-token). Each option keeps the name, default and environment variable
// of the original harness, and each value is checked in one place while
// CLI11 parses, so a bad --stdb-url or --stdb-compression is the same usage
// error (exit 2) in every tool. The values land in plain structs; CLI11 is
// only forward-declared here because its headers are heavy and only the
// tools' main() and src/cli parse command lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "benchdist/control/identifiers.hpp"
#include "benchdist/net/tls_context.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace CLI {
class App;
class Validator;
}  // namespace CLI

namespace benchdist::cli {

// Where the SpacetimeDB server is and how to talk to it.
struct StdbConnectionOptions {
    std::string url = "ws://127.0.0.1:3000";  // --stdb-url / STDB_URL, as given
    std::string database = "test-1";          // --stdb-module / STDB_MODULE
    std::string token;                        // --stdb-token / STDB_TOKEN; empty: anonymous
    net::TlsOptions tls;                      // --stdb-ca-file / STDB_CA_FILE, --stdb-insecure-skip-verify
    stdb::Compression compression = stdb::Compression::None;  // --stdb-compression / STDB_COMPRESSION
    std::optional<bool> confirmed;                  // --confirmed-reads / STDB_CONFIRMED_READS; sent only when set
    std::optional<stdb::ProtocolVersion> protocol;  // --stdb-protocol; nullopt: offer v3 and v2

    // The parsed url; parsing cannot fail once the options were parsed (the
    // url was checked then), but a url set in code may throw EndpointError.
    stdb::Endpoint endpoint() const;
};

// The options beyond url, module, token and TLS that a tool offers. Only the
// tools whose connections use them have them: a flag a tool would ignore
// must not appear in its --help.
struct StdbOptionSet {
    bool compression = false;      // --stdb-compression
    bool confirmed_reads = false;  // --confirmed-reads
    bool protocol = false;         // --stdb-protocol
};

// Adds the SpacetimeDB options to `app` (the tool, or the subcommand that
// talks to SpacetimeDB), writing into `values`, which must outlive parsing.
// Defaults are the values `values` holds when this is called. A value that
// cannot be used (an unparsable URL, an unknown compression, protocol or
// confirmed-reads value) fails parsing with a CLI::ValidationError naming
// the flag.
void add_stdb_connection_options(CLI::App& app, StdbConnectionOptions& values, StdbOptionSet offered = {});

// Makes the TLS options the process-wide default (net::set_default_tls_options).
// A CA file that cannot be used is a usage error: throws CLI::ValidationError
// with TlsConfigError's message, which names --stdb-ca-file.
void install_stdb_tls(const StdbConnectionOptions& values);

// Where the coordinator is and the token its --auth-token requires.
struct CoordinatorConnectionOptions {
    std::string url = "http://127.0.0.1:8080";  // --coordinator-url
    std::string auth_token;                     // --auth-token / BENCH_DIST_TOKEN; empty: none
};

struct CoordinatorOptionSet {
    // BENCH_DIST_COORDINATOR_URL as the fallback of --coordinator-url. Only
    // bench-dist-control reads it: a generator following a variable exported
    // for the control client could join another coordinator than the one its
    // command line implies.
    bool url_from_environment = false;
};

// Adds --coordinator-url and --auth-token to `app`, writing into `values`,
// which must outlive parsing. A URL that cannot be a coordinator's
// (coordinator_url_problem) is a usage error naming the flag; one that is
// well formed but does not answer is reported when the first request fails.
void add_coordinator_connection_options(CLI::App& app, CoordinatorConnectionOptions& values,
                                        CoordinatorOptionSet offered = {});

// What is wrong with `url` as --coordinator-url, or "" when nothing is. It
// must be http:// or https://, name a host, and may add a port and a path
// prefix (a coordinator behind a reverse proxy); whitespace, control
// characters, user info, a query or a fragment are refused, since the
// tools append the route (`/admin/status`) to it.
std::string coordinator_url_problem(std::string_view url);

// Checks for the tools' own numeric and name options, so each range is
// written once and every tool words its refusal alike (a CLI11
// ValidationError naming the flag: exit 2).
//
// A number from `min` to `max`. Unlike CLI::Range it refuses NaN, which
// compares false with both bounds and so passes CLI::Range.
CLI::Validator number_from(double min, double max);
// A name of that kind (control/identifiers.hpp); for a list option
// (->delimiter(',')), each item.
CLI::Validator valid_name(control::NameKind kind);
// An epoch label (control::label_problem).
CLI::Validator valid_label();
// A shared secret (--auth-token, --stdb-token, --metrics-auth-token): the
// line ending a file gives it (`openssl rand -hex 32 > token`, read back by
// a Kubernetes Secret or $(cat)) is dropped, so both ends hold the same
// token; any other control character, or a space at either end, which an
// HTTP header cannot carry intact, is a usage error. The error never shows
// the secret. A transform: use with ->transform().
CLI::Validator secret_token();
// A number of accounts for the transfer workload: at least
// stdb::transfer::kMinAccounts (2), as a transfer needs two distinct ones.
CLI::Validator account_count();

}  // namespace benchdist::cli
