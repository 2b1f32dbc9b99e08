// Zero-copy handling of server messages for the generator's receive loop:
// walk a decompressed server body (one message on v2, several on v3), pull
// out what a closed-loop caller needs from each ReducerResult (request id,
// timestamp, outcome, error text) and skip everything else without building
// rows or strings. Nothing here allocates on success; views point into the
// body. Validation is shared with decode_server_message, so a body accepted
// here is accepted there and vice versa. Also a matching allocation-free
// ReducerResult encoder for the stand-in server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "benchdist/bsatn/reader.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::stdb {

// ReducerOutcome's variant index.
enum class ReducerOutcomeKind : std::uint8_t { Ok = 0, OkEmpty = 1, Err = 2, InternalError = 3 };
std::string_view reducer_outcome_name(ReducerOutcomeKind kind);

struct ReducerResultView {
    std::uint32_t request_id = 0;
    Timestamp timestamp;
    ReducerOutcomeKind outcome = ReducerOutcomeKind::Ok;
    // Err: the user error string decoded from inside the Err bytes;
    // InternalError: its message; empty for Ok/OkEmpty.
    std::string_view error_text;
    // Ok only: the reducer's return value bytes (empty for keynote reducers).
    std::span<const std::uint8_t> ret_value;
    // Ok only: how many query sets the (skipped) transaction update carried.
    std::uint32_t query_set_count = 0;
};

// Reads and validates one ServerMessage without copying and returns its tag;
// when it is a ReducerResult and `result` is not null, fills *result. An Err
// whose bytes are not exactly one BSATN string is a DecodeError (the real
// server always nests a string there).
ServerMessageTag read_server_message_view(bsatn::Reader& r, ReducerResultView* result);
inline ServerMessageTag skip_server_message(bsatn::Reader& r) { return read_server_message_view(r, nullptr); }

// Walks one server body (after the compression byte and decompression). v2:
// exactly one message, trailing bytes are an error; v3: one or more back to
// back until the body is used up exactly. An empty body is an error on both.
// next() throws bsatn::DecodeError.
class ServerBodyCursor {
public:
    ServerBodyCursor(std::span<const std::uint8_t> body, ProtocolVersion version, std::size_t base_offset = 0)
        : body_(body), reader_(body, base_offset), version_(version) {}

    bool next();

    ServerMessageTag tag() const { return tag_; }
    // The whole current message (decode_server_message(message_bytes()) for the typed form).
    std::span<const std::uint8_t> message_bytes() const { return message_; }
    const ReducerResultView* reducer_result() const {
        return tag_ == ServerMessageTag::ReducerResult ? &result_ : nullptr;
    }
    std::size_t count() const { return count_; }

private:
    std::span<const std::uint8_t> body_;
    bsatn::Reader reader_;
    ProtocolVersion version_;
    std::size_t count_ = 0;
    ServerMessageTag tag_ = ServerMessageTag::InitialConnection;
    std::span<const std::uint8_t> message_;
    ReducerResultView result_;
};

// Appends ServerMessage::ReducerResult with an outcome that needs no rows:
// Ok (empty ret_value, empty transaction update -- what the real server sends
// a caller with no subscriptions), OkEmpty, Err(error_text) (nested as a BSATN
// string, as the server does) or InternalError(error_text). error_text is
// ignored for Ok/OkEmpty.
void encode_reducer_result(bsatn::Writer& w, std::uint32_t request_id, Timestamp timestamp, ReducerOutcomeKind kind,
                           std::string_view error_text = {});

}  // namespace benchdist::stdb
