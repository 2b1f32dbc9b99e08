#include "coordinator/dashboard_files.hpp"

#include <cstdint>
#include <cstdio>
#include <map>

#include "benchdist/webassets/dashboard.hpp"

namespace benchdist::coordinator {

namespace {

constexpr std::string_view kRoot = "/ui";

// A strong ETag from the file's bytes (FNV-1a, 64 bits): the files change
// only with the binary, so the hash is computed once per file.
std::string etag_of(std::string_view body) {
    std::uint64_t h = 14695981039346656037ull;
    for (const unsigned char c : body) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char text[24];
    std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(h));
    return text;
}

const std::string& etag_for(const webassets::StaticFile& file) {
    static const std::map<std::string_view, std::string> tags = [] {
        std::map<std::string_view, std::string> m;
        for (const auto& f : webassets::dashboard_files()) m.emplace(f.name, etag_of(f.body));
        return m;
    }();
    return tags.at(file.name);
}

void add_security_headers(net::HttpResponse& res) {
    res.headers.emplace_back("Content-Security-Policy", std::string(kDashboardCsp));
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    res.headers.emplace_back("X-Frame-Options", "DENY");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
}

bool if_none_match_holds(const net::HttpRequest& request, const std::string& etag) {
    const auto header = request.header("If-None-Match");
    if (!header) return false;
    // A list of tags, or "*"; weak comparison is fine for a GET.
    const std::string_view v = *header;
    return v.find(etag) != std::string_view::npos || v == "*";
}

}  // namespace

bool is_dashboard_path(std::string_view path) { return path == kRoot || path.substr(0, kRoot.size() + 1) == "/ui/"; }

std::vector<std::string> dashboard_open_paths() {
    std::vector<std::string> paths{std::string(kRoot), std::string(kRoot) + "/"};
    for (const auto& f : webassets::dashboard_files()) paths.push_back(std::string(kRoot) + "/" + std::string(f.name));
    return paths;
}

net::HttpResponse dashboard_response(const net::HttpRequest& request) {
    if (request.path == kRoot) {
        auto res = net::HttpResponse::text(301, "The dashboard is at /ui/\n");
        res.headers.emplace_back("Location", "ui/");
        add_security_headers(res);
        return res;
    }
    std::string_view name = std::string_view(request.path).substr(kRoot.size() + 1);
    if (name.empty()) name = "index.html";
    const auto file = webassets::dashboard_file(name);
    if (!file) {
        auto res = net::HttpResponse::text(404, "No such file of the dashboard: its files are /ui/ (index.html), " +
                                                    std::string("app.js, style.css and chart.min.js\n"));
        add_security_headers(res);
        return res;
    }
    const auto& etag = etag_for(*file);
    net::HttpResponse res;
    res.content_type = std::string(file->content_type);
    if (if_none_match_holds(request, etag)) {
        res.status = 304;
    } else {
        res.status = 200;
        res.body = std::string(file->body);
    }
    res.headers.emplace_back("Cache-Control", "no-cache");
    res.headers.emplace_back("ETag", etag);
    add_security_headers(res);
    return res;
}

}  // namespace benchdist::coordinator
