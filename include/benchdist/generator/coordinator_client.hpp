// The generator's side of the control plane: the five coordinator routes it
// calls (/register, /ready, /state, /started, /stopped), each one blocking
// HTTP request with a deadline, answered with the coordinator's state.
// Failures carry what kind they are, because the generator reacts
// differently to each: an unreachable coordinator (retry, then stop the
// load and exit), "Unknown generator" (the coordinator restarted:
// re-register), and any other refusal. /state can be long-polled: the
// coordinator holds the request until its state version moves past `since`
// or the wait ends, so phase changes arrive at once without fast polling.
// Every answered request also records its timing and the coordinator's
// clock (when it sends one), for the generator's clock-offset estimate.
// Every request asks for the generator's compact view (?view=self, see
// control::SelfView): answers then carry `self` and no fleet-wide lists.
// A coordinator without the view answers the full state; both parse, and
// generator::decide() reads either.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "benchdist/control/protocol.hpp"
#include "benchdist/net/http_client.hpp"

namespace benchdist::generator {

class CoordinatorError : public std::runtime_error {
public:
    enum class Kind {
        Unreachable,       // connection refused, timeout, bad URL: no HTTP answer
        UnknownGenerator,  // 400 {"error": "Unknown generator \"<id>\""}
        Unauthorized,      // 401: no or the wrong --auth-token; retrying cannot help
        Rejected,          // any other non-2xx answer
        BadResponse,       // 2xx whose body is not a CoordinatorState
    };
    CoordinatorError(Kind kind, const std::string& message, unsigned status = 0)
        : std::runtime_error(message), kind_(kind), status_(status) {}
    Kind kind() const noexcept { return kind_; }
    unsigned status() const noexcept { return status_; }

private:
    Kind kind_;
    unsigned status_;
};

// One answered control request, for ClockOffsetEstimator.
struct ControlExchange {
    double sent_unix_ms = 0;               // system clock just before connecting
    double received_unix_ms = 0;           // sent_unix_ms + the steady-clock duration (immune to clock steps)
    std::optional<double> server_time_ms;  // the state's "serverTimeMs", if the coordinator sent it
};

// What the generator agent needs of the coordinator: the five routes, the
// lease deadline, and the timing of the last answer. CoordinatorClient is the
// HTTP implementation; the agent's unit tests use a fake.
class ControlClient {
public:
    virtual ~ControlClient() = default;
    virtual control::CoordinatorState register_generator(const control::RegisterRequest& request) = 0;
    virtual control::CoordinatorState ready(const control::ReadyRequest& request) = 0;
    virtual control::CoordinatorState state(std::string_view generator_id) = 0;
    // A long-poll: answered when the version differs from `since`, or after `wait`.
    virtual control::CoordinatorState state(std::string_view generator_id, std::uint64_t since,
                                            std::chrono::milliseconds wait) = 0;
    virtual control::CoordinatorState started(const control::EpochAckRequest& request) = 0;
    virtual control::CoordinatorState stopped(const control::EpochAckRequest& request) = 0;
    // POST /progress (an addition): the load's intervals since the last
    // report, for the coordinator's live view; returns how many it took.
    // Throws CoordinatorError like the others (404 from a coordinator
    // without the route, 409 for an epoch it is not running).
    virtual std::uint64_t progress(const control::ProgressReport& report) = 0;
    virtual const std::string& base_url() const = 0;
    // Every request from now on ends by `deadline` at the latest; nullopt: no deadline.
    virtual void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) = 0;
    // The last request that got an answer; nullopt before.
    virtual const std::optional<ControlExchange>& last_exchange() const = 0;
};

class CoordinatorClient final : public ControlClient {
public:
    // base_url: http://host:port (a trailing slash is ignored).
    explicit CoordinatorClient(std::string base_url,
                               std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

    control::CoordinatorState register_generator(const control::RegisterRequest& request) override;
    control::CoordinatorState ready(const control::ReadyRequest& request) override;
    control::CoordinatorState state(std::string_view generator_id) override;  // GET /state?id=<id>&view=self
    // GET /state?id=<id>&since=<since>&waitMs=<wait>: answered when the
    // version differs from since or after wait (the HTTP deadline is the
    // client timeout plus wait). A coordinator without long-polling answers
    // at once, like a plain poll.
    control::CoordinatorState state(std::string_view generator_id, std::uint64_t since,
                                    std::chrono::milliseconds wait) override;
    control::CoordinatorState started(const control::EpochAckRequest& request) override;
    control::CoordinatorState stopped(const control::EpochAckRequest& request) override;
    std::uint64_t progress(const control::ProgressReport& report) override;

    const std::string& base_url() const override { return base_url_; }
    // Every request from now on ends by `deadline` at the latest (its
    // timeout is cut to what is left; one already past fails at once as
    // Unreachable): the generator's lease, so a hanging request -- a
    // long-poll to a frozen coordinator -- cannot keep load running past
    // it. nullopt: the plain timeout.
    void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) override { deadline_ = deadline; }
    // Sent as `Authorization: Bearer <token>` on every request from now on
    // (the coordinator's --auth-token); empty sends none. Never logged.
    void set_auth_token(std::string token) { auth_token_ = std::move(token); }
    // The last request that got an HTTP answer (any status); nullopt before.
    const std::optional<ControlExchange>& last_exchange() const override { return last_exchange_; }

private:
    // One request under the timeout and deadline; throws CoordinatorError
    // for no answer or a non-2xx one.
    net::ClientResponse exchange(std::string_view method, const std::string& path, const control::Json* body,
                                 std::chrono::milliseconds extra_wait = std::chrono::milliseconds(0));
    control::CoordinatorState call(std::string_view method, const std::string& path, const control::Json* body,
                                   std::chrono::milliseconds extra_wait = std::chrono::milliseconds(0));

    std::string base_url_;
    std::chrono::milliseconds timeout_;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    std::string auth_token_;
    std::optional<ControlExchange> last_exchange_;
    // One kept-alive connection for every call: a call does not wait in
    // the coordinator's accept queue (behind a flood of idle connections,
    // say) once the first has got through, and costs no handshake.
    net::HttpConnection connection_;
};

}  // namespace benchdist::generator
