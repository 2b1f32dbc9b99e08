#include "benchdist/net/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <optional>

namespace benchdist::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<std::string_view> ClientResponse::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequals_ascii(k, name)) return std::string_view(v);
    }
    return std::nullopt;
}

bool parse_http_url(std::string_view url, ParsedHttpUrl& out, std::string& error) {
    constexpr std::string_view http_scheme = "http://";
    if (url.size() >= 8 && iequals_ascii(url.substr(0, 8), "https://")) {
        error = "https is not supported by this build yet; use http://";
        return false;
    }
    if (url.size() < http_scheme.size() || !iequals_ascii(url.substr(0, http_scheme.size()), http_scheme)) {
        error = "expected a URL of the form http://HOST[:PORT][/PATH]";
        return false;
    }
    std::string_view rest = url.substr(http_scheme.size());
    const auto slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (!out.target.empty() && out.target[0] == '?') out.target = "/" + out.target;
    if (authority.empty()) {
        error = "the URL has no host";
        return false;
    }
    std::string_view host = authority;
    std::string_view port = "80";
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            error = "unterminated IPv6 address";
            return false;
        }
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                error = "unexpected text after the IPv6 address";
                return false;
            }
            port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos || std::stoul(std::string(port)) > 65535 ||
        std::stoul(std::string(port)) == 0) {
        error = "invalid host or port";
        return false;
    }
    out.host = std::string(host);
    out.port = std::string(port);
    return true;
}

ClientResponse http_request(const ClientRequest& request) {
    const std::string what = request.method + " " + request.url;
    ParsedHttpUrl url;
    std::string url_error;
    if (!parse_http_url(request.url, url, url_error)) {
        throw HttpClientError(HttpClientError::Kind::BadUrl, what + ": " + url_error);
    }

    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    tcp::resolver resolver(ioc);
    beast::flat_buffer buffer;
    http::request<http::string_body> req{http::string_to_verb(request.method), url.target, 11};
    req.set(http::field::host, url.host + ":" + url.port);
    req.set(http::field::user_agent, "bench-dist");
    for (const auto& [k, v] : request.headers) req.set(k, v);
    if (!request.content_type.empty()) req.set(http::field::content_type, request.content_type);
    req.body() = request.body;
    req.keep_alive(false);
    req.prepare_payload();

    http::response_parser<http::string_body> parser;
    parser.body_limit(request.max_response_bytes);
    beast::error_code result;
    const char* stage = "resolve";
    const auto deadline = request.timeout;

    // One chain of async steps under a single deadline; a blocking Beast call
    // would ignore the stream's timeout.
    resolver.async_resolve(url.host, url.port, [&](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) {
            result = ec;
            return;
        }
        stage = "connect";
        stream.expires_after(deadline);
        stream.async_connect(results, [&](beast::error_code ec2, const tcp::endpoint&) {
            if (ec2) {
                result = ec2;
                return;
            }
            stage = "send";
            http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
                if (ec3) {
                    result = ec3;
                    return;
                }
                stage = "read the response";
                http::async_read(stream, buffer, parser, [&](beast::error_code ec4, std::size_t) { result = ec4; });
            });
        });
    });
    // The resolver has no deadline of its own; bound the whole run.
    ioc.run_for(deadline + std::chrono::milliseconds(100));
    if (!ioc.stopped()) {
        throw HttpClientError(HttpClientError::Kind::Timeout,
                              what + ": no answer within " + std::to_string(deadline.count()) + " ms (" + stage + ")");
    }
    if (result == beast::error::timeout) {
        throw HttpClientError(HttpClientError::Kind::Timeout,
                              what + ": no answer within " + std::to_string(deadline.count()) + " ms (" + stage + ")");
    }
    if (result) {
        const bool unreachable = std::string_view(stage) == "resolve" || std::string_view(stage) == "connect";
        throw HttpClientError(unreachable ? HttpClientError::Kind::Unreachable : HttpClientError::Kind::Protocol,
                              what + ": " + result.message() + " (" + stage + ")");
    }
    auto res = parser.release();
    ClientResponse out;
    out.status = res.result_int();
    out.body = std::move(res.body());
    for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return out;
}

}  // namespace benchdist::net
