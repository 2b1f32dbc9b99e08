// Cost of one call's bookkeeping on a connection, sockets aside: what
// StdbConnection's CallPipeline does per transfer -- take a slot and a
// request id, encode the CallReducer into the outbox, cut the outgoing
// message (v2: one call; v3: a batch of queued calls in one message), and
// end the call when its ReducerResult comes (find the slot by request id,
// run the handler). The handler is a lambda of one pointer and an index, as
// the load worker's is, so std::function stores it inline. Meant to show
// 0 allocs/op once the buffers have grown; the encode alone is in
// call_reducer_bench.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

#include "benchdist/generator/call_pipeline.hpp"
#include "support/alloc_counter.hpp"

namespace {

using namespace benchdist;

// range(0): calls per message, also the calls in flight (1 = the closed
// loop on v2; 16 = --max-inflight 16 on v3).
void BM_CallPipeline_RoundTrip(benchmark::State& state) {
    const auto calls = static_cast<std::size_t>(state.range(0));
    const auto version = calls == 1 ? stdb::ProtocolVersion::V2 : stdb::ProtocolVersion::V3;
    generator::CallPipeline pipeline(calls);
    const auto deadline = generator::CallPipeline::Clock::now() + std::chrono::seconds(10);
    struct Sink {
        std::uint64_t committed = 0;
        std::size_t last_slot = 0;
    } sink;
    std::uint32_t first_id = 1;
    const auto run_once = [&] {
        for (std::size_t i = 0; i < calls; ++i) {
            pipeline.add_transfer(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + 1), 1, deadline,
                                  std::chrono::milliseconds(10000), [s = &sink, i](const generator::CallOutcome& o) {
                                      if (o.status == generator::CallStatus::Committed) ++s->committed;
                                      s->last_slot = i;
                                  });
        }
        while (pipeline.write_ready()) {
            const auto frame = pipeline.start_write(version);
            benchmark::DoNotOptimize(frame.data());
            pipeline.finish_write();
        }
        for (std::size_t i = 0; i < calls; ++i) {
            pipeline.complete(first_id + static_cast<std::uint32_t>(i), generator::CallStatus::Committed, {});
        }
        first_id += static_cast<std::uint32_t>(calls);
    };
    run_once();  // grow the buffers
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        run_once();
        benchmark::ClobberMemory();
    }
    bench::report_allocations(state, before, static_cast<double>(calls));
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(calls));
    state.counters["time/call"] =
        benchmark::Counter(static_cast<double>(calls),
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    benchmark::DoNotOptimize(sink.last_slot);
    if (sink.committed != (static_cast<std::uint64_t>(state.iterations()) + 1) * calls) {
        state.SkipWithError("a call did not end as Committed exactly once");
    }
}
BENCHMARK(BM_CallPipeline_RoundTrip)->ArgName("calls")->Arg(1)->Arg(16);

}  // namespace
