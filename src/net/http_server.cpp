#include "benchdist/net/http_server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "benchdist/net/websocket_upgrade.hpp"
#include "net/connection_admission.hpp"

namespace benchdist::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

HttpResponse server_error(bool json, unsigned status, const std::string& message) {
    if (json) return HttpResponse::json_text(status, nlohmann::json{{"error", message}}.dump());
    return HttpResponse::text(status, message);
}

HttpRequest to_request(const http::request<http::string_body>& req, const std::string& remote) {
    HttpRequest out;
    out.method = std::string(req.method_string());
    out.target = std::string(req.target());
    const auto q = out.target.find('?');
    out.path = out.target.substr(0, q);
    if (q != std::string::npos) out.query = out.target.substr(q + 1);
    for (const auto& field : req)
        out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = req.body();
    out.remote = remote;
    return out;
}

class Session;

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
    HttpServerOptions options;
    RequestHandler handler;
    UpgradeHandler upgrade;
    // Held by pointer so stop() can destroy them (and with them every pending
    // handler and the sessions those own) while the Impl itself lives on.
    std::unique_ptr<asio::io_context> ioc;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::vector<std::thread> threads;
    // Who holds a slot (see connection_admission.hpp), and the pending
    // sessions, so an arrival can evict one. Taken briefly by the accept
    // loop and by sessions on their strands.
    mutable std::mutex admission_mutex;
    ConnectionAdmission admission;
    std::unordered_map<ConnectionAdmission::Id, std::weak_ptr<Session>> pending_sessions;
    std::uint16_t bound_port = 0;
    std::once_flag stopped;
    // Responses may arrive from other threads after stop(); they are dropped
    // instead of being posted to an io_context that is going away.
    std::mutex post_mutex;
    bool stopping = false;
    // The accept loop's wait after a failed accept (0 while accepts succeed).
    std::unique_ptr<asio::steady_timer> accept_retry;
    std::chrono::milliseconds accept_backoff{0};

    Impl(HttpServerOptions o, RequestHandler h, UpgradeHandler u)
        : options(std::move(o)),
          handler(std::move(h)),
          upgrade(std::move(u)),
          ioc(std::make_unique<asio::io_context>(static_cast<int>(std::max(1u, options.threads)))),
          acceptor(std::make_unique<tcp::acceptor>(*ioc)),
          admission(AdmissionLimits{options.max_connections, options.max_pending_connections,
                                    options.max_pending_per_address}) {}

    void do_accept();
    // Out of descriptors or kernel memory: accepting cannot succeed until
    // some are freed (other accept errors concern one connection).
    static bool out_of_resources(const beast::error_code& ec);
    void retry_accept_later(const beast::error_code& ec);
    ConnectionAdmission::Admit admit(ConnectionAdmission::Id id) {
        std::lock_guard lock(admission_mutex);
        const auto verdict = admission.admit(id);
        if (verdict == ConnectionAdmission::Admit::Admitted) pending_sessions.erase(id);
        return verdict;
    }
    void leave(ConnectionAdmission::Id id) {
        std::lock_guard lock(admission_mutex);
        admission.leave(id);
        pending_sessions.erase(id);
    }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
        : stream_(std::move(socket)), server_(std::move(server)) {
        beast::error_code ec;
        const auto ep = stream_.socket().remote_endpoint(ec);
        if (!ec) {
            address_ = ep.address().to_string();
            remote_ = address_ + ":" + std::to_string(ep.port());
        }
    }
    ~Session() {
        if (id_ != 0) server_->leave(id_);
    }

    const std::string& address() const { return address_; }
    // Set once by the accept loop, before start().
    void set_id(ConnectionAdmission::Id id) { id_ = id; }

    void start() {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
    }

    // Made room for a newer pending connection: closed without an answer
    // (there is no request to answer, or only part of one). Called from the
    // accept loop, so it touches only the executor, which never changes.
    void evict() {
        asio::dispatch(executor_, [self = shared_from_this()] { self->close(); });
    }

private:
    void do_read() {
        parser_.emplace();
        body_limit_ = server_->options.max_body_bytes;
        parser_->body_limit(body_limit_);
        parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
        // A pending connection gets only the short first-request deadline
        // for its head: holding a socket costs nothing to a client that never
        // means to send a request, so it must not cost the server long.
        const auto& o = server_->options;
        stream_.expires_after(admitted_ ? o.read_timeout : std::min(o.first_request_timeout, o.read_timeout));
        // Headers first, so the body limit can depend on the route and an
        // oversized body is refused before it is read.
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->on_header(ec);
                                });
    }

    void on_header(beast::error_code ec) {
        if (ec) return on_read(ec);
        bool authenticated = true;
        if (server_->options.screen_headers) {
            auto verdict = server_->options.screen_headers(to_request(parser_->get(), remote_));
            if (verdict.refusal) return refuse_unread(std::move(*verdict.refusal));
            authenticated = verdict.authenticated;
        }
        if (server_->options.body_limit_for) {
            const auto target = parser_->get().target();
            body_limit_ = server_->options.body_limit_for(std::string_view(target.data(), target.size()));
            parser_->body_limit(body_limit_);
            // The parser compared Content-Length with the limit in force
            // when the headers ended; a lower per-route limit is checked here.
            const auto length = parser_->content_length();
            if (length && *length > body_limit_) {
                return refuse_unread(server_error(server_->options.json_errors, 413,
                                                  "request body exceeds the limit of " + std::to_string(body_limit_) +
                                                      " bytes for this route"));
            }
        }
        if (authenticated && !admitted_) {
            switch (server_->admit(id_)) {
                case ConnectionAdmission::Admit::Admitted:
                    admitted_ = true;
                    // Its body, if any, is read under the usual deadline: a
                    // large report on a slow link is not cut at the short one.
                    stream_.expires_after(server_->options.read_timeout);
                    break;
                case ConnectionAdmission::Admit::Full:
                    return refuse_unread(server_error(server_->options.json_errors, 503,
                                                      "too many concurrent connections; retry later"));
                case ConnectionAdmission::Admit::Gone:
                    return close();
            }
        }
        if (parser_->is_done()) return on_read(ec);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code rec, std::size_t) { self->on_read(rec); });
    }

    void on_read(beast::error_code ec) {
        const bool json = server_->options.json_errors;
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
            ec == asio::error::connection_reset || ec == asio::error::eof) {
            return close();
        }
        if (ec == http::error::body_limit) {
            return write(server_error(json, 413,
                                      "request body exceeds the limit of " + std::to_string(body_limit_) +
                                          " bytes for this route"),
                         false, 11);
        }
        if (ec == http::error::header_limit) {
            return write(server_error(json, 431,
                                      "request headers exceed the limit of " +
                                          std::to_string(server_->options.max_header_bytes) + " bytes"),
                         false, 11);
        }
        if (ec) {
            return write(server_error(json, 400, "malformed HTTP request: " + ec.message()), false, 11);
        }

        auto req = parser_->release();
        // Only an admitted session hands its stream away: a pending one can
        // be evicted from the accept loop at any moment, and must still own
        // its stream then.
        if (server_->upgrade && admitted_ && beast::websocket::is_upgrade(req)) {
            stream_.expires_never();
            server_->upgrade(UpgradeRequest(std::move(stream_), std::move(req), std::move(buffer_)));
            return;
        }

        // A connection that was served without being admitted (an open
        // route of a screened server) gets this one answer, then closes.
        const bool keep_alive = req.keep_alive() && admitted_;
        const unsigned version = req.version();
        const std::uint64_t seq = ++request_seq_;
        awaiting_ = true;
        // The pending timer is also what keeps this session alive while a
        // handler works: Respond holds only a weak reference, so a handler
        // that keeps a Respond past stop() cannot keep a socket alive past
        // its io_context.
        answer_timer_.expires_after(server_->options.handler_timeout);
        answer_timer_.async_wait([self = shared_from_this(), seq, json, version](beast::error_code ec) {
            if (ec) return;
            self->answer(seq, server_error(json, 504, "the request handler did not answer in time"), false, version);
        });
        Respond respond = [weak = weak_from_this(), server = server_, seq, keep_alive, version](HttpResponse response) {
            std::lock_guard lock(server->post_mutex);
            if (server->stopping) return;
            if (auto self = weak.lock()) {
                asio::post(self->stream_.get_executor(),
                           [self, seq, keep_alive, version, response = std::move(response)]() mutable {
                               self->answer(seq, std::move(response), keep_alive, version);
                           });
            }
        };
        try {
            server_->handler(to_request(req, remote_), std::move(respond));
        } catch (const std::exception& e) {
            answer(seq, server_error(json, 500, std::string("internal error: ") + e.what()), false, version);
        }
    }

    // The one answer to request `seq`; later or duplicate answers are dropped.
    void answer(std::uint64_t seq, HttpResponse response, bool keep_alive, unsigned version) {
        if (!awaiting_ || seq != request_seq_) return;
        awaiting_ = false;
        answer_timer_.cancel();
        write(std::move(response), keep_alive, version);
    }

    static std::shared_ptr<http::response<http::string_body>> to_beast(HttpResponse response, bool keep_alive,
                                                                       unsigned version) {
        auto res =
            std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status), version);
        res->set(http::field::server, "bench-dist");
        res->set(http::field::content_type, response.content_type);
        for (auto& [k, v] : response.headers) res->insert(k, v);
        res->body() = std::move(response.body);
        res->keep_alive(keep_alive);
        res->prepare_payload();
        return res;
    }

    void write(HttpResponse response, bool keep_alive, unsigned version) {
        auto res = to_beast(std::move(response), keep_alive, version);
        stream_.expires_after(server_->options.read_timeout);
        http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
            if (ec || !res->keep_alive()) return self->close();
            self->do_read();
        });
    }

    // Answers a request whose body was not read, then closes. Closing a
    // socket with unread input makes the kernel send a reset, which can
    // destroy the answer before the client reads it (a client still sending
    // its body would see only "connection reset"); so, as HTTP servers do,
    // the close lingers: our side is shut down and what the client still
    // sends is read into a small buffer and dropped for up to kLingerTime
    // (bounded in time rather than bytes, like nginx's lingering_time: a
    // client that is refused mid-way through a 64 MiB body still gets its
    // answer, and nothing is stored).
    void refuse_unread(HttpResponse response) {
        auto res = to_beast(std::move(response), false, parser_->get().version());
        stream_.expires_after(server_->options.read_timeout);
        http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            self->stream_.expires_after(kLingerTime);
            self->linger();
        });
    }

    void linger() {
        stream_.async_read_some(asio::buffer(linger_buffer_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) return self->close();
                                    self->linger();
                                });
    }

    static constexpr std::chrono::seconds kLingerTime{2};

    // Gives the slot back before the socket closes: a client that saw the
    // close may connect again at once, and must find the slot free rather
    // than wait for this session's last cancelled handler to destroy it.
    void close() {
        if (id_ != 0) {
            server_->leave(id_);
            id_ = 0;
        }
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.socket().close(ignored);
    }

    beast::tcp_stream stream_;
    const asio::any_io_executor executor_{stream_.get_executor()};  // the session's strand
    ConnectionAdmission::Id id_ = 0;
    bool admitted_ = false;
    std::string address_;  // the peer's IP address
    asio::steady_timer answer_timer_{stream_.get_executor()};
    std::uint64_t request_seq_ = 0;
    std::size_t body_limit_ = 0;  // of the request being read
    bool awaiting_ = false;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::shared_ptr<HttpServer::Impl> server_;
    std::string remote_;
    std::array<char, 16 * 1024> linger_buffer_{};
};

}  // namespace

void HttpServer::Impl::do_accept() {
    acceptor->async_accept(asio::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
        if (!ec) {
            auto session = std::make_shared<Session>(std::move(socket), shared_from_this());
            std::vector<std::shared_ptr<Session>> evicted;
            {
                std::lock_guard lock(admission_mutex);
                auto arrival = admission.arrive(source_key(session->address()));
                session->set_id(arrival.id);
                pending_sessions.emplace(arrival.id, session);
                for (const auto id : arrival.evict) {
                    const auto it = pending_sessions.find(id);
                    if (it == pending_sessions.end()) continue;
                    if (auto s = it->second.lock()) evicted.push_back(std::move(s));
                    pending_sessions.erase(it);
                }
            }
            // Outside the lock: a session's last reference may go here, and
            // its destructor takes the lock.
            for (auto& s : evicted) s->evict();
            evicted.clear();
            session->start();
        } else if (out_of_resources(ec)) {
            // The pending connection stays in the backlog, so accepting
            // again at once would fail again at once.
            retry_accept_later(ec);
            return;
        }
        // Success, or a failure of that one connection (ECONNABORTED: it
        // was reset before we took it): the next one may be waiting.
        accept_backoff = std::chrono::milliseconds{0};
        do_accept();
    });
}

bool HttpServer::Impl::out_of_resources(const beast::error_code& ec) {
    if (ec.category() != boost::system::system_category()) return false;
    const int e = ec.value();
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

void HttpServer::Impl::retry_accept_later(const beast::error_code& ec) {
    constexpr std::chrono::milliseconds first{5};
    constexpr std::chrono::milliseconds longest{1000};
    if (accept_backoff.count() == 0) {
        accept_backoff = first;
        if (options.on_accept_error) {
            const bool out_of_descriptors = ec.value() == EMFILE || ec.value() == ENFILE;
            options.on_accept_error("accepting a connection failed: " + ec.message() +
                                    (out_of_descriptors
                                         ? "; raise the open-files limit (ulimit -n, LimitNOFILE= under systemd) or "
                                           "lower the connection count"
                                         : "") +
                                    "; retrying, up to once a second, while it goes on");
        }
    } else {
        accept_backoff = std::min(accept_backoff * 2, longest);
    }
    accept_retry->expires_after(accept_backoff);
    accept_retry->async_wait([this](const beast::error_code& wait_ec) {
        if (wait_ec || !acceptor->is_open()) return;
        do_accept();
    });
}

HttpServer::HttpServer(HttpServerOptions options, RequestHandler handler, UpgradeHandler upgrade)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler), std::move(upgrade))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
    auto& o = impl_->options;
    beast::error_code ec;
    const auto address = asio::ip::make_address(o.bind_address, ec);
    if (ec) {
        throw std::runtime_error("cannot listen on \"" + o.bind_address +
                                 "\": not an IP address (use e.g. 127.0.0.1 or 0.0.0.0)");
    }
    const tcp::endpoint endpoint(address, o.port);
    const std::string where = o.bind_address + ":" + std::to_string(o.port);
    auto& acceptor = *impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        throw std::runtime_error("cannot listen on " + where + ": " + ec.message() +
                                 " (is another process using the port? pick another with --port/--listen)");
    }
    impl_->bound_port = acceptor.local_endpoint().port();
    impl_->accept_retry = std::make_unique<asio::steady_timer>(*impl_->ioc);
    impl_->do_accept();
    const unsigned n = std::max(1u, o.threads);
    for (unsigned i = 0; i < n; ++i) impl_->threads.emplace_back([impl = impl_.get()] { impl->ioc->run(); });
}

std::uint16_t HttpServer::port() const { return impl_->bound_port; }

HttpServer::ConnectionCounts HttpServer::connection_counts() const {
    std::lock_guard lock(impl_->admission_mutex);
    return {impl_->admission.pending(), impl_->admission.admitted(), impl_->admission.evicted_total()};
}

void HttpServer::stop() {
    std::call_once(impl_->stopped, [this] {
        {
            std::lock_guard lock(impl_->post_mutex);
            impl_->stopping = true;
        }
        impl_->ioc->stop();
        for (auto& t : impl_->threads) {
            if (t.joinable()) t.join();
        }
        if (impl_->options.after_io_threads) impl_->options.after_io_threads();
        // Destroying the acceptor and the io_context frees every session and
        // pending handler; they refer to the Impl, which is still alive.
        impl_->acceptor.reset();
        impl_->accept_retry.reset();
        impl_->ioc.reset();
    });
}

}  // namespace benchdist::net
