// Golden wire bytes from tests/data/vectors.json (captured from the real SDK
// and server) that the benchmarks check their encoder-built inputs against
// before timing, so a benchmark never measures bytes the real peer would not
// send. Only the few vectors the benchmarks need, by their vectors.json name.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace benchdist::bench {

// v2.client.CallReducer.transfer: request_id 7, transfer(from 3, to 9, amount 1).
inline constexpr std::string_view kGoldenCallReducerTransfer =
    "030700000000080000007472616e736665721000000003000000090000000100000000000000";

// v2.server.ReducerResult.Ok.empty_update: request_id 7, timestamp
// 1767225600123456 us, Ok with empty ret_value and no query sets.
inline constexpr std::string_view kGoldenReducerResultOk = "06070000004022224648470600000000000000000000";
inline constexpr std::int64_t kGoldenTimestampMicros = 1767225600123456;

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
    auto nibble = [](char c) -> std::uint8_t {
        if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
        if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
        throw std::invalid_argument("not a lower-case hex digit");
    };
    std::vector<std::uint8_t> out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) << 4U | nibble(hex[i + 1])));
    }
    return out;
}

}  // namespace benchdist::bench
