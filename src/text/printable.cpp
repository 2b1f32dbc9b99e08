#include "benchdist/text/printable.hpp"

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
    if (text.size() <= max_bytes) return "\"" + printable(text) + "\"";
    return "\"" + printable(text.substr(0, max_bytes)) + "\"... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace benchdist::text
