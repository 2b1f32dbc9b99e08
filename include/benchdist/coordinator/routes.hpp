// The coordinator's HTTP API: the original harness's routes and JSON (so its
// generators and scripts keep working) plus our additions -- long-polling on
// GET /state, stop-epoch, include/exclude and a generator listing. It maps
// each request onto a Coordinator call and its errors onto JSON 4xx answers;
// it is a plain net::RequestHandler so tests can call it without a socket.
#pragma once

#include <chrono>
#include <string>

#include "benchdist/coordinator/coordinator.hpp"
#include "benchdist/net/http_server.hpp"

namespace benchdist::coordinator {

// Upper bound for `GET /state?since=<v>&waitMs=<n>`; also the wait when
// waitMs is absent.
inline constexpr std::chrono::milliseconds kMaxLongPoll{30000};

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
//   GET  /metrics                      Prometheus text format (metrics_text.hpp); behind the
//                                      token like every admin route
// Unknown path -> 404 "Unknown route: <METHOD> <path>"; known path with the
// wrong method -> 405; a refused or malformed request -> 400 {"error": ...},
// including an id (in a body or ?id=), host name or label that breaks its
// rule (control/identifiers.hpp).
// The Coordinator must outlive the handler.
net::RequestHandler make_http_handler(Coordinator& coordinator);
// The same routes behind a bearer token (--auth-token): every route except
// /healthz answers 401 {"error": ...} with `WWW-Authenticate: Bearer` unless
// the request carries `Authorization: Bearer <auth_token>`. An empty token
// means no check, as above.
net::RequestHandler make_http_handler(Coordinator& coordinator, std::string auth_token);
// The same token check for HttpServerOptions::screen_headers, so a request
// without the token is refused before its body is read (the handler above
// checks again: the screen is an early exit, not the only guard).
net::HeaderScreen make_auth_screen(std::string auth_token);

}  // namespace benchdist::coordinator
