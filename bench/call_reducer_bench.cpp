// Cost of encoding the generator's one request, ClientMessage::CallReducer
// for `transfer`. The "view" benchmarks time what call_pipeline.cpp does per
// call (transfer_args_bytes + encode_call_reducer appended to a reused
// buffer); the "typed" ones time the owning ClientMessage path
// (encode_client_frame) for comparison. v2 sends one call per frame; v3
// coalesces the calls queued on a connection into one frame, so the v3
// cases encode a batch into one buffer. The bytes of one call are the same
// on both versions: only framing differs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/generator/transfer_pairs.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "benchdist/stdb/v3_framing.hpp"
#include "support/alloc_counter.hpp"
#include "support/golden.hpp"

namespace {

using namespace benchdist;

// Zipf-drawn pairs as the load uses them; 4096 of them stay in L1.
generator::TransferPairs sample_pairs() {
    generator::TransferPairsOptions o;
    o.count = 4096;
    return generator::TransferPairs(o);
}

// Encodes the golden vector's call both ways and compares, so the timed
// loops below are known to produce the bytes the real SDK sends.
bool matches_golden() {
    const auto golden = bench::from_hex(bench::kGoldenCallReducerTransfer);
    std::vector<std::uint8_t> view_bytes;
    bsatn::Writer w(view_bytes);
    const auto args = stdb::transfer::transfer_args_bytes({3, 9, 1});
    stdb::encode_call_reducer(w, 7, stdb::transfer::kTransferReducer, args);
    const auto typed_bytes = stdb::encode_to_bytes(stdb::ClientMessage{
        stdb::CallReducer{7, std::string(stdb::transfer::kTransferReducer), stdb::Bytes(args.begin(), args.end())}});
    return view_bytes == golden && typed_bytes == golden;
}

void set_per_call_counters(benchmark::State& state, std::int64_t calls) {
    state.SetItemsProcessed(state.iterations() * calls);
    // Seconds per call (shown as e.g. "12n" = 12 ns) whatever the batch size.
    state.counters["time/call"] =
        benchmark::Counter(static_cast<double>(calls),
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// range(0): calls per frame (1 = a v2 frame; more = one coalesced v3 frame).
void BM_EncodeTransferCall_View(benchmark::State& state) {
    if (!matches_golden()) {
        state.SkipWithError("encode_call_reducer does not reproduce the golden CallReducer bytes");
        return;
    }
    const auto calls = state.range(0);
    const auto pairs = sample_pairs();
    std::vector<std::uint8_t> frame;
    frame.reserve(4096);
    std::uint32_t request_id = 1;
    std::size_t next = 0;
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        frame.clear();
        bsatn::Writer w(frame);
        for (std::int64_t i = 0; i < calls; ++i) {
            const auto pair = pairs[next];
            next = (next + 1) & (pairs.size() - 1);
            const auto args = stdb::transfer::transfer_args_bytes({pair.from, pair.to, 1});
            stdb::encode_call_reducer(w, request_id++, stdb::transfer::kTransferReducer, args);
        }
        benchmark::DoNotOptimize(frame.data());
        benchmark::ClobberMemory();
    }
    bench::report_allocations(state, before, static_cast<double>(calls));
    set_per_call_counters(state, calls);
}
BENCHMARK(BM_EncodeTransferCall_View)->ArgName("calls")->Arg(1)->Arg(16)->Arg(64);

// The owning path: build each CallReducer (its args vector allocates), then
// encode_client_frame with V2 for one call and V3 for a batch.
void BM_EncodeTransferCall_Typed(benchmark::State& state) {
    const auto calls = state.range(0);
    const auto version = calls == 1 ? stdb::ProtocolVersion::V2 : stdb::ProtocolVersion::V3;
    const auto pairs = sample_pairs();
    std::vector<std::uint8_t> frame;
    frame.reserve(4096);
    std::vector<stdb::ClientMessage> messages;
    messages.reserve(static_cast<std::size_t>(calls));
    std::uint32_t request_id = 1;
    std::size_t next = 0;
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        messages.clear();
        for (std::int64_t i = 0; i < calls; ++i) {
            const auto pair = pairs[next];
            next = (next + 1) & (pairs.size() - 1);
            const auto args = stdb::transfer::transfer_args_bytes({pair.from, pair.to, 1});
            messages.emplace_back(stdb::CallReducer{request_id++, std::string(stdb::transfer::kTransferReducer),
                                                    stdb::Bytes(args.begin(), args.end())});
        }
        frame.clear();
        stdb::encode_client_frame(frame, messages, version);
        benchmark::DoNotOptimize(frame.data());
        benchmark::ClobberMemory();
    }
    bench::report_allocations(state, before, static_cast<double>(calls));
    set_per_call_counters(state, calls);
}
BENCHMARK(BM_EncodeTransferCall_Typed)->ArgName("calls")->Arg(1)->Arg(16)->Arg(64);

}  // namespace
