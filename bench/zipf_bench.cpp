// Cost of choosing the accounts of a transfer. The load loop itself only
// walks precomputed pairs (PairCursor::next, BM_PairCursorNext); sampling
// happens once at start-up when TransferPairs draws its 10M pairs
// (BM_PrecomputePairs gives the per-pair cost that start-up pays). The
// per-draw benchmarks compare the default exact sampler (rejection-inversion
// over xoshiro256**) with the harness-replay sampler (CDF + binary search
// for N <= 100000, its non-Zipf rejection method above), at the keynote's
// alpha 1.5 and a flatter 0.99.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "benchdist/generator/pick_two_distinct.hpp"
#include "benchdist/generator/transfer_pairs.hpp"
#include "benchdist/generator/zipf.hpp"
#include "support/alloc_counter.hpp"

namespace {

using namespace benchdist::generator;
namespace bench = benchdist::bench;

// range(0): accounts; range(1): alpha x 100.
double alpha_of(const benchmark::State& state) { return static_cast<double>(state.range(1)) / 100.0; }

void BM_ZipfSamplerNext(benchmark::State& state) {
    ZipfSampler sampler(static_cast<std::uint32_t>(state.range(0)), alpha_of(state));
    const auto before = bench::thread_allocations();
    for (auto _ : state) benchmark::DoNotOptimize(sampler.next());
    bench::report_allocations(state, before);
}
BENCHMARK(BM_ZipfSamplerNext)
    ->ArgNames({"accounts", "alpha_x100"})
    ->Args({100'000, 150})
    ->Args({1'000'000, 150})
    ->Args({100'000, 99})
    ->Args({1'000'000, 99});

// One transfer's pair: two draws, redrawing `to` while it equals `from`
// (at alpha 1.5 rank 0 has ~38% of the mass, so redraws are common).
void BM_PickTwoDistinctZipf(benchmark::State& state) {
    ZipfSampler sampler(static_cast<std::uint32_t>(state.range(0)), alpha_of(state));
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        const auto pair = pick_two_distinct(sampler);
        benchmark::DoNotOptimize(pair.from);
        benchmark::DoNotOptimize(pair.to);
    }
    bench::report_allocations(state, before);
}
BENCHMARK(BM_PickTwoDistinctZipf)->ArgNames({"accounts", "alpha_x100"})->Args({100'000, 150})->Args({1'000'000, 150});

void BM_HarnessZipfSamplerNext(benchmark::State& state) {
    HarnessZipfSampler sampler(static_cast<std::uint32_t>(state.range(0)), alpha_of(state));
    const auto before = bench::thread_allocations();
    for (auto _ : state) benchmark::DoNotOptimize(sampler.next());
    bench::report_allocations(state, before);
}
// 100000: CDF table + binary search; 1000000: the harness's rejection method.
BENCHMARK(BM_HarnessZipfSamplerNext)
    ->ArgNames({"accounts", "alpha_x100"})
    ->Args({100'000, 150})
    ->Args({1'000'000, 150});

// What the load loop pays per transfer for its accounts.
void BM_PairCursorNext(benchmark::State& state) {
    TransferPairsOptions o;
    o.count = 1'000'000;
    const TransferPairs pairs(o);
    PairCursor cursor(pairs, 3, 1000);
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        const auto pair = cursor.next();
        benchmark::DoNotOptimize(pair.from);
        benchmark::DoNotOptimize(pair.to);
    }
    bench::report_allocations(state, before);
}
BENCHMARK(BM_PairCursorNext);

// Start-up: precomputing pairs (per pair, from time/pair). range(0) selects
// the mode: 0 = zipf (default), 1 = harness replay.
void BM_PrecomputePairs(benchmark::State& state) {
    TransferPairsOptions o;
    o.count = 1'000'000;
    o.mode = state.range(0) == 0 ? PairMode::zipf : PairMode::harness;
    for (auto _ : state) {
        const TransferPairs pairs(o);
        benchmark::DoNotOptimize(pairs.from().data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(o.count));
    state.counters["time/pair"] =
        benchmark::Counter(static_cast<double>(o.count),
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PrecomputePairs)->ArgName("harness")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
