#include "benchdist/stdbhttp/server_api.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "benchdist/net/bearer_auth.hpp"
#include "benchdist/net/http_client.hpp"
#include "benchdist/stdb/prometheus.hpp"

namespace benchdist::stdbhttp {

// The codec and the endpoint forms this client is written in.
using namespace benchdist::stdb;

namespace {

std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Error bodies can be whole HTML pages behind a proxy; an operator needs the
// first line or so, not kilobytes.
std::string excerpt(std::string_view body) {
    constexpr std::size_t kMax = 300;
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.remove_suffix(1);
    if (body.empty()) return "(empty body)";
    if (body.size() <= kMax) return std::string(body);
    return std::string(body.substr(0, kMax)) + "...";
}

std::string status_line(const net::ClientResponse& res) { return std::to_string(res.status) + " " + excerpt(res.body); }

// The one place that talks to the server: turns transport failures into
// ServerApiError with a hint, so every caller's message names the URL, and a
// refused caller (401/403) into one that names --stdb-token.
net::ClientResponse send(const HttpTarget& target, const std::string& method, std::string body,
                         std::chrono::milliseconds timeout, const std::string& token) {
    const std::string url = target.to_string();
    net::ClientRequest req;
    req.method = method;
    req.url = url;
    req.timeout = timeout;
    if (!token.empty()) req.headers.emplace_back("Authorization", net::bearer_header_value(token));
    if (method == "POST") {
        req.content_type = "application/json";
        req.body = std::move(body);
    }
    net::ClientResponse res;
    try {
        res = net::http_request(req);
    } catch (const net::HttpClientError& e) {
        std::string hint;
        switch (e.kind()) {
            case net::HttpClientError::Kind::Unreachable:
                hint = " -- is the SpacetimeDB server running and is --stdb-url (STDB_URL) right?";
                break;
            case net::HttpClientError::Kind::Timeout:
                hint = " -- the server did not answer in time; is it overloaded or is --stdb-url pointing elsewhere?";
                break;
            // The TLS message already names the host and the fix.
            case net::HttpClientError::Kind::Tls:
                break;
            default:
                break;
        }
        throw ServerApiError(std::string(e.what()) + hint);
    }
    if (res.status == 401 || res.status == 403) {
        throw ServerApiError(method + " " + url + " was refused: " + status_line(res) +
                             (token.empty() ? " -- the server wants a token: pass --stdb-token (or STDB_TOKEN)"
                                            : " -- the token given with --stdb-token (STDB_TOKEN) is not accepted "
                                              "by this server"));
    }
    return res;
}

bool is_hex_digit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string fetch_database_identity(const Endpoint& server, const std::string& database,
                                    std::chrono::milliseconds timeout, const std::string& token) {
    const HttpTarget target = database_identity_target(server, database);
    const auto res = send(target, "GET", {}, timeout, token);
    if (res.status == 404) {
        throw ServerApiError("database `" + database + "` not found on " + target.to_string() + " (" +
                             status_line(res) +
                             ") -- check the database name (--stdb-module) and that it is published");
    }
    if (res.status != 200) {
        throw ServerApiError("GET " + target.to_string() + " failed: " + status_line(res));
    }
    std::string_view text = res.body;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
    if (text.empty() || text.size() > 64 || !std::all_of(text.begin(), text.end(), is_hex_digit)) {
        throw ServerApiError("GET " + target.to_string() +
                             " answered 200 but not a database identity (64 hex digits): " + excerpt(res.body));
    }
    // The metrics db label is 64 lowercase digits; normalise so they compare.
    std::string hex(64 - text.size(), '0');
    for (char c : text) hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return hex;
}

CounterRead read_committed_transfers(const Endpoint& server, const std::string& database_identity_hex,
                                     std::chrono::milliseconds timeout, const std::string& token) {
    const HttpTarget target = metrics_target(server);
    CounterRead out;
    out.sent_at_ms = unix_now_ms();
    const auto res = send(target, "GET", {}, timeout, token);
    out.received_at_ms = unix_now_ms();
    if (res.status < 200 || res.status >= 300) {
        throw ServerApiError("metrics GET " + target.to_string() + " failed: " + status_line(res));
    }
    const Scrape scrape = parse_prometheus_text(res.body);
    const CounterResult found = find_counter(scrape, committed_transfers_query(database_identity_hex));
    switch (found.status) {
        case CounterStatus::Ok:
            if (!found.reading.exact) {
                throw ServerApiError("metrics at " + target.to_string() +
                                     ": the committed transfer counter is not an exact integer");
            }
            out.committed = *found.reading.exact;
            return out;
        case CounterStatus::NameAbsent:
        case CounterStatus::NoMatchingSeries:
            // A database that has committed no transfer yet has no series.
            out.series_absent = true;
            out.committed = 0;
            return out;
        case CounterStatus::MalformedSeries:
        case CounterStatus::Ambiguous:
        case CounterStatus::BadValue:
            break;
    }
    throw ServerApiError("metrics at " + target.to_string() + ": cannot read the committed transfer counter (" +
                         std::string(counter_status_name(found.status)) + "): " + found.message);
}

void call_reducer_json(const Endpoint& server, const std::string& database, const std::string& reducer,
                       const std::string& json_args, std::chrono::milliseconds timeout, const std::string& token) {
    const HttpTarget target = call_target(server, database, reducer);
    const auto res = send(target, "POST", json_args, timeout, token);
    if (res.status >= 200 && res.status < 300) return;
    std::string hint;
    switch (res.status) {
        case 530:
            hint = " (the reducer ran and returned an error; the transaction was rolled back)";
            break;
        case 404:
            hint = " -- is the database name right and does the module have reducer `" + reducer + "`?";
            break;
        case 400:
            hint = " -- do the arguments " + excerpt(json_args) + " match the reducer's parameters?";
            break;
        default:
            break;
    }
    throw ServerApiError("calling reducer `" + reducer + "` on database `" + database + "` (POST " +
                         target.to_string() + ") failed: " + status_line(res) + hint);
}

}  // namespace benchdist::stdbhttp
