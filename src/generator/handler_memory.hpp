// Memory for the asynchronous operations of the generator's connections,
// recycled per thread without a size limit.
//
// Asio recycles the memory of finished operations itself, but only blocks
// of up to 1020 bytes, and a Beast WebSocket read or write -- the whole
// chain of composed operations travels inside one Asio operation -- is
// larger: each transfer then cost a malloc and a free for its read and
// again for its write (docs/performance.md). Handlers bound to
// HandlerAllocator (asio::bind_allocator) take their operation's memory
// from this thread's free lists instead, which after the first few
// thousand transfers always have a block of the right size.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

namespace benchdist::generator {

// Blocks of up to kLargestPooledBlock bytes come from the calling thread's
// free lists (one per multiple of 256 bytes); larger ones, and any
// beyond a list's cap, go to operator new/delete. A block may be freed on
// another thread than the one that took it.
void* allocate_handler_memory(std::size_t size);
void deallocate_handler_memory(void* block, std::size_t size) noexcept;
inline constexpr std::size_t kLargestPooledBlock = 8192;

template <typename T>
class HandlerAllocator {
public:
    using value_type = T;

    HandlerAllocator() noexcept = default;
    template <typename U>
    HandlerAllocator(const HandlerAllocator<U>&) noexcept {}  // NOLINT: rebinding, as allocators do

    T* allocate(std::size_t n) {
        if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
            return std::allocator<T>().allocate(n);
        } else {
            return static_cast<T*>(allocate_handler_memory(n * sizeof(T)));
        }
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
            std::allocator<T>().deallocate(p, n);
        } else {
            deallocate_handler_memory(p, n * sizeof(T));
        }
    }

    template <typename U>
    bool operator==(const HandlerAllocator<U>&) const noexcept {
        return true;
    }
    template <typename U>
    bool operator!=(const HandlerAllocator<U>&) const noexcept {
        return false;
    }
};

}  // namespace benchdist::generator
