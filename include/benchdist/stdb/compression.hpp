// The compression choices of SpacetimeDB's server->client messages: the value
// of the `compression` query parameter and the tag byte that starts every
// binary server message (0 none, 1 brotli, 2 gzip).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace benchdist::stdb {

enum class Compression : std::uint8_t { None = 0, Brotli = 1, Gzip = 2 };

// The query-parameter spelling the server expects: "None", "Brotli", "Gzip".
std::string_view compression_query_value(Compression c);
// Parses the query-parameter spelling (case-sensitive, as the server is).
std::optional<Compression> compression_from_query_value(std::string_view v);
// Parses a user's flag value: none|gzip|brotli, case-insensitive.
std::optional<Compression> compression_from_flag(std::string_view v);
std::string_view compression_flag_name(Compression c);

}  // namespace benchdist::stdb
