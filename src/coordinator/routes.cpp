#include "benchdist/coordinator/routes.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <memory>
#include <string_view>

#include "benchdist/control/identifiers.hpp"
#include "benchdist/coordinator/campaign_store.hpp"
#include "benchdist/metrics/exposition.hpp"
#include "benchdist/net/bearer_auth.hpp"
#include "benchdist/text/printable.hpp"
#include "coordinator/dashboard_files.hpp"
#include "coordinator/metrics_text.hpp"

namespace benchdist::coordinator {

namespace {

using control::Json;

struct Route {
    std::string_view path;     // exact; a path ending in '/' also takes every path under it
    std::string_view methods;  // "GET", "POST" or "GET, POST"
};

constexpr std::array<Route, 21> kRoutes{{
    {"/healthz", "GET"},
    {"/state", "GET"},
    {"/admin/status", "GET"},
    {"/register", "POST"},
    {"/ready", "POST"},
    {"/started", "POST"},
    {"/stopped", "POST"},
    {"/admin/start-epoch", "POST"},
    {"/admin/stop-epoch", "POST"},
    {"/admin/generators", "GET"},
    {"/admin/include", "POST"},
    {"/admin/exclude", "POST"},
    {"/progress", "POST"},
    {"/admin/live", "GET"},
    {"/admin/results", "GET"},
    {"/admin/results/", "GET"},
    {"/admin/campaigns", "GET, POST"},
    {"/admin/campaigns/", "GET"},
    {"/ui", "GET"},
    {"/ui/", "GET"},
    {"/metrics", "GET"},
}};

const Route* find_route(std::string_view path) {
    const auto exact = std::find_if(kRoutes.begin(), kRoutes.end(), [&](const Route& r) { return r.path == path; });
    if (exact != kRoutes.end()) return &*exact;
    const auto under = std::find_if(kRoutes.begin(), kRoutes.end(), [&](const Route& r) {
        return r.path.back() == '/' && path.substr(0, r.path.size()) == r.path;
    });
    return under == kRoutes.end() ? nullptr : &*under;
}

bool allows(const Route& route, std::string_view method) {
    for (std::string_view rest = route.methods; !rest.empty();) {
        const auto comma = rest.find(", ");
        if (rest.substr(0, comma) == method) return true;
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
    }
    return false;
}

std::string alternatives(std::string_view methods) {
    std::string text(methods);
    if (const auto comma = text.rfind(", "); comma != std::string::npos) text.replace(comma, 2, " or ");
    return text;
}

net::HttpResponse json_response(unsigned status, const Json& body) {
    return net::HttpResponse::json_text(status, control::pretty(body));
}

// A generator route's answer: its compact view when it asked for one,
// else the full state indented as the original's.
net::HttpResponse state_response(StateView view, const control::CoordinatorState& state) {
    return view == StateView::Self ? net::HttpResponse::json_text(200, control::compact(control::to_json(state)))
                                   : json_response(200, control::to_json(state));
}

net::HttpResponse error_response(unsigned status, const std::string& message) {
    return json_response(status, Json{{"error", message}});
}

std::uint64_t parse_query_count(const net::HttpRequest& req, std::string_view name) {
    const auto raw = req.query_param(name);
    std::uint64_t value = 0;
    const char* begin = raw->data();
    const char* end = begin + raw->size();
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (raw->empty() || ec != std::errc() || ptr != end) {
        throw control::ProtocolError("query parameter \"" + std::string(name) +
                                     "\" must be a non-negative integer, got \"" + *raw + "\"");
    }
    return value;
}

bool body_is_blank(std::string_view body) {
    return std::all_of(body.begin(), body.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// Runs a read or write of the results directory: its value, or nullopt
// once a 500 naming the failure is sent. A ProtocolError (the request's
// fault) is left to the caller's 400.
template <typename F>
auto from_disk(net::Respond& respond, F f) -> std::optional<decltype(f())> {
    try {
        return f();
    } catch (const control::ProtocolError&) {
        throw;
    } catch (const std::exception& e) {
        respond(error_response(500, e.what()));
        return std::nullopt;
    }
}

// The <epoch> of /admin/results/<epoch>: digits only.
std::uint64_t epoch_in_path(std::string_view text) {
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
        throw control::ProtocolError("/admin/results/<epoch> takes an epoch number, got " + text::quoted_excerpt(text));
    return value;
}

// ?view=self (our generators send it; the original's ignore-unknown-params
// behaviour means an old coordinator answers the full state instead) or
// ?view=full / absent. The view needs the generator's id: in ?id= on GET
// /state, in the body on the POST routes.
StateView view_of(const net::HttpRequest& req) {
    const auto v = req.query_param("view");
    if (!v || *v == "full") return StateView::Full;
    if (*v == "self") return StateView::Self;
    throw control::ProtocolError("query parameter \"view\" must be \"self\" or \"full\", got \"" + *v + "\"");
}

// ?id= of GET /state: held to the same rule as the id in a body, so a
// hostile id is refused here rather than quoted back or logged.
std::optional<std::string> query_generator_id(const net::HttpRequest& req) {
    auto id = req.query_param("id");
    if (id) {
        if (auto problem = control::name_problem(control::NameKind::GeneratorId, *id); !problem.empty())
            throw control::ProtocolError("query parameter \"id\" " + problem);
    }
    return id;
}

void handle(Coordinator& c, const net::HttpRequest& req, net::Respond& respond, bool auth_required) {
    const std::string& path = req.path;
    const std::string& method = req.method;
    const Route* known = find_route(path);
    if (!known) {
        respond(error_response(404, "Unknown route: " + method + " " + path));
        return;
    }
    if (!allows(*known, method)) {
        auto res = error_response(405, "Method " + method + " not allowed on " + path + "; use " +
                                           alternatives(known->methods));
        res.headers.emplace_back("Allow", std::string(known->methods));
        respond(std::move(res));
        return;
    }

    if (path == "/healthz") {
        // authRequired (an addition): whether the data routes need a token,
        // so the dashboard asks for one only when there is one to give.
        respond(json_response(200, Json{{"ok", true}, {"authRequired", auth_required}}));
    } else if (path == "/state" || path == "/admin/status") {
        const auto id = query_generator_id(req);
        const auto view = view_of(req);
        if (view == StateView::Self && !id) throw control::ProtocolError("view=self needs the generator's id (?id=)");
        // /state is what machine clients poll: no indentation (a quarter of
        // the bytes and of the formatting work). /admin/status is the
        // operator's, and ?pretty=1 asks for it: indented as the original's.
        const bool indent = path == "/admin/status" || req.query_param("pretty").has_value();
        if (!req.query_param("since")) {
            const auto body = control::to_json(view == StateView::Self ? c.state_view(*id) : c.state(id));
            respond(indent ? json_response(200, body) : net::HttpResponse::json_text(200, control::compact(body)));
            return;
        }
        const std::uint64_t since = parse_query_count(req, "since");
        auto wait = kMaxLongPoll;
        if (req.query_param("waitMs")) {
            const auto ms = parse_query_count(req, "waitMs");
            wait = std::chrono::milliseconds(std::min<std::uint64_t>(ms, kMaxLongPoll.count()));
        }
        // A generator's poll is contact at its start and its end only, so
        // it must end well inside the lease or the generator would look
        // silent while it waits.
        if (id) wait = std::min(wait, c.max_generator_wait());
        // The I/O thread is released here; the Coordinator answers later,
        // with text it renders once for every waiter given the same answer.
        auto respond_ptr = std::make_shared<net::Respond>(std::move(respond));
        try {
            c.watch_rendered(
                since, wait, view,
                [respond_ptr, indent](const control::CoordinatorState& s, const std::string& text) {
                    (*respond_ptr)(indent ? json_response(200, control::to_json(s))
                                          : net::HttpResponse::json_text(200, text));
                },
                id);
        } catch (const std::exception& e) {
            // Refused before anything was held (an unknown generator).
            (*respond_ptr)(error_response(400, e.what()));
        }
    } else if (path == "/register") {
        const auto r = control::register_request_from_json(control::parse_body(req.body));
        const auto view = view_of(req);
        respond(state_response(view, c.register_generator(r, view)));
    } else if (path == "/ready") {
        const auto r = control::ready_request_from_json(control::parse_body(req.body));
        const auto view = view_of(req);
        respond(state_response(view, c.ready(r, view)));
    } else if (path == "/started") {
        const auto r = control::epoch_ack_request_from_json(control::parse_body(req.body));
        const auto view = view_of(req);
        respond(state_response(view, c.started(r, view)));
    } else if (path == "/stopped") {
        const auto r = control::epoch_ack_request_from_json(control::parse_body(req.body));
        const auto view = view_of(req);
        respond(state_response(view, c.stopped(r, view)));
    } else if (path == "/admin/start-epoch") {
        // Unlike the original, a chunked body is read too; an empty one
        // means "no label, default generators".
        control::StartEpochRequest r;
        if (!body_is_blank(req.body)) r = control::start_epoch_request_from_json(control::parse_body(req.body));
        const auto response = c.start_epoch(r);
        // The original's refusals are 200 with started=false; a workload
        // mix and a load some participant cannot run are ours, conflicts
        // the operator must resolve. "error" repeats the message for
        // clients that only read it from a 4xx.
        if (!response.started &&
            (response.extra.contains("workloadDifferences") || response.extra.contains("loadRefusals"))) {
            auto body = control::to_json(response);
            body["error"] = response.message;
            respond(json_response(409, body));
        } else {
            respond(json_response(200, control::to_json(response)));
        }
    } else if (path == "/admin/stop-epoch") {
        const auto outcome = c.stop_epoch();
        Json body;
        body["stopping"] = outcome.stopping;
        body["message"] = outcome.message;
        body["state"] = control::to_json(c.state());
        respond(json_response(200, body));
    } else if (path == "/admin/generators") {
        Json list = Json::array();
        for (const auto& g : c.generators()) list.push_back(control::to_json(g));
        respond(json_response(200, Json{{"generators", list}}));
    } else if (path == "/progress") {
        const auto r = control::progress_report_from_json(control::parse_body(req.body));
        try {
            respond(json_response(200, Json{{"accepted", c.progress(r)}}));
        } catch (const ProgressRefused& e) {
            respond(error_response(409, e.what()));
        }
    } else if (path == "/admin/live") {
        const std::uint64_t since = req.query_param("since") ? parse_query_count(req, "since") : 0;
        auto wait = std::chrono::milliseconds(0);
        if (req.query_param("waitMs")) {
            const auto ms = parse_query_count(req, "waitMs");
            wait = std::chrono::milliseconds(std::min<std::uint64_t>(ms, kMaxLongPoll.count()));
        }
        auto respond_ptr = std::make_shared<net::Respond>(std::move(respond));
        c.watch_live(since, wait, [respond_ptr](const Json& body) {
            (*respond_ptr)(net::HttpResponse::json_text(200, control::compact(body)));
        });
    } else if (path == "/metrics") {
        respond(metrics::exposition_response(render_metrics(c.metrics_view())));
    } else if (path == "/admin/include" || path == "/admin/exclude") {
        const auto ids = control::generator_ids_request_from_json(control::parse_body(req.body));
        respond(json_response(200, control::to_json(c.set_included(ids, path == "/admin/include"))));
    } else if (path == "/admin/results") {
        std::uint64_t limit = kDefaultResultHistory;
        if (req.query_param("limit"))
            limit = std::min<std::uint64_t>(parse_query_count(req, "limit"), kMaxResultHistory);
        const auto results = from_disk(respond, [&] { return c.result_store().recent(limit); });
        if (!results) return;
        Json list = Json::array();
        for (const auto& result : *results) list.push_back(history_entry(result));
        respond(json_response(200, Json{{"results", list}}));
    } else if (known->path == "/admin/results/") {
        const auto epoch = epoch_in_path(std::string_view(path).substr(known->path.size()));
        const auto result = from_disk(respond, [&] { return c.result_store().find(epoch); });
        if (!result) return;
        if (*result) {
            respond(json_response(200, **result));
        } else {
            respond(error_response(404, "No result of epoch " + std::to_string(epoch) + " in " +
                                            (c.result_store().directory() / "index.jsonl").string() +
                                            " (GET /admin/results lists them)"));
        }
    } else if (path == "/admin/campaigns" && method == "POST") {
        // A body that is not a campaign throws ProtocolError (400) from
        // put(); a directory that cannot be written is the coordinator's
        // problem (500).
        const auto stored = from_disk(respond, [&] { return c.campaign_store().put(req.body); });
        if (stored) respond(json_response(200, Json{{"stored", true}, {"campaign", *stored}}));
    } else if (path == "/admin/campaigns") {
        const auto list = from_disk(respond, [&] { return c.campaign_store().list(); });
        if (list) respond(json_response(200, *list));
    } else if (known->path == "/admin/campaigns/") {
        const auto id = net::percent_decode(std::string_view(path).substr(known->path.size()));
        if (!id) throw control::ProtocolError("the campaign id in the path is not valid percent-encoding");
        const auto campaign = from_disk(respond, [&] { return c.campaign_store().get(*id); });
        if (!campaign) return;
        if (*campaign) {
            respond(json_response(200, **campaign));
        } else {
            // The id passed the campaign id rule in get(): safe to quote.
            respond(error_response(404, "No campaign \"" + *id +
                                            "\" was posted to this coordinator (GET /admin/campaigns lists them)"));
        }
    } else if (is_dashboard_path(path)) {
        respond(dashboard_response(req));
    }
}

}  // namespace

net::RequestHandler routes_handler(Coordinator& coordinator, bool auth_required) {
    return [&coordinator, auth_required](net::HttpRequest req, net::Respond respond) {
        // The long-poll path moves the Respond away and throws nothing after
        // that, so an empty Respond here means the request is answered.
        try {
            handle(coordinator, req, respond, auth_required);
        } catch (const std::exception& e) {
            if (respond) respond(error_response(400, e.what()));
        }
    };
}

net::RequestHandler make_http_handler(Coordinator& coordinator) { return routes_handler(coordinator, false); }

namespace {
constexpr const char* kAuthHint =
    "pass the coordinator's --auth-token (or BENCH_DIST_TOKEN) to bench-dist-generator and bench-dist-control, "
    "which send it as \"Authorization: Bearer <token>\"";

// The health check, and the dashboard's static files: they hold no data
// (the page asks for the token before any data call).
std::vector<std::string> open_paths() {
    auto paths = dashboard_open_paths();
    paths.insert(paths.begin(), "/healthz");
    return paths;
}
}  // namespace

net::RequestHandler make_http_handler(Coordinator& coordinator, std::string auth_token) {
    const bool required = !auth_token.empty();
    return net::require_bearer_token(std::move(auth_token), routes_handler(coordinator, required), open_paths(),
                                     kAuthHint);
}

net::HeaderScreen make_auth_screen(std::string auth_token) {
    return net::bearer_token_screen(std::move(auth_token), open_paths(), kAuthHint);
}

std::size_t body_limit_for(std::string_view target, std::size_t large_limit, std::size_t control_limit) {
    const std::string_view path = target.substr(0, target.find('?'));
    return path == "/stopped" || path == "/admin/campaigns" ? large_limit : std::min(control_limit, large_limit);
}

}  // namespace benchdist::coordinator
