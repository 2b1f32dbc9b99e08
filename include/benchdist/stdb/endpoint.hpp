// Endpoint: where a SpacetimeDB server lives, parsed once from the user's
// --stdb-url (or STDB_URL) and turned into the exact request targets of the
// routes the suite uses (WebSocket subscribe, metrics, ping, sql, call, ...).
// It accepts every spelling the original TypeScript harness accepted
// (ws://, wss://, http://, https://, bare HOST[:PORT], trailing slashes,
// surrounding whitespace, a path prefix for servers behind a reverse proxy),
// but unlike that harness it keeps TLS: wss:// and https:// stay encrypted for
// both the WebSocket and the HTTP routes. Everything a Beast client needs is
// precomputed as plain strings, so no URL library leaks into callers.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "benchdist/stdb/compression.hpp"

namespace benchdist::stdb {

// Thrown for a --stdb-url that cannot be used, and for route arguments (an
// empty database or reducer name) that would produce a wrong URL. The message
// quotes the offending input and says what form is expected.
class EndpointError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// TLS clients must not send an IP literal as SNI (RFC 6066 section 3), so the
// kind of host travels with it.
enum class HostKind : std::uint8_t { Name, Ipv4, Ipv6 };

// One request: what to connect to (host, port, tls), what to put in the
// request line (target) and in the Host header. For a WebSocket route the
// same fields feed the upgrade request.
struct HttpTarget {
    bool tls = false;
    bool websocket = false;  // ws/wss rather than http/https in to_string()
    std::string host;        // for the resolver: IPv6 without brackets
    std::uint16_t port = 0;
    HostKind host_kind = HostKind::Name;
    std::string target;       // origin-form: percent-encoded path, then "?query" if any
    std::string host_header;  // host[:port], IPv6 bracketed, default port omitted

    // "ws", "wss", "http" or "https".
    std::string_view scheme() const;
    // Whether a TLS client should send SNI (only for host names, never IP literals).
    bool sends_sni() const { return tls && host_kind == HostKind::Name; }
    // The full URL, e.g. "ws://127.0.0.1:3000/v1/database/test-1/subscribe?compression=None".
    std::string to_string() const;

    bool operator==(const HttpTarget&) const = default;
};

struct Endpoint {
    bool tls = false;
    // Lowercase. A host name, a dotted IPv4 address, or a canonical IPv6
    // address without brackets (e.g. "::1").
    std::string host;
    std::uint16_t port = 80;
    HostKind host_kind = HostKind::Name;
    // Empty, or percent-encoded segments starting with '/' and never ending
    // with '/' (e.g. "/stdb"); every route is mounted below it.
    std::string path_prefix;

    // 443 with TLS, 80 without: what a URL may leave out.
    std::uint16_t default_port() const { return tls ? 443 : 80; }
    // host[:port] as it appears in a URL and in the Host header: IPv6 in
    // brackets, port omitted when it is the default one.
    std::string authority() const;
    // For logs and startup lines: "ws://127.0.0.1:3000", "wss://db.example.com:443/stdb".
    // The port is always shown so an operator sees where connections go;
    // parse_endpoint(display()) gives back the same Endpoint.
    std::string display() const;

    bool operator==(const Endpoint&) const = default;
};

// Parses what a user passed as --stdb-url. Accepted forms:
//   ws://HOST[:PORT][/PREFIX]   plain;  default port 80
//   http://HOST[:PORT][/PREFIX] same as ws:// (one server serves both)
//   wss://... and https://...   TLS;    default port 443
//   HOST[:PORT][/PREFIX]        bare, means ws://
// HOST is a name, dotted IPv4, or an IPv6 literal in brackets ([::1]:3000).
// Scheme and host are case-insensitive and stored lowercase. Surrounding
// whitespace is trimmed (as the original harness did); trailing and repeated
// slashes are ignored, so ws://h/p and ws://h/p/ both mount routes at /p/v1/...
// Rejected with EndpointError: empty input or host, other schemes, a scheme
// without "//", whitespace or control characters inside, user info
// ("user:pass@host" -- SpacetimeDB authenticates with a token, and silently
// dropping credentials would hide a mistake; the password is masked in the
// message), query or fragment, port empty / not a number / 0 / above 65535,
// "." or ".." path segments, and a path containing a "v1" segment (that is an
// API route pasted in place of the server's base URL).
Endpoint parse_endpoint(std::string_view input);

// WebSocket upgrade target:
//   {prefix}/v1/database/{database}/subscribe?compression=<None|Gzip|Brotli>[&confirmed=true|false]
// compression is always sent because the server's default when it is absent is
// Brotli; confirmed only when given (the server's default differs per protocol).
HttpTarget subscribe_target(const Endpoint& endpoint, std::string_view database, Compression compression,
                            std::optional<bool> confirmed = std::nullopt);

// HTTP targets (http/https). {database} is a name or hex identity and
// {reducer} a reducer name; both are percent-encoded as one path segment and
// must not be empty.
HttpTarget metrics_target(const Endpoint& endpoint);                                   // GET  /v1/metrics
HttpTarget ping_target(const Endpoint& endpoint);                                      // GET  /v1/ping
HttpTarget identity_target(const Endpoint& endpoint);                                  // POST /v1/identity
HttpTarget database_info_target(const Endpoint& endpoint, std::string_view database);  // GET  /v1/database/{db}
HttpTarget database_identity_target(const Endpoint& endpoint,
                                    std::string_view database);  // GET  .../{db}/identity
HttpTarget sql_target(const Endpoint& endpoint, std::string_view database,
                      std::optional<bool> confirmed = std::nullopt);  // POST .../{db}/sql[?confirmed=]
HttpTarget call_target(const Endpoint& endpoint, std::string_view database,
                       std::string_view reducer);  // POST .../{db}/call/{reducer}

}  // namespace benchdist::stdb
