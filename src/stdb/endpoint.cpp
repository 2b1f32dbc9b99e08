#include "benchdist/stdb/endpoint.hpp"

#include <boost/url.hpp>

#include <array>
#include <cstdio>

namespace benchdist::stdb {
namespace {

namespace urls = boost::urls;

constexpr std::string_view kExpected = "expected ws://HOST[:PORT], wss://, http://, https:// or HOST:PORT";
constexpr std::string_view kWhitespace = " \t\r\n\f\v";

struct SchemeInfo {
    std::string_view name;
    bool tls;
};
constexpr std::array<SchemeInfo, 4> kSchemes{{{"ws", false}, {"wss", true}, {"http", false}, {"https", true}}};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

const SchemeInfo* find_scheme(std::string_view lower_name) {
    for (const auto& s : kSchemes)
        if (s.name == lower_name) return &s;
    return nullptr;
}

// A password must not end up in a log line just because the URL was rejected.
std::string mask_password(std::string_view input) {
    std::size_t start = input.find("://");
    start = (start == std::string_view::npos) ? 0 : start + 3;
    const std::size_t end = input.find_first_of("/?#", start);
    const std::string_view authority =
        input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const std::size_t at = authority.rfind('@');
    if (at == std::string_view::npos) return std::string(input);
    const std::size_t colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos) return std::string(input);
    std::string out(input.substr(0, start + colon + 1));
    out += "***";
    out += input.substr(start + at);
    return out;
}

// Quotes text for an error message; escapes keep a bad input on one log line.
std::string quote(std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c == 0x7f) {
            std::array<char, 5> buf{};
            std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
            out += buf.data();
        } else {
            out += ch;
        }
    }
    out += '"';
    return out;
}

[[noreturn]] void fail(std::string_view input, const std::string& reason) {
    throw EndpointError("invalid --stdb-url " + quote(mask_password(input)) + ": " + reason + "; " +
                        std::string(kExpected));
}

bool is_host_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

std::uint16_t parse_port(std::string_view input, std::string_view text) {
    if (text.empty()) fail(input, "port is empty after ':'");
    unsigned long value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') fail(input, "port " + quote(text) + " is not a number");
        // Saturate instead of overflowing so a 30-digit port is still reported as out of range.
        if (value <= 65535) value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (value == 0 || value > 65535) fail(input, "port " + quote(text) + " is out of range 1-65535");
    return static_cast<std::uint16_t>(value);
}

// Fills host and host_kind from the host part of the authority (brackets included for IPv6).
void parse_host(std::string_view input, std::string_view text, bool bracketed, Endpoint& out) {
    if (bracketed) {
        const auto addr = urls::parse_ipv6_address(urls::string_view(text.data(), text.size()));
        if (!addr) fail(input, quote("[" + std::string(text) + "]") + " is not a valid IPv6 address");
        out.host = addr->to_string();  // canonical and lowercase, so equal addresses compare equal
        out.host_kind = HostKind::Ipv6;
        return;
    }
    if (text.empty()) fail(input, "host is empty");
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80)
            fail(input, "host " + quote(text) + " is not ASCII; use its punycode (xn--) form");
        if (!is_host_name_char(c))
            fail(input, "host " + quote(text) + " contains " + quote(std::string_view(&c, 1)) +
                            ", which is not allowed in a host name");
    }
    out.host = lowercase(text);
    out.host_kind =
        urls::parse_ipv4_address(urls::string_view(out.host.data(), out.host.size())) ? HostKind::Ipv4 : HostKind::Name;
}

void parse_authority(std::string_view input, std::string_view authority, Endpoint& out) {
    if (authority.find('@') != std::string_view::npos)
        fail(input, "user info (\"user@\") is not supported; SpacetimeDB takes a token, not credentials in the URL");
    if (authority.empty()) fail(input, "host is empty");

    std::string_view host_text;
    std::optional<std::string_view> port_text;
    bool bracketed = false;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) fail(input, "IPv6 address is missing its closing ']'");
        bracketed = true;
        host_text = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                fail(input, "unexpected " + quote(after) + " after the IPv6 address; expected ':PORT'");
            port_text = after.substr(1);
        }
    } else {
        const std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
            fail(input, "an IPv6 address must be in brackets, e.g. ws://[::1]:3000");
        host_text = authority.substr(0, colon);
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    parse_host(input, host_text, bracketed, out);
    out.port = port_text ? parse_port(input, *port_text) : out.default_port();
}

// Fills path_prefix from everything after the authority.
void parse_tail(std::string_view input, std::string_view tail, Endpoint& out) {
    const std::size_t special = tail.find_first_of("?#");
    if (special != std::string_view::npos) {
        const std::string_view rest = tail.substr(special);
        if (rest.front() == '?')
            fail(input, "query " + quote(rest) + " is not allowed; the base URL takes no parameters");
        fail(input, "fragment " + quote(rest) + " is not allowed");
    }
    if (!urls::parse_path(urls::string_view(tail.data(), tail.size())))
        fail(input, "path " + quote(tail) + " is not a valid URL path (percent-encode special characters)");
    // Split by hand: Boost.URL's segment view hides a leading "/." (its own
    // disambiguation marker), and that segment must be rejected like any other.
    std::size_t pos = 0;
    while (pos < tail.size()) {
        std::size_t next = tail.find('/', pos);
        if (next == std::string_view::npos) next = tail.size();
        const std::string_view seg = tail.substr(pos, next - pos);
        pos = next + 1;
        if (seg.empty()) continue;  // trailing and doubled slashes mean nothing here
        const std::string decoded = urls::make_pct_string_view(urls::string_view(seg.data(), seg.size()))->decode();
        if (decoded == "." || decoded == "..")
            fail(input, "path " + quote(tail) + " must not contain \".\" or \"..\" segments");
        if (decoded == "v1")
            fail(input, "path " + quote(tail) +
                            " contains an API route (/v1/...); pass the server's base URL, the routes are added "
                            "automatically");
        out.path_prefix += '/';
        out.path_prefix += seg;
    }
}

std::string encode_segment(std::string_view value, std::string_view what) {
    if (value.empty()) throw EndpointError("invalid " + std::string(what) + " \"\": must not be empty");
    return urls::encode(urls::string_view(value.data(), value.size()), urls::unreserved_chars);
}

HttpTarget make_target(const Endpoint& e, bool websocket, std::string_view route, std::string_view query = {}) {
    HttpTarget t;
    t.tls = e.tls;
    t.websocket = websocket;
    t.host = e.host;
    t.port = e.port;
    t.host_kind = e.host_kind;
    t.target = e.path_prefix;
    t.target += "/v1";
    t.target += route;
    if (!query.empty()) {
        t.target += '?';
        t.target += query;
    }
    t.host_header = e.authority();
    return t;
}

std::string database_route(std::string_view database) {
    return "/database/" + encode_segment(database, "database name");
}

std::string confirmed_param(bool confirmed) { return confirmed ? "confirmed=true" : "confirmed=false"; }

std::string host_for_url(const Endpoint& e) { return e.host_kind == HostKind::Ipv6 ? "[" + e.host + "]" : e.host; }

}  // namespace

std::string_view HttpTarget::scheme() const {
    if (websocket) return tls ? "wss" : "ws";
    return tls ? "https" : "http";
}

std::string HttpTarget::to_string() const {
    std::string out(scheme());
    out += "://";
    out += host_header;
    out += target;
    return out;
}

std::string Endpoint::authority() const {
    std::string out = host_for_url(*this);
    if (port != default_port()) {
        out += ':';
        out += std::to_string(port);
    }
    return out;
}

std::string Endpoint::display() const {
    return std::string(tls ? "wss" : "ws") + "://" + host_for_url(*this) + ":" + std::to_string(port) + path_prefix;
}

Endpoint parse_endpoint(std::string_view input) {
    std::string_view text = input;
    const std::size_t first = text.find_first_not_of(kWhitespace);
    if (first == std::string_view::npos) fail(input, "it is empty");
    text = text.substr(first, text.find_last_not_of(kWhitespace) - first + 1);
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) fail(input, "it contains whitespace or control characters");
    }

    Endpoint out;
    std::string_view rest;
    const std::size_t sep = text.find("://");
    const std::string_view candidate = sep == std::string_view::npos ? std::string_view{} : text.substr(0, sep);
    const bool looks_like_scheme =
        sep != std::string_view::npos &&
        candidate.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") ==
            std::string_view::npos;
    if (looks_like_scheme) {
        if (candidate.empty()) fail(input, "the scheme before \"://\" is missing");
        const SchemeInfo* scheme = find_scheme(lowercase(candidate));
        if (scheme == nullptr) fail(input, "unsupported scheme " + quote(candidate));
        out.tls = scheme->tls;
        rest = text.substr(sep + 3);
    } else {
        // Bare HOST[:PORT] means plain ws://, as in the original harness. A known
        // scheme with a mangled separator ("ws:/h", "http:h") is a typo, not a host.
        const std::size_t colon = text.find(':');
        if (colon != std::string_view::npos && find_scheme(lowercase(text.substr(0, colon))) != nullptr)
            fail(input, "scheme " + quote(text.substr(0, colon + 1)) + " must be followed by \"//\"");
        if (text.substr(0, 2) == "//") fail(input, "the scheme before \"//\" is missing");
        rest = text;
    }

    const std::size_t authority_end = rest.find_first_of("/?#");
    parse_authority(input, rest.substr(0, authority_end), out);
    if (authority_end != std::string_view::npos) parse_tail(input, rest.substr(authority_end), out);
    return out;
}

HttpTarget subscribe_target(const Endpoint& endpoint, std::string_view database, Compression compression,
                            std::optional<bool> confirmed) {
    std::string query = "compression=";
    query += compression_query_value(compression);
    if (confirmed) {
        query += '&';
        query += confirmed_param(*confirmed);
    }
    return make_target(endpoint, true, database_route(database) + "/subscribe", query);
}

HttpTarget metrics_target(const Endpoint& endpoint) { return make_target(endpoint, false, "/metrics"); }

HttpTarget ping_target(const Endpoint& endpoint) { return make_target(endpoint, false, "/ping"); }

HttpTarget identity_target(const Endpoint& endpoint) { return make_target(endpoint, false, "/identity"); }

HttpTarget database_info_target(const Endpoint& endpoint, std::string_view database) {
    return make_target(endpoint, false, database_route(database));
}

HttpTarget database_identity_target(const Endpoint& endpoint, std::string_view database) {
    return make_target(endpoint, false, database_route(database) + "/identity");
}

HttpTarget sql_target(const Endpoint& endpoint, std::string_view database, std::optional<bool> confirmed) {
    return make_target(endpoint, false, database_route(database) + "/sql",
                       confirmed ? confirmed_param(*confirmed) : std::string{});
}

HttpTarget call_target(const Endpoint& endpoint, std::string_view database, std::string_view reducer) {
    return make_target(endpoint, false, database_route(database) + "/call/" + encode_segment(reducer, "reducer name"));
}

}  // namespace benchdist::stdb
