// --io-backend: what carries the bytes of plain ws:// connections once
// their WebSocket handshake is done (issue 18; src/generator/conn_io.hpp).
// wss:// always stays on Beast's own data path.
#pragma once

#include <optional>
#include <string_view>

namespace benchdist::generator {

enum class IoBackend {
    Auto,   // io_uring when it can be used here, else epoll (one log line says why)
    Uring,  // io_uring or refuse to start, saying why
    Epoll,  // the thread's Asio io_context (epoll); never tries io_uring
};

// "auto", "uring", "epoll".
std::string_view io_backend_flag(IoBackend backend);
std::optional<IoBackend> parse_io_backend(std::string_view flag);

}  // namespace benchdist::generator
