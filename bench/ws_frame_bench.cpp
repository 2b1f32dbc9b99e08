// Cost of the WebSocket frame codec (net/ws_frame.hpp) of the lean ws://
// path, per message: what the generator will pay to write a masked binary
// frame straight from its buffer (a mask key, the header, the payload
// masked in place) and to parse a server frame's header where it was read;
// what the stand-in will pay to parse and unmask a client's frame. 100 bytes
// is about one v3 message of a few transfer calls, 4 KiB a pipelined one.
//
// The Beast_ rows do what Beast 1.81 does for the same client write, from
// its own detail functions: a ChaCha20 key (its default secure PRNG), its
// header writer, the copy into its 4 KiB write buffer and its 4-byte mask
// loop. Beast's header parser is a member of its stream and cannot be timed
// alone; its whole read is in docs/performance.md's profiles.
#include <benchmark/benchmark.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_static_buffer.hpp>
#include <boost/beast/websocket/detail/frame.hpp>
#include <boost/beast/websocket/detail/mask.hpp>
#include <boost/beast/websocket/detail/prng.hpp>
#include <cstdint>
#include <cstring>
#include <vector>

#include "benchdist/net/ws_frame.hpp"
#include "support/alloc_counter.hpp"

namespace {

namespace ws = benchdist::net::ws;
namespace beast = boost::beast;
namespace wsd = beast::websocket::detail;

std::vector<std::uint8_t> payload_of(std::int64_t n) {
    std::vector<std::uint8_t> p(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 31 + 7);
    return p;
}

void set_bytes(benchmark::State& state, std::int64_t n) {
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * n);
}

// Client write: key, header, mask in place (the payload stays where it is;
// it is masked again every iteration, which costs the same).
void BM_WriteMaskedFrame(benchmark::State& state) {
    auto payload = payload_of(state.range(0));
    ws::MaskKeySource keys(0x1234'5678'9abc'def0ull);
    std::array<std::uint8_t, ws::kMaxHeaderBytes> head{};
    const auto before = benchdist::bench::thread_allocations();
    for (auto _ : state) {
        ws::FrameHeader h;
        h.masked = true;
        h.mask_key = keys.next();
        h.payload_length = payload.size();
        const auto n = ws::write_frame_header(head, h);
        ws::apply_mask(payload, h.mask_key);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(payload.data());
        benchmark::ClobberMemory();
    }
    benchdist::bench::report_allocations(state, before);
    set_bytes(state, state.range(0));
}
BENCHMARK(BM_WriteMaskedFrame)->ArgName("bytes")->Arg(100)->Arg(4096);

// The mask alone, at an odd start so the 8-byte steps are unaligned.
void BM_ApplyMask(benchmark::State& state) {
    auto buffer = payload_of(state.range(0) + 1);
    const std::span<std::uint8_t> payload(buffer.data() + 1, buffer.size() - 1);
    const ws::MaskKey key{0x37, 0xfa, 0x21, 0x3d};
    for (auto _ : state) {
        ws::apply_mask(payload, key, 1);
        benchmark::DoNotOptimize(payload.data());
        benchmark::ClobberMemory();
    }
    set_bytes(state, state.range(0));
}
BENCHMARK(BM_ApplyMask)->ArgName("bytes")->Arg(100)->Arg(4096)->Arg(65536);

// Generator read: a server frame's header, and the message state.
void BM_ParseServerHeader(benchmark::State& state) {
    ws::FrameHeader h;
    h.payload_length = static_cast<std::uint64_t>(state.range(0));
    std::vector<std::uint8_t> wire(ws::kMaxHeaderBytes);
    wire.resize(ws::write_frame_header(wire, h));
    const auto payload = payload_of(state.range(0));
    wire.insert(wire.end(), payload.begin(), payload.end());
    const ws::ReadLimits limits;
    ws::MessageState message;
    const auto before = benchdist::bench::thread_allocations();
    for (auto _ : state) {
        benchmark::DoNotOptimize(wire.data());
        const auto r = ws::parse_server_frame(wire, limits, message);
        message.accept(r.header);
        benchmark::DoNotOptimize(r);
    }
    benchdist::bench::report_allocations(state, before);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseServerHeader)->ArgName("bytes")->Arg(100)->Arg(4096);

// Stand-in read: a client's frame, parsed and unmasked in place.
void BM_ParseAndUnmaskClientFrame(benchmark::State& state) {
    ws::FrameHeader h;
    h.masked = true;
    h.mask_key = {0x37, 0xfa, 0x21, 0x3d};
    h.payload_length = static_cast<std::uint64_t>(state.range(0));
    std::vector<std::uint8_t> wire(ws::kMaxHeaderBytes);
    wire.resize(ws::write_frame_header(wire, h));
    const auto payload = payload_of(state.range(0));
    wire.insert(wire.end(), payload.begin(), payload.end());
    const ws::ReadLimits limits;
    ws::MessageState message;
    for (auto _ : state) {
        const auto r = ws::parse_client_frame(wire, limits, message);
        message.accept(r.header);
        ws::apply_mask(std::span(wire).subspan(r.header.header_length), r.header.mask_key);
        benchmark::DoNotOptimize(wire.data());
        benchmark::ClobberMemory();
    }
    set_bytes(state, state.range(0));
}
BENCHMARK(BM_ParseAndUnmaskClientFrame)->ArgName("bytes")->Arg(100)->Arg(4096);

// What Beast does for the same client write (websocket/impl/write.hpp,
// do_mask_nofrag): a key from its PRNG, its header, the payload copied into
// its write buffer and masked there.
void BM_Beast_WriteMaskedFrame(benchmark::State& state) {
    const auto payload = payload_of(state.range(0));
    std::vector<std::uint8_t> wr_buf(4096);
    beast::flat_static_buffer<14> head;
    const auto before = benchdist::bench::thread_allocations();
    for (auto _ : state) {
        std::uint32_t key = 0;
        auto g = wsd::make_prng(true);
        while (key == 0) key = g();
        wsd::frame_header fh{};
        fh.op = wsd::opcode::binary;
        fh.fin = true;
        fh.mask = true;
        fh.rsv1 = fh.rsv2 = fh.rsv3 = false;
        fh.len = payload.size();
        fh.key = key;
        head.clear();
        wsd::write(head, fh);
        wsd::prepared_key prepared;
        wsd::prepare_key(prepared, key);
        for (std::size_t at = 0; at < payload.size(); at += wr_buf.size()) {
            const auto n = std::min(wr_buf.size(), payload.size() - at);
            std::memcpy(wr_buf.data(), payload.data() + at, n);
            wsd::mask_inplace(boost::asio::mutable_buffer(wr_buf.data(), n), prepared);
        }
        benchmark::DoNotOptimize(wr_buf.data());
        benchmark::DoNotOptimize(head.data().data());
        benchmark::ClobberMemory();
    }
    benchdist::bench::report_allocations(state, before);
    set_bytes(state, state.range(0));
}
BENCHMARK(BM_Beast_WriteMaskedFrame)->ArgName("bytes")->Arg(100)->Arg(4096);

// Beast's mask loop alone, for BM_ApplyMask.
void BM_Beast_MaskInplace(benchmark::State& state) {
    auto buffer = payload_of(state.range(0) + 1);
    wsd::prepared_key prepared;
    wsd::prepare_key(prepared, 0x3d21fa37);
    for (auto _ : state) {
        wsd::mask_inplace(boost::asio::mutable_buffer(buffer.data() + 1, buffer.size() - 1), prepared);
        benchmark::DoNotOptimize(buffer.data());
        benchmark::ClobberMemory();
    }
    set_bytes(state, state.range(0));
}
BENCHMARK(BM_Beast_MaskInplace)->ArgName("bytes")->Arg(100)->Arg(4096)->Arg(65536);

}  // namespace
