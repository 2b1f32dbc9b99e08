// Which SpacetimeDB WebSocket protocol a connection speaks, chosen through the
// Sec-WebSocket-Protocol header. We support the two BSATN protocols that share
// the v2 message set: v3 (several messages per WebSocket message) and v2 (one).
// The server picks by ITS preference order, not the client's, and the same rule
// lives here so the stand-in server negotiates exactly like the real one.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace benchdist::stdb {

enum class ProtocolVersion : std::uint8_t { V2, V3 };

inline constexpr std::string_view kSubprotocolV3 = "v3.bsatn.spacetimedb";
inline constexpr std::string_view kSubprotocolV2 = "v2.bsatn.spacetimedb";
// What a client offers when it accepts either (same order as the official SDK).
inline constexpr std::string_view kSubprotocolOfferV3V2 = "v3.bsatn.spacetimedb, v2.bsatn.spacetimedb";

std::string_view subprotocol_name(ProtocolVersion v);

// Exact match of one protocol name; anything else (v1, JSON, unknown) -> nullopt.
std::optional<ProtocolVersion> protocol_from_subprotocol(std::string_view name);

// The server's choice for a client's Sec-WebSocket-Protocol value: a
// comma-separated list with optional spaces/tabs around entries. Server
// preference is v3, then v2; the client's order is ignored. nullopt means
// the server answers 400 "no valid protocol selected" (v1 is not supported).
// Several header lines may be joined with "," before calling.
std::optional<ProtocolVersion> select_subprotocol(std::string_view client_header_value);

}  // namespace benchdist::stdb
