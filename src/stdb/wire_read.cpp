#include "wire_read.hpp"

#include "benchdist/bsatn/decode_error.hpp"

namespace benchdist::stdb::wire {

void fail_at(std::size_t absolute_offset, const std::string& message) {
    throw bsatn::DecodeError(absolute_offset, message);
}

std::uint8_t read_tag(bsatn::Reader& r, std::uint8_t variant_count, const char* sum_name) {
    const std::size_t at = r.absolute_position();
    const std::uint8_t tag = r.read_u8(sum_name);
    if (tag >= variant_count) {
        fail_at(at, "unknown " + std::string(sum_name) + " tag " + std::to_string(tag) + " (expected 0.." +
                        std::to_string(variant_count - 1) + ")");
    }
    return tag;
}

bool read_option_is_some(bsatn::Reader& r, const char* what) {
    const std::size_t at = r.absolute_position();
    const std::uint8_t tag = r.read_u8(what);
    if (tag > 1) {
        fail_at(at, "unknown Option tag " + std::to_string(tag) + " for " + what + " (expected 0 Some or 1 None)");
    }
    return tag == 0;
}

std::uint32_t read_count(bsatn::Reader& r, const char* what, std::size_t min_element_size) {
    const std::size_t at = r.absolute_position();
    const std::uint32_t n = r.read_u32(what);
    if (static_cast<std::uint64_t>(n) * min_element_size > r.remaining()) {
        fail_at(at, std::string(what) + " length " + std::to_string(n) + " exceeds the " +
                        std::to_string(r.remaining()) + " bytes that remain");
    }
    return n;
}

std::string_view read_string(bsatn::Reader& r, const char* what) {
    const std::uint32_t n = read_count(r, what, 1);
    const std::size_t at = r.absolute_position();
    const auto raw = r.read_raw(n, what);
    const std::string_view s(reinterpret_cast<const char*>(raw.data()), raw.size());
    if (!bsatn::is_valid_utf8(s)) fail_at(at, std::string(what) + " is not valid UTF-8");
    return s;
}

std::span<const std::uint8_t> read_byte_string(bsatn::Reader& r, const char* what) {
    const std::uint32_t n = read_count(r, what, 1);
    return r.read_raw(n, what);
}

void read_zero_flags(bsatn::Reader& r, const char* what) {
    const std::size_t at = r.absolute_position();
    const std::uint8_t flags = r.read_u8(what);
    if (flags != 0) fail_at(at, std::string(what) + " must be 0, got " + std::to_string(flags));
}

RowListWire read_row_list(bsatn::Reader& r, const char* what) {
    const std::size_t at = r.absolute_position();
    RowListWire out;
    const std::uint8_t hint = read_tag(r, 2, "RowSizeHint");
    if (hint == 0) {
        out.fixed_size = true;
        out.row_size = r.read_u16("FixedSize row size");
    } else {
        const std::uint32_t count = read_count(r, "RowOffsets", 8);
        out.offsets_raw = r.read_raw(std::size_t{count} * 8, "RowOffsets");
    }
    out.rows_data = read_byte_string(r, "rows_data");
    const std::string problem = row_list_problem(
        out.fixed_size, out.row_size, out.offset_count(), [&out](std::size_t i) { return out.offset(i); },
        out.rows_data.size());
    if (!problem.empty()) fail_at(at, std::string(what) + ": " + problem);
    return out;
}

}  // namespace benchdist::stdb::wire
