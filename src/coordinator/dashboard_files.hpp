// GET /ui: the dashboard's static files (webassets/dashboard.hpp) as HTTP
// answers. They hold no data, so they are served without the bearer token
// (the page asks for it and sends it on every data call); they are locked
// to this origin by their headers: a Content-Security-Policy that allows
// scripts, styles, images and requests from 'self' only (no inline script,
// no other origin: the page could not leak the token elsewhere even if a
// hostile string got into its markup), nosniff, no framing, no referrer.
// Cache-Control no-cache with an ETag: a browser revalidates each load, so
// a rebuilt coordinator's page is never mixed with an old cached script.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "benchdist/net/http_message.hpp"

namespace benchdist::coordinator {

inline constexpr std::string_view kDashboardCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// "/ui" or under "/ui/".
bool is_dashboard_path(std::string_view path);
// The exact paths served without the token: /ui/ and /ui/<file> for each
// file (/ui itself only redirects to /ui/).
std::vector<std::string> dashboard_open_paths();
// The answer to a GET of a dashboard path: /ui -> 301 to "ui/" (relative,
// so a proxy's path prefix survives and the page's relative links work),
// /ui/ -> index.html, /ui/<file>, 304 when If-None-Match holds its ETag,
// 404 for anything else.
net::HttpResponse dashboard_response(const net::HttpRequest& request);

}  // namespace benchdist::coordinator
