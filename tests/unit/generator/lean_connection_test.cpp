// The lean ws:// data path (generator/lean_connection.*) on its epoll
// backend, against a raw TCP server on 127.0.0.1 that writes WebSocket
// frames byte by byte: what Beast's own path did for these cases
// (stdb_connection_test.cpp walks that one) must hold here too -- bytes
// that follow the 101 in the same segment, fragments with a ping between
// them, the server's close, and the frames Beast refused. The server is a
// thread with blocking sockets; every wait on either side is bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchdist/generator/stdb_connection.hpp"
#include "benchdist/net/ws_frame.hpp"
#include "benchdist/stdb/endpoint.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "generator/conn_io.hpp"

namespace {

namespace asio = boost::asio;
namespace gen = benchdist::generator;
namespace stdb = benchdist::stdb;
namespace ws = benchdist::net::ws;
using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

constexpr int kWaitMs = 5000;

// --- The raw server's side ---------------------------------------------------

bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, kWaitMs) == 1;
}

void send_all(int fd, const Bytes& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
    }
}

// Reads exactly n bytes; false on EOF, error or timeout.
bool read_exact(int fd, std::uint8_t* out, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
        if (!wait_readable(fd)) return false;
        const auto r = ::recv(fd, out + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

// The upgrade request, read byte by byte up to its end; returns its key.
std::string read_upgrade_key(int fd) {
    std::string request;
    std::uint8_t c = 0;
    while (request.size() < 8192 && request.find("\r\n\r\n") == std::string::npos) {
        if (!read_exact(fd, &c, 1)) return {};
        request.push_back(static_cast<char>(c));
    }
    const std::string field = "Sec-WebSocket-Key: ";
    const auto at = request.find(field);
    if (at == std::string::npos) return {};
    const auto end = request.find("\r\n", at);
    return request.substr(at + field.size(), end - at - field.size());
}

Bytes upgrade_answer(const std::string& key) {
    boost::beast::websocket::detail::sec_ws_accept_type accept;
    boost::beast::websocket::detail::make_sec_ws_accept(accept, key);
    const std::string answer =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        std::string(accept.data(), accept.size()) + "\r\nSec-WebSocket-Protocol: v3.bsatn.spacetimedb\r\n\r\n";
    return Bytes(answer.begin(), answer.end());
}

// An unmasked (server) frame, or a masked one when `mask`.
Bytes frame(ws::Opcode op, const Bytes& payload, bool fin = true, bool mask = false) {
    ws::FrameHeader h;
    h.fin = fin;
    h.opcode = op;
    h.masked = mask;
    h.mask_key = {1, 2, 3, 4};
    h.payload_length = payload.size();
    Bytes out(ws::header_length(payload.size(), mask));
    ws::write_frame_header(out, h);
    out.insert(out.end(), payload.begin(), payload.end());
    if (mask) ws::apply_mask(std::span(out).subspan(out.size() - payload.size()), h.mask_key);
    return out;
}

Bytes append(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes server_payload(const stdb::ServerMessage& m) {
    Bytes out;
    stdb::encode_server_payload(out, std::span(&m, 1), stdb::ProtocolVersion::V3, stdb::Compression::None);
    return out;
}

Bytes initial_connection() { return server_payload(stdb::ServerMessage{stdb::InitialConnection{}}); }

Bytes committed(std::uint32_t request_id) {
    stdb::ReducerResult rr;
    rr.request_id = request_id;
    rr.result = stdb::ReducerOk{};
    return server_payload(stdb::ServerMessage{rr});
}

struct ClientFrame {
    ws::FrameHeader header;
    Bytes payload;  // unmasked
};

// The client's next frame; nullopt on EOF or timeout.
std::optional<ClientFrame> read_client_frame(int fd) {
    Bytes bytes(2);
    if (!read_exact(fd, bytes.data(), 2)) return std::nullopt;
    ws::MessageState state;
    ws::ReadLimits limits;
    for (;;) {
        const auto r = ws::parse_client_frame(bytes, limits, state);
        if (r.is_error()) return std::nullopt;
        if (r.needs_more()) {
            const auto had = bytes.size();
            bytes.resize(had + r.need);
            if (!read_exact(fd, bytes.data() + had, r.need)) return std::nullopt;
            continue;
        }
        ClientFrame f{r.header, Bytes(static_cast<std::size_t>(r.header.payload_length))};
        if (!f.payload.empty() && !read_exact(fd, f.payload.data(), f.payload.size())) return std::nullopt;
        ws::apply_mask(f.payload, r.header.mask_key);
        return f;
    }
}

std::uint32_t only_request_id(const ClientFrame& f) {
    const auto messages = stdb::decode_client_frame(f.payload, stdb::ProtocolVersion::V3);
    if (messages.size() != 1) return 0;
    return std::get<stdb::CallReducer>(messages[0]).request_id;
}

// Listens on 127.0.0.1:0; runs `script` on the first connection in a thread.
class RawServer {
public:
    explicit RawServer(std::function<void(int fd)> script) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(listener_, 4);
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this, script = std::move(script)] {
            if (!wait_readable(listener_)) return;
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0) return;
            script(fd);
            ::close(fd);
            finished_ = true;
        });
    }
    ~RawServer() {
        join();
        ::close(listener_);
    }
    std::uint16_t port() const { return port_; }
    // The script ran to its end (or gave up).
    bool finished() const { return finished_; }
    // Waits for the script; what it recorded may be read afterwards.
    void join() {
        ::shutdown(listener_, SHUT_RDWR);
        if (thread_.joinable()) thread_.join();
    }

private:
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> finished_{false};
};

// --- The client's side -------------------------------------------------------

struct Client {
    explicit Client(std::uint16_t port) : io_factory(gen::make_epoll_conn_io(io)) {
        const auto endpoint = stdb::parse_endpoint("ws://127.0.0.1:" + std::to_string(port));
        gen::ConnectionOptions o;
        o.target = stdb::subscribe_target(endpoint, "test-1", stdb::Compression::None, std::nullopt);
        o.force_protocol = stdb::ProtocolVersion::V3;
        o.handshake_timeout = 5s;
        o.close_timeout = 2s;
        o.io = io_factory.get();
        o.on_protocol_error = [this](const gen::ProtocolErrorEvent& e) {
            error_kind = e.kind;
            error_detail = std::string(e.detail);
        };
        conn = std::make_unique<gen::StdbConnection>(io, gen::resolve_server(o.target), std::move(o));
    }

    // Runs the io_context until `done` holds or 5 s pass.
    bool run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_one_for(50ms);
        }
        return done();
    }

    bool open() {
        std::optional<std::string> result;
        conn->async_open([&](const std::string& e) { result = e; });
        if (!run_until([&] { return result.has_value(); })) return false;
        EXPECT_EQ(*result, "");
        return result->empty();
    }

    asio::io_context io;
    std::unique_ptr<gen::ConnIoFactory> io_factory;
    std::unique_ptr<gen::StdbConnection> conn;
    std::optional<gen::ProtocolErrorKind> error_kind;
    std::string error_detail;
};

struct Outcome {
    gen::CallStatus status;
    std::string text;
};

// --- Tests -------------------------------------------------------------------

// The 101 and InitialConnection in one write: the handshake must leave the
// InitialConnection in the kernel for the lean path. Then a result in three
// fragments with a ping between them: reassembled, and the ping answered
// with a pong carrying its payload; then our close, answered.
TEST(LeanConnection, ReadsPastThe101FragmentsPingsAndCloses) {
    std::optional<ClientFrame> call_frame, pong, close_frame;
    RawServer server([&](int fd) {
        const auto key = read_upgrade_key(fd);
        send_all(fd, append(upgrade_answer(key), frame(ws::Opcode::Binary, initial_connection())));
        call_frame = read_client_frame(fd);
        if (!call_frame) return;
        const Bytes result = committed(only_request_id(*call_frame));
        const std::size_t third = result.size() / 3;
        const Bytes a(result.begin(), result.begin() + static_cast<std::ptrdiff_t>(third));
        const Bytes b(result.begin() + static_cast<std::ptrdiff_t>(third),
                      result.begin() + static_cast<std::ptrdiff_t>(2 * third));
        const Bytes c(result.begin() + static_cast<std::ptrdiff_t>(2 * third), result.end());
        const Bytes ping_payload{'a', 'b', 'c'};
        send_all(fd, frame(ws::Opcode::Binary, a, false));
        send_all(fd, frame(ws::Opcode::Ping, ping_payload));
        send_all(fd, append(frame(ws::Opcode::Continuation, b, false), frame(ws::Opcode::Continuation, c, true)));
        pong = read_client_frame(fd);
        close_frame = read_client_frame(fd);
        Bytes code{0x03, 0xE8};
        send_all(fd, frame(ws::Opcode::Close, code));
    });
    Client client(server.port());
    ASSERT_TRUE(client.open());

    std::optional<Outcome> outcome;
    client.conn->async_call_transfer(1, 2, 10, 5s, [&](const gen::CallOutcome& o) {
        outcome = Outcome{o.status, std::string(o.text)};
    });
    ASSERT_TRUE(client.run_until([&] { return outcome.has_value(); }));
    EXPECT_EQ(outcome->status, gen::CallStatus::Committed) << outcome->text;

    bool closed = false;
    client.conn->async_close([&] { closed = true; });
    ASSERT_TRUE(client.run_until([&] { return closed; }));
    EXPECT_FALSE(client.conn->is_open());
    client.conn.reset();
    server.join();

    ASSERT_TRUE(call_frame.has_value());
    EXPECT_TRUE(call_frame->header.fin) << "one frame per message";
    EXPECT_EQ(call_frame->header.opcode, ws::Opcode::Binary);
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->header.opcode, ws::Opcode::Pong);
    EXPECT_EQ(pong->payload, (Bytes{'a', 'b', 'c'}));
    ASSERT_TRUE(close_frame.has_value());
    EXPECT_EQ(close_frame->header.opcode, ws::Opcode::Close);
    EXPECT_EQ(ws::parse_close_payload(close_frame->payload).code, ws::kCloseNormal);
}

// The server closes with a code and a reason: echoed with the same code, and
// the call in flight ends Disconnected with Beast's wording.
TEST(LeanConnection, ServerCloseIsEchoedAndReported) {
    std::optional<ClientFrame> echo;
    RawServer server([&](int fd) {
        send_all(fd, append(upgrade_answer(read_upgrade_key(fd)), frame(ws::Opcode::Binary, initial_connection())));
        if (!read_client_frame(fd)) return;
        Bytes payload{0x03, 0xE9};  // 1001
        const std::string reason = "restarting";
        payload.insert(payload.end(), reason.begin(), reason.end());
        send_all(fd, frame(ws::Opcode::Close, payload));
        echo = read_client_frame(fd);
    });
    Client client(server.port());
    ASSERT_TRUE(client.open());
    std::optional<Outcome> outcome;
    client.conn->async_call_transfer(1, 2, 10, 5s, [&](const gen::CallOutcome& o) {
        outcome = Outcome{o.status, std::string(o.text)};
    });
    ASSERT_TRUE(client.run_until([&] { return outcome.has_value(); }));
    EXPECT_EQ(outcome->status, gen::CallStatus::Disconnected);
    EXPECT_EQ(outcome->text, "connection to ws://127.0.0.1:" + std::to_string(server.port()) +
                                 "/v1/database/test-1/subscribe?compression=None lost: server closed the "
                                 "connection (code 1001: restarting)");
    EXPECT_FALSE(client.conn->is_open());
    client.run_until([&] { return server.finished(); });
    server.join();
    ASSERT_TRUE(echo.has_value());
    EXPECT_EQ(echo->header.opcode, ws::Opcode::Close);
    EXPECT_EQ(ws::parse_close_payload(echo->payload).code, 1001);
}

struct HostileCase {
    std::string name;
    Bytes frames;  // what the server sends after the client's first call
    gen::ProtocolErrorKind kind;
    std::string detail_part;
    std::uint16_t close_code;  // what the client's close frame must carry; 0: not checked
};

class LeanConnectionHostile : public ::testing::TestWithParam<HostileCase> {};

TEST_P(LeanConnectionHostile, IsRefusedAsBeastDid) {
    const auto& c = GetParam();
    std::optional<ClientFrame> close_frame;
    RawServer server([&](int fd) {
        send_all(fd, append(upgrade_answer(read_upgrade_key(fd)), frame(ws::Opcode::Binary, initial_connection())));
        if (!read_client_frame(fd)) return;
        send_all(fd, c.frames);
        close_frame = read_client_frame(fd);
    });
    std::optional<Outcome> outcome;
    {
        Client client(server.port());
        ASSERT_TRUE(client.open());
        client.conn->async_call_transfer(1, 2, 10, 5s, [&](const gen::CallOutcome& o) {
            outcome = Outcome{o.status, std::string(o.text)};
        });
        ASSERT_TRUE(client.run_until([&] { return outcome.has_value(); }));
        EXPECT_EQ(outcome->status, gen::CallStatus::Disconnected);
        ASSERT_TRUE(client.error_kind.has_value());
        EXPECT_EQ(*client.error_kind, c.kind);
        EXPECT_NE(client.error_detail.find(c.detail_part), std::string::npos) << client.error_detail;
        // The close frame leaves while the server still reads.
        client.run_until([&] { return server.finished(); });
    }
    server.join();
    if (c.close_code != 0) {
        ASSERT_TRUE(close_frame.has_value());
        EXPECT_EQ(close_frame->header.opcode, ws::Opcode::Close);
        EXPECT_EQ(ws::parse_close_payload(close_frame->payload).code, c.close_code);
    }
}

Bytes oversize_header() {
    ws::FrameHeader h;
    h.opcode = ws::Opcode::Binary;
    h.payload_length = ws::kBeastDefaultMessageMax + 1;
    Bytes out(ws::header_length(h.payload_length, false));
    ws::write_frame_header(out, h);
    return out;
}

INSTANTIATE_TEST_SUITE_P(
    Frames, LeanConnectionHostile,
    ::testing::Values(HostileCase{"MaskedFrame", frame(ws::Opcode::Binary, Bytes{1, 2, 3}, true, true),
                                  gen::ProtocolErrorKind::WebSocketFrame, "refused the server's frame",
                                  ws::kCloseProtocolError},
                      HostileCase{"Oversize", oversize_header(), gen::ProtocolErrorKind::WebSocketFrame,
                                  "refused the server's frame", ws::kCloseTooBig},
                      HostileCase{"Text", frame(ws::Opcode::Text, Bytes{'h', 'i'}), gen::ProtocolErrorKind::TextFrame,
                                  "text frame", 0}),
    [](const auto& info) { return info.param.name; });

}  // namespace
