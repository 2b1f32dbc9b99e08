#include "benchdist/generator/io_backend.hpp"

namespace benchdist::generator {

std::string_view io_backend_flag(IoBackend backend) {
    switch (backend) {
        case IoBackend::Auto:
            return "auto";
        case IoBackend::Uring:
            return "uring";
        case IoBackend::Epoll:
            return "epoll";
    }
    return "auto";
}

std::optional<IoBackend> parse_io_backend(std::string_view flag) {
    for (const auto b : {IoBackend::Auto, IoBackend::Uring, IoBackend::Epoll}) {
        if (flag == io_backend_flag(b)) return b;
    }
    return std::nullopt;
}

}  // namespace benchdist::generator
