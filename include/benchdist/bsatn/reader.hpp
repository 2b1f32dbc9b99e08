// bsatn::Reader decodes BSATN from a borrowed byte span. Every read is bounds
// checked and every failure throws DecodeError naming the absolute byte
// offset and what was expected, so truncated or hostile input can never make
// us read past the buffer. Readers for nested byte strings (reducer args,
// row data) keep the offset of their parent so errors still point into the
// original frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/wide_int.hpp"

namespace benchdist::bsatn {

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> data, std::size_t base_offset = 0)
        : data_(data), base_(base_offset) {}

    std::size_t position() const { return pos_; }
    // Offset in the outermost buffer, for error messages.
    std::size_t absolute_position() const { return base_ + pos_; }
    std::size_t remaining() const { return data_.size() - pos_; }
    bool at_end() const { return pos_ == data_.size(); }

    bool read_bool(std::string_view what = "bool");
    std::uint8_t read_u8(std::string_view what = "u8") { return read_le<std::uint8_t>(what); }
    std::int8_t read_i8(std::string_view what = "i8") { return static_cast<std::int8_t>(read_le<std::uint8_t>(what)); }
    std::uint16_t read_u16(std::string_view what = "u16") { return read_le<std::uint16_t>(what); }
    std::int16_t read_i16(std::string_view what = "i16") {
        return static_cast<std::int16_t>(read_le<std::uint16_t>(what));
    }
    std::uint32_t read_u32(std::string_view what = "u32") { return read_le<std::uint32_t>(what); }
    std::int32_t read_i32(std::string_view what = "i32") {
        return static_cast<std::int32_t>(read_le<std::uint32_t>(what));
    }
    std::uint64_t read_u64(std::string_view what = "u64") { return read_le<std::uint64_t>(what); }
    std::int64_t read_i64(std::string_view what = "i64") {
        return static_cast<std::int64_t>(read_le<std::uint64_t>(what));
    }
    float read_f32(std::string_view what = "f32");
    double read_f64(std::string_view what = "f64");

    template <std::size_t Bytes>
    WideInt<Bytes> read_wide(std::string_view what) {
        WideInt<Bytes> v;
        const auto raw = read_raw(Bytes, what);
        for (std::size_t i = 0; i < Bytes; ++i) v.le[i] = raw[i];
        return v;
    }
    U128 read_u128(std::string_view what = "u128") { return read_wide<16>(what); }
    U256 read_u256(std::string_view what = "u256") { return read_wide<32>(what); }

    // A sum tag that must be below variant_count.
    std::uint8_t read_tag(std::uint8_t variant_count, std::string_view sum_name);
    // Option tag: true for Some (0), false for None (1).
    bool read_option_is_some(std::string_view what);

    // u32 length of a string, byte string or array, checked against what is
    // left: an element takes at least min_element_size bytes, so a count that
    // could not fit is rejected before anyone reserves memory for it.
    std::uint32_t read_length(std::string_view what, std::size_t min_element_size = 1);

    // UTF-8 validated string. The view form points into the input buffer.
    std::string_view read_string_view(std::string_view what = "string");
    std::string read_string(std::string_view what = "string") { return std::string(read_string_view(what)); }
    // Length-prefixed byte string, pointing into the input buffer.
    std::span<const std::uint8_t> read_bytes(std::string_view what = "bytes");
    // The same, as a Reader positioned at the start of the byte string.
    Reader read_nested(std::string_view what);

    std::span<const std::uint8_t> read_raw(std::size_t n, std::string_view what);

    // Throws unless the whole input was consumed.
    void expect_end(std::string_view what) const;

    [[noreturn]] void fail(std::string_view expected) const;

private:
    template <typename U>
    U read_le(std::string_view what) {
        const auto raw = read_raw(sizeof(U), what);
        U v = 0;
        for (std::size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(static_cast<U>(raw[i]) << (8 * i));
        return v;
    }

    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
    std::size_t base_;
};

// True if the bytes are well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);
// The length of the well-formed UTF-8 sequence that starts at s[i] (i <
// s.size()), by the same rules; 0 when none does. For code that repairs
// text rather than refusing it (the Prometheus writer's label values).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace benchdist::bsatn
