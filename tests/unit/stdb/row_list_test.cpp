// BsatnRowList: counting and iterating rows under both size hints, the
// consistency rules, and the builder (including the server's empty form).
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/row_list.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "vector_support.hpp"

namespace {

using namespace benchdist::stdb;
using benchdist::bsatn::DecodeError;
using Bytes = std::vector<std::uint8_t>;

std::vector<Bytes> collect(const BsatnRowList& list) {
    std::vector<Bytes> out;
    for (const auto row : rows_of(list)) out.emplace_back(row.begin(), row.end());
    return out;
}

TEST(RowList, FixedSizeSplitsDataIntoEqualRows) {
    const BsatnRowList list{FixedSizeHint{4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
    EXPECT_EQ(row_count(list), 3u);
    EXPECT_EQ(collect(list), (std::vector<Bytes>{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}}));
    const RowRange range(list);
    EXPECT_EQ(Bytes(range.at(1).begin(), range.at(1).end()), (Bytes{5, 6, 7, 8}));
    EXPECT_THROW(range.at(3), std::out_of_range);
}

TEST(RowList, RowOffsetsGiveVariableRows) {
    const BsatnRowList list{RowOffsetsHint{{0, 1, 1, 4}}, {1, 2, 3, 4, 5, 6}};
    EXPECT_EQ(row_count(list), 4u);
    EXPECT_EQ(collect(list), (std::vector<Bytes>{{1}, {}, {2, 3, 4}, {5, 6}}));
}

TEST(RowList, EmptyListsHaveNoRows) {
    EXPECT_EQ(row_count(BsatnRowList{}), 0u);
    EXPECT_EQ(row_count(BsatnRowList{FixedSizeHint{12}, {}}), 0u);
    EXPECT_EQ(row_count(BsatnRowList{FixedSizeHint{0}, {}}), 0u);
    EXPECT_TRUE(rows_of(BsatnRowList{}).empty());
}

TEST(RowList, InconsistentListsThrow) {
    EXPECT_THROW(row_count(BsatnRowList{FixedSizeHint{12}, Bytes(13, 0)}), DecodeError);
    EXPECT_THROW(row_count(BsatnRowList{FixedSizeHint{0}, Bytes(1, 0)}), DecodeError);
    EXPECT_THROW(row_count(BsatnRowList{RowOffsetsHint{{0, 8, 4}}, Bytes(12, 0)}), DecodeError);
    EXPECT_THROW(row_count(BsatnRowList{RowOffsetsHint{{1}}, Bytes(12, 0)}), DecodeError);
    EXPECT_THROW(row_count(BsatnRowList{RowOffsetsHint{{0, 13}}, Bytes(12, 0)}), DecodeError);
    EXPECT_THROW(row_count(BsatnRowList{RowOffsetsHint{}, Bytes(1, 0)}), DecodeError);
    EXPECT_THROW(RowRange(BsatnRowList{FixedSizeHint{5}, Bytes(12, 0)}), DecodeError);
    try {
        validate_row_list(BsatnRowList{RowOffsetsHint{{0, 8, 4}}, Bytes(12, 0)});
    } catch (const DecodeError& e) {
        EXPECT_NE(std::string(e.what()).find("RowOffsets not increasing: [2] = 4 < [1] = 8"), std::string::npos)
            << e.what();
    }
}

TEST(RowList, EmptyListEncodesLikeTheServer) {
    // RowOffsets([]) with empty data: 01 00000000 00000000.
    SubscribeApplied m;
    m.rows.tables.push_back(SingleTableRows{"t", BsatnRowList{}});
    const Bytes bytes = encode_to_bytes(ServerMessage(m));
    const Bytes tail(bytes.end() - 9, bytes.end());
    EXPECT_EQ(tail, (Bytes{1, 0, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(RowListBuilder::fixed_size(12).finish(), BsatnRowList{});
    EXPECT_EQ(RowListBuilder::row_offsets().finish(), BsatnRowList{});
}

TEST(RowList, FixedSizeBuilderReproducesTheGoldenSubscribeApplied) {
    namespace xfer = benchdist::stdb::transfer;
    auto builder = RowListBuilder::fixed_size(xfer::kAccountRowSize);
    for (const xfer::Account a : {xfer::Account{3, 9999999}, xfer::Account{9, 10000001}, xfer::Account{42, 10000000}})
        builder.add_row_with([&](benchdist::bsatn::Writer& w) { xfer::encode_account(w, a); });
    EXPECT_EQ(builder.row_count(), 3u);
    SubscribeApplied m;
    m.request_id = 1;
    m.query_set_id.id = 1;
    m.rows.tables.push_back(SingleTableRows{"accounts", std::move(builder).finish()});
    EXPECT_EQ(encode_to_bytes(ServerMessage(m)),
              test_vectors::vector_bytes(test_vectors::vector_named("v2.server.SubscribeApplied.FixedSize")));
}

TEST(RowList, RowOffsetsBuilderReproducesTheGoldenSubscribeApplied) {
    const auto golden = test_vectors::vector_bytes(test_vectors::vector_named("v2.server.SubscribeApplied.RowOffsets"));
    const auto fixed = std::get<SubscribeApplied>(decode_server_message(
        test_vectors::vector_bytes(test_vectors::vector_named("v2.server.SubscribeApplied.FixedSize"))));
    auto builder = RowListBuilder::row_offsets();
    for (const auto row : rows_of(fixed.rows.tables[0].rows)) builder.add_row(row);
    SubscribeApplied m = fixed;
    m.rows.tables[0].rows = std::move(builder).finish();
    EXPECT_EQ(encode_to_bytes(ServerMessage(m)), golden);
}

TEST(RowList, FixedSizeBuilderRejectsWrongRowLengthsAndStaysUsable) {
    auto builder = RowListBuilder::fixed_size(2);
    builder.add_row(Bytes{1, 2});
    EXPECT_THROW(builder.add_row(Bytes{1, 2, 3}), std::invalid_argument);
    EXPECT_THROW(builder.add_row_with([](benchdist::bsatn::Writer& w) { w.write_u8(1); }), std::invalid_argument);
    EXPECT_THROW(builder.add_row_with([](benchdist::bsatn::Writer&) { throw std::runtime_error("x"); }),
                 std::runtime_error);
    builder.add_row(Bytes{3, 4});
    EXPECT_EQ(std::move(builder).finish(), (BsatnRowList{FixedSizeHint{2}, {1, 2, 3, 4}}));
    EXPECT_THROW(RowListBuilder::fixed_size(0), std::invalid_argument);

    auto offsets = RowListBuilder::row_offsets();
    offsets.add_row(Bytes{9});
    EXPECT_THROW(offsets.add_row_with([](benchdist::bsatn::Writer& w) {
        w.write_u8(1);
        throw std::runtime_error("x");
    }),
                 std::runtime_error);
    offsets.add_row(Bytes{7, 7});
    EXPECT_EQ(std::move(offsets).finish(), (BsatnRowList{RowOffsetsHint{{0, 1}}, {9, 7, 7}}));
}

}  // namespace
