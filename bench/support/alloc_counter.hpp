// Counts heap allocations made by the calling thread, so a micro benchmark
// can report allocations (and bytes) per operation next to its ns/op: the
// generator's hot path is meant to allocate nothing per transfer, and a
// counter makes a regression visible without a heap profiler. The counting
// is a replacement of the global operator new (alloc_counter.cpp) linked
// into every benchmark; it costs one thread-local increment per allocation.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

namespace benchdist::bench {

struct AllocTally {
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
};

// Allocations made so far by this thread.
AllocTally thread_allocations();

// Reports what the thread allocated since `before` as allocs/op and
// bytes/op (averaged over the benchmark's iterations, or over `ops_per_iteration`
// operations per iteration when one iteration handles a batch).
void report_allocations(benchmark::State& state, const AllocTally& before, double ops_per_iteration = 1.0);

}  // namespace benchdist::bench
