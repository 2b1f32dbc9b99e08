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

    // 2 KiB holds a whole reducer result or transaction update; one buffer
    // per two connections (256 to 16384) covers a burst in which half of
    // them answer at once: 512 KiB at 1,000 connections, 32 MiB at 100,000
    // (330 bytes each), touched only as used.
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
