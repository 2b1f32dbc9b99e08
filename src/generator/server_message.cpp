#include "generator/server_message.hpp"

#include <exception>
#include <optional>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/stdb/payload_compression.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"

namespace benchdist::generator {
namespace {

// Ends the call a ReducerResult answers; false when no call in flight has its id.
bool complete(CallPipeline& calls, const stdb::ReducerResultView& r) {
    switch (r.outcome) {
        case stdb::ReducerOutcomeKind::Ok:
        case stdb::ReducerOutcomeKind::OkEmpty:
            return calls.complete(r.request_id, CallStatus::Committed, {});
        case stdb::ReducerOutcomeKind::Err:
            return calls.complete(r.request_id, CallStatus::ModuleError, r.error_text);
        case stdb::ReducerOutcomeKind::InternalError:
            return calls.complete(r.request_id, CallStatus::InternalError, r.error_text);
    }
    return false;
}

}  // namespace

bool take_server_message(ServerMessageTarget& target, CallPipeline& calls, std::span<const std::uint8_t> payload,
                         stdb::ProtocolVersion protocol, std::vector<std::uint8_t>& scratch,
                         CallPipeline::Clock::time_point now) {
    // Calls made by the handlers below wait in the outbox and leave in one
    // write afterwards: results that arrived together are answered together.
    calls.begin_dispatch(now);
    // Set once the compression tag and the decompression passed: which kind
    // a DecodeError is depends on it.
    std::optional<std::span<const std::uint8_t>> body;
    try {
        body = stdb::open_server_payload(payload, scratch);
        stdb::ServerBodyCursor cursor(*body, protocol);
        while (cursor.next()) {
            if (cursor.tag() == stdb::ServerMessageTag::InitialConnection) {
                if (target.awaiting_initial()) target.opened();
            } else if (const auto* r = cursor.reducer_result()) {
                // While open every call in flight is still awaited (a timeout
                // closes the connection first), so a result for any other id
                // is the server's mistake; while closing it is a late answer
                // to a call already ended.
                if (!complete(calls, *r) && target.open()) {
                    calls.end_dispatch();
                    target.protocol_error(ProtocolErrorKind::UnknownRequestId,
                                          "ReducerResult for request id " + std::to_string(r->request_id) +
                                              ", which is not in flight on this connection",
                                          payload);
                    return false;
                }
            }
            if (target.closed()) {
                calls.end_dispatch();
                return false;
            }
        }
    } catch (const bsatn::DecodeError& e) {
        calls.end_dispatch();
        const auto kind = body ? classify_body_failure(*body, protocol)
                               : (payload.empty() ? ProtocolErrorKind::Framing : ProtocolErrorKind::CompressionTag);
        target.protocol_error(kind, e.what(), payload);
        return false;
    } catch (const stdb::PayloadError& e) {
        calls.end_dispatch();
        target.protocol_error(ProtocolErrorKind::Decompression, e.what(), payload);
        return false;
    } catch (const std::exception& e) {
        calls.end_dispatch();
        target.fail_connection("error while handling a message from " + target.url() + ": " + e.what());
        return false;
    }
    calls.end_dispatch();
    return true;
}

}  // namespace benchdist::generator
