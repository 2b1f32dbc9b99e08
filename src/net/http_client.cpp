#include "benchdist/net/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <optional>
#include <type_traits>

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
    constexpr std::string_view https_scheme = "https://";
    std::string_view rest;
    if (url.size() >= https_scheme.size() && iequals_ascii(url.substr(0, https_scheme.size()), https_scheme)) {
        out.tls = true;
        rest = url.substr(https_scheme.size());
    } else if (url.size() >= http_scheme.size() && iequals_ascii(url.substr(0, http_scheme.size()), http_scheme)) {
        out.tls = false;
        rest = url.substr(http_scheme.size());
    } else {
        error = "expected a URL of the form http[s]://HOST[:PORT][/PATH]";
        return false;
    }
    const auto slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (!out.target.empty() && out.target[0] == '?') out.target = "/" + out.target;
    if (authority.empty()) {
        error = "the URL has no host";
        return false;
    }
    std::string_view host = authority;
    std::string_view port = out.tls ? "443" : "80";
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

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Where the chain of asynchronous steps got to and how it ended; the stage
// names the step that failed in the message.
struct Outcome {
    beast::error_code result;
    const char* stage = "resolve";
    bool tls_failed = false;
};

// One chain of async steps under a single deadline (a blocking Beast call
// would ignore the stream's timeout). The TLS handshake is the only step
// plain and TLS streams do not share; a kept connection starts at the send.
// Everything the handlers touch lives in HttpConnection::send's frame or
// in the Channel, both of which outlive the io_context run.
template <typename Stream>
struct Exchange {
    Stream& stream;
    tcp::resolver& resolver;
    const ParsedHttpUrl& url;
    http::request<http::string_body>& req;
    beast::flat_buffer& buffer;
    http::response_parser<http::string_body>& parser;
    std::chrono::milliseconds deadline;
    Outcome& out;

    void start(bool connected) {
        if (connected) {
            beast::get_lowest_layer(stream).expires_after(deadline);
            send();
            return;
        }
        resolver.async_resolve(url.host, url.port, [this](beast::error_code ec, tcp::resolver::results_type r) {
            if (ec) {
                out.result = ec;
                return;
            }
            out.stage = "connect";
            beast::get_lowest_layer(stream).expires_after(deadline);
            beast::get_lowest_layer(stream).async_connect(r, [this](beast::error_code ec2, const tcp::endpoint&) {
                on_connect(ec2);
            });
        });
    }

    void on_connect(beast::error_code ec) {
        if (ec) {
            out.result = ec;
            return;
        }
        if constexpr (std::is_same_v<Stream, TlsStream>) {
            out.stage = "TLS handshake";
            stream.async_handshake(asio::ssl::stream_base::client, [this](beast::error_code ec2) {
                if (ec2) {
                    out.result = ec2;
                    out.tls_failed = true;
                    return;
                }
                send();
            });
        } else {
            send();
        }
    }

    void send() {
        out.stage = "send";
        http::async_write(stream, req, [this](beast::error_code ec, std::size_t) {
            if (ec) {
                out.result = ec;
                return;
            }
            out.stage = "read the response";
            http::async_read(stream, buffer, parser, [this](beast::error_code ec2, std::size_t) { out.result = ec2; });
        });
    }
};

}  // namespace

// One TCP (or TLS) connection to one origin and the io_context it runs on.
// A request that fails in any way drops the whole Channel, pending handlers
// included (destroying the io_context discards them uncalled), so a kept
// Channel never holds work that points into a finished request's frame.
struct HttpConnection::Channel {
    asio::io_context ioc;
    std::optional<beast::tcp_stream> plain;
    std::optional<TlsStream> secure;
    tcp::resolver resolver{ioc};
    beast::flat_buffer buffer;
    std::string origin;  // scheme, host and port it is connected to
    std::shared_ptr<const TlsClientContext> tls;
    bool connected = false;  // a response came back on it and the server keeps it open
};

namespace {

std::string origin_of(const ParsedHttpUrl& url) {
    return std::string(url.tls ? "https://" : "http://") + url.host + ":" + url.port;
}

// A kept connection that failed before a byte of the answer came back was
// closed by the server while idle (its keep-alive timeout, a restart): the
// request never reached it, so it is sent again on a new connection. A
// timeout is not that: the server may be working on it.
bool failed_as_stale(const Outcome& x, bool got_some) {
    if (!x.result || x.result == beast::error::timeout || x.tls_failed) return false;
    const std::string_view stage = x.stage;
    return stage == "send" || (stage == "read the response" && !got_some);
}

}  // namespace

HttpConnection::HttpConnection() = default;
HttpConnection::~HttpConnection() = default;
HttpConnection::HttpConnection(HttpConnection&&) noexcept = default;
HttpConnection& HttpConnection::operator=(HttpConnection&&) noexcept = default;

bool HttpConnection::is_open() const noexcept { return channel_ && channel_->connected; }

ClientResponse HttpConnection::request(const ClientRequest& request) { return send(request, true); }

ClientResponse HttpConnection::send(const ClientRequest& request, bool keep_alive) {
    const std::string what = request.method + " " + request.url;
    ParsedHttpUrl url;
    std::string url_error;
    if (!parse_http_url(request.url, url, url_error)) {
        throw HttpClientError(HttpClientError::Kind::BadUrl, what + ": " + url_error);
    }
    const auto tls = url.tls ? (request.tls ? request.tls : default_tls_client_context()) : nullptr;
    const std::string origin = origin_of(url);
    if (channel_ && (!channel_->connected || channel_->origin != origin || channel_->tls != tls)) channel_.reset();

    http::request<http::string_body> req{http::string_to_verb(request.method), url.target, 11};
    const std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    req.set(http::field::host, host + ":" + url.port);
    req.set(http::field::user_agent, "bench-dist");
    for (const auto& [k, v] : request.headers) req.set(k, v);
    if (!request.content_type.empty()) req.set(http::field::content_type, request.content_type);
    req.body() = request.body;
    req.keep_alive(keep_alive);
    req.prepare_payload();

    const auto give_up_at = std::chrono::steady_clock::now() + request.timeout;
    for (int attempt = 0;; ++attempt) {
        const bool reused = channel_ != nullptr;
        if (!reused) {
            channel_ = std::make_unique<Channel>();
            channel_->origin = origin;
            channel_->tls = tls;
            if (tls) {
                channel_->secure.emplace(channel_->ioc, tls->native());
                const std::string why = prepare_tls_session(channel_->secure->native_handle(), url.host);
                if (!why.empty()) {
                    channel_.reset();
                    throw HttpClientError(HttpClientError::Kind::BadUrl, what + ": " + why);
                }
            } else {
                channel_->plain.emplace(channel_->ioc);
            }
        }
        Channel& ch = *channel_;
        // The retry of a stale kept connection gets what is left of the
        // request's one deadline, not a second one.
        const auto left = std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                     give_up_at - std::chrono::steady_clock::now()));
        http::response_parser<http::string_body> parser;
        parser.body_limit(request.max_response_bytes);
        Outcome x;
        std::optional<Exchange<TlsStream>> secure_exchange;
        std::optional<Exchange<beast::tcp_stream>> plain_exchange;
        if (ch.secure) {
            secure_exchange.emplace(Exchange<TlsStream>{*ch.secure, ch.resolver, url, req, ch.buffer, parser, left, x});
            secure_exchange->start(reused);
        } else {
            plain_exchange.emplace(
                Exchange<beast::tcp_stream>{*ch.plain, ch.resolver, url, req, ch.buffer, parser, left, x});
            plain_exchange->start(reused);
        }
        ch.ioc.restart();
        // The resolver has no deadline of its own; bound the whole run.
        ch.ioc.run_for(left + std::chrono::milliseconds(100));
        if (!ch.ioc.stopped() || x.result == beast::error::timeout) {
            channel_.reset();
            throw HttpClientError(HttpClientError::Kind::Timeout, what + ": no answer within " +
                                                                      std::to_string(request.timeout.count()) +
                                                                      " ms (" + x.stage + ")");
        }
        if (x.result) {
            const bool retry = reused && attempt == 0 && failed_as_stale(x, parser.got_some());
            std::string tls_why;
            if (x.tls_failed)
                tls_why = describe_tls_failure(ch.secure->native_handle(), {}, url.host, x.result.message());
            channel_.reset();
            if (retry) continue;
            if (x.tls_failed) throw HttpClientError(HttpClientError::Kind::Tls, what + ": " + tls_why);
            const bool unreachable = std::string_view(x.stage) == "resolve" || std::string_view(x.stage) == "connect";
            throw HttpClientError(unreachable ? HttpClientError::Kind::Unreachable : HttpClientError::Kind::Protocol,
                                  what + ": " + x.result.message() + " (" + x.stage + ")");
        }
        auto res = parser.release();
        ClientResponse out;
        out.status = res.result_int();
        out.body = std::move(res.body());
        for (const auto& field : res)
            out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        if (keep_alive && res.keep_alive() && !res.need_eof()) {
            ch.connected = true;
            (ch.plain ? *ch.plain : beast::get_lowest_layer(*ch.secure)).expires_never();
        } else {
            // No TLS close_notify: the server closes after this response
            // anyway, and waiting for its reply would cost a round trip.
            beast::error_code ignored;
            auto& socket = ch.plain ? ch.plain->socket() : beast::get_lowest_layer(*ch.secure).socket();
            socket.shutdown(tcp::socket::shutdown_both, ignored);
            channel_.reset();
        }
        return out;
    }
}

ClientResponse http_request(const ClientRequest& request) {
    HttpConnection once;
    return once.send(request, false);
}

}  // namespace benchdist::net
