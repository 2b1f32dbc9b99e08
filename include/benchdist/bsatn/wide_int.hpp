// 128- and 256-bit integers as BSATN carries them: little-endian byte arrays.
// SpacetimeDB uses them for Identity (u256) and ConnectionId (u128); we never
// do arithmetic on them, so a byte array plus hex conversion is all we need.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace benchdist::bsatn {

template <std::size_t Bytes>
struct WideInt {
    // Little-endian, exactly as on the wire.
    std::array<std::uint8_t, Bytes> le{};

    friend bool operator==(const WideInt&, const WideInt&) = default;

    static WideInt from_u64(std::uint64_t v) {
        WideInt w;
        for (std::size_t i = 0; i < 8 && i < Bytes; ++i) w.le[i] = static_cast<std::uint8_t>(v >> (8 * i));
        return w;
    }

    // Big-endian lowercase hex (how SpacetimeDB prints identities), 2*Bytes digits.
    std::string to_hex_be() const {
        static constexpr char digits[] = "0123456789abcdef";
        std::string out;
        out.reserve(Bytes * 2);
        for (std::size_t i = Bytes; i-- > 0;) {
            out.push_back(digits[le[i] >> 4]);
            out.push_back(digits[le[i] & 0xF]);
        }
        return out;
    }

    // Parses big-endian hex with an optional 0x prefix; fewer digits than
    // 2*Bytes are left-padded with zeros (ethnum's serde form drops them).
    // Returns false on a non-hex character or too many digits.
    static bool from_hex_be(std::string_view hex, WideInt& out) {
        if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
        if (hex.empty() || hex.size() > Bytes * 2) return false;
        WideInt w;
        std::size_t nibble = 0;
        for (std::size_t i = hex.size(); i-- > 0; ++nibble) {
            const char c = hex[i];
            int v;
            if (c >= '0' && c <= '9')
                v = c - '0';
            else if (c >= 'a' && c <= 'f')
                v = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                v = c - 'A' + 10;
            else
                return false;
            w.le[nibble / 2] |= static_cast<std::uint8_t>(v << (4 * (nibble % 2)));
        }
        out = w;
        return true;
    }
};

using U128 = WideInt<16>;
using U256 = WideInt<32>;

}  // namespace benchdist::bsatn
