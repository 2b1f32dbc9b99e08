// bsatn::Writer appends BSATN (SpacetimeDB's binary encoding: little-endian,
// u32 length prefixes, one-byte sum tags, no field names) to a caller-owned
// byte buffer. The buffer is borrowed so hot paths can reuse one allocation
// for every message they encode.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "benchdist/bsatn/wide_int.hpp"

namespace benchdist::bsatn {

class Writer {
public:
    explicit Writer(std::vector<std::uint8_t>& out) : out_(&out) {}

    std::vector<std::uint8_t>& buffer() { return *out_; }
    std::size_t size() const { return out_->size(); }

    void write_bool(bool v) { write_u8(v ? 1 : 0); }
    void write_u8(std::uint8_t v) { out_->push_back(v); }
    void write_i8(std::int8_t v) { write_u8(static_cast<std::uint8_t>(v)); }
    void write_u16(std::uint16_t v) { write_le(v); }
    void write_i16(std::int16_t v) { write_le(static_cast<std::uint16_t>(v)); }
    void write_u32(std::uint32_t v) { write_le(v); }
    void write_i32(std::int32_t v) { write_le(static_cast<std::uint32_t>(v)); }
    void write_u64(std::uint64_t v) { write_le(v); }
    void write_i64(std::int64_t v) { write_le(static_cast<std::uint64_t>(v)); }
    void write_f32(float v) { write_le(std::bit_cast<std::uint32_t>(v)); }
    void write_f64(double v) { write_le(std::bit_cast<std::uint64_t>(v)); }

    template <std::size_t Bytes>
    void write_wide(const WideInt<Bytes>& v) {
        write_raw(v.le.data(), Bytes);
    }

    // A sum's variant index; the payload (if any) follows with other calls.
    void write_tag(std::uint8_t tag) { write_u8(tag); }

    // Option<T> is the sum {some(T), none}: Some = 0, None = 1.
    void write_some_tag() { write_u8(0); }
    void write_none() { write_u8(1); }

    void write_length(std::size_t n) {
        if (n > std::numeric_limits<std::uint32_t>::max())
            throw std::length_error("BSATN length " + std::to_string(n) + " does not fit in u32");
        write_u32(static_cast<std::uint32_t>(n));
    }
    void write_string(std::string_view s) {
        write_length(s.size());
        write_raw(s.data(), s.size());
    }
    void write_bytes(std::span<const std::uint8_t> b) {
        write_length(b.size());
        write_raw(b.data(), b.size());
    }
    // Array<T>: the element count; the caller then writes each element.
    void write_array_len(std::size_t count) { write_length(count); }

    void write_raw(const void* data, std::size_t n) {
        if (n == 0) return;
        const auto* p = static_cast<const std::uint8_t*>(data);
        out_->insert(out_->end(), p, p + n);
    }

    // For a nested byte string whose length is unknown until its content is
    // written (reducer args, a BSATN string inside bytes): reserve the prefix,
    // write the content, then patch the prefix.
    std::size_t begin_length_prefixed() {
        const std::size_t at = out_->size();
        write_u32(0);
        return at;
    }
    void end_length_prefixed(std::size_t at) {
        const std::size_t n = out_->size() - at - 4;
        if (n > std::numeric_limits<std::uint32_t>::max())
            throw std::length_error("BSATN byte string does not fit in u32");
        const auto len = static_cast<std::uint32_t>(n);
        for (int i = 0; i < 4; ++i) (*out_)[at + i] = static_cast<std::uint8_t>(len >> (8 * i));
    }

private:
    template <typename U>
    void write_le(U v) {
        std::uint8_t bytes[sizeof(U)];
        for (std::size_t i = 0; i < sizeof(U); ++i) bytes[i] = static_cast<std::uint8_t>(v >> (8 * i));
        write_raw(bytes, sizeof(U));
    }

    std::vector<std::uint8_t>* out_;
};

}  // namespace benchdist::bsatn
