// libFuzzer target for the WebSocket message decoders: every byte string is
// fed to the typed decoders (decode_client_message, decode_client_frame,
// decode_server_message, decode_server_body), to the zero-copy cursors of
// both protocol versions, and to open_server_payload with its compression
// byte. These are the functions that read bytes a remote peer chose, so a
// crash, a sanitizer report or an exception outside std::exception here is
// a remotely triggerable bug. A rejection (any std::exception) is fine.
//
// Besides "no crash", two properties the headers promise are checked:
// the typed and the zero-copy paths accept exactly the same inputs (their
// validation is shared code), and whatever the typed decoder accepts
// re-encodes to the same bytes (BSATN has one encoding per value, so a
// difference means the decoder accepted something it should have refused).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <span>
#include <vector>

#include "benchdist/bsatn/reader.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/v3_framing.hpp"

namespace {

namespace stdb = benchdist::stdb;
using Bytes = std::span<const std::uint8_t>;

// Small enough that a decompression bomb costs milliseconds, large enough
// for every real message in the corpus.
constexpr std::size_t kMaxDecompressed = std::size_t{1} << 20;

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "message_decode_fuzz: %s\n", what);
    std::abort();
}

// How many messages a decoder accepted, or nullopt when it refused the input.
template <typename F>
std::optional<std::size_t> accepted_count(F&& decode) {
    try {
        return decode();
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void check_client(Bytes bytes) {
    // One message filling the buffer; if accepted it must re-encode exactly.
    try {
        const auto message = stdb::decode_client_message(bytes);
        const auto again = stdb::encode_to_bytes(message);
        if (again.size() != bytes.size() || !std::equal(again.begin(), again.end(), bytes.begin())) {
            finding("decode_client_message accepted bytes that do not re-encode to themselves");
        }
    } catch (const std::exception&) {
    }
    for (const auto version : {stdb::ProtocolVersion::V2, stdb::ProtocolVersion::V3}) {
        const auto typed = accepted_count([&] { return stdb::decode_client_frame(bytes, version).size(); });
        const auto view = accepted_count([&] {
            stdb::ClientFrameCursor cursor(bytes, version);
            while (cursor.next()) {
                // Each view message must also decode on the typed path.
                (void)stdb::decode_client_message(cursor.message_bytes());
            }
            return cursor.count();
        });
        if (typed != view) finding("decode_client_frame and ClientFrameCursor disagree on a client frame");
    }
}

void check_server_body(Bytes body) {
    try {
        const auto message = stdb::decode_server_message(body);
        const auto again = stdb::encode_to_bytes(message);
        if (again.size() != body.size() || !std::equal(again.begin(), again.end(), body.begin())) {
            finding("decode_server_message accepted bytes that do not re-encode to themselves");
        }
    } catch (const std::exception&) {
    }
    for (const auto version : {stdb::ProtocolVersion::V2, stdb::ProtocolVersion::V3}) {
        const auto typed = accepted_count([&] { return stdb::decode_server_body(body, version).size(); });
        const auto view = accepted_count([&] {
            stdb::ServerBodyCursor cursor(body, version);
            while (cursor.next()) (void)stdb::decode_server_message(cursor.message_bytes());
            return cursor.count();
        });
        if (typed != view) finding("decode_server_body and ServerBodyCursor disagree on a server body");
    }
}

void check_server_payload(Bytes payload) {
    std::vector<std::uint8_t> scratch;
    Bytes body;
    try {
        body = stdb::open_server_payload(payload, scratch, kMaxDecompressed);
    } catch (const std::exception&) {
        return;
    }
    if (body.size() > kMaxDecompressed) finding("open_server_payload returned more than max_decompressed bytes");
    // Only compressed payloads reach new bytes here; plain ones are the
    // input minus one byte, already covered by check_server_body's callers.
    if (!payload.empty() && payload[0] != 0) check_server_body(body);
    for (const auto version : {stdb::ProtocolVersion::V2, stdb::ProtocolVersion::V3}) {
        try {
            (void)stdb::decode_server_payload(payload, version, kMaxDecompressed);
        } catch (const std::exception&) {
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes bytes(data, size);
    check_client(bytes);
    check_server_body(bytes);
    check_server_payload(bytes);
    return 0;
}
