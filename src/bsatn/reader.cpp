#include "benchdist/bsatn/reader.hpp"

#include <bit>

namespace benchdist::bsatn {

void Reader::fail(std::string_view expected) const { throw DecodeError(absolute_position(), std::string(expected)); }

std::span<const std::uint8_t> Reader::read_raw(std::size_t n, std::string_view what) {
    if (n > remaining()) {
        fail("expected " + std::string(what) + " (" + std::to_string(n) + " bytes) but only " +
             std::to_string(remaining()) + " bytes remain");
    }
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
}

bool Reader::read_bool(std::string_view what) {
    const std::size_t at = pos_;
    const std::uint8_t b = read_u8(what);
    if (b > 1) {
        pos_ = at;
        fail("expected " + std::string(what) + " as bool 0 or 1, got " + std::to_string(b));
    }
    return b == 1;
}

float Reader::read_f32(std::string_view what) { return std::bit_cast<float>(read_u32(what)); }
double Reader::read_f64(std::string_view what) { return std::bit_cast<double>(read_u64(what)); }

std::uint8_t Reader::read_tag(std::uint8_t variant_count, std::string_view sum_name) {
    const std::size_t at = pos_;
    const std::uint8_t tag = read_u8(std::string(sum_name) + " tag");
    if (tag >= variant_count) {
        pos_ = at;
        fail("unknown " + std::string(sum_name) + " tag " + std::to_string(tag) + " (expected 0.." +
             std::to_string(variant_count - 1) + ")");
    }
    return tag;
}

bool Reader::read_option_is_some(std::string_view what) {
    return read_tag(2, "Option<" + std::string(what) + ">") == 0;
}

std::uint32_t Reader::read_length(std::string_view what, std::size_t min_element_size) {
    const std::size_t at = pos_;
    const std::uint32_t n = read_u32(std::string(what) + " length");
    if (min_element_size > 0 && static_cast<std::uint64_t>(n) * min_element_size > remaining()) {
        const std::size_t after_prefix = remaining();
        pos_ = at;
        fail(std::string(what) + " length " + std::to_string(n) + " exceeds the " + std::to_string(after_prefix) +
             " bytes that remain");
    }
    return n;
}

std::string_view Reader::read_string_view(std::string_view what) {
    const std::uint32_t n = read_length(what);
    const std::size_t at = pos_;
    const auto raw = read_raw(n, what);
    std::string_view s(reinterpret_cast<const char*>(raw.data()), raw.size());
    if (!is_valid_utf8(s)) {
        pos_ = at;
        fail(std::string(what) + " is not valid UTF-8");
    }
    return s;
}

std::span<const std::uint8_t> Reader::read_bytes(std::string_view what) {
    const std::uint32_t n = read_length(what);
    return read_raw(n, what);
}

Reader Reader::read_nested(std::string_view what) {
    const std::uint32_t n = read_length(what);
    const std::size_t start = absolute_position();
    return Reader(read_raw(n, what), start);
}

void Reader::expect_end(std::string_view what) const {
    if (!at_end()) {
        fail(std::to_string(remaining()) + " unexpected trailing bytes after " + std::string(what));
    }
}

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

bool is_valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_sequence_length(s, i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

}  // namespace benchdist::bsatn
