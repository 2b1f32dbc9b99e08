// Cost of the latency histogram on the generator's hot path (record, once per
// completed transfer, which must not allocate) and at reporting time (merge,
// JSON encoding).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "benchdist/stats/latency_histogram.hpp"
#include "support/alloc_counter.hpp"

namespace {

using benchdist::stats::LatencyHistogram;

// Latency-like values (exponential around 2 ms), precomputed so the loop
// measures record() and not the random generator. 4096 values stay in L1.
std::vector<std::uint64_t> latencies() {
    std::mt19937_64 rng(42);
    std::exponential_distribution<double> d(1.0 / 2000.0);
    std::vector<std::uint64_t> out(4096);
    for (auto& v : out) v = static_cast<std::uint64_t>(d(rng));
    return out;
}

void BM_Record(benchmark::State& state) {
    const auto values = latencies();
    LatencyHistogram h(static_cast<int>(state.range(0)));
    std::size_t i = 0;
    const auto before = benchdist::bench::thread_allocations();
    for (auto _ : state) {
        h.record(values[i]);
        i = (i + 1) & (values.size() - 1);
    }
    benchdist::bench::report_allocations(state, before);
    benchmark::DoNotOptimize(h.count());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Record)->Arg(2)->Arg(3)->Arg(4);

void BM_Merge(benchmark::State& state) {
    const auto values = latencies();
    const int digits = static_cast<int>(state.range(0));
    LatencyHistogram source(digits);
    for (auto v : values) source.record(v);
    LatencyHistogram target(digits);
    for (auto _ : state) {
        target.merge(source);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_Merge)->Arg(2)->Arg(3)->Arg(4);

void BM_ToJson(benchmark::State& state) {
    const auto values = latencies();
    LatencyHistogram h;
    for (auto v : values) h.record(v);
    for (auto _ : state) benchmark::DoNotOptimize(h.to_json().dump());
}
BENCHMARK(BM_ToJson);

}  // namespace
