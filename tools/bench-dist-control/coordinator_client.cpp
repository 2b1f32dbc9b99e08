#include "coordinator_client.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>

#include "benchdist/generator/agent.hpp"
#include "benchdist/net/bearer_auth.hpp"
#include "benchdist/net/http_client.hpp"
#include "interrupts.hpp"

namespace benchdist::control_tool {

namespace bc = benchdist::control;
namespace bn = benchdist::net;
using namespace std::chrono_literals;

Coordinator::Answer Coordinator::request(const std::string& method, const std::string& path, const std::string& body,
                                         std::chrono::milliseconds timeout) const {
    using Clock = std::chrono::steady_clock;
    const auto first = Clock::now();
    auto stop_at = first + retry_for;
    if (give_up_at) stop_at = std::min(stop_at, *give_up_at);
    benchdist::generator::Backoff backoff(250ms, 5s);
    std::minstd_rand jitter(std::random_device{}());
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto retried = [&](int attempts) {
        char spent[32];
        std::snprintf(spent, sizeof spent, "%.1f", std::chrono::duration<double>(Clock::now() - first).count());
        return " (still failing after " + std::to_string(attempts) + " attempts in " + spent +
               " s of retrying with backoff; giving up)";
    };
    // Sleeps before the next attempt, the last one at the end of the time
    // allowed; false when that has passed (or Ctrl-C was pressed).
    const auto wait_to_retry = [&] {
        const auto now = Clock::now();
        if (interrupt_count() >= interrupts_to_stop_retrying || now >= stop_at) return false;
        const auto until = std::min<Clock::time_point>(now + backoff.next(unit(jitter)), stop_at);
        while (Clock::now() < until && interrupt_count() < interrupts_to_stop_retrying)
            std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), 100ms));
        return interrupt_count() < interrupts_to_stop_retrying;
    };
    for (int attempt = 1;; ++attempt) {
        bn::ClientResponse res;
        bn::HeaderList headers;
        if (!auth_token.empty()) headers.emplace_back("Authorization", bn::bearer_header_value(auth_token));
        try {
            res = bn::http_request({.method = method,
                                    .url = url + path,
                                    .body = body,
                                    .content_type = body.empty() ? "" : "application/json",
                                    .headers = headers,
                                    .timeout = timeout});
        } catch (const bn::HttpClientError& e) {
            const bool closed_unanswered = e.kind() == bn::HttpClientError::Kind::Protocol && method == "GET";
            if (closed_unanswered && wait_to_retry()) continue;
            throw Failure(std::string("cannot reach coordinator at ") + url + ": " + e.what() +
                          " -- is bench-dist-coordinator running and bound to a reachable address (--bind)?" +
                          (attempt > 1 ? retried(attempt) : std::string()));
        }
        if (res.status >= 500) {
            if (wait_to_retry()) continue;
            if (attempt > 1) {
                std::string said = res.body.substr(0, 200);
                try {
                    const auto j = bc::Json::parse(res.body);
                    said = j.is_object() && j.contains("error") ? j["error"].dump() : j.dump();
                } catch (const std::exception&) {
                }
                throw Failure(method + " " + url + path + " failed: " + std::to_string(res.status) + " " + said +
                              retried(attempt));
            }
        }
        return parse_answer(method, path, res.status, res.body);
    }
}

Coordinator::Answer Coordinator::parse_answer(const std::string& method, const std::string& path, unsigned status,
                                              const std::string& body) const {
    bc::Json j;
    try {
        j = bc::Json::parse(body);
    } catch (const std::exception&) {
        throw Failure(method + " " + url + path + " answered " + std::to_string(status) +
                      " with a body that is not JSON: " + body.substr(0, 200));
    }
    return {status, std::move(j)};
}

bc::Json Coordinator::call(const std::string& method, const std::string& path, const std::string& body,
                           std::chrono::milliseconds timeout, bool conflict_is_answer) const {
    return checked(method, path, request(method, path, body, timeout), conflict_is_answer);
}

bc::Json Coordinator::checked(const std::string& method, const std::string& path, Answer answer,
                              bool conflict_is_answer) const {
    auto& [status, j] = answer;
    if (status >= 400 && !(conflict_is_answer && status == 409)) {
        const std::string msg = j.is_object() && j.contains("error") ? j["error"].dump() : j.dump();
        std::string fix;
        if (status == 401) {
            fix = std::string(
                      " -- give bench-dist-control the coordinator's token with --auth-token or "
                      "BENCH_DIST_TOKEN (") +
                  (auth_token.empty() ? "none was given" : "the one given differs") + ")";
        }
        throw Failure(method + " " + url + path + " failed: " + std::to_string(status) + " " + msg + fix);
    }
    return j;
}

std::optional<std::string> Coordinator::stop_epoch() const {
    const std::string path = "/admin/stop-epoch";
    auto answer = request("POST", path, "{}", 10s);
    const auto& j = answer.body;
    if (answer.status == 404 && j.is_object() && j.contains("error") && j["error"].is_string() &&
        j["error"].get<std::string>() == "Unknown route: POST " + path) {
        return std::nullopt;
    }
    const auto done = checked("POST", path, std::move(answer));
    return done.contains("message") && done["message"].is_string() ? done["message"].get<std::string>() : done.dump();
}

std::string Coordinator::no_stop_route() const {
    return "the coordinator at " + url +
           " has no stop route (POST /admin/stop-epoch answered 404 Unknown route): it is the original "
           "harness's coordinator, which cannot end an epoch early. A running epoch runs to its end: its "
           "window, then the wait for the generators' stop acknowledgements (its --stop-ack-timeout-seconds).";
}

bc::CoordinatorState Coordinator::state() const {
    return bc::coordinator_state_from_json(call("GET", "/admin/status"));
}

bc::CoordinatorState Coordinator::wait_change(std::uint64_t version, std::chrono::milliseconds wait,
                                              std::chrono::milliseconds pace) const {
    const auto asked = std::chrono::steady_clock::now();
    auto state = bc::coordinator_state_from_json(
        call("GET", "/state?since=" + std::to_string(version) + "&waitMs=" + std::to_string(wait.count()), {},
             wait + 10s));
    if (state.version == version) {
        const auto rest = std::min(wait, pace) - (std::chrono::steady_clock::now() - asked);
        if (rest > 0s) std::this_thread::sleep_for(rest);
    }
    return state;
}

}  // namespace benchdist::control_tool
