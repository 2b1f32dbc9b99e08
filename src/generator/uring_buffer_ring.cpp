#include "generator/uring_buffer_ring.hpp"

#include <sys/mman.h>

#include <cerrno>

namespace benchdist::generator {

namespace {

void* map_anonymous(std::size_t bytes) {
    void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return memory == MAP_FAILED ? nullptr : memory;
}

}  // namespace

ProvidedBufferRing::~ProvidedBufferRing() {
    if (ring_ != nullptr) ::munmap(ring_, ring_bytes_);
    if (buffers_ != nullptr) ::munmap(buffers_, buffers_bytes_);
}

int ProvidedBufferRing::register_with(io_uring& ring, const UringSizing& sizing) {
    count_ = sizing.buffer_count;
    buffer_size_ = sizing.buffer_size;
    // The ring's entries must be page aligned (mmap is) and the kernel pins
    // them; the buffers are plain memory, mapped lazily so a large ring
    // costs only the pages receives actually touch.
    ring_bytes_ = sizeof(io_uring_buf) * count_;
    buffers_bytes_ = static_cast<std::size_t>(count_) * buffer_size_;
    ring_ = static_cast<io_uring_buf_ring*>(map_anonymous(ring_bytes_));
    buffers_ = static_cast<std::uint8_t*>(map_anonymous(buffers_bytes_));
    if (ring_ == nullptr || buffers_ == nullptr) return -ENOMEM;

    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uint64_t>(ring_);
    registration.ring_entries = count_;
    registration.bgid = kGroup;
    if (int result = io_uring_register_buf_ring(&ring, &registration, 0); result < 0) return result;

    io_uring_buf_ring_init(ring_);
    const int mask = io_uring_buf_ring_mask(count_);
    for (std::uint32_t id = 0; id < count_; ++id) {
        io_uring_buf_ring_add(ring_, buffers_ + static_cast<std::size_t>(id) * buffer_size_, buffer_size_,
                              static_cast<unsigned short>(id), mask, static_cast<int>(id));
    }
    io_uring_buf_ring_advance(ring_, static_cast<int>(count_));
    return 0;
}

void ProvidedBufferRing::give_back(std::uint16_t id) {
    io_uring_buf_ring_add(ring_, buffers_ + static_cast<std::size_t>(id) * buffer_size_, buffer_size_, id,
                          io_uring_buf_ring_mask(count_), 0);
    io_uring_buf_ring_advance(ring_, 1);
}

}  // namespace benchdist::generator
