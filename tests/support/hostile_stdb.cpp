#include "hostile_stdb.hpp"

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <mutex>
#include <span>
#include <thread>
#include <variant>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdb/v3_framing.hpp"

namespace benchdist::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// What GET /v1/database/<db>/identity answers: any 64 hex digits will do.
constexpr std::string_view kIdentityHex = "c200000000000000000000000000000000000000000000000000000000000001";

std::vector<std::uint8_t> reducer_result_body(std::uint32_t request_id) {
    std::vector<std::uint8_t> body;
    bsatn::Writer w(body);
    stdb::encode_reducer_result(w, request_id, stdb::Timestamp{1}, stdb::ReducerOutcomeKind::Ok);
    return body;
}

// [compression tag][body]
std::vector<std::uint8_t> with_tag(std::uint8_t tag, const std::vector<std::uint8_t>& body) {
    std::vector<std::uint8_t> out(1 + body.size(), tag);
    std::copy(body.begin(), body.end(), out.begin() + 1);
    return out;
}

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

std::string_view expected_kind(Garbage g) {
    switch (g) {
        case Garbage::TextFrame:
            return "textFrame";
        case Garbage::EmptyMessage:
            return "framing";
        case Garbage::CompressionTag:
            return "compressionTag";
        case Garbage::BadGzip:
            return "decompression";
        case Garbage::UnknownMessageTag:
            return "unknownMessageTag";
        case Garbage::TruncatedResult:
            return "decode";
        case Garbage::UnknownRequestId:
            return "unknownRequestId";
        case Garbage::ReservedOpcode:
            return "webSocketFrame";
    }
    return "?";
}

std::string_view garbage_name(Garbage g) {
    switch (g) {
        case Garbage::TextFrame:
            return "TextFrame";
        case Garbage::EmptyMessage:
            return "EmptyMessage";
        case Garbage::CompressionTag:
            return "CompressionTag";
        case Garbage::BadGzip:
            return "BadGzip";
        case Garbage::UnknownMessageTag:
            return "UnknownMessageTag";
        case Garbage::TruncatedResult:
            return "TruncatedResult";
        case Garbage::UnknownRequestId:
            return "UnknownRequestId";
        case Garbage::ReservedOpcode:
            return "ReservedOpcode";
    }
    return "?";
}

class HostileStdb::Impl {
public:
    explicit Impl(HostileStdbOptions o)
        : options(std::move(o)), acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        if (options.kinds.empty() && !options.upgrade_answer)
            throw std::invalid_argument("HostileStdb needs garbage kinds or an upgrade answer");
        port = acceptor.local_endpoint().port();
        asio::co_spawn(io, accept_loop(), asio::detached);
        thread = std::thread([this] { io.run(); });
    }

    ~Impl() {
        io.stop();
        thread.join();
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            beast::error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            asio::co_spawn(io, serve(beast::tcp_stream(std::move(socket))), asio::detached);
        }
    }

    // HTTP requests until an upgrade (then the WebSocket session) or the end.
    asio::awaitable<void> serve(beast::tcp_stream stream) {
        beast::flat_buffer buffer;
        for (;;) {
            beast::error_code ec;
            http::request<http::string_body> req;
            co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            if (websocket::is_upgrade(req)) {
                co_await upgrade(std::move(stream), std::move(req));
                co_return;
            }
            const std::string_view target(req.target().data(), req.target().size());
            http::response<http::string_body> res{http::status::ok, req.version()};
            res.set(http::field::content_type, "text/plain; charset=utf-8");
            if (ends_with(target, "/identity")) {
                res.body() = std::string(kIdentityHex);
            } else if (target.starts_with("/v1/metrics")) {
                // No series: the committed counter reads 0 (a database that committed nothing).
            } else {
                res.result(http::status::not_found);
                res.body() = "no such route";
            }
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            if (ec || !req.keep_alive()) co_return;
        }
    }

    asio::awaitable<void> upgrade(beast::tcp_stream stream, http::request<http::string_body> req) {
        beast::error_code ec;
        Garbage kind{};
        {
            std::lock_guard lock(mutex);
            ++upgrades;
            if (!options.upgrade_answer) kind = options.kinds[(upgrades - 1) % options.kinds.size()];
        }
        if (options.upgrade_answer) {
            co_await asio::async_write(stream, asio::buffer(*options.upgrade_answer),
                                       asio::redirect_error(asio::use_awaitable, ec));
            stream.socket().shutdown(tcp::socket::shutdown_both, ec);
            stream.socket().close(ec);
            co_return;
        }
        const auto offered = req[http::field::sec_websocket_protocol];
        const auto version = stdb::select_subprotocol(std::string_view(offered.data(), offered.size()))
                                 .value_or(stdb::ProtocolVersion::V3);
        websocket::stream<beast::tcp_stream> ws(std::move(stream));
        ws.set_option(websocket::stream_base::decorator([version](websocket::response_type& res) {
            res.set(http::field::sec_websocket_protocol, std::string(stdb::subprotocol_name(version)));
        }));
        co_await ws.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        ws.binary(true);
        // What a real server sends first.
        std::vector<std::uint8_t> out;
        stdb::InitialConnection hello;
        hello.token = "hostile";
        const stdb::ServerMessage first{std::move(hello)};
        stdb::encode_server_payload(out, std::span(&first, 1), version, stdb::Compression::None);
        co_await ws.async_write(asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;

        beast::flat_buffer buffer;
        for (;;) {
            co_await ws.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;  // the client's close after our garbage, mostly
            const auto data = buffer.cdata();
            std::vector<stdb::ClientMessage> messages;
            try {
                messages =
                    stdb::decode_client_frame(std::span(static_cast<const std::uint8_t*>(data.data()), data.size()),
                                              version);
            } catch (const std::exception&) {
                co_return;
            }
            buffer.consume(buffer.size());
            std::uint32_t request_id = 0;
            if (!messages.empty()) {
                if (const auto* call = std::get_if<stdb::CallReducer>(&messages.front())) request_id = call->request_id;
            }
            {
                // Counted before it is written: the client counts it once
                // it has read it, and the test compares after that.
                std::lock_guard lock(mutex);
                calls += messages.size();
                ++sent[kind];
            }
            co_await send_garbage(ws, kind, request_id, ec);
            if (ec) co_return;
        }
    }

    asio::awaitable<void> send_garbage(websocket::stream<beast::tcp_stream>& ws, Garbage kind, std::uint32_t request_id,
                                       beast::error_code& ec) {
        std::vector<std::uint8_t> out;
        switch (kind) {
            case Garbage::TextFrame: {
                static constexpr std::string_view kText = R"({"not":"bsatn"})";
                ws.text(true);
                co_await ws.async_write(asio::buffer(kText), asio::redirect_error(asio::use_awaitable, ec));
                co_return;
            }
            case Garbage::ReservedOpcode: {
                // FIN + opcode 3 (reserved), unmasked, empty: below Beast's
                // WebSocket layer, which would never write it.
                static constexpr std::uint8_t kFrame[] = {0x83, 0x00};
                co_await asio::async_write(ws.next_layer(), asio::buffer(kFrame),
                                           asio::redirect_error(asio::use_awaitable, ec));
                co_return;
            }
            case Garbage::EmptyMessage:
                break;
            case Garbage::CompressionTag:
                out = with_tag(7, reducer_result_body(request_id));
                break;
            case Garbage::BadGzip:
                out = {2, 0x1f, 0x8b, 0xde, 0xad, 0xbe, 0xef};
                break;
            case Garbage::UnknownMessageTag:
                out = {0, 9, 0xde, 0xad};
                break;
            case Garbage::TruncatedResult: {
                // The message tag, the request id and 2 of the timestamp's 8 bytes.
                auto body = reducer_result_body(request_id);
                body.resize(7);
                out = with_tag(0, body);
                break;
            }
            case Garbage::UnknownRequestId:
                out = with_tag(0, reducer_result_body(request_id + 1000000));
                break;
        }
        co_await ws.async_write(asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
    }

    HostileStdbOptions options;
    std::mutex mutex;
    std::map<Garbage, std::uint64_t> sent;
    std::uint64_t calls = 0;
    std::uint64_t upgrades = 0;
    asio::io_context io;
    tcp::acceptor acceptor;
    int port = 0;
    std::thread thread;
};

HostileStdb::HostileStdb(HostileStdbOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    port_ = impl_->port;
}

HostileStdb::~HostileStdb() = default;

std::string HostileStdb::ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_); }

std::map<Garbage, std::uint64_t> HostileStdb::sent() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->sent;
}

std::map<std::string, std::uint64_t, std::less<>> HostileStdb::sent_by_expected_kind() const {
    std::map<std::string, std::uint64_t, std::less<>> out;
    for (const auto& [g, n] : sent()) out[std::string(expected_kind(g))] += n;
    return out;
}

std::uint64_t HostileStdb::calls() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->calls;
}

std::uint64_t HostileStdb::upgrades() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->upgrades;
}

}  // namespace benchdist::testing
