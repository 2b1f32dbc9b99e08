// The project's one HTTP client helper: a blocking HTTP/1.1 request with a
// deadline that covers resolve, connect, write and read, so a dead peer costs
// at most the timeout. Used for control-plane calls (generator and control
// to coordinator) and for SpacetimeDB's HTTP API (metrics, identity, call).
// http_request() opens one connection per request: most of these calls are
// rare, and a fresh connection cannot be poisoned by a previous failure.
// HttpConnection keeps one open across requests for a client that calls
// the same server several times a second (a generator's control calls), so
// that its calls do not each wait in the server's accept queue. https://
// runs over TLS with the certificate checked (see tls_context.hpp).
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "benchdist/net/http_message.hpp"
#include "benchdist/net/tls_context.hpp"

namespace benchdist::net {

struct ClientRequest {
    std::string method = "GET";
    std::string url;  // http://host[:port]/path[?query]
    std::string body;
    std::string content_type;  // sent when non-empty
    HeaderList headers;
    std::chrono::milliseconds timeout{10000};
    std::size_t max_response_bytes = 64u << 20;
    // Trust settings for an https:// URL; null: default_tls_client_context().
    std::shared_ptr<const TlsClientContext> tls;
};

struct ClientResponse {
    unsigned status = 0;
    std::string body;
    HeaderList headers;
    // Case-insensitive header lookup.
    std::optional<std::string_view> header(std::string_view name) const;
};

class HttpClientError : public std::runtime_error {
public:
    // Tls: the TLS handshake failed (certificate rejected, or no TLS there).
    enum class Kind { BadUrl, Unreachable, Timeout, Protocol, Tls };
    HttpClientError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    Kind kind() const noexcept { return kind_; }

private:
    Kind kind_;
};

// Sends the request and returns whatever status the server answered. Throws
// HttpClientError for everything that is not an HTTP answer; the message
// names the method, URL and cause, e.g.
// "POST http://10.0.0.5:8080/ready: connection refused". A rejected
// certificate gives Kind::Tls and a message naming the host and --stdb-ca-file.
ClientResponse http_request(const ClientRequest& request);

// Requests to one server over one kept-alive connection: opened on the
// first request, kept while the server answers keep-alive, opened afresh
// after any failure or for a request to another origin. A kept connection
// the server closed while it was idle (keep-alive timeout, restart) is
// found stale when a request fails before a byte of its answer came back;
// that request is sent once more on a new connection, within the same
// timeout, so the caller sees no difference. The requests sent this way
// must therefore be safe to repeat (the control calls are). Errors as
// http_request. Not thread-safe: one caller at a time.
class HttpConnection {
public:
    HttpConnection();
    ~HttpConnection();
    HttpConnection(HttpConnection&&) noexcept;
    HttpConnection& operator=(HttpConnection&&) noexcept;

    ClientResponse request(const ClientRequest& request);
    // A connection is kept for the next request.
    bool is_open() const noexcept;

private:
    friend ClientResponse http_request(const ClientRequest& request);
    ClientResponse send(const ClientRequest& request, bool keep_alive);

    struct Channel;
    std::unique_ptr<Channel> channel_;
};

// Splits "http[s]://host:port/path?q" into parts; false if not an http(s) URL.
struct ParsedHttpUrl {
    bool tls = false;  // https:// (default port 443)
    std::string host;
    std::string port;
    std::string target;  // path + query, "/" when empty
};
bool parse_http_url(std::string_view url, ParsedHttpUrl& out, std::string& error);

}  // namespace benchdist::net
