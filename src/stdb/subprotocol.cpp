#include "benchdist/stdb/subprotocol.hpp"

namespace benchdist::stdb {

std::string_view subprotocol_name(ProtocolVersion v) {
    return v == ProtocolVersion::V3 ? kSubprotocolV3 : kSubprotocolV2;
}

std::optional<ProtocolVersion> protocol_from_subprotocol(std::string_view name) {
    if (name == kSubprotocolV3) return ProtocolVersion::V3;
    if (name == kSubprotocolV2) return ProtocolVersion::V2;
    return std::nullopt;
}

namespace {

std::string_view trim(std::string_view s) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<ProtocolVersion> select_subprotocol(std::string_view client_header_value) {
    bool offers_v3 = false;
    bool offers_v2 = false;
    std::string_view rest = client_header_value;
    while (true) {
        const auto comma = rest.find(',');
        const auto entry = trim(rest.substr(0, comma));
        if (const auto v = protocol_from_subprotocol(entry)) {
            (*v == ProtocolVersion::V3 ? offers_v3 : offers_v2) = true;
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (offers_v3) return ProtocolVersion::V3;
    if (offers_v2) return ProtocolVersion::V2;
    return std::nullopt;
}

}  // namespace benchdist::stdb
