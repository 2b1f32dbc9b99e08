// libFuzzer target for the WebSocket frame codec (net/ws_frame.hpp), the
// code that will read every byte a peer sends on the lean ws:// path. The
// input's first byte picks the message limit; the rest is read as a TCP
// stream is, frame after frame, once as a server's frames (the generator's
// side) and once as a client's (the stand-in's), with the MessageState
// carried between frames, until a frame is refused or the bytes run out.
//
// Besides "no crash", it checks what the header promises:
// - need-more only when the header is incomplete: the bytes it asks for are
//   within the 14 of a header, and with them the parse is no longer
//   need-more; every prefix shorter than an accepted header is need-more,
//   asking for exactly what is missing once two bytes are there;
// - a refusal or an accepted header does not change when more bytes follow;
// - an accepted header lies within the input, is as long as its encoding
//   says, obeys the mask rule of its direction, the control frame rules and
//   the message limit, and write_frame_header writes back the same bytes
//   (only minimal length encodings are accepted, so that is exact);
// - masking a payload in two pieces equals masking it at once and undoes;
// - a close payload that parses is written back identically.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "benchdist/net/ws_frame.hpp"

namespace {

namespace ws = benchdist::net::ws;
using Bytes = std::span<const std::uint8_t>;

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "ws_frame_fuzz: %s\n", what);
    std::abort();
}

void check(bool ok, const char* what) {
    if (!ok) finding(what);
}

ws::ParseResult parse(Bytes bytes, bool from_server, const ws::ReadLimits& limits, const ws::MessageState& state) {
    return from_server ? ws::parse_server_frame(bytes, limits, state) : ws::parse_client_frame(bytes, limits, state);
}

bool same(const ws::ParseResult& a, const ws::ParseResult& b) {
    if (a.status != b.status) return false;
    if (a.is_error()) return a.error == b.error;
    if (a.needs_more()) return true;
    return a.header.fin == b.header.fin && a.header.opcode == b.header.opcode && a.header.masked == b.header.masked &&
           a.header.mask_key == b.header.mask_key && a.header.payload_length == b.header.payload_length &&
           a.header.header_length == b.header.header_length;
}

// The same bytes followed by `extra` more (0xA5: not all zero, not all ones).
std::vector<std::uint8_t> extended(Bytes bytes, std::size_t extra) {
    std::vector<std::uint8_t> out(bytes.begin(), bytes.end());
    out.resize(out.size() + extra, 0xA5);
    return out;
}

void check_payload(std::span<const std::uint8_t> payload, const ws::FrameHeader& h) {
    std::vector<std::uint8_t> plain(payload.begin(), payload.end());
    if (h.masked) {
        std::vector<std::uint8_t> whole = plain;
        ws::apply_mask(whole, h.mask_key);
        std::vector<std::uint8_t> pieces = plain;
        const std::size_t cut = pieces.size() / 3;
        const auto offset = ws::apply_mask(std::span(pieces).first(cut), h.mask_key);
        check(offset == cut % 4, "apply_mask returned the wrong next offset");
        ws::apply_mask(std::span(pieces).subspan(cut), h.mask_key, offset);
        check(pieces == whole, "masking in two pieces differs from masking at once");
        ws::apply_mask(whole, h.mask_key);
        check(std::equal(whole.begin(), whole.end(), payload.begin()), "masking twice does not undo it");
        plain = pieces;  // unmasked
    }
    if (h.opcode == ws::Opcode::Close) {
        const auto close = ws::parse_close_payload(plain);
        check(close.ok || !ws::describe(close.error).empty(), "a close error without a description");
        if (close.ok) {
            check(plain.empty() == (close.code == ws::kCloseNoStatus), "an empty close payload is not 1005");
            check(ws::is_valid_close_code(close.code) || plain.empty(), "an accepted close code is not valid");
            std::array<std::uint8_t, ws::kMaxControlPayload> out{};
            const auto n = ws::write_close_payload(out, close.code, close.reason);
            check(n == plain.size() && std::equal(plain.begin(), plain.end(), out.begin()),
                  "a close payload does not write back to itself");
        }
    }
}

void read_stream(Bytes stream, bool from_server, const ws::ReadLimits& limits) {
    ws::MessageState state;
    std::size_t pos = 0;
    for (;;) {
        const Bytes rest = stream.subspan(pos);
        const auto r = parse(rest, from_server, limits, state);
        if (r.needs_more()) {
            check(r.need > 0 && rest.size() + r.need <= ws::kMaxHeaderBytes, "need-more beyond a header's 14 bytes");
            if (rest.size() < 2) {
                check(r.need == 2 - rest.size(), "need-more before two bytes is not 2 - size");
            } else {
                // From two bytes on, it asks for exactly the rest of the header.
                const auto more = extended(rest, r.need);
                check(!parse(more, from_server, limits, state).needs_more(), "still need-more with what it asked for");
            }
            return;
        }
        // Nothing past the header is read: more bytes change nothing.
        check(same(r, parse(extended(rest, 16), from_server, limits, state)), "the result changed with more bytes");
        if (r.is_error()) {
            check(!r.message().empty(), "an error without a description");
            const auto code = ws::close_code_for(r.error);
            check(code == ws::kCloseProtocolError || code == ws::kCloseTooBig, "an unexpected close code");
            return;
        }
        const auto& h = r.header;
        check(h.header_length >= 2 && h.header_length <= ws::kMaxHeaderBytes && h.header_length <= rest.size(),
              "a header longer than the bytes it was read from");
        check(h.header_length == ws::header_length(h.payload_length, h.masked), "header_length disagrees");
        check(h.masked == !from_server, "a frame accepted with the wrong mask bit");
        if (ws::is_control(h.opcode)) check(h.fin && h.payload_length <= 125, "a control frame breaks its rules");
        if (!ws::is_control(h.opcode) && limits.max_message_bytes != 0) {
            const auto so_far = h.opcode == ws::Opcode::Continuation ? state.message_bytes : 0;
            check(h.payload_length <= limits.max_message_bytes && so_far <= limits.max_message_bytes - h.payload_length,
                  "a frame accepted over the message limit");
        }
        std::array<std::uint8_t, ws::kMaxHeaderBytes> again{};
        const auto n = ws::write_frame_header(again, h);
        check(n == h.header_length && std::equal(again.begin(), again.begin() + n, rest.begin()),
              "an accepted header does not encode back to its bytes");
        for (std::size_t k = 0; k < h.header_length; ++k) {
            const auto p = parse(rest.first(k), from_server, limits, state);
            check(p.needs_more() && p.need == (k < 2 ? 2 - k : h.header_length - k),
                  "a prefix of an accepted header is not need-more for exactly what is missing");
        }
        state.accept(h);
        if (limits.max_message_bytes != 0)
            check(state.message_bytes <= limits.max_message_bytes, "a message grew over the limit");
        const std::size_t available = rest.size() - h.header_length;
        if (h.payload_length > available) return;  // the payload is still on its way
        const auto payload_length = static_cast<std::size_t>(h.payload_length);
        check_payload(rest.subspan(h.header_length, payload_length), h);
        pos += h.header_length + payload_length;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // Small limits make TooBig reachable with small inputs; 0 is no limit.
    static constexpr std::uint64_t kLimits[] = {0, 125, 4096, ws::kBeastDefaultMessageMax};
    const ws::ReadLimits limits{kLimits[data[0] % 4]};
    const Bytes stream(data + 1, size - 1);
    read_stream(stream, true, limits);
    read_stream(stream, false, limits);
    return 0;
}
