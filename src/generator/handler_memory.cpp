#include "generator/handler_memory.hpp"

#include <array>
#include <vector>

namespace benchdist::generator {
namespace {

// Classes 256 bytes apart: an operation's memory is rounded up by less than
// 256 bytes (powers of two wasted up to half, about 1 KB per connection).
constexpr std::size_t kClassStep = 256;
constexpr std::size_t kSizeClasses = kLargestPooledBlock / kClassStep;  // 256, 512, ..., 8192 bytes
// Enough for every operation of a few thousand connections per thread to
// be recycled; beyond it blocks go back to the heap.
constexpr std::size_t kMaxFreeBlocksPerClass = 4096;

int size_class(std::size_t size) {
    if (size > kLargestPooledBlock) return -1;
    return size == 0 ? 0 : static_cast<int>((size - 1) / kClassStep);
}

std::size_t class_bytes(int k) { return kClassStep * (static_cast<std::size_t>(k) + 1); }

struct FreeLists {
    std::array<std::vector<void*>, kSizeClasses> lists;
    ~FreeLists();
};

// Trivially destructible, so still readable while the thread's other
// thread_locals are destroyed: a handler freed after this thread's lists
// are gone goes straight back to the heap.
thread_local bool t_lists_gone = false;
thread_local FreeLists t_lists;

FreeLists::~FreeLists() {
    t_lists_gone = true;
    for (auto& list : lists) {
        for (void* block : list) ::operator delete(block);
    }
}

}  // namespace

void* allocate_handler_memory(std::size_t size) {
    const int k = size_class(size);
    if (k < 0) return ::operator new(size);
    // Always a whole class's size: the block may end up in another
    // thread's list and be handed out for anything up to that size.
    if (t_lists_gone) return ::operator new(class_bytes(k));
    auto& list = t_lists.lists[static_cast<std::size_t>(k)];
    if (!list.empty()) {
        void* block = list.back();
        list.pop_back();
        return block;
    }
    return ::operator new(class_bytes(k));
}

void deallocate_handler_memory(void* block, std::size_t size) noexcept {
    const int k = size_class(size);
    if (k < 0 || t_lists_gone) {
        ::operator delete(block);
        return;
    }
    auto& list = t_lists.lists[static_cast<std::size_t>(k)];
    if (list.size() >= kMaxFreeBlocksPerClass) {
        ::operator delete(block);
        return;
    }
    if (list.capacity() == 0) {
        // Reserved once, so that push_back below never allocates (or throws).
        try {
            list.reserve(kMaxFreeBlocksPerClass);
        } catch (const std::bad_alloc&) {
            ::operator delete(block);
            return;
        }
    }
    list.push_back(block);
}

}  // namespace benchdist::generator
