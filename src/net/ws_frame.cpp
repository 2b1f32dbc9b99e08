#include "benchdist/net/ws_frame.hpp"

#include <bit>
#include <cstring>
#include <limits>

#include "benchdist/bsatn/reader.hpp"

namespace benchdist::net::ws {

namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kReservedBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLength7Bits = 0x7F;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;

ParseResult need_more(std::size_t n) noexcept {
    ParseResult r;
    r.status = ParseResult::Status::NeedMore;
    r.need = n;
    return r;
}

ParseResult failed(FrameError e) noexcept {
    ParseResult r;
    r.status = ParseResult::Status::Error;
    r.error = e;
    return r;
}

bool known_opcode(std::uint8_t op) noexcept {
    switch (static_cast<Opcode>(op)) {
        case Opcode::Continuation:
        case Opcode::Text:
        case Opcode::Binary:
        case Opcode::Close:
        case Opcode::Ping:
        case Opcode::Pong:
            return true;
    }
    return false;
}

// Beast's sum_exceeds: a + b > max without overflowing.
bool sum_exceeds(std::uint64_t a, std::uint64_t b, std::uint64_t max) noexcept { return b > max || a > max - b; }

// One parser for both directions: the rules differ only in the mask bit.
ParseResult parse_frame(std::span<const std::uint8_t> bytes, bool masked_expected, const ReadLimits& limits,
                        const MessageState& state) noexcept {
    if (bytes.size() < 2) return need_more(2 - bytes.size());
    const std::uint8_t b0 = bytes[0];
    const std::uint8_t b1 = bytes[1];
    const bool fin = (b0 & kFin) != 0;
    const bool reserved = (b0 & kReservedBits) != 0;
    const std::uint8_t op = b0 & kOpcodeBits;
    const bool masked = (b1 & kMaskBit) != 0;
    const std::uint8_t length7 = b1 & kLength7Bits;

    // What the first two bytes decide, in Beast's order (parse_fh): the
    // opcode against the message under way, the reserved bits, the control
    // frame rules, then the mask bit.
    if (!known_opcode(op)) return failed(FrameError::UnknownOpcode);
    const auto opcode = static_cast<Opcode>(op);
    if (is_control(opcode)) {
        if (!fin) return failed(FrameError::FragmentedControl);
        if (length7 > kMaxControlPayload) return failed(FrameError::ControlTooLong);
    } else if (opcode == Opcode::Continuation) {
        if (!state.in_message) return failed(FrameError::ContinuationWithoutMessage);
    } else if (state.in_message) {
        return failed(FrameError::DataFrameInMessage);
    }
    if (reserved) return failed(FrameError::ReservedBits);
    if (masked != masked_expected)
        return failed(masked ? FrameError::MaskedServerFrame : FrameError::UnmaskedClientFrame);

    const std::size_t length_bytes = length7 == kLength16 ? 2 : length7 == kLength64 ? 8 : 0;
    const std::size_t header_length = 2 + length_bytes + (masked ? 4 : 0);
    if (bytes.size() < header_length) return need_more(header_length - bytes.size());

    std::uint64_t length = length7;
    if (length_bytes != 0) {
        length = 0;
        for (std::size_t i = 0; i < length_bytes; ++i) length = (length << 8) | bytes[2 + i];
        if (length_bytes == 8 && (length >> 63) != 0) return failed(FrameError::LengthTopBit);
        // §5.2: "the minimal number of bytes MUST be used"; Beast refuses
        // the others (bad_size), and so do we.
        if (length < (length_bytes == 2 ? 126u : 65536u)) return failed(FrameError::NonMinimalLength);
    }
    if (!is_control(opcode) && limits.max_message_bytes != 0) {
        const std::uint64_t so_far = opcode == Opcode::Continuation ? state.message_bytes : 0;
        if (sum_exceeds(so_far, length, limits.max_message_bytes)) return failed(FrameError::TooBig);
    }

    ParseResult r;
    r.status = ParseResult::Status::Frame;
    r.header.fin = fin;
    r.header.opcode = opcode;
    r.header.masked = masked;
    if (masked) std::memcpy(r.header.mask_key.data(), bytes.data() + 2 + length_bytes, 4);
    r.header.payload_length = length;
    r.header.header_length = header_length;
    return r;
}

}  // namespace

std::size_t write_frame_header(std::span<std::uint8_t> out, const FrameHeader& header) noexcept {
    const std::uint64_t length = header.payload_length;
    const std::size_t n = header_length(length, header.masked);
    if (out.size() < n || (length >> 63) != 0) return 0;
    std::uint8_t* p = out.data();
    p[0] = static_cast<std::uint8_t>((header.fin ? kFin : 0) | static_cast<std::uint8_t>(header.opcode));
    const std::uint8_t mask = header.masked ? kMaskBit : 0;
    std::size_t i = 2;
    if (length < 126) {
        p[1] = static_cast<std::uint8_t>(mask | length);
    } else if (length <= 0xFFFF) {
        p[1] = mask | kLength16;
        p[2] = static_cast<std::uint8_t>(length >> 8);
        p[3] = static_cast<std::uint8_t>(length);
        i = 4;
    } else {
        p[1] = mask | kLength64;
        for (int b = 0; b < 8; ++b) p[2 + b] = static_cast<std::uint8_t>(length >> (56 - 8 * b));
        i = 10;
    }
    if (header.masked) std::memcpy(p + i, header.mask_key.data(), 4);
    return n;
}

std::size_t apply_mask(std::span<std::uint8_t> bytes, MaskKey key, std::size_t offset) noexcept {
    // The word whose bytes in memory are the key bytes for bytes[0..3],
    // twice: the key's period is 4, so one word serves every step. Built in
    // registers: a pattern assembled byte by byte in memory and read back as
    // a wider word stalls store forwarding, which cost more than the XORs on
    // 100-byte payloads.
    const auto r = [&](std::size_t j) -> std::uint32_t { return key[(offset + j) & 3]; };
    const std::uint32_t k32 = std::endian::native == std::endian::little ? r(0) | r(1) << 8 | r(2) << 16 | r(3) << 24
                                                                         : r(0) << 24 | r(1) << 16 | r(2) << 8 | r(3);
    const std::uint64_t wide = std::uint64_t{k32} << 32 | k32;
    // 16 bytes a step through a GCC/Clang vector type (one unaligned SSE
    // load, XOR and store on x86-64), then one 8-byte word, then bytes.
    // memcpy in and out: any alignment, no aliasing questions. Plain 8-byte
    // words only measured 1.8x slower on 4 KiB (bench/ws_frame_bench.cpp).
    using Word16 = std::uint64_t __attribute__((vector_size(16)));
    const Word16 wide16 = {wide, wide};
    std::uint8_t* p = bytes.data();
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        Word16 v;
        std::memcpy(&v, p + i, 16);
        v ^= wide16;
        std::memcpy(p + i, &v, 16);
    }
    if (i + 8 <= n) {
        std::uint64_t v;
        std::memcpy(&v, p + i, 8);
        v ^= wide;
        std::memcpy(p + i, &v, 8);
        i += 8;
    }
    // i is a multiple of 8 here, so the tail starts at key byte offset % 4.
    // (Written with j rather than i: the same code, but this layout
    // measured 79 ns per 4 KiB against 142 on this VM; the difference is
    // the loop's placement, not its instructions.)
    for (std::size_t j = 0; i < n; ++i, ++j) p[i] ^= key[(offset + j) & 3];
    return (offset + n) & 3;
}

std::size_t write_control_frame(std::span<std::uint8_t, kMaxControlFrameBytes> out, Opcode opcode,
                                std::span<const std::uint8_t> payload, const MaskKey* mask) noexcept {
    if (!is_control(opcode) || payload.size() > kMaxControlPayload) return 0;
    FrameHeader h;
    h.opcode = opcode;
    h.masked = mask != nullptr;
    if (mask) h.mask_key = *mask;
    h.payload_length = payload.size();
    const std::size_t n = write_frame_header(out, h);
    if (!payload.empty()) std::memcpy(out.data() + n, payload.data(), payload.size());
    if (mask) apply_mask(out.subspan(n, payload.size()), *mask);
    return n + payload.size();
}

MaskKey MaskKeySource::next() noexcept {
    for (;;) {
        // splitmix64 (Steele, Lea, Flood 2014): one add and three
        // multiply-xorshift steps; every seed, zero too, gives a full period.
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        const auto k = static_cast<std::uint32_t>(z);
        if (k == 0) continue;
        return {static_cast<std::uint8_t>(k), static_cast<std::uint8_t>(k >> 8), static_cast<std::uint8_t>(k >> 16),
                static_cast<std::uint8_t>(k >> 24)};
    }
}

std::string_view describe(FrameError error) noexcept {
    switch (error) {
        case FrameError::ReservedBits:
            return "a WebSocket frame with a reserved bit (RSV1-3) set, but no extension was negotiated";
        case FrameError::UnknownOpcode:
            return "a WebSocket frame with a reserved opcode (3-7 or 0xB-0xF)";
        case FrameError::FragmentedControl:
            return "a fragmented WebSocket control frame (close, ping or pong without FIN)";
        case FrameError::ControlTooLong:
            return "a WebSocket control frame (close, ping or pong) longer than 125 bytes";
        case FrameError::MaskedServerFrame:
            return "a masked WebSocket frame from the server (servers must not mask)";
        case FrameError::UnmaskedClientFrame:
            return "an unmasked WebSocket frame from a client (clients must mask)";
        case FrameError::NonMinimalLength:
            return "a WebSocket frame length not in its shortest encoding";
        case FrameError::LengthTopBit:
            return "a WebSocket frame length with its most significant bit set";
        case FrameError::ContinuationWithoutMessage:
            return "a WebSocket continuation frame with no fragmented message under way";
        case FrameError::DataFrameInMessage:
            return "a new WebSocket text or binary frame while a fragmented message awaits its continuation";
        case FrameError::TooBig:
            return "a WebSocket message larger than the limit";
    }
    return "an invalid WebSocket frame";
}

std::uint16_t close_code_for(FrameError error) noexcept {
    return error == FrameError::TooBig || error == FrameError::LengthTopBit ? kCloseTooBig : kCloseProtocolError;
}

void MessageState::accept(const FrameHeader& header) noexcept {
    if (is_control(header.opcode)) return;
    if (header.opcode == Opcode::Continuation) {
        // The parser refused sums over the limit; without a limit, saturate.
        const std::uint64_t room = std::numeric_limits<std::uint64_t>::max() - message_bytes;
        message_bytes += header.payload_length < room ? header.payload_length : room;
    } else {
        opcode = header.opcode;
        message_bytes = header.payload_length;
    }
    in_message = !header.fin;
}

ParseResult parse_server_frame(std::span<const std::uint8_t> bytes, const ReadLimits& limits,
                               const MessageState& state) noexcept {
    return parse_frame(bytes, false, limits, state);
}

ParseResult parse_client_frame(std::span<const std::uint8_t> bytes, const ReadLimits& limits,
                               const MessageState& state) noexcept {
    return parse_frame(bytes, true, limits, state);
}

bool is_valid_close_code(std::uint16_t code) noexcept {
    if (code < 1000) return false;
    if (code <= 1003) return true;
    if (code <= 1006) return false;  // 1004 reserved, 1005 and 1006 never sent
    if (code <= 1013) return true;
    if (code < 3000) return false;  // 1014, 1015 and the rest reserved
    return true;
}

std::string_view describe(CloseError error) noexcept {
    switch (error) {
        case CloseError::OneByte:
            return "a WebSocket close frame with a 1-byte payload (a close code takes 2)";
        case CloseError::InvalidCode:
            return "a WebSocket close frame with a code no endpoint may send";
        case CloseError::ReasonNotUtf8:
            return "a WebSocket close frame whose reason is not UTF-8";
    }
    return "an invalid WebSocket close frame";
}

CloseParse parse_close_payload(std::span<const std::uint8_t> payload) noexcept {
    CloseParse r;
    if (payload.empty()) {
        r.ok = true;
        return r;
    }
    if (payload.size() == 1) {
        r.error = CloseError::OneByte;
        return r;
    }
    r.code = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
    if (!is_valid_close_code(r.code)) {
        r.error = CloseError::InvalidCode;
        return r;
    }
    r.reason = std::string_view(reinterpret_cast<const char*>(payload.data()) + 2, payload.size() - 2);
    if (!bsatn::is_valid_utf8(r.reason)) {
        r.error = CloseError::ReasonNotUtf8;
        r.reason = {};
        return r;
    }
    r.ok = true;
    return r;
}

std::size_t write_close_payload(std::span<std::uint8_t, kMaxControlPayload> out, std::uint16_t code,
                                std::string_view reason) noexcept {
    if (code == kCloseNoStatus) return 0;
    out[0] = static_cast<std::uint8_t>(code >> 8);
    out[1] = static_cast<std::uint8_t>(code);
    std::size_t n = reason.size();
    if (n > kMaxCloseReason) {
        n = kMaxCloseReason;
        // Back off to the start of the character the cut falls in
        // (continuation bytes are 10xxxxxx).
        while (n > 0 && (static_cast<std::uint8_t>(reason[n]) & 0xC0) == 0x80) --n;
    }
    if (n != 0) std::memcpy(out.data() + 2, reason.data(), n);
    return 2 + n;
}

}  // namespace benchdist::net::ws
