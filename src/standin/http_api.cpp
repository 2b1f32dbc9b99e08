#include "http_api.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "auth_token.hpp"
#include "benchdist/standin/sql_subset.hpp"
#include "server_context.hpp"

namespace benchdist::standin {

namespace {

using net::HttpRequest;
using net::HttpResponse;
using net::Respond;

constexpr std::string_view kVersion = "2.0.0-standin";

// Splits "/v1/database/x/call/y" into {"v1","database","x","call","y"},
// percent-decoding each segment; nullopt on a malformed escape.
std::optional<std::vector<std::string>> segments_of(std::string_view path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        const auto end = path.find('/', i);
        auto seg =
            net::percent_decode(path.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
        if (!seg) return std::nullopt;
        out.push_back(std::move(*seg));
        if (end == std::string_view::npos) break;
        i = end;
    }
    return out;
}

HttpResponse json_response(unsigned status, const nlohmann::json& body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = body.dump();
    return r;
}

HttpResponse method_not_allowed(const HttpRequest& req) {
    return HttpResponse::text(405, "method " + req.method + " is not allowed on " + req.path);
}

nlohmann::json identity_object(const std::string& hex) {
    // SATS serde writes a u256 as 0x-hex without leading zeros.
    std::size_t first = hex.find_first_not_of('0');
    const std::string trimmed = first == std::string::npos ? "0" : hex.substr(first);
    return {{"__identity__", "0x" + trimmed}};
}

void database_route(ServerContext& ctx, const HttpRequest& req, const std::vector<std::string>& seg, Respond respond) {
    // seg = v1 database {name} [rest...]
    auto auth = authenticate(ctx, req.header("authorization"), req.query_param("token"));
    if (auth.error_status != 0) return respond(HttpResponse::text(auth.error_status, auth.error));
    // Every /v1/database route tells the caller who it is (minted if anonymous).
    auto with_identity = [identity = auth.identity.to_hex_be(), token = auth.token](HttpResponse r) {
        r.headers.emplace_back("spacetime-identity", identity);
        r.headers.emplace_back("spacetime-identity-token", token);
        return r;
    };
    auto reply = [respond, with_identity](HttpResponse r) { respond(with_identity(std::move(r))); };

    DatabaseHost* host = ctx.find(seg[2]);
    if (host == nullptr) return reply(HttpResponse::text(404, "`" + seg[2] + "` not found"));

    if (seg.size() == 3) {
        if (req.method != "GET") return reply(method_not_allowed(req));
        return reply(json_response(200, {{"database_identity", identity_object(host->identity_hex())},
                                         {"owner_identity", identity_object(host->identity_hex())},
                                         {"host_type", {{"Js", nlohmann::json::array()}}},
                                         {"initial_program", "0x0"}}));
    }
    const std::string& action = seg[3];
    if (action == "identity" && seg.size() == 4) {
        if (req.method != "GET") return reply(method_not_allowed(req));
        return reply(HttpResponse::text(200, host->identity_hex()));
    }
    if (action == "subscribe" && seg.size() == 4) {
        return reply(HttpResponse::text(426,
                                        "this route is a WebSocket endpoint: send a GET with Connection: Upgrade "
                                        "and Upgrade: websocket"));
    }
    if (action == "sql" && seg.size() == 4) {
        if (req.method != "POST") return reply(method_not_allowed(req));
        host->post([host, sql = req.body, reply] {
            auto r = run_sql_http(host->db(), sql);
            HttpResponse out;
            out.status = static_cast<unsigned>(r.status);
            out.content_type = r.content_type;
            out.body = std::move(r.body);
            out.headers.emplace_back("spacetime-execution-duration-micros", std::to_string(r.duration_micros));
            reply(std::move(out));
        });
        return;
    }
    if (action == "call" && seg.size() == 5) {
        if (req.method != "POST") return reply(method_not_allowed(req));
        const auto ct = req.header("content-type");
        if (!ct) return reply(HttpResponse::text(400, "Header of type `content-type` was missing"));
        if (*ct != "application/json") {
            return reply(HttpResponse::text(415, "Content-Type must be application/json, got " + std::string(*ct)));
        }
        host->post([host, reducer = seg[4], body = req.body, reply] {
            const auto outcome = host->db().call_reducer_json_text(reducer, body);
            HttpResponse out;
            switch (outcome.status) {
                case CallStatus::Committed:
                    out.status = 200;
                    break;
                case CallStatus::UserError:
                case CallStatus::Failed:
                    out.status = 530;
                    out.body = std::string(outcome.error_text());
                    break;
                case CallStatus::NoSuchReducer:
                    out.status = 404;
                    out.body = "No such procedure";
                    break;
                case CallStatus::InvalidArguments:
                    out.status = 400;
                    out.body = std::string(outcome.error_text());
                    break;
            }
            if (outcome.status == CallStatus::Committed || out.status == 530) {
                out.headers.emplace_back("spacetime-energy-used", "0");
                out.headers.emplace_back("spacetime-execution-duration-micros",
                                         std::to_string(outcome.duration_micros()));
            }
            reply(std::move(out));
        });
        return;
    }
    return reply(HttpResponse::text(404, "no route " + req.method + " " + req.path));
}

// A delay query parameter: absent -> nullopt; decimal digits up to
// kMaxDebugDelayUs -> the value; anything else -> a 400 text naming it.
struct DelayParam {
    std::optional<std::uint64_t> value;
    std::string error;
};

DelayParam delay_param(const HttpRequest& req, const char* name) {
    DelayParam out;
    const auto text = req.query_param(name);
    if (!text) return out;
    std::uint64_t v = 0;
    bool ok = !text->empty() && text->size() <= 9;  // 9 digits cannot overflow and cover the limit
    for (const char c : *text) ok = ok && c >= '0' && c <= '9';
    if (ok) {
        for (const char c : *text) v = v * 10 + static_cast<std::uint64_t>(c - '0');
        ok = v <= kMaxDebugDelayUs;
    }
    if (!ok) {
        out.error = std::string(name) + " must be a whole number of microseconds from 0 to " +
                    std::to_string(kMaxDebugDelayUs) + ", got \"" + *text + "\"";
        return out;
    }
    out.value = v;
    return out;
}

// POST /v1/debug/delays?replyUs=N&reducerUs=M: changes the simulated delays
// of a running server, so a test can slow it down in the middle of a window.
void delays_route(ServerContext& ctx, const HttpRequest& req, Respond respond) {
    if (req.method != "POST") return respond(method_not_allowed(req));
    const auto reply = delay_param(req, "replyUs");
    if (!reply.error.empty()) return respond(HttpResponse::text(400, reply.error));
    const auto reducer = delay_param(req, "reducerUs");
    if (!reducer.error.empty()) return respond(HttpResponse::text(400, reducer.error));

    // A fixed delay ends a running schedule (delay-schedule below).
    ctx.delay_schedule->replace(reply.value);
    const std::uint64_t reply_now = ctx.reply_delay_us.load();
    if (!reducer.value) {
        ctx.hosts.front()->post([host = ctx.hosts.front().get(), reply_now, respond] {
            respond(json_response(200, {{"replyDelayUs", reply_now},
                                        {"reducerDelayUs", host->db().reducer_delay().count()}}));
        });
        return;
    }
    // The Database is touched only on its own thread, so the new delay is set
    // there, between two reducers; the answer waits until every database has
    // it, so a caller that got 200 knows the next transfer runs at the new cost.
    const auto delay = std::chrono::microseconds(*reducer.value);
    auto remaining = std::make_shared<std::atomic<std::size_t>>(ctx.hosts.size());
    for (auto& h : ctx.hosts) {
        h->post([host = h.get(), delay, remaining, reply_now, respond] {
            host->db().set_reducer_delay(delay);
            if (remaining->fetch_sub(1) != 1) return;
            respond(json_response(200, {{"replyDelayUs", reply_now}, {"reducerDelayUs", delay.count()}}));
        });
    }
}

// POST /v1/debug/delay-schedule?replyUs=8000,4000,0&stepMs=1000: the reply
// delay takes each value in turn, the first now and each next one stepMs
// later, replacing a running schedule; POST /v1/debug/delays ends it.
void delay_schedule_route(ServerContext& ctx, const HttpRequest& req, Respond respond) {
    if (req.method != "POST") return respond(method_not_allowed(req));
    const auto reply = req.query_param("replyUs");
    const auto step = req.query_param("stepMs");
    const auto parsed = parse_delay_schedule(reply ? std::optional<std::string_view>(*reply) : std::nullopt,
                                             step ? std::optional<std::string_view>(*step) : std::nullopt);
    if (!parsed.schedule) return respond(HttpResponse::text(400, parsed.error));
    ctx.delay_schedule->start(*parsed.schedule);
    respond(json_response(200, {{"replyDelayUs", parsed.schedule->reply_us.front()},
                                {"scheduleUs", parsed.schedule->reply_us},
                                {"stepMs", parsed.schedule->step.count()}}));
}

void corrupt_route(ServerContext& ctx, const HttpRequest& req, const std::vector<std::string>& seg, Respond respond) {
    // POST /v1/debug/database/{name}/corrupt?id=N&delta=D
    if (req.method != "POST") return respond(method_not_allowed(req));
    DatabaseHost* host = ctx.find(seg[3]);
    if (host == nullptr) return respond(HttpResponse::text(404, "`" + seg[3] + "` not found"));
    // Whole-value parses with range checks: stoul would read "1abc" as 1
    // and wrap 4294967297 to account 1, corrupting an account nobody named.
    std::uint32_t id = 0;
    std::int64_t delta = 1;
    if (auto v = req.query_param("id")) {
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), id);
        if (v->empty() || ec != std::errc() || end != v->data() + v->size()) {
            return respond(HttpResponse::text(400, "id must be an account id (0 to 4294967295), got `" + *v + "`"));
        }
    }
    if (auto v = req.query_param("delta")) {
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), delta);
        if (v->empty() || ec != std::errc() || end != v->data() + v->size()) {
            return respond(HttpResponse::text(400, "delta must be a 64-bit signed integer, got `" + *v + "`"));
        }
    }
    host->post([host, id, delta, respond] {
        if (!host->db().corrupt_balance(id, delta)) {
            return respond(HttpResponse::text(404, "account " + std::to_string(id) + " does not exist"));
        }
        respond(json_response(200, {{"corrupted", true}, {"id", id}, {"delta", delta}}));
    });
}

void debug_route(ServerContext& ctx, const HttpRequest& req, const std::vector<std::string>& seg, Respond respond) {
    if (!ctx.options.debug_routes) {
        return respond(HttpResponse::text(404, "debug routes are disabled; start stdb-standin with --debug-routes"));
    }
    if (seg.size() == 3 && seg[2] == "delays") return delays_route(ctx, req, std::move(respond));
    if (seg.size() == 3 && seg[2] == "delay-schedule") return delay_schedule_route(ctx, req, std::move(respond));
    if (seg.size() == 5 && seg[2] == "database" && seg[4] == "corrupt") {
        return corrupt_route(ctx, req, seg, std::move(respond));
    }
    return respond(HttpResponse::text(404,
                                      "unknown debug route; use POST /v1/debug/database/{name}/corrupt?id=N&delta=D "
                                      "or POST /v1/debug/delays?replyUs=N&reducerUs=M "
                                      "or POST /v1/debug/delay-schedule?replyUs=N,N,...&stepMs=M"));
}

}  // namespace

void handle_http(ServerContext& ctx, HttpRequest req, Respond respond) {
    const auto seg_opt = segments_of(req.path);
    if (!seg_opt) return respond(HttpResponse::text(400, "malformed percent-escape in path " + req.path));
    const auto& seg = *seg_opt;
    if (seg.empty() || seg[0] != "v1") {
        return respond(
            HttpResponse::text(404, "no route " + req.method + " " + req.path + "; the API lives under /v1"));
    }
    if (seg.size() == 2 && seg[1] == "ping") {
        return respond(req.method == "GET" ? HttpResponse::text(200, "") : method_not_allowed(req));
    }
    if (seg.size() == 2 && seg[1] == "health") {
        if (req.method != "GET") return respond(method_not_allowed(req));
        return respond(json_response(200, {{"package_name", "spacetimedb-client-api"},
                                           {"version", kVersion},
                                           {"nodes", {1}},
                                           {"schedulable", true}}));
    }
    if (seg.size() == 2 && seg[1] == "metrics") {
        if (req.method != "GET") return respond(method_not_allowed(req));
        return respond(HttpResponse::text(200, ctx.metrics.render()));
    }
    if (seg.size() == 2 && seg[1] == "identity") {
        if (req.method != "POST") return respond(method_not_allowed(req));
        const auto id = ctx.mint_identity();
        return respond(json_response(200, {{"identity", id.to_hex_be()}, {"token", mint_token(id)}}));
    }
    if (seg.size() == 3 && seg[1] == "identity" && seg[2] == "websocket-token") {
        if (req.method != "POST") return respond(method_not_allowed(req));
        if (!req.header("authorization")) return respond(HttpResponse::text(401, "Authorization required"));
        auto auth = authenticate(ctx, req.header("authorization"), std::nullopt);
        if (auth.error_status != 0) return respond(HttpResponse::text(auth.error_status, auth.error));
        return respond(json_response(200, {{"token", auth.token}}));
    }
    if (seg.size() >= 3 && seg[1] == "database") return database_route(ctx, req, seg, std::move(respond));
    if (seg.size() >= 2 && seg[1] == "debug") return debug_route(ctx, req, seg, std::move(respond));
    return respond(HttpResponse::text(404, "no route " + req.method + " " + req.path));
}

}  // namespace benchdist::standin
