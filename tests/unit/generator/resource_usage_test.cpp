// take_resource_snapshot / diff on the test process: CPU burnt in a loop of
// fixed length shows up as user CPU, 64 MiB mapped and touched shows up
// as resident growth (and its release as a negative growth), and the
// differences never wrap when snapshots are diffed the wrong way round.
#include "benchdist/generator/resource_usage.hpp"

#include <sys/mman.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace benchdist::generator {
namespace {

constexpr std::int64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kSlack = 1024 * 1024;

// The resident growth that touching 64 MiB may cause. ThreadSanitizer keeps
// shadow memory for every application byte touched (several bytes each),
// and that shadow is resident as well, so under it the process grows by a
// multiple of the block.
#if defined(__SANITIZE_THREAD__)
constexpr std::int64_t kMaxGrowthOf64MiB = 640 * kMiB;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr std::int64_t kMaxGrowthOf64MiB = 640 * kMiB;
#else
constexpr std::int64_t kMaxGrowthOf64MiB = 80 * kMiB;
#endif
#else
constexpr std::int64_t kMaxGrowthOf64MiB = 80 * kMiB;
#endif

// A dependent chain of multiplications the compiler can neither vectorise
// nor fold (the count comes through a volatile): 200 million steps take at
// least ~100 ms of CPU on any current core, usually a few hundred.
std::uint64_t burn(std::uint64_t steps) {
    volatile std::uint64_t count = steps;
    std::uint64_t x = 88172645463325252ull;
    for (std::uint64_t i = 0; i < count; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

TEST(ResourceUsage, SnapshotHasPlausibleValues) {
    const ResourceSnapshot s = take_resource_snapshot();
    EXPECT_GT(s.rss_bytes, 0u);
    EXPECT_GT(s.max_rss_bytes, 0u);
    // The peak is at least what is resident now (slack: the kernel batches
    // its per-thread page counts, so the two readings may lag each other).
    EXPECT_GE(s.max_rss_bytes + kSlack, s.rss_bytes);
    EXPECT_GT(s.cpu_user_us + s.cpu_system_us, 0u);
}

TEST(ResourceUsage, CpuBurntShowsUpAsUserTime) {
    const ResourceSnapshot before = take_resource_snapshot();
    volatile std::uint64_t sink = burn(200'000'000);
    (void)sink;
    const ResourceSnapshot after = take_resource_snapshot();
    const ResourceDelta d = diff(before, after);
    EXPECT_GE(d.cpu_user_us, 20'000u) << "200M dependent multiply-adds in under 20 ms of user CPU?";
    EXPECT_EQ(d.cpu_us, d.cpu_user_us + d.cpu_system_us);
    // One thread burnt it: it cannot have used more CPU than time passed
    // (1 ms of slack for the two clocks' granularity).
    EXPECT_LE(d.cpu_us, d.wall_us + 1000);
    EXPECT_GT(d.wall_us, 0u);
}

TEST(ResourceUsage, TouchedMemoryShowsUpAsRssGrowthAndItsReleaseAsShrinking) {
    const ResourceSnapshot before = take_resource_snapshot();
    // Mapped and unmapped directly rather than through malloc: whether
    // free() gives memory back is the allocator's choice (ASan's keeps
    // freed blocks in quarantine), while munmap always does.
    const std::size_t size = static_cast<std::size_t>(64 * kMiB);
    void* block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(block, MAP_FAILED);
    std::memset(block, 1, size);  // touch every page
    const ResourceSnapshot grown = take_resource_snapshot();
    ASSERT_EQ(::munmap(block, size), 0);
    const ResourceSnapshot released = take_resource_snapshot();

    const ResourceDelta up = diff(before, grown);
    EXPECT_GE(up.rss_growth_bytes, 60 * kMiB);
    EXPECT_LE(up.rss_growth_bytes, kMaxGrowthOf64MiB);
    EXPECT_GE(up.max_rss_bytes + kSlack, grown.rss_bytes);
    EXPECT_GE(static_cast<std::int64_t>(up.max_rss_bytes), 64 * kMiB);

    const ResourceDelta down = diff(grown, released);
    EXPECT_LE(down.rss_growth_bytes, -60 * kMiB);
    // The peak remembers the block.
    EXPECT_GE(released.max_rss_bytes + kSlack, grown.rss_bytes);
}

TEST(ResourceUsage, DiffOfSwappedSnapshotsDoesNotWrap) {
    ResourceSnapshot a;
    a.cpu_user_us = 1000;
    a.cpu_system_us = 500;
    a.rss_bytes = 10 * kMiB;
    a.max_rss_bytes = 20 * kMiB;
    ResourceSnapshot b = a;
    b.cpu_user_us = 4000;
    b.cpu_system_us = 700;
    b.rss_bytes = 7 * kMiB;
    b.taken_at = a.taken_at + std::chrono::milliseconds(250);

    const ResourceDelta forward = diff(a, b);
    EXPECT_EQ(forward.cpu_user_us, 3000u);
    EXPECT_EQ(forward.cpu_system_us, 200u);
    EXPECT_EQ(forward.cpu_us, 3200u);
    EXPECT_EQ(forward.wall_us, 250'000u);
    EXPECT_EQ(forward.rss_growth_bytes, -3 * kMiB);
    EXPECT_EQ(forward.max_rss_bytes, static_cast<std::uint64_t>(20 * kMiB));

    const ResourceDelta backward = diff(b, a);
    EXPECT_EQ(backward.cpu_us, 0u);
    EXPECT_EQ(backward.wall_us, 0u);
    EXPECT_EQ(backward.rss_growth_bytes, 3 * kMiB);
}

}  // namespace
}  // namespace benchdist::generator
