// The coordinator as bench-dist-control sees it: one HTTP request at a time
// to its admin and state routes, retried as generators retry, with the
// coordinator's refusals turned into a Failure that names the fix. Shared by
// every command.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "benchdist/control/protocol.hpp"

namespace benchdist::control_tool {

// A request that did not succeed: the message names the coordinator, the
// status and what to do.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Coordinator {
    std::string url;
    std::string auth_token;  // sent as a bearer token when set; never printed
    // How long one request is retried at most (see request), and a moment
    // past which none is (a command's --timeout).
    std::chrono::milliseconds retry_for = std::chrono::seconds(30);
    std::optional<std::chrono::steady_clock::time_point> give_up_at;
    // Retrying stops once this many Ctrl-Cs arrived: 1 for one epoch; a
    // campaign keeps waiting for its current epoch after the first.
    int interrupts_to_stop_retrying = 1;

    struct Answer {
        unsigned status = 0;
        control::Json body;
    };

    // One request; throws Failure when the coordinator cannot be reached or
    // answers something that is not JSON, whatever the status.
    //
    // Retried as generators retry: a 5xx answer (503: every connection slot
    // is taken, or a proxy in front has no coordinator) and, for a GET
    // (idempotent), a connection closed with no answer (the coordinator
    // closes connections it has not read a request from yet when newer ones
    // need their room) are tried again after a capped, jittered exponential
    // backoff (generator::Backoff, 250 ms doubling to 5 s), for up to
    // retry_for and never past give_up_at; then the last failure is thrown,
    // naming the coordinator and the status. A 4xx is final, and so is a
    // coordinator nothing listens for (retrying only delays that error).
    Answer request(const std::string& method, const std::string& path, const std::string& body,
                   std::chrono::milliseconds timeout) const;

    // conflict_is_answer: a 409 carries a regular answer (start-epoch's
    // refusal of a mixed workload), not a failure of the request.
    control::Json call(const std::string& method, const std::string& path, const std::string& body = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10),
                       bool conflict_is_answer = false) const;

    // The answer's body, or a Failure naming the status and the
    // coordinator's error (and the fix, for a 401).
    control::Json checked(const std::string& method, const std::string& path, Answer answer,
                          bool conflict_is_answer = false) const;

    // POST /admin/stop-epoch: the coordinator's message, or nullopt when it
    // has no such route. The original harness's coordinator has none: it
    // answers 404 {"error": "Unknown route: POST /admin/stop-epoch"}, and
    // its epochs always run to their end.
    std::optional<std::string> stop_epoch() const;

    // Why stop_epoch found no route, for stderr.
    std::string no_stop_route() const;

    control::CoordinatorState state() const;

    // Long-polls for a change after `version`. A coordinator without
    // long-polls (the original harness's) ignores since/waitMs and answers
    // at once with the same state (and no version): then the rest of the
    // wait, at most `pace`, is slept here, so watching it polls every
    // `pace` (--poll-ms, as the original control did) instead of back to
    // back -- thousands of requests a second otherwise.
    control::CoordinatorState wait_change(std::uint64_t version, std::chrono::milliseconds wait,
                                          std::chrono::milliseconds pace = std::chrono::seconds(1)) const;

private:
    Answer parse_answer(const std::string& method, const std::string& path, unsigned status,
                        const std::string& body) const;
};

}  // namespace benchdist::control_tool
