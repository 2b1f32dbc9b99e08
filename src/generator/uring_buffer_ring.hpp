// The ring of provided buffers one thread's io_uring receives into
// (IORING_REGISTER_PBUF_RING, a buffer group): the kernel picks a free
// buffer per receive completion, the owner's callback reads it in place,
// and it goes straight back to the ring. liburing 2.3 (Debian 12) has no
// io_uring_setup_buf_ring, so the memory is mapped and registered here.
// Private to the io_uring backend (uring_loop.*, uring_conn_io.cpp).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "generator/uring_conn_io.hpp"

namespace benchdist::generator {

class ProvidedBufferRing {
public:
    // The buffer group id receives name in their SQE (sqe->buf_group).
    static constexpr std::uint16_t kGroup = 0;

    ProvidedBufferRing() = default;
    ProvidedBufferRing(const ProvidedBufferRing&) = delete;
    ProvidedBufferRing& operator=(const ProvidedBufferRing&) = delete;
    // Frees the memory: only after the io_uring it was registered with is
    // gone, since the kernel may write into it until then.
    ~ProvidedBufferRing();

    // Maps the ring and its buffers and registers them with `ring` as
    // group kGroup, every buffer free. 0, or a negative errno (EINVAL from
    // a kernel older than 5.19, which has no buffer rings).
    int register_with(io_uring& ring, const UringSizing& sizing);

    // The first `length` bytes of buffer `id`, as a completion reported them.
    std::span<const std::uint8_t> bytes(std::uint16_t id, std::size_t length) const {
        return {buffers_ + static_cast<std::size_t>(id) * buffer_size_, length};
    }
    // Hands buffer `id` back to the kernel (a store into shared memory, no
    // system call).
    void give_back(std::uint16_t id);

private:
    io_uring_buf_ring* ring_ = nullptr;
    std::size_t ring_bytes_ = 0;
    std::uint8_t* buffers_ = nullptr;
    std::size_t buffers_bytes_ = 0;
    std::uint32_t buffer_size_ = 0;
    std::uint32_t count_ = 0;
};

}  // namespace benchdist::generator
