// The WebSocket frame codec (RFC 6455 §5) for the lean ws:// data path
// (issue 18, item 2): after Beast's handshake, the generator writes its
// masked binary frames straight from the connection's buffer and parses
// the server's frames where they were read, and the stand-in does the
// mirror image. Pure and allocation-free: no sockets, no Asio, no Beast,
// nothing thrown; every function works on caller buffers. Payloads are
// never copied: a parse returns where the payload starts, masking and
// unmasking happen in place.
//
// What the reader refuses, and how, is what Boost.Beast 1.81 (Debian 12)
// does today with our settings, read from its source
// (websocket/impl/stream_impl.hpp parse_fh, impl/read.hpp, detail/frame.hpp)
// so that the lean path refuses "the way it is now":
//
// - Fragmented messages are NOT refused today: Beast reassembles text or
//   binary messages sent as a first frame plus continuation frames, with
//   control frames allowed between them, and refuses only a continuation
//   with no message under way and a new data frame inside one (1002). Beast
//   itself fragments what it writes (auto_fragment is on by default: frames
//   of at most 4096 bytes), so our stand-in's server messages above 4 KiB
//   and the generator's coalesced v3 messages already travel in pieces. A
//   lean reader must accept fragments; MessageState tracks them.
// - Message size: the limit is on the whole message (the sum of its
//   fragments), checked when a frame header arrives. Generator: it never
//   calls read_message_max, so Beast's default applies, 16 MiB
//   (kBeastDefaultMessageMax). Stand-in: --max-message-bytes, 32 MiB by
//   default. Over it, Beast fails the connection with 1009 (too big) and no
//   reason. (The stand-in then calls async_close with "message exceeds the
//   32 MiB limit", but the stream is already failed, so that reason is
//   never sent -- read from Beast's source, not seen in a test; the text
//   also ignores --max-message-bytes.)
// - Masked frames from the server, unmasked frames from a client: refused,
//   1002 (protocol error).
// - Reserved bits: refused, 1002. RSV1 would be allowed only with
//   permessage-deflate, which neither side enables.
// - Unknown opcodes (3-7, 0xB-0xF): refused, 1002.
// - Control frames (close, ping, pong) with a 7-bit length above 125 or
//   without FIN: refused, 1002.
// - Frame lengths not in the minimal encoding (126 + a value < 126, 127 + a
//   value < 65536): refused, 1002. RFC 6455 §5.2 says "the minimal number
//   of bytes MUST be used"; we refuse them too. A 64-bit length with its top
//   bit set (the RFC says the bit MUST be 0) is not checked by Beast, but
//   with a message limit set it is over the limit and refused with 1009;
//   close_code_for() keeps that code.
// - Close frames: a payload of 1 byte, a code that is not valid (Beast's
//   is_valid_close_code, see is_valid_close_code() below) or a reason that
//   is not UTF-8: refused, 1002. Otherwise Beast answers with a close
//   frame carrying the same code (1000 when the peer sent none), waits for
//   the TCP close and reports websocket::error::closed with the peer's code
//   and reason; the generator reports "server closed the connection (code
//   N: reason)".
// - Ping: answered automatically with a pong carrying the same payload
//   (except while closing), and the generator's control callback counts it
//   as hearing from the server. Pong: only the callback. The generator's
//   own pings come from its SilenceWatch; the stand-in's from Beast's
//   keep-alive (idle timeout 30 s, ping at 15 s).
// - Text vs binary: Beast accepts both and validates text as UTF-8 (1007 if
//   it is not). Both sides then refuse a text message themselves: the
//   generator as a TextFrame protocol error, the stand-in by closing with
//   1011 "text frames are not supported ...". Only the error's kind for a
//   text message that is not UTF-8 would differ on a path that skips the
//   check.
// - An empty frame without FIN is skipped; the generator sends binary
//   messages only (binary(true)) and closes with 1000 and no reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace benchdist::net::ws {

enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// Close, ping and pong: bit 3 of the opcode (RFC 6455 §5.5).
constexpr bool is_control(Opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

// 2 bytes + 8 of extended length + 4 of mask key.
inline constexpr std::size_t kMaxHeaderBytes = 14;
inline constexpr std::size_t kMaxControlPayload = 125;
// A control frame with the largest header it can have (2 + 4 of mask key).
inline constexpr std::size_t kMaxControlFrameBytes = 6 + kMaxControlPayload;
// Beast's read_message_max when nobody sets it: the generator's limit today.
inline constexpr std::uint64_t kBeastDefaultMessageMax = 16u << 20;

// The four mask key bytes in wire order: payload byte i is XORed with key[i % 4].
using MaskKey = std::array<std::uint8_t, 4>;

struct FrameHeader {
    bool fin = true;
    Opcode opcode = Opcode::Binary;
    bool masked = false;
    MaskKey mask_key{};  // when masked
    std::uint64_t payload_length = 0;
    // 2 to 14: the payload starts this many bytes after the frame's first
    // byte. Set by the parsers; the writer computes its own.
    std::size_t header_length = 0;
};

// --- Writing ----------------------------------------------------------------

// The header's size for a payload of this length: 2, 4 or 10 bytes, plus 4
// when masked. Lets a caller reserve the room in front of a payload.
constexpr std::size_t header_length(std::uint64_t payload_length, bool masked) noexcept {
    const std::size_t base = payload_length < 126 ? 2 : payload_length <= 0xFFFF ? 4 : 10;
    return base + (masked ? 4 : 0);
}

// Writes a header with the minimal length encoding and the reserved bits
// clear: FIN, opcode, mask bit, length, and the key when `masked`.
// header.header_length is ignored. Returns the bytes written, or 0 (nothing
// written) when `out` is shorter than header_length(...) or the length has
// its top bit set (RFC 6455 §5.2 forbids it).
std::size_t write_frame_header(std::span<std::uint8_t> out, const FrameHeader& header) noexcept;

// XORs `bytes` with the key in place; masking and unmasking are the same
// operation. `offset` is the position of bytes[0] in the frame's payload
// (only offset % 4 matters), so a payload can be (un)masked in pieces as
// it arrives. Returns the offset for the next piece, (offset + size) % 4.
// Works 16 bytes at a time at any alignment.
std::size_t apply_mask(std::span<std::uint8_t> bytes, MaskKey key, std::size_t offset = 0) noexcept;

// A whole control frame (close, ping, pong) with its payload, masked when
// `mask` is given (a client's frame), into a buffer of
// kMaxControlFrameBytes. Returns its size, or 0 when the payload is over
// 125 bytes or the opcode is not a control opcode.
std::size_t write_control_frame(std::span<std::uint8_t, kMaxControlFrameBytes> out, Opcode opcode,
                                std::span<const std::uint8_t> payload, const MaskKey* mask) noexcept;

// Mask keys for a client's frames. RFC 6455 §5.3 asks for keys from "a
// strong source of entropy" and §10.3 says why: a script in a browser
// chooses the payload, and if it could predict the key it could choose the
// bytes an intermediary sees on the wire and poison its cache. Our
// payloads are chosen by our own code, never by an untrusted script, and
// there is no browser here, so the key's unpredictability protects nothing;
// a fast generator (splitmix64: an add, two multiplies, three shifts),
// seeded once per connection or thread from std::random_device, is enough.
// Beast uses ChaCha20 per thread.
// Zero keys are skipped, as Beast does: a zero key leaves the payload as is
// on the wire, which is legal but a server could take for a missing mask.
class MaskKeySource {
public:
    explicit MaskKeySource(std::uint64_t seed) noexcept : state_(seed) {}
    MaskKey next() noexcept;

private:
    std::uint64_t state_;
};

// --- Reading ----------------------------------------------------------------

enum class FrameError : std::uint8_t {
    ReservedBits,                // RSV1-3 set (no extension is negotiated)
    UnknownOpcode,               // 3-7 or 0xB-0xF
    FragmentedControl,           // close, ping or pong without FIN
    ControlTooLong,              // close, ping or pong with more than 125 bytes
    MaskedServerFrame,           // a server's frame with the mask bit (§5.1)
    UnmaskedClientFrame,         // a client's frame without it (§5.1)
    NonMinimalLength,            // 126 + a value < 126, 127 + a value < 65536 (§5.2)
    LengthTopBit,                // a 64-bit length with its top bit set (§5.2)
    ContinuationWithoutMessage,  // a continuation frame when no message is under way
    DataFrameInMessage,          // a text or binary frame while continuations are expected
    TooBig,                      // the message would exceed ReadLimits::max_message_bytes
};

// One line saying what the peer sent wrong; static text, nothing allocated.
std::string_view describe(FrameError error) noexcept;

// The close code Beast fails the connection with today for this error:
// 1009 for a message over the limit (and for a length with its top bit,
// which is over any limit), 1002 for everything else.
std::uint16_t close_code_for(FrameError error) noexcept;

struct ReadLimits {
    // The largest message (the sum of its fragments' payloads); 0: no limit,
    // as Beast's read_message_max(0).
    std::uint64_t max_message_bytes = kBeastDefaultMessageMax;
};

// What a reader remembers between frames, as Beast does: whether a
// fragmented message is under way, its type and its size so far. The parsers
// read it; the caller calls accept() with each header they return as a
// Frame, before parsing the next one. Control frames leave it unchanged.
struct MessageState {
    bool in_message = false;          // a data frame without FIN was accepted
    Opcode opcode = Opcode::Binary;   // of the message under way or last finished
    std::uint64_t message_bytes = 0;  // payload bytes of that message so far

    void accept(const FrameHeader& header) noexcept;
};

struct ParseResult {
    enum class Status : std::uint8_t { Frame, NeedMore, Error };
    Status status = Status::NeedMore;
    FrameHeader header;     // Frame
    std::size_t need = 0;   // NeedMore: bytes still missing before the header can be read (> 0)
    FrameError error = {};  // Error

    bool is_frame() const noexcept { return status == Status::Frame; }
    bool needs_more() const noexcept { return status == Status::NeedMore; }
    bool is_error() const noexcept { return status == Status::Error; }
    std::string_view message() const noexcept { return describe(error); }
};

// A frame header at the start of `bytes`, which may hold less or more than
// one frame: NeedMore with how many bytes are missing (at most 2 until the
// first two bytes are there, then exactly what the header still lacks), the
// header, or the first rule it breaks, checked in Beast's order. An error
// that the first two bytes show is reported as soon as they are there. The
// payload is not looked at and may be incomplete: it is bytes
// [header_length, header_length + payload_length).
//
// From a server, as the generator reads: unmasked frames only.
ParseResult parse_server_frame(std::span<const std::uint8_t> bytes, const ReadLimits& limits,
                               const MessageState& state) noexcept;
// From a client, as the stand-in reads: masked frames only; unmask the
// payload with apply_mask(payload, header.mask_key).
ParseResult parse_client_frame(std::span<const std::uint8_t> bytes, const ReadLimits& limits,
                               const MessageState& state) noexcept;

// --- Close frames (RFC 6455 §5.5.1, §7.4) ----------------------------------

inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseProtocolError = 1002;
// Never on the wire: what an empty close payload means (§7.1.5).
inline constexpr std::uint16_t kCloseNoStatus = 1005;
inline constexpr std::uint16_t kCloseTooBig = 1009;
inline constexpr std::uint16_t kCloseInternalError = 1011;
// A close payload holds the 2-byte code and at most 123 bytes of reason.
inline constexpr std::size_t kMaxCloseReason = kMaxControlPayload - 2;

// Whether a peer may send this code, as Beast decides: 1000-1003 and
// 1007-1013 (1012 and 1013 are IANA's, after the RFC), and 3000 and above
// (§7.4.2: 3000-3999 registered, 4000-4999 private; Beast accepts 5000 and
// above too, the RFC assigns them nothing). Refused: 0-999, 1004-1006 (1005
// and 1006 must never be sent), 1014-2999.
bool is_valid_close_code(std::uint16_t code) noexcept;

enum class CloseError : std::uint8_t {
    OneByte,        // a code needs two bytes
    InvalidCode,    // is_valid_close_code() says no
    ReasonNotUtf8,  // §5.5.1: the reason is UTF-8
};
std::string_view describe(CloseError error) noexcept;

struct CloseParse {
    bool ok = false;
    CloseError error = {};                // when !ok
    std::uint16_t code = kCloseNoStatus;  // kCloseNoStatus for an empty payload
    std::string_view reason;              // into the payload
};

// The payload of a close frame (at most 125 bytes: the frame parser checks).
CloseParse parse_close_payload(std::span<const std::uint8_t> payload) noexcept;

// A close payload: the code big-endian and the reason, cut to 123 bytes at
// a UTF-8 character boundary (the stand-in's close_reason_text cuts at 123
// whatever is there, which can make the reason invalid UTF-8). kCloseNoStatus
// writes an empty payload. Returns the payload's size.
std::size_t write_close_payload(std::span<std::uint8_t, kMaxControlPayload> out, std::uint16_t code,
                                std::string_view reason) noexcept;

}  // namespace benchdist::net::ws
