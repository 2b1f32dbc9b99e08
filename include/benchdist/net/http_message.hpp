// Plain HTTP request/response values passed between our one HTTP server
// helper and the route handlers of the coordinator and stdb-standin. They
// carry no Boost types so handlers and their tests stay cheap to compile.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace benchdist::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method;  // "GET", "POST", ...
    std::string target;  // path plus query, as sent
    std::string path;    // percent-decoding is left to the route
    std::string query;   // without the '?'
    HeaderList headers;
    std::string body;
    std::string remote;  // peer address "ip:port", for logs

    // Case-insensitive header lookup (first match).
    std::optional<std::string_view> header(std::string_view name) const;
    // Raw value of the first query parameter with this name, percent-decoded
    // ('+' is not a space: SpacetimeDB does not treat it as one either).
    std::optional<std::string> query_param(std::string_view name) const;
};

struct HttpResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    HeaderList headers;

    static HttpResponse text(unsigned status, std::string body);
    // body must already be serialized JSON; a trailing newline is added so
    // curl output stays readable.
    static HttpResponse json_text(unsigned status, std::string json);
};

// ASCII case-insensitive equality (header names, URL schemes).
bool iequals_ascii(std::string_view a, std::string_view b);

// Percent-decodes a URL component; returns nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace benchdist::net
