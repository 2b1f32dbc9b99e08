// The coordinator's web dashboard (GET /ui): its static files, embedded at
// build time from src/webassets/ui/ (and Chart.js from chart_js()), so the
// coordinator serves the page with no file to install beside it and no
// network at run time. The files hold no data: the page asks the
// coordinator's admin routes for everything, with the bearer token the
// user types in. How they are served (headers, the token) is the
// coordinator's (src/coordinator/dashboard_files.cpp).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace benchdist::webassets {

struct StaticFile {
    std::string_view name;          // "index.html", "app.js", "style.css", "chart.min.js"
    std::string_view content_type;  // with its charset
    std::string_view body;
};

// Every file of the dashboard, index.html first.
const std::vector<StaticFile>& dashboard_files();
// The file called `name`, or nullopt.
std::optional<StaticFile> dashboard_file(std::string_view name);

}  // namespace benchdist::webassets
