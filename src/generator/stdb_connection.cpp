#include "benchdist/generator/stdb_connection.hpp"

#include <stdexcept>

#include "generator/stdb_connection_impl.hpp"

namespace benchdist::generator {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

std::shared_ptr<const ResolvedServer> resolve_server(const stdb::HttpTarget& target,
                                                     std::shared_ptr<const net::TlsClientContext> tls) {
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto results = resolver.resolve(target.host, std::to_string(target.port), ec);
    if (ec || results.empty()) {
        throw std::runtime_error("cannot resolve host `" + target.host + "` of " + target.to_string() + ": " +
                                 (ec ? ec.message() : std::string("no addresses")) + " -- check --stdb-url");
    }
    auto server = std::make_shared<ResolvedServer>();
    server->results = std::move(results);
    if (target.tls) server->tls = tls ? std::move(tls) : net::default_tls_client_context();
    return server;
}

namespace detail {

std::string upgrade_hint(unsigned status) {
    switch (status) {
        case 404:
            return " -- check --stdb-module (the database name or identity)";
        case 400:
            return " -- check --stdb-protocol, --stdb-compression and --confirmed-reads";
        case 401:
        case 403:
            return " -- the server refused this caller: pass its token with --stdb-token (or STDB_TOKEN), or check "
                   "the one given";
        default:
            return " -- check --stdb-url";
    }
}

}  // namespace detail

StdbConnection::StdbConnection(asio::io_context& io, std::shared_ptr<const ResolvedServer> server,
                               ConnectionOptions options) {
    if (options.target.tls != static_cast<bool>(server->tls)) {
        throw std::invalid_argument("StdbConnection: resolve_server was given another target than " +
                                    options.target.to_string());
    }
    if (server->tls) {
        auto& tls = server->tls->native();
        impl_ = std::make_shared<detail::StdbConnectionImpl<detail::TlsStream>>(io, std::move(server),
                                                                                std::move(options), io, tls);
    } else if (options.io != nullptr) {
        // The lean path: Beast does the upgrade over a stream that reads
        // nothing past the 101's header, then hands the socket over and
        // replaces itself in impl_ (stdb_connection_impl.hpp, hand_off).
        auto opener = std::make_shared<detail::StdbConnectionImpl<detail::HeaderOnlyStream>>(io, std::move(server),
                                                                                             std::move(options), io);
        opener->hand_off_into(&impl_);
        impl_ = std::move(opener);
    } else {
        impl_ = std::make_shared<detail::StdbConnectionImpl<detail::PlainStream>>(io, std::move(server),
                                                                                  std::move(options), io);
    }
}

StdbConnection::~StdbConnection() {
    if (impl_) impl_->release();
}

void StdbConnection::async_open(OpenHandler done) { impl_->open(std::move(done)); }

void StdbConnection::async_call_transfer(std::uint32_t from, std::uint32_t to, std::int64_t amount,
                                         std::chrono::milliseconds op_timeout, CallHandler done) {
    impl_->call(from, to, amount, op_timeout, std::move(done));
}

void StdbConnection::async_close(CloseHandler done) { impl_->close(std::move(done)); }

bool StdbConnection::is_open() const { return impl_->is_open(); }
std::size_t StdbConnection::in_flight() const { return impl_->in_flight(); }
std::size_t StdbConnection::max_inflight() const { return impl_->max_inflight(); }
void StdbConnection::raise_max_inflight(std::size_t n) { impl_->raise_max_inflight(n); }
std::uint64_t StdbConnection::frames_sent() const { return impl_->frames_sent(); }
std::uint64_t StdbConnection::calls_sent() const { return impl_->calls_sent(); }
stdb::ProtocolVersion StdbConnection::protocol() const { return impl_->protocol(); }
std::string StdbConnection::url() const { return impl_->url(); }

}  // namespace benchdist::generator
