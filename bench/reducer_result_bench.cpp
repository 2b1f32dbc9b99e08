// Cost of decoding the generator's one answer, ServerMessage::ReducerResult,
// from a whole WebSocket payload ([compression tag][body]). The "view"
// benchmarks time what StdbConnection (src/generator/stdb_connection_impl.hpp)
// does for every binary message (open_server_payload + ServerBodyCursor,
// pulling request id, outcome and error text out without copying); the
// "typed" ones time
// decode_server_payload, which builds owning ServerMessages. Inputs are what
// the server sends a caller without subscriptions: Ok with an empty update,
// or Err("insufficient_funds"); a v3 payload carries the results that were
// ready together (16 here). These bodies stay under the 1024-byte
// compression threshold, so the server sends them uncompressed.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/compression.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/subprotocol.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "support/alloc_counter.hpp"
#include "support/golden.hpp"

namespace {

using namespace benchdist;
using stdb::ProtocolVersion;
using stdb::ReducerOutcomeKind;

struct ResultCase {
    ProtocolVersion version;
    int messages;
    ReducerOutcomeKind outcome;
};

std::vector<std::uint8_t> make_payload(const ResultCase& c) {
    std::vector<std::uint8_t> body;
    bsatn::Writer w(body);
    for (int i = 0; i < c.messages; ++i) {
        const std::string_view error =
            c.outcome == ReducerOutcomeKind::Err ? stdb::transfer::kErrInsufficientFunds : std::string_view{};
        stdb::encode_reducer_result(w, static_cast<std::uint32_t>(100 + i),
                                    stdb::Timestamp{bench::kGoldenTimestampMicros + i}, c.outcome, error);
    }
    std::vector<std::uint8_t> payload;
    stdb::frame_server_body(payload, body, stdb::Compression::None);
    return payload;
}

// The encoder that builds the inputs must reproduce the real server's bytes.
bool matches_golden() {
    std::vector<std::uint8_t> bytes;
    bsatn::Writer w(bytes);
    stdb::encode_reducer_result(w, 7, stdb::Timestamp{bench::kGoldenTimestampMicros}, ReducerOutcomeKind::Ok);
    return bytes == bench::from_hex(bench::kGoldenReducerResultOk);
}

void set_per_message_counters(benchmark::State& state, int messages) {
    state.SetItemsProcessed(state.iterations() * messages);
    state.counters["time/msg"] =
        benchmark::Counter(static_cast<double>(messages),
                           benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_DecodeReducerResult_View(benchmark::State& state, ResultCase c) {
    if (!matches_golden()) {
        state.SkipWithError("encode_reducer_result does not reproduce the golden ReducerResult bytes");
        return;
    }
    const auto payload = make_payload(c);
    std::vector<std::uint8_t> scratch;  // reused across messages, as the connection does
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        const auto body = stdb::open_server_payload(payload, scratch);
        stdb::ServerBodyCursor cursor(body, c.version);
        std::uint64_t seen = 0;
        while (cursor.next()) {
            if (const auto* r = cursor.reducer_result()) {
                seen += r->request_id + static_cast<std::uint64_t>(r->outcome) + r->error_text.size();
            }
        }
        benchmark::DoNotOptimize(seen);
    }
    bench::report_allocations(state, before, c.messages);
    set_per_message_counters(state, c.messages);
    state.counters["payload_bytes"] = static_cast<double>(payload.size());
}
BENCHMARK_CAPTURE(BM_DecodeReducerResult_View, v2_ok, ResultCase{ProtocolVersion::V2, 1, ReducerOutcomeKind::Ok});
BENCHMARK_CAPTURE(BM_DecodeReducerResult_View, v2_err, ResultCase{ProtocolVersion::V2, 1, ReducerOutcomeKind::Err});
BENCHMARK_CAPTURE(BM_DecodeReducerResult_View, v3_ok_x16, ResultCase{ProtocolVersion::V3, 16, ReducerOutcomeKind::Ok});
BENCHMARK_CAPTURE(BM_DecodeReducerResult_View, v3_err_x16,
                  ResultCase{ProtocolVersion::V3, 16, ReducerOutcomeKind::Err});

void BM_DecodeReducerResult_Typed(benchmark::State& state, ResultCase c) {
    const auto payload = make_payload(c);
    const auto before = bench::thread_allocations();
    for (auto _ : state) {
        const auto messages = stdb::decode_server_payload(payload, c.version);
        std::uint64_t seen = 0;
        for (const auto& m : messages) {
            if (const auto* r = std::get_if<stdb::ReducerResult>(&m)) seen += r->request_id + r->result.index();
        }
        benchmark::DoNotOptimize(seen);
    }
    bench::report_allocations(state, before, c.messages);
    set_per_message_counters(state, c.messages);
}
BENCHMARK_CAPTURE(BM_DecodeReducerResult_Typed, v2_ok, ResultCase{ProtocolVersion::V2, 1, ReducerOutcomeKind::Ok});
BENCHMARK_CAPTURE(BM_DecodeReducerResult_Typed, v2_err, ResultCase{ProtocolVersion::V2, 1, ReducerOutcomeKind::Err});
BENCHMARK_CAPTURE(BM_DecodeReducerResult_Typed, v3_ok_x16, ResultCase{ProtocolVersion::V3, 16, ReducerOutcomeKind::Ok});
BENCHMARK_CAPTURE(BM_DecodeReducerResult_Typed, v3_err_x16,
                  ResultCase{ProtocolVersion::V3, 16, ReducerOutcomeKind::Err});

}  // namespace
