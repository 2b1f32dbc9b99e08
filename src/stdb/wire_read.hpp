// Private to src/stdb: the BSATN reading steps shared by the full message
// decoder and the zero-copy views. They take C-string names so the success
// path never builds a std::string (the generator's receive loop must not
// allocate); only a failure formats a message. Validation lives here once, so
// both decoders accept and reject exactly the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "benchdist/bsatn/reader.hpp"

namespace benchdist::stdb::wire {

[[noreturn]] void fail_at(std::size_t absolute_offset, const std::string& message);

// A sum tag below variant_count; the error names the sum ("unknown ServerMessage tag 9 (expected 0..7)").
std::uint8_t read_tag(bsatn::Reader& r, std::uint8_t variant_count, const char* sum_name);
// Option tag: Some = 0 -> true, None = 1 -> false.
bool read_option_is_some(bsatn::Reader& r, const char* what);
// u32 length/count that must fit in what remains, min_element_size bytes each.
std::uint32_t read_count(bsatn::Reader& r, const char* what, std::size_t min_element_size);
// UTF-8 validated, pointing into the input.
std::string_view read_string(bsatn::Reader& r, const char* what);
std::span<const std::uint8_t> read_byte_string(bsatn::Reader& r, const char* what);
// The u8 flags of CallReducer/CallProcedure; v2 defines none, so only 0 is valid.
void read_zero_flags(bsatn::Reader& r, const char* what);

// A BsatnRowList as it sits in the input, already validated.
struct RowListWire {
    bool fixed_size = false;
    std::uint16_t row_size = 0;
    std::span<const std::uint8_t> offsets_raw;  // RowOffsets: count * 8 bytes, u64 LE each
    std::span<const std::uint8_t> rows_data;

    std::size_t offset_count() const { return offsets_raw.size() / 8; }
    std::uint64_t offset(std::size_t i) const {
        std::uint64_t v = 0;
        for (std::size_t k = 0; k < 8; ++k) v |= static_cast<std::uint64_t>(offsets_raw[i * 8 + k]) << (8 * k);
        return v;
    }
};
RowListWire read_row_list(bsatn::Reader& r, const char* what);

// The consistency rule for a row list. Returns an empty string when the list
// is consistent, otherwise what is wrong. Rules: FixedSize(n) needs a data
// length that is a multiple of n (n = 0 only with no data); RowOffsets needs
// offsets starting at 0, never decreasing, none past the end of the data, and
// no data at all when there are no offsets.
template <typename OffsetAt>
std::string row_list_problem(bool fixed_size, std::uint16_t row_size, std::size_t offset_count, OffsetAt offset_at,
                             std::size_t data_size) {
    if (fixed_size) {
        if (row_size == 0) {
            if (data_size != 0) return "FixedSize(0) row list has " + std::to_string(data_size) + " bytes of rows_data";
            return {};
        }
        if (data_size % row_size != 0)
            return "rows_data length " + std::to_string(data_size) + " is not a multiple of FixedSize(" +
                   std::to_string(row_size) + ")";
        return {};
    }
    if (offset_count == 0) {
        if (data_size != 0) return "RowOffsets([]) row list has " + std::to_string(data_size) + " bytes of rows_data";
        return {};
    }
    std::uint64_t prev = offset_at(0);
    if (prev != 0) return "RowOffsets[0] is " + std::to_string(prev) + ", expected 0";
    for (std::size_t i = 1; i < offset_count; ++i) {
        const std::uint64_t cur = offset_at(i);
        if (cur < prev)
            return "RowOffsets not increasing: [" + std::to_string(i) + "] = " + std::to_string(cur) + " < [" +
                   std::to_string(i - 1) + "] = " + std::to_string(prev);
        prev = cur;
    }
    if (prev > data_size)
        return "RowOffsets[" + std::to_string(offset_count - 1) + "] = " + std::to_string(prev) +
               " is past the end of rows_data (" + std::to_string(data_size) + " bytes)";
    return {};
}

}  // namespace benchdist::stdb::wire
