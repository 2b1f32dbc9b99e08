// Global operator new/delete replacements that count per thread. Thread-local
// plain counters rather than one atomic: benchmarks run their loop on one
// thread, and a locked increment would add more cost to allocating code than
// the allocation-free code we compare it with.
#include "alloc_counter.hpp"

#include <cstdlib>
#include <new>

namespace {

thread_local std::uint64_t tl_count = 0;
thread_local std::uint64_t tl_bytes = 0;

void* counted_malloc(std::size_t size) {
    ++tl_count;
    tl_bytes += size;
    // malloc(0) may return null; operator new must not.
    return std::malloc(size == 0 ? 1 : size);
}

}  // namespace

// libstdc++'s array and nothrow forms call this one, so they are counted too.
// Aligned forms are left to the library (nothing on our paths over-aligns).
void* operator new(std::size_t size) {
    void* p = counted_malloc(size);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace benchdist::bench {

AllocTally thread_allocations() { return {tl_count, tl_bytes}; }

void report_allocations(benchmark::State& state, const AllocTally& before, double ops_per_iteration) {
    const auto after = thread_allocations();
    const double ops = static_cast<double>(state.iterations()) * ops_per_iteration;
    if (ops <= 0) return;
    state.counters["allocs/op"] = static_cast<double>(after.count - before.count) / ops;
    state.counters["bytes/op"] = static_cast<double>(after.bytes - before.bytes) / ops;
}

}  // namespace benchdist::bench
