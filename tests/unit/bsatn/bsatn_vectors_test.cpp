// Every bsatn.* vector of vectors.json straight through bsatn::Reader and
// bsatn::Writer: decode to the SDK's value, encode the SDK's value back to the
// same bytes, reject every strict prefix. Plus Reader edge cases that the
// message codecs rely on.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "../stdb/vector_support.hpp"
#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/reader.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/transfer_module.hpp"

namespace {

using benchdist::bsatn::DecodeError;
using benchdist::bsatn::Reader;
using benchdist::bsatn::WideInt;
using benchdist::bsatn::Writer;
using namespace benchdist::stdb::test_vectors;
using Bytes = std::vector<std::uint8_t>;

// --- decimal <-> little-endian two's complement wide integers --------------

template <std::size_t N>
std::string to_decimal(WideInt<N> v, bool is_signed) {
    bool negative = is_signed && (v.le[N - 1] & 0x80) != 0;
    if (negative) {  // two's complement negate
        unsigned carry = 1;
        for (auto& b : v.le) {
            const unsigned x = static_cast<std::uint8_t>(~b) + carry;
            b = static_cast<std::uint8_t>(x);
            carry = x >> 8;
        }
    }
    std::string digits;
    bool zero = false;
    while (!zero) {
        unsigned rem = 0;
        zero = true;
        for (std::size_t i = N; i-- > 0;) {
            const unsigned cur = (rem << 8) | v.le[i];
            v.le[i] = static_cast<std::uint8_t>(cur / 10);
            rem = cur % 10;
            if (v.le[i] != 0) zero = false;
        }
        digits.insert(digits.begin(), static_cast<char>('0' + rem));
    }
    return negative ? "-" + digits : digits;
}

template <std::size_t N>
WideInt<N> from_decimal(std::string s) {
    const bool negative = !s.empty() && s[0] == '-';
    if (negative) s.erase(0, 1);
    WideInt<N> v;
    for (const char c : s) {
        unsigned carry = static_cast<unsigned>(c - '0');
        for (auto& b : v.le) {
            const unsigned x = b * 10u + carry;
            b = static_cast<std::uint8_t>(x);
            carry = x >> 8;
        }
    }
    if (negative) {
        unsigned carry = 1;
        for (auto& b : v.le) {
            const unsigned x = static_cast<std::uint8_t>(~b) + carry;
            b = static_cast<std::uint8_t>(x);
            carry = x >> 8;
        }
    }
    return v;
}

// --- one codec per vector: Reader -> JSON value, JSON value -> Writer --------

struct Codec {
    std::function<json(Reader&)> decode;
    std::function<void(Writer&, const json&)> encode;
};

json sum_value(std::string_view tag, std::size_t index) { return json{{"tag", tag}, {"tag_index", index}}; }

std::map<std::string, Codec> codecs() {
    std::map<std::string, Codec> c;
    c["bsatn.bool.true"] = {[](Reader& r) { return json(r.read_bool()); },
                            [](Writer& w, const json& v) { w.write_bool(v.get<bool>()); }};
    c["bsatn.u8"] = {[](Reader& r) { return json(r.read_u8()); },
                     [](Writer& w, const json& v) { w.write_u8(v.get<std::uint8_t>()); }};
    c["bsatn.i8"] = {[](Reader& r) { return json(r.read_i8()); },
                     [](Writer& w, const json& v) { w.write_i8(v.get<std::int8_t>()); }};
    c["bsatn.u16"] = {[](Reader& r) { return json(r.read_u16()); },
                      [](Writer& w, const json& v) { w.write_u16(v.get<std::uint16_t>()); }};
    c["bsatn.i16"] = {[](Reader& r) { return json(r.read_i16()); },
                      [](Writer& w, const json& v) { w.write_i16(v.get<std::int16_t>()); }};
    c["bsatn.u32"] = {[](Reader& r) { return json(r.read_u32()); },
                      [](Writer& w, const json& v) { w.write_u32(v.get<std::uint32_t>()); }};
    c["bsatn.i32"] = {[](Reader& r) { return json(r.read_i32()); },
                      [](Writer& w, const json& v) { w.write_i32(v.get<std::int32_t>()); }};
    c["bsatn.u64"] = {[](Reader& r) { return json(std::to_string(r.read_u64())); },
                      [](Writer& w, const json& v) { w.write_u64(std::stoull(v.get<std::string>())); }};
    c["bsatn.i64"] = {[](Reader& r) { return json(std::to_string(r.read_i64())); },
                      [](Writer& w, const json& v) { w.write_i64(std::stoll(v.get<std::string>())); }};
    c["bsatn.u128"] = {[](Reader& r) { return json(to_decimal(r.read_u128(), false)); },
                       [](Writer& w, const json& v) { w.write_wide(from_decimal<16>(v.get<std::string>())); }};
    c["bsatn.i128"] = {[](Reader& r) { return json(to_decimal(r.read_u128(), true)); },
                       [](Writer& w, const json& v) { w.write_wide(from_decimal<16>(v.get<std::string>())); }};
    c["bsatn.u256"] = {[](Reader& r) { return json(to_decimal(r.read_u256(), false)); },
                       [](Writer& w, const json& v) { w.write_wide(from_decimal<32>(v.get<std::string>())); }};
    c["bsatn.i256"] = {[](Reader& r) { return json(to_decimal(r.read_u256(), true)); },
                       [](Writer& w, const json& v) { w.write_wide(from_decimal<32>(v.get<std::string>())); }};
    c["bsatn.f32"] = {[](Reader& r) { return json(r.read_f32()); },
                      [](Writer& w, const json& v) { w.write_f32(v.get<float>()); }};
    c["bsatn.f64"] = {[](Reader& r) { return json(r.read_f64()); },
                      [](Writer& w, const json& v) { w.write_f64(v.get<double>()); }};
    const Codec string_codec{[](Reader& r) { return json(r.read_string()); },
                             [](Writer& w, const json& v) { w.write_string(v.get<std::string>()); }};
    c["bsatn.string"] = string_codec;
    c["bsatn.string.empty"] = string_codec;
    c["bsatn.bytes"] = {[](Reader& r) {
                            return json{{"bytes_hex", to_hex(r.read_bytes())}};
                        },
                        [](Writer& w, const json& v) {
                            w.write_bytes(from_hex(v.at("bytes_hex").get<std::string>()));
                        }};
    c["bsatn.array.u16"] = {[](Reader& r) {
                                json out = json::array();
                                const auto n = r.read_length("array", 2);
                                for (std::uint32_t i = 0; i < n; ++i) out.push_back(r.read_u16());
                                return out;
                            },
                            [](Writer& w, const json& v) {
                                w.write_array_len(v.size());
                                for (const auto& x : v) w.write_u16(x.get<std::uint16_t>());
                            }};
    c["bsatn.array.string"] = {[](Reader& r) {
                                   json out = json::array();
                                   const auto n = r.read_length("array", 4);
                                   for (std::uint32_t i = 0; i < n; ++i) out.push_back(r.read_string());
                                   return out;
                               },
                               [](Writer& w, const json& v) {
                                   w.write_array_len(v.size());
                                   for (const auto& x : v) w.write_string(x.get<std::string>());
                               }};
    const Codec option_codec{[](Reader& r) {
                                 if (r.read_option_is_some("u32")) return json{{"some", r.read_u32()}};
                                 return json{{"none", json::array()}};
                             },
                             [](Writer& w, const json& v) {
                                 if (v.contains("some")) {
                                     w.write_some_tag();
                                     w.write_u32(v.at("some").get<std::uint32_t>());
                                 } else {
                                     w.write_none();
                                 }
                             }};
    c["bsatn.option.some"] = option_codec;
    c["bsatn.option.none"] = option_codec;
    const Codec result_codec{[](Reader& r) {
                                 const bool ok = r.read_tag(2, "Result") == 0;
                                 return json{{ok ? "ok" : "err", r.read_string()}};
                             },
                             [](Writer& w, const json& v) {
                                 const bool ok = v.contains("ok");
                                 w.write_tag(ok ? 0 : 1);
                                 w.write_string(v.at(ok ? "ok" : "err").get<std::string>());
                             }};
    c["bsatn.result.ok"] = result_codec;
    c["bsatn.result.err"] = result_codec;
    const Codec sum_codec{[](Reader& r) {
                              const auto tag = r.read_tag(3, "E");
                              static const char* const names[] = {"A", "B", "C"};
                              json out = sum_value(names[tag], tag);
                              if (tag == 1) out["value"] = r.read_u16();
                              if (tag == 2) out["value"] = r.read_string();
                              return out;
                          },
                          [](Writer& w, const json& v) {
                              const auto tag = v.at("tag_index").get<std::uint8_t>();
                              w.write_tag(tag);
                              if (tag == 1) w.write_u16(v.at("value").get<std::uint16_t>());
                              if (tag == 2) w.write_string(v.at("value").get<std::string>());
                          }};
    c["bsatn.sum.unit_variant"] = sum_codec;
    c["bsatn.sum.payload_variant"] = sum_codec;
    c["bsatn.identity"] = {[](Reader& r) {
                               return json{{"identity_hex_be", r.read_u256().to_hex_be()}};
                           },
                           [](Writer& w, const json& v) {
                               benchdist::bsatn::U256 id;
                               ASSERT_TRUE(
                                   benchdist::bsatn::U256::from_hex_be(v.at("identity_hex_be").get<std::string>(), id));
                               w.write_wide(id);
                           }};
    c["bsatn.connection_id"] = {
        [](Reader& r) {
            return json{{"connection_id_hex_be", r.read_u128().to_hex_be()}};
        },
        [](Writer& w, const json& v) {
            benchdist::bsatn::U128 id;
            ASSERT_TRUE(benchdist::bsatn::U128::from_hex_be(v.at("connection_id_hex_be").get<std::string>(), id));
            w.write_wide(id);
        }};
    c["bsatn.timestamp"] = {
        [](Reader& r) {
            const auto micros = r.read_i64();
            return json{{"micros_since_unix_epoch", std::to_string(micros)}, {"iso", iso_from_micros(micros)}};
        },
        [](Writer& w, const json& v) { w.write_i64(std::stoll(v.at("micros_since_unix_epoch").get<std::string>())); }};
    c["bsatn.time_duration"] = {[](Reader& r) {
                                    return json{{"micros", std::to_string(r.read_i64())}};
                                },
                                [](Writer& w, const json& v) {
                                    w.write_i64(std::stoll(v.at("micros").get<std::string>()));
                                }};
    c["bsatn.transfer_args"] = {[](Reader& r) {
                                    json out{{"from", r.read_u32()}, {"to", r.read_u32()}};
                                    out["amount"] = std::to_string(r.read_i64());
                                    return out;
                                },
                                [](Writer& w, const json& v) {
                                    benchdist::stdb::transfer::encode_transfer_args(
                                        w, {v.at("from").get<std::uint32_t>(), v.at("to").get<std::uint32_t>(),
                                            std::stoll(v.at("amount").get<std::string>())});
                                }};
    c["bsatn.seed_args"] = {[](Reader& r) {
                                json out{{"n", r.read_u32()}};
                                out["initial_balance"] = std::to_string(r.read_i64());
                                return out;
                            },
                            [](Writer& w, const json& v) {
                                benchdist::stdb::transfer::encode_seed_args(
                                    w, {v.at("n").get<std::uint32_t>(),
                                        std::stoll(v.at("initial_balance").get<std::string>())});
                            }};
    c["bsatn.accounts_row"] = {[](Reader& r) {
                                   json row{{"id", r.read_u32()}};
                                   row["balance"] = std::to_string(r.read_i64());
                                   return json::array({row});
                               },
                               [](Writer& w, const json& v) {
                                   for (const auto& row : v)
                                       benchdist::stdb::transfer::encode_account(
                                           w, {row.at("id").get<std::uint32_t>(),
                                               std::stoll(row.at("balance").get<std::string>())});
                               }};
    return c;
}

// decoded is {type, value} for primitives; the three argument/row vectors are the value itself.
const json& expected_value(const json& v) {
    const json& d = v.at("decoded");
    return d.is_object() && d.contains("type") && d.contains("value") ? d.at("value") : d;
}

TEST(BsatnVectors, EveryVectorDecodesReencodesAndRejectsPrefixes) {
    const auto table = codecs();
    const auto vectors = vectors_with_prefix("bsatn.");
    ASSERT_EQ(vectors.size(), 33u);
    for (const json* v : vectors) {
        const std::string name = v->at("name");
        SCOPED_TRACE(name);
        const auto it = table.find(name);
        ASSERT_NE(it, table.end()) << "no codec for " << name;
        const Bytes bytes = vector_bytes(*v);

        Reader r(bytes);
        EXPECT_EQ(it->second.decode(r), expected_value(*v));
        EXPECT_TRUE(r.at_end());

        Bytes out;
        Writer w(out);
        it->second.encode(w, expected_value(*v));
        EXPECT_EQ(out, bytes);

        for (std::size_t n = 0; n < bytes.size(); ++n) {
            Reader cut(std::span<const std::uint8_t>(bytes).first(n));
            EXPECT_THROW(
                {
                    it->second.decode(cut);
                    cut.expect_end("value");
                },
                DecodeError)
                << "prefix " << n;
        }
    }
}

TEST(BsatnReader, BoolRejectsTwo) {
    const Bytes b{2};
    Reader r(b);
    try {
        r.read_bool("flag");
        FAIL();
    } catch (const DecodeError& e) {
        EXPECT_EQ(e.offset(), 0u);
        EXPECT_NE(std::string(e.what()).find("bool 0 or 1, got 2"), std::string::npos) << e.what();
    }
}

TEST(BsatnReader, ReadLengthGuardsAgainstCountsThatCannotFit) {
    // 0xffffffff elements of 8 bytes would overflow a 32-bit product; the guard
    // multiplies in 64 bits and rejects before anyone reserves memory.
    const Bytes b{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8};
    Reader r(b);
    try {
        r.read_length("offsets", 8);
        FAIL();
    } catch (const DecodeError& e) {
        EXPECT_EQ(e.offset(), 0u);
        EXPECT_NE(std::string(e.what()).find("offsets length 4294967295 exceeds the"), std::string::npos) << e.what();
    }
    Reader ok(b);
    ok.read_raw(0, "nothing");
    const Bytes one{1, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9};
    Reader fits(one);
    EXPECT_EQ(fits.read_length("offsets", 8), 1u);
    // A string length past the end.
    const Bytes s{5, 0, 0, 0, 'a'};
    Reader rs(s);
    EXPECT_THROW(rs.read_string(), DecodeError);
}

TEST(BsatnReader, NestedReadersReportOffsetsInTheOuterBuffer) {
    // [u8 junk][bytes len 6: [u32 len 5]["ab"] (truncated string)]
    const Bytes b{0x7f, 6, 0, 0, 0, 5, 0, 0, 0, 'a', 'b'};
    Reader r(b);
    r.read_u8();
    Reader inner = r.read_nested("payload");
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(inner.absolute_position(), 5u);
    try {
        inner.read_string("message");
        FAIL();
    } catch (const DecodeError& e) {
        // The length prefix at outer offset 5 claims 5 bytes; 2 remain.
        EXPECT_EQ(e.offset(), 5u);
        EXPECT_NE(std::string(e.what()).find("BSATN decode error at byte 5"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("message length 5 exceeds the"), std::string::npos) << e.what();
    }
}

TEST(BsatnReader, InvalidUtf8IsRejected) {
    EXPECT_TRUE(benchdist::bsatn::is_valid_utf8("héllo"));
    EXPECT_FALSE(benchdist::bsatn::is_valid_utf8("\xc0\xaf"));          // overlong
    EXPECT_FALSE(benchdist::bsatn::is_valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(benchdist::bsatn::is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
    EXPECT_FALSE(benchdist::bsatn::is_valid_utf8("\xe2\x82"));          // truncated
    const Bytes b{2, 0, 0, 0, 0xc3, 0x28};
    Reader r(b);
    try {
        r.read_string("name");
        FAIL();
    } catch (const DecodeError& e) {
        EXPECT_EQ(e.offset(), 4u);
        EXPECT_NE(std::string(e.what()).find("name is not valid UTF-8"), std::string::npos) << e.what();
    }
}

TEST(BsatnReader, UnknownTagNamesTheSum) {
    const Bytes b{7};
    Reader r(b);
    try {
        r.read_tag(3, "E");
        FAIL();
    } catch (const DecodeError& e) {
        EXPECT_NE(std::string(e.what()).find("unknown E tag 7 (expected 0..2)"), std::string::npos) << e.what();
    }
}

}  // namespace
