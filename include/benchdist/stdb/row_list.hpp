// Reading and building BsatnRowList, the row container of every v2 message
// that carries table rows. A list is either FixedSize(n) (rows of n bytes back
// to back) or RowOffsets (start offset of each row). The server uses
// FixedSize for rows with a static size (the keynote accounts row, 12 bytes),
// RowOffsets otherwise, and RowOffsets([]) with no data for an empty list;
// the builder follows the same rules so the stand-in sends what the real
// server sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/messages.hpp"

namespace benchdist::stdb {

// Throws bsatn::DecodeError (offset 0 = start of the list) unless the list is
// consistent: FixedSize data length a multiple of the row size; RowOffsets
// starting at 0, never decreasing, within the data, and no data without
// offsets. Decoded messages are already validated.
void validate_row_list(const BsatnRowList& list);

// Number of rows (validates first).
std::size_t row_count(const BsatnRowList& list);

// Iterates the rows as byte spans into list.rows_data. The list must outlive
// the range and stay unchanged.
class RowRange {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::span<const std::uint8_t>;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = value_type;

        iterator() = default;
        value_type operator*() const;
        iterator& operator++() {
            ++index_;
            return *this;
        }
        iterator operator++(int) {
            iterator old = *this;
            ++index_;
            return old;
        }
        friend bool operator==(const iterator& a, const iterator& b) { return a.index_ == b.index_; }

    private:
        friend class RowRange;
        iterator(const RowRange* range, std::size_t index) : range_(range), index_(index) {}
        const RowRange* range_ = nullptr;
        std::size_t index_ = 0;
    };

    // Validates the list; throws bsatn::DecodeError like validate_row_list.
    explicit RowRange(const BsatnRowList& list);

    std::size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    std::span<const std::uint8_t> operator[](std::size_t index) const;  // unchecked beyond size()
    std::span<const std::uint8_t> at(std::size_t index) const;          // throws std::out_of_range
    iterator begin() const { return iterator(this, 0); }
    iterator end() const { return iterator(this, count_); }

private:
    const BsatnRowList* list_;
    std::size_t count_;
};

inline RowRange rows_of(const BsatnRowList& list) { return RowRange(list); }

// Builds one row list. FixedSize rows must all have the builder's size; a
// list that ends up with no rows is finished as RowOffsets([]) regardless.
class RowListBuilder {
public:
    static RowListBuilder fixed_size(std::uint16_t row_size);  // row_size > 0
    static RowListBuilder row_offsets();

    // Throws std::invalid_argument if a FixedSize row has the wrong length.
    void add_row(std::span<const std::uint8_t> row);

    // Encodes a row in place: write(bsatn::Writer&) appends the row's BSATN.
    template <typename WriteRow>
    void add_row_with(WriteRow&& write) {
        const std::size_t start = begin_row();
        try {
            bsatn::Writer w(list_.rows_data);
            write(w);
        } catch (...) {
            abort_row(start);
            throw;
        }
        end_row(start);
    }

    std::size_t row_count() const { return count_; }
    BsatnRowList finish() &&;

private:
    explicit RowListBuilder(bool fixed, std::uint16_t row_size);
    std::size_t begin_row();
    void end_row(std::size_t start);
    void abort_row(std::size_t start);

    bool fixed_;
    std::uint16_t row_size_;
    std::size_t count_ = 0;
    BsatnRowList list_;
};

}  // namespace benchdist::stdb
