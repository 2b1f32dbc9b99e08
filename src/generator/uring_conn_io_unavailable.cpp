// make_uring_conn_io for builds without the io_uring backend: --io-backend
// auto falls back to epoll, uring refuses to start (conn_io.hpp). The
// io_uring backend's own files replace this one.
#include "generator/conn_io.hpp"

namespace benchdist::generator {

std::unique_ptr<ConnIoFactory> make_uring_conn_io(boost::asio::io_context&, std::size_t, std::string& why_not) {
    why_not = "built without io_uring support";
    return nullptr;
}

}  // namespace benchdist::generator
