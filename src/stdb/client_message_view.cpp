#include "benchdist/stdb/client_message_view.hpp"

#include "wire_read.hpp"

namespace benchdist::stdb {

void encode_call_reducer(bsatn::Writer& w, std::uint32_t request_id, std::string_view reducer,
                         std::span<const std::uint8_t> args) {
    w.write_tag(static_cast<std::uint8_t>(ClientMessageTag::CallReducer));
    w.write_u32(request_id);
    w.write_u8(0);
    w.write_string(reducer);
    w.write_bytes(args);
}

ClientMessageTag read_client_message_view(bsatn::Reader& r, CallReducerView* call) {
    const auto tag = static_cast<ClientMessageTag>(wire::read_tag(r, kClientMessageVariants, "ClientMessage"));
    switch (tag) {
        case ClientMessageTag::Subscribe: {
            r.read_u32("Subscribe.request_id");
            r.read_u32("Subscribe.query_set_id");
            const std::uint32_t n = wire::read_count(r, "Subscribe.query_strings", 4);
            for (std::uint32_t i = 0; i < n; ++i) wire::read_string(r, "Subscribe.query_strings[]");
            break;
        }
        case ClientMessageTag::Unsubscribe:
            r.read_u32("Unsubscribe.request_id");
            r.read_u32("Unsubscribe.query_set_id");
            wire::read_tag(r, 2, "UnsubscribeFlags");
            break;
        case ClientMessageTag::OneOffQuery:
            r.read_u32("OneOffQuery.request_id");
            wire::read_string(r, "OneOffQuery.query_string");
            break;
        case ClientMessageTag::CallReducer: {
            CallReducerView v;
            v.request_id = r.read_u32("CallReducer.request_id");
            wire::read_zero_flags(r, "CallReducer.flags");
            v.reducer = wire::read_string(r, "CallReducer.reducer");
            v.args = wire::read_byte_string(r, "CallReducer.args");
            if (call != nullptr) *call = v;
            break;
        }
        case ClientMessageTag::CallProcedure:
            r.read_u32("CallProcedure.request_id");
            wire::read_zero_flags(r, "CallProcedure.flags");
            wire::read_string(r, "CallProcedure.procedure");
            wire::read_byte_string(r, "CallProcedure.args");
            break;
    }
    return tag;
}

bool ClientFrameCursor::next() {
    if (reader_.at_end()) {
        if (count_ == 0) reader_.fail("a ClientMessage, but the client payload is empty");
        return false;
    }
    const std::size_t start = reader_.position();
    tag_ = read_client_message_view(reader_, &call_);
    ++count_;
    message_ = payload_.subspan(start, reader_.position() - start);
    if (version_ == ProtocolVersion::V2) reader_.expect_end("the ClientMessage of a v2 payload");
    return true;
}

}  // namespace benchdist::stdb
