// What the io_uring backend of ConnIo (generator/conn_io.hpp) shows beyond
// the contract: how its provided buffers are sized, and the counters the
// unit tests and the micro benchmark read to check that sends of many
// connections really go to the kernel together. Private to the generator
// (and its tests); no liburing here, so including it costs nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "generator/conn_io.hpp"

namespace benchdist::generator {

// The thread's ring of provided receive buffers. Each buffer goes back to
// the kernel as soon as its bytes were handed to the owner, so the ring only
// needs to cover what arrives between two reaps of the completion queue;
// when it runs dry a connection's receive ends with ENOBUFS and is re-armed
// (counted), the bytes waiting in the socket meanwhile.
struct UringSizing {
    std::uint32_t buffer_count = 0;  // a power of two, at most 32768 (the kernel's limit)
    std::uint32_t buffer_size = 0;   // bytes

    // One buffer per connection (a power of two from 256 to 32768, the
    // kernel's limit): a closed loop has at most one answer per connection
    // waiting between two reaps, so it never runs dry below 32768
    // connections (uring_echo_bench counts ENOBUFS). 1 KiB holds a reducer
    // result or a small transaction update; larger messages take several.
    // 1 MiB at 1,000 connections, 32 MiB from 32,768 on (330 bytes each at
    // 100,000), touched only as used.
    static UringSizing for_connections(std::size_t connections);
};

// Running totals since the backend was made, on its thread.
struct UringCounters {
    std::uint64_t submit_calls = 0;     // io_uring_submit calls that had SQEs to hand over
    std::uint64_t sqes_submitted = 0;   // SQEs those calls handed over
    std::uint64_t sq_full_submits = 0;  // submits forced early because the SQ was full
    std::uint64_t wakeups = 0;          // times the eventfd woke the io_context
    std::uint64_t cqes_reaped = 0;
    std::uint64_t recv_rearms = 0;   // multishot receives re-armed after ending
    std::uint64_t enobufs = 0;       // of which because the buffer ring ran dry
    std::uint64_t open_sockets = 0;  // adopted and not yet closed by the backend
};

// make_uring_conn_io with explicit buffer sizing (tests use tiny rings).
std::unique_ptr<ConnIoFactory> make_uring_conn_io(boost::asio::io_context& io, std::size_t connections,
                                                  const UringSizing& sizing, std::string& why_not);

// The counters of an io_uring factory; nullopt for any other backend.
std::optional<UringCounters> uring_counters(const ConnIoFactory& factory);

}  // namespace benchdist::generator
