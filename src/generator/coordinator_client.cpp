#include "benchdist/generator/coordinator_client.hpp"

#include <algorithm>
#include <chrono>

#include "benchdist/net/bearer_auth.hpp"
#include "benchdist/net/http_client.hpp"

namespace benchdist::generator {

namespace {

std::string percent_encode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

// The coordinator's {"error": "..."} text, or the raw body.
std::string error_text(const std::string& body) {
    try {
        const auto j = control::Json::parse(body);
        if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
    } catch (const std::exception&) {
    }
    return body;
}

// Asks every answer as this generator's compact view: O(1) for the
// coordinator whatever the fleet's size. A coordinator that predates it
// (the original included) routes by path alone, ignores the parameter and
// answers the full state, which coordinator_state_from_json() takes too.
constexpr const char* kSelfView = "view=self";

}  // namespace

CoordinatorClient::CoordinatorClient(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), timeout_(timeout) {
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

control::CoordinatorState CoordinatorClient::register_generator(const control::RegisterRequest& request) {
    const auto body = control::to_json(request);
    return call("POST", std::string("/register?") + kSelfView, &body);
}

control::CoordinatorState CoordinatorClient::ready(const control::ReadyRequest& request) {
    const auto body = control::to_json(request);
    return call("POST", std::string("/ready?") + kSelfView, &body);
}

control::CoordinatorState CoordinatorClient::state(std::string_view generator_id) {
    return call("GET", "/state?id=" + percent_encode(generator_id) + "&" + kSelfView, nullptr);
}

control::CoordinatorState CoordinatorClient::state(std::string_view generator_id, std::uint64_t since,
                                                   std::chrono::milliseconds wait) {
    return call("GET",
                "/state?id=" + percent_encode(generator_id) + "&" + kSelfView + "&since=" + std::to_string(since) +
                    "&waitMs=" + std::to_string(wait.count()),
                nullptr, wait);
}

control::CoordinatorState CoordinatorClient::started(const control::EpochAckRequest& request) {
    const auto body = control::to_json(request);
    return call("POST", std::string("/started?") + kSelfView, &body);
}

control::CoordinatorState CoordinatorClient::stopped(const control::EpochAckRequest& request) {
    const auto body = control::to_json(request);
    return call("POST", std::string("/stopped?") + kSelfView, &body);
}

net::ClientResponse CoordinatorClient::exchange(std::string_view method, const std::string& path,
                                                const control::Json* body, std::chrono::milliseconds extra_wait) {
    net::ClientRequest req;
    req.method = std::string(method);
    req.url = base_url_ + path;
    req.timeout = timeout_ + extra_wait;
    if (deadline_) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            throw CoordinatorError(CoordinatorError::Kind::Unreachable,
                                   req.method + " " + req.url + ": no time left before the coordinator lease ends");
        }
        req.timeout = std::min(req.timeout, left);
    }
    if (!auth_token_.empty()) req.headers.emplace_back("Authorization", net::bearer_header_value(auth_token_));
    if (body) {
        // Invalid UTF-8 (in a text quoted from a peer) is replaced rather
        // than thrown on: a throw here would lose the whole request.
        req.body = body->dump(-1, ' ', false, control::Json::error_handler_t::replace);
        req.content_type = "application/json";
    }
    net::ClientResponse res;
    const double sent_unix_ms =
        std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto sent = std::chrono::steady_clock::now();
    try {
        res = connection_.request(req);
    } catch (const net::HttpClientError& e) {
        throw CoordinatorError(CoordinatorError::Kind::Unreachable, e.what());
    }
    ControlExchange exchange;
    exchange.sent_unix_ms = sent_unix_ms;
    exchange.received_unix_ms =
        sent_unix_ms + std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count();
    last_exchange_ = exchange;
    if (res.status < 200 || res.status >= 300) {
        const std::string text = error_text(res.body);
        auto kind = res.status == 400 && text.find("Unknown generator") != std::string::npos
                        ? CoordinatorError::Kind::UnknownGenerator
                        : CoordinatorError::Kind::Rejected;
        if (res.status == 401) kind = CoordinatorError::Kind::Unauthorized;
        throw CoordinatorError(kind, req.method + " " + req.url + " failed: " + std::to_string(res.status) + " " + text,
                               res.status);
    }
    return res;
}

control::CoordinatorState CoordinatorClient::call(std::string_view method, const std::string& path,
                                                  const control::Json* body, std::chrono::milliseconds extra_wait) {
    const auto res = exchange(method, path, body, extra_wait);
    try {
        auto state = control::coordinator_state_from_json(control::Json::parse(res.body));
        if (state.server_time_ms) last_exchange_->server_time_ms = static_cast<double>(*state.server_time_ms);
        return state;
    } catch (const std::exception& e) {
        throw CoordinatorError(CoordinatorError::Kind::BadResponse,
                               std::string(method) + " " + base_url_ + path +
                                   " answered with an unexpected body: " + e.what());
    }
}

std::uint64_t CoordinatorClient::progress(const control::ProgressReport& report) {
    const auto body = control::to_json(report);
    const auto res = exchange("POST", "/progress", &body);
    try {
        return control::Json::parse(res.body).at("accepted").get<std::uint64_t>();
    } catch (const std::exception& e) {
        throw CoordinatorError(CoordinatorError::Kind::BadResponse,
                               "POST " + base_url_ + "/progress answered with an unexpected body: " + e.what());
    }
}

}  // namespace benchdist::generator
