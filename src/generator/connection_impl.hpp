// StdbConnection::Impl: what StdbConnection forwards to, one implementation
// per data path -- Beast's (stdb_connection_impl.hpp, a template over the
// stream) and the lean ws:// path (lean_connection.cpp). Kept apart so the
// lean path sees no Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "benchdist/generator/stdb_connection.hpp"

namespace benchdist::generator {

// What StdbConnection forwards to: one virtual call per API call (open,
// call, close), never per byte; the stream type is fixed inside.
class StdbConnection::Impl {
public:
    virtual ~Impl() = default;
    virtual void open(OpenHandler done) = 0;
    virtual void call(std::uint32_t from, std::uint32_t to, std::int64_t amount, std::chrono::milliseconds op_timeout,
                      CallHandler done) = 0;
    virtual void close(CloseHandler done) = 0;
    // The owner went away: no callback may run any more.
    virtual void release() = 0;
    virtual bool is_open() const = 0;
    virtual std::size_t in_flight() const = 0;
    virtual std::size_t max_inflight() const = 0;
    virtual void raise_max_inflight(std::size_t n) = 0;
    virtual std::uint64_t frames_sent() const = 0;
    virtual std::uint64_t calls_sent() const = 0;
    virtual stdb::ProtocolVersion protocol() const = 0;
    virtual const std::string& url() const = 0;
};

}  // namespace benchdist::generator
