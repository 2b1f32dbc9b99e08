// The coordinator's HTTP API: the original harness's routes and JSON (so its
// generators and scripts keep working) plus our additions -- long-polling on
// GET /state, stop-epoch, include/exclude and a generator listing. It maps
// each request onto a Coordinator call and its errors onto JSON 4xx answers;
// it is a plain net::RequestHandler so tests can call it without a socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "benchdist/coordinator/coordinator.hpp"
#include "benchdist/net/http_server.hpp"

namespace benchdist::coordinator {

// Upper bound for `GET /state?since=<v>&waitMs=<n>`; also the wait when
// waitMs is absent.
inline constexpr std::chrono::milliseconds kMaxLongPoll{30000};

// GET /admin/results: entries without ?limit=, and the most ?limit= gives.
inline constexpr std::size_t kDefaultResultHistory = 50;
inline constexpr std::size_t kMaxResultHistory = 1000;

// Routes (JSON bodies, pretty-printed like the original, except /state):
//   GET  /healthz                      {"ok": true}
//   GET  /state, /admin/status         CoordinatorState; ?id=<gen> records contact;
//                                      ?since=<version>[&waitMs=<n>] long-polls (with an
//                                      id, at most a third of the lease); every generator
//                                      request renews its lease; state has "leaseSeconds".
//                                      /state answers compact JSON (?pretty=1 indents it),
//                                      /admin/status indented. ?view=self&id=<gen>: that
//                                      generator's compact view (control::SelfView; its
//                                      "version" is the view's, which `since` then refers
//                                      to), O(1) in the fleet; unknown id -> 400
//                                      "Unknown generator". ?view=full = no view.
//   POST /register /ready /started /stopped
//                                      ?view=self answers the body's generator's compact
//                                      view instead of the full state
//   POST /admin/start-epoch            optional {"label", "generatorIds"}; refusals are
//                                      200 {"started": false, ...} as in the original,
//                                      except participants with differing workloads:
//                                      409 with "workloadDifferences" and "error"
//   POST /admin/stop-epoch             {"stopping", "message", "state"}
//   GET  /admin/generators             {"generators": [...]}
//   POST /admin/include, /admin/exclude {"generatorIds": [...]} -> CoordinatorState
//   POST /progress                     control::ProgressReport -> {"accepted": n}; 409 for
//                                      the wrong epoch or a non-participant
//   GET  /admin/live                   the live view (LiveSeries::to_json); ?since=<version>
//                                      &waitMs=<n> long-polls (no waitMs: answers at once)
//   GET  /admin/results[?limit=N]      {"results": [history_entry...]}, newest first, from the
//                                      results directory's index.jsonl (default 50, at most 1000)
//   GET  /admin/results/<epoch>        that epoch's result (the newest of that number);
//                                      404 when there is none
//   POST /admin/campaigns              a campaign file (bench-dist-control posts it after
//                                      every epoch): checked by the campaign parser, stored as
//                                      campaign-<id>.json in the results directory ->
//                                      {"stored": true, "campaign": <list entry>}; 400 when it
//                                      is not a campaign or its id breaks the rule
//   GET  /admin/campaigns              {"campaigns": [...]}: id, kind, status, points, updatedAt, ...
//   GET  /admin/campaigns/<id>         the stored file; 400 for an id that breaks the rule, 404
//                                      when none was posted
//   GET  /ui, /ui/<file>               the dashboard (dashboard_files.hpp): served without
//                                      the token; its data calls carry it
//   GET  /metrics                      Prometheus text format (metrics_text.hpp); behind the
//                                      token like every admin route
// Unknown path -> 404 "Unknown route: <METHOD> <path>"; known path with the
// wrong method -> 405; a refused or malformed request -> 400 {"error": ...},
// including an id (in a body or ?id=), host name or label that breaks its
// rule (control/identifiers.hpp); a results directory that cannot be read
// or written -> 500.
// The Coordinator must outlive the handler.
net::RequestHandler make_http_handler(Coordinator& coordinator);
// The same routes behind a bearer token (--auth-token): every route except
// /healthz and the dashboard's static files answers 401 {"error": ...} with `WWW-Authenticate: Bearer` unless
// the request carries `Authorization: Bearer <auth_token>`. An empty token
// means no check, as above.
net::RequestHandler make_http_handler(Coordinator& coordinator, std::string auth_token);
// The same token check for HttpServerOptions::screen_headers, so a request
// without the token is refused before its body is read (the handler above
// checks again: the screen is an early exit, not the only guard).
net::HeaderScreen make_auth_screen(std::string auth_token);

// The body limit of a request to `target` (HttpServerOptions::body_limit_for):
// `large_limit` (--max-body-bytes) for the two routes that carry large
// bodies -- /stopped (a report with a histogram per second) and POST
// /admin/campaigns (every epoch of a campaign) -- and the smaller of the two
// limits for every other route, so anything else that big is refused
// before its body is read.
std::size_t body_limit_for(std::string_view target, std::size_t large_limit, std::size_t control_limit);

}  // namespace benchdist::coordinator
