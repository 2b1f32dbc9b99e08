#include "benchdist/stdb/row_list.hpp"

#include <stdexcept>
#include <string>

#include "benchdist/bsatn/decode_error.hpp"
#include "wire_read.hpp"

namespace benchdist::stdb {

void validate_row_list(const BsatnRowList& list) {
    std::string problem;
    if (const auto* fixed = std::get_if<FixedSizeHint>(&list.size_hint)) {
        problem = wire::row_list_problem(
            true, fixed->row_size, 0, [](std::size_t) { return std::uint64_t{0}; }, list.rows_data.size());
    } else {
        const auto& offsets = std::get<RowOffsetsHint>(list.size_hint).offsets;
        problem = wire::row_list_problem(
            false, 0, offsets.size(), [&offsets](std::size_t i) { return offsets[i]; }, list.rows_data.size());
    }
    if (!problem.empty()) throw bsatn::DecodeError(0, "BsatnRowList: " + problem);
}

std::size_t row_count(const BsatnRowList& list) {
    validate_row_list(list);
    if (const auto* fixed = std::get_if<FixedSizeHint>(&list.size_hint)) {
        return fixed->row_size == 0 ? 0 : list.rows_data.size() / fixed->row_size;
    }
    return std::get<RowOffsetsHint>(list.size_hint).offsets.size();
}

RowRange::RowRange(const BsatnRowList& list) : list_(&list), count_(row_count(list)) {}

std::span<const std::uint8_t> RowRange::operator[](std::size_t index) const {
    const std::span<const std::uint8_t> data(list_->rows_data);
    if (const auto* fixed = std::get_if<FixedSizeHint>(&list_->size_hint)) {
        return data.subspan(index * fixed->row_size, fixed->row_size);
    }
    const auto& offsets = std::get<RowOffsetsHint>(list_->size_hint).offsets;
    const auto start = static_cast<std::size_t>(offsets[index]);
    const auto end = index + 1 < offsets.size() ? static_cast<std::size_t>(offsets[index + 1]) : data.size();
    return data.subspan(start, end - start);
}

std::span<const std::uint8_t> RowRange::at(std::size_t index) const {
    if (index >= count_)
        throw std::out_of_range("row " + std::to_string(index) + " of a row list with " + std::to_string(count_) +
                                " rows");
    return (*this)[index];
}

RowRange::iterator::value_type RowRange::iterator::operator*() const { return (*range_)[index_]; }

RowListBuilder::RowListBuilder(bool fixed, std::uint16_t row_size) : fixed_(fixed), row_size_(row_size) {
    if (fixed_) list_.size_hint = FixedSizeHint{row_size_};
}

RowListBuilder RowListBuilder::fixed_size(std::uint16_t row_size) {
    if (row_size == 0) throw std::invalid_argument("RowListBuilder: FixedSize rows need a size above 0");
    return RowListBuilder(true, row_size);
}

RowListBuilder RowListBuilder::row_offsets() { return RowListBuilder(false, 0); }

std::size_t RowListBuilder::begin_row() {
    const std::size_t start = list_.rows_data.size();
    if (!fixed_) std::get<RowOffsetsHint>(list_.size_hint).offsets.push_back(start);
    return start;
}

void RowListBuilder::abort_row(std::size_t start) {
    list_.rows_data.resize(start);
    if (!fixed_) std::get<RowOffsetsHint>(list_.size_hint).offsets.pop_back();
}

void RowListBuilder::end_row(std::size_t start) {
    const std::size_t written = list_.rows_data.size() - start;
    if (fixed_ && written != row_size_) {
        abort_row(start);
        throw std::invalid_argument("RowListBuilder: row of " + std::to_string(written) + " bytes in a FixedSize(" +
                                    std::to_string(row_size_) + ") list");
    }
    ++count_;
}

void RowListBuilder::add_row(std::span<const std::uint8_t> row) {
    const std::size_t start = begin_row();
    list_.rows_data.insert(list_.rows_data.end(), row.begin(), row.end());
    end_row(start);
}

BsatnRowList RowListBuilder::finish() && {
    if (count_ == 0) return BsatnRowList{};
    return std::move(list_);
}

}  // namespace benchdist::stdb
