// Compression of server->client WebSocket payloads: gzip (RFC 1952) and
// brotli, as SpacetimeDB uses them (gzip level 1, brotli quality 1, one
// complete stream per message). Decompression is defensive because it runs
// on bytes from the network: output is capped (a small compressed message
// must not expand into gigabytes) and corrupt, truncated or over-long
// streams raise PayloadError naming the algorithm and the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "benchdist/stdb/compression.hpp"

namespace benchdist::stdb {

// The one error type of decompression (distinct from bsatn::DecodeError so a
// caller can tell "bad compressed stream" from "bad message").
class PayloadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kDefaultMaxDecompressedBytes = std::size_t{64} << 20;  // 64 MiB
inline constexpr int kServerGzipLevel = 1;
inline constexpr int kServerBrotliQuality = 1;

// All functions APPEND to `out` (so callers can reuse a buffer: clear() it
// first). max_output bounds the bytes appended by one decompression. gzip
// decompression accepts any valid gzip stream, including several members;
// anything after the last member is an error. On error `out` is restored to
// its size before the call.
void gzip_compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out, int level = kServerGzipLevel);
void gzip_decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                     std::size_t max_output = kDefaultMaxDecompressedBytes);
void brotli_compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                     int quality = kServerBrotliQuality);
void brotli_decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                       std::size_t max_output = kDefaultMaxDecompressedBytes);

// Dispatch on the algorithm; Compression::None copies.
void compress(Compression algorithm, std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out);
void decompress(Compression algorithm, std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                std::size_t max_output = kDefaultMaxDecompressedBytes);

}  // namespace benchdist::stdb
