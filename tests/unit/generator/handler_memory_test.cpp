#include "generator/handler_memory.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace bg = benchdist::generator;

TEST(HandlerMemory, AFreedBlockIsHandedOutAgainForAnySizeOfItsClass) {
    void* first = bg::allocate_handler_memory(800);
    bg::deallocate_handler_memory(first, 800);
    // 800 and 1000 bytes share the 1024-byte class: the same block returns,
    // and all 1024 bytes of it are usable.
    void* again = bg::allocate_handler_memory(1000);
    EXPECT_EQ(again, first);
    std::memset(again, 0xab, 1024);
    bg::deallocate_handler_memory(again, 1000);
    // 700 bytes is the 768-byte class: another block.
    void* other = bg::allocate_handler_memory(700);
    EXPECT_NE(other, first);
    bg::deallocate_handler_memory(other, 700);
}

TEST(HandlerMemory, BlocksAreAlignedForAnyHandler) {
    std::vector<void*> blocks;
    for (std::size_t size : {1u, 17u, 256u, 257u, 4000u, 8192u, 8193u, 100000u}) {
        void* p = bg::allocate_handler_memory(size);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % __STDCPP_DEFAULT_NEW_ALIGNMENT__, 0u) << size;
        std::memset(p, 0, size);
        bg::deallocate_handler_memory(p, size);
    }
}

TEST(HandlerMemory, LargerThanTheLargestClassGoesToTheHeap) {
    void* big = bg::allocate_handler_memory(bg::kLargestPooledBlock + 1);
    std::memset(big, 1, bg::kLargestPooledBlock + 1);
    bg::deallocate_handler_memory(big, bg::kLargestPooledBlock + 1);
    SUCCEED();  // ASan would report a mismatch or a leak here
}

TEST(HandlerMemory, ABlockTakenOnOneThreadMayBeFreedOnAnother) {
    void* block = nullptr;
    std::thread([&] { block = bg::allocate_handler_memory(3000); }).join();
    ASSERT_NE(block, nullptr);
    bg::deallocate_handler_memory(block, 3000);
    // This thread's 3072-byte list now holds it: the next request of that
    // class reuses it.
    void* again = bg::allocate_handler_memory(3072);
    EXPECT_EQ(again, block);
    std::memset(again, 0, 3072);
    bg::deallocate_handler_memory(again, 3072);
}

TEST(HandlerMemory, WorksAsAnAllocatorForStandardContainers) {
    std::vector<int, bg::HandlerAllocator<int>> v;
    for (int i = 0; i < 5000; ++i) v.push_back(i);
    EXPECT_EQ(v[4999], 4999);
    EXPECT_TRUE(bg::HandlerAllocator<int>() == bg::HandlerAllocator<char>());
}
