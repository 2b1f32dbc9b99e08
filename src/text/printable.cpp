#include "benchdist/text/printable.hpp"

#include <algorithm>

namespace benchdist::text {

std::string printable(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7f) {
            out.push_back(ch);
        } else {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0x0f]);
        }
    }
    return out;
}

std::string quoted_excerpt(std::string_view text, std::size_t max_bytes) {
    // Appended rather than `"\"" + string&&`, on which GCC 12 at -O3 warns
    // falsely (-Wrestrict).
    std::string out = "\"";
    out += printable(text.substr(0, std::min(text.size(), max_bytes)));
    out += '"';
    if (text.size() > max_bytes) out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

}  // namespace benchdist::text
