// Cost of splitting a v3 client frame (CallReducers back to back, no count
// or length prefix) into its messages, which the stand-in server does for
// every frame a v3 generator sends. "View" is ClientFrameCursor (zero-copy,
// what the stand-in's WebSocket session uses); "typed" is
// decode_client_frame, which builds owning ClientMessages. Frames hold 1,
// 16 or 256 transfer calls: a closed-loop connection with --max-inflight 1
// sends single calls, a pipelined one coalesces up to its in-flight limit.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <variant>
#include <vector>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "support/alloc_counter.hpp"

namespace {

using namespace benchdist;

std::vector<std::uint8_t> make_frame(std::int64_t calls) {
    std::vector<std::uint8_t> frame;
    bsatn::Writer w(frame);
    for (std::int64_t i = 0; i < calls; ++i) {
        const auto from = static_cast<std::uint32_t>(i * 7 % 100000);
        const auto args = stdb::transfer::transfer_args_bytes({from, from + 1, 1});
        stdb::encode_call_reducer(w, static_cast<std::uint32_t>(i + 1), stdb::transfer::kTransferReducer, args);
    }
    return frame;
}

void set_per_message_counters(benchmark::State& state, std::int64_t messages, std::size_t frame_bytes) {
    state.SetItemsProcessed(state.iterations() * messages);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(frame_bytes));
    state.counters["time/msg"] =
        benchmark::Counter(static_cast<double>(messages),
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_SplitV3Frame_View(benchmark::State& state) {
    const auto calls = state.range(0);
    const auto frame = make_frame(calls);
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        stdb::ClientFrameCursor cursor(frame, stdb::ProtocolVersion::V3);
        std::uint64_t seen = 0;
        while (cursor.next()) {
            if (const auto* call = cursor.call_reducer()) seen += call->request_id + call->args.size();
        }
        benchmark::DoNotOptimize(seen);
    }
    bench::report_allocations(state, before, static_cast<double>(calls));
    set_per_message_counters(state, calls, frame.size());
}
BENCHMARK(BM_SplitV3Frame_View)->ArgName("calls")->Arg(1)->Arg(16)->Arg(256);

void BM_SplitV3Frame_Typed(benchmark::State& state) {
    const auto calls = state.range(0);
    const auto frame = make_frame(calls);
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        const auto messages = stdb::decode_client_frame(frame, stdb::ProtocolVersion::V3);
        std::uint64_t seen = 0;
        for (const auto& m : messages) {
            if (const auto* call = std::get_if<stdb::CallReducer>(&m)) seen += call->request_id + call->args.size();
        }
        benchmark::DoNotOptimize(seen);
    }
    bench::report_allocations(state, before, static_cast<double>(calls));
    set_per_message_counters(state, calls, frame.size());
}
BENCHMARK(BM_SplitV3Frame_Typed)->ArgName("calls")->Arg(1)->Arg(16)->Arg(256);

}  // namespace
