#include "benchdist/net/bearer_auth.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace benchdist::net {

namespace {

constexpr std::string_view kScheme = "Bearer";

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view reason(BearerCheck why) {
    switch (why) {
        case BearerCheck::Missing:
            return "missing bearer token (no Authorization header)";
        case BearerCheck::NotBearer:
            return "missing bearer token (the Authorization header is not \"Bearer <token>\")";
        case BearerCheck::Wrong:
            return "wrong bearer token";
        case BearerCheck::Ok:
            break;
    }
    return "authorized";
}

}  // namespace

bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
    // Every byte of the longer input is visited and differences are OR-ed
    // together, so no early exit tells a caller where a guess went wrong.
    // volatile keeps the compiler from turning the loop back into one.
    const std::size_t n = std::max(a.size(), b.size());
    volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}

BearerCheck check_bearer(const HttpRequest& request, std::string_view expected) {
    const auto value = request.header("Authorization");
    if (!value) return BearerCheck::Missing;
    const std::string_view v = trim(*value);
    if (v.size() <= kScheme.size() || !iequals_ascii(v.substr(0, kScheme.size()), kScheme) ||
        !is_space(v[kScheme.size()])) {
        return BearerCheck::NotBearer;
    }
    const std::string_view presented = trim(v.substr(kScheme.size()));
    if (presented.empty()) return BearerCheck::NotBearer;
    return constant_time_equals(presented, expected) ? BearerCheck::Ok : BearerCheck::Wrong;
}

std::string bearer_header_value(std::string_view token) { return std::string(kScheme) + " " + std::string(token); }

HttpResponse unauthorized_response(BearerCheck why, std::string_view hint) {
    std::string message(reason(why));
    if (!hint.empty()) message += ": " + std::string(hint);
    auto res = HttpResponse::json_text(401, nlohmann::json{{"error", message}}.dump(2));
    res.headers.emplace_back("WWW-Authenticate", std::string(kScheme));
    return res;
}

HeaderScreen bearer_token_screen(std::string token, std::vector<std::string> open_paths, std::string hint) {
    if (token.empty()) return {};
    return [token = std::move(token), open_paths = std::move(open_paths),
            hint = std::move(hint)](const HttpRequest& head) -> ScreenVerdict {
        const auto check = check_bearer(head, token);
        if (check == BearerCheck::Ok) return ScreenVerdict::admit();
        // An open path proves nothing about the caller: served, but its
        // connection is not admitted (it closes after the answer).
        if (std::find(open_paths.begin(), open_paths.end(), head.path) != open_paths.end())
            return ScreenVerdict::serve_once();
        return ScreenVerdict::refuse(unauthorized_response(check, hint));
    };
}

RequestHandler require_bearer_token(std::string token, RequestHandler inner, std::vector<std::string> open_paths,
                                    std::string hint) {
    auto screen = bearer_token_screen(std::move(token), std::move(open_paths), std::move(hint));
    if (!screen) return inner;
    return [screen = std::move(screen), inner = std::move(inner)](HttpRequest req, Respond respond) {
        if (auto verdict = screen(req); verdict.refusal) {
            respond(std::move(*verdict.refusal));
            return;
        }
        inner(std::move(req), std::move(respond));
    };
}

}  // namespace benchdist::net
