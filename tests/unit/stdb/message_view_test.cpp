// The zero-copy hot path: encode_call_reducer, ReducerResultView through
// ServerBodyCursor, ClientFrameCursor and encode_reducer_result. Checks that
// they allocate nothing (global operator new is counted in this binary) and
// that they accept and reject exactly what the typed decoders do.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/message_codec.hpp"
#include "benchdist/stdb/server_message_view.hpp"
#include "benchdist/stdb/server_payload.hpp"
#include "benchdist/stdb/transfer_module.hpp"
#include "vector_support.hpp"

namespace {
bool g_counting = false;
long g_allocations = 0;
}  // namespace

// Replacing the global allocation functions lets the test count heap
// allocations. GCC 12 at -O2 sees the inlined free() and wrongly reports a
// new/free mismatch here, although new and delete are replaced as a pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    if (g_counting) ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

using namespace benchdist::stdb;
using namespace benchdist::stdb::test_vectors;
using benchdist::bsatn::DecodeError;
using Bytes = std::vector<std::uint8_t>;

TEST(MessageView, HotPathAllocatesNothing) {
    const Bytes v3_two = vector_bytes(vector_named("ws.v3.server_payload.two_messages"));
    const Bytes err = vector_bytes(vector_named("v2.server.ReducerResult.Err"));
    const Bytes internal = vector_bytes(vector_named("v2.server.ReducerResult.InternalError"));
    const Bytes with_update = vector_bytes(vector_named("v2.server.ReducerResult.Ok.with_update"));
    const Bytes three_calls = vector_bytes(vector_named("sdk_live.v3.client_frame.three_calls"));
    const auto args = transfer::transfer_args_bytes({3, 9, 1});
    Bytes out;
    out.reserve(4096);
    Bytes scratch;

    g_counting = true;
    g_allocations = 0;
    std::size_t results = 0;
    std::size_t error_chars = 0;
    {
        benchdist::bsatn::Writer w(out);
        for (std::uint32_t id = 0; id < 50; ++id) encode_call_reducer(w, id, transfer::kTransferReducer, args);
        encode_reducer_result(w, 1, Timestamp{5}, ReducerOutcomeKind::Err, "insufficient_funds");
        encode_reducer_result(w, 2, Timestamp{5}, ReducerOutcomeKind::Ok);

        const auto body = open_server_payload(v3_two, scratch);
        ServerBodyCursor c(body, ProtocolVersion::V3);
        while (c.next())
            if (c.reducer_result() != nullptr) ++results;
        for (const Bytes* b : {&err, &internal, &with_update}) {
            ServerBodyCursor one(*b, ProtocolVersion::V2);
            while (one.next()) {
                ++results;
                error_chars += one.reducer_result()->error_text.size();
            }
        }
        ClientFrameCursor calls(three_calls, ProtocolVersion::V3);
        while (calls.next()) results += calls.call_reducer() != nullptr ? 1 : 0;
    }
    g_counting = false;
    EXPECT_EQ(g_allocations, 0);
    EXPECT_EQ(results, 1u + 3u + 3u);
    EXPECT_EQ(error_chars,
              std::string_view("insufficient_funds").size() + std::string_view("The reducer panicked: example").size());
}

TEST(MessageView, ReducerResultViewFields) {
    const Bytes err = vector_bytes(vector_named("v2.server.ReducerResult.Err"));
    ServerBodyCursor c(err, ProtocolVersion::V2);
    ASSERT_TRUE(c.next());
    ASSERT_NE(c.reducer_result(), nullptr);
    const ReducerResultView& v = *c.reducer_result();
    EXPECT_EQ(v.request_id, 7u);
    EXPECT_EQ(v.timestamp.micros_since_unix_epoch, 1767225600123456);
    EXPECT_EQ(v.outcome, ReducerOutcomeKind::Err);
    EXPECT_EQ(v.error_text, "insufficient_funds");
    EXPECT_EQ(reducer_outcome_name(v.outcome), "Err");
    EXPECT_FALSE(c.next());

    const Bytes upd = vector_bytes(vector_named("v2.server.ReducerResult.Ok.with_update"));
    ServerBodyCursor u(upd, ProtocolVersion::V2);
    ASSERT_TRUE(u.next());
    EXPECT_EQ(u.reducer_result()->outcome, ReducerOutcomeKind::Ok);
    EXPECT_EQ(u.reducer_result()->query_set_count, 1u);
    EXPECT_TRUE(u.reducer_result()->error_text.empty());

    // Non-ReducerResult messages are skipped and reported by tag only.
    const Bytes ic = vector_bytes(vector_named("v2.server.InitialConnection"));
    ServerBodyCursor i(ic, ProtocolVersion::V2);
    ASSERT_TRUE(i.next());
    EXPECT_EQ(i.tag(), ServerMessageTag::InitialConnection);
    EXPECT_EQ(i.reducer_result(), nullptr);
    EXPECT_EQ(std::get<InitialConnection>(decode_server_message(i.message_bytes())).token.size(), 81u);
}

TEST(MessageView, EncodeReducerResultRoundTripsEveryKind) {
    for (const auto kind : {ReducerOutcomeKind::Ok, ReducerOutcomeKind::OkEmpty, ReducerOutcomeKind::Err,
                            ReducerOutcomeKind::InternalError}) {
        Bytes b;
        benchdist::bsatn::Writer w(b);
        encode_reducer_result(w, 42, Timestamp{-3}, kind, "héllo");
        const auto rr = std::get<ReducerResult>(decode_server_message(b));
        EXPECT_EQ(rr.request_id, 42u);
        EXPECT_EQ(rr.timestamp.micros_since_unix_epoch, -3);
        EXPECT_EQ(rr.result.index(), static_cast<std::size_t>(kind));
        if (kind == ReducerOutcomeKind::Err) {
            EXPECT_EQ(std::get<ReducerErr>(rr.result).message(), "héllo");
        }
        if (kind == ReducerOutcomeKind::InternalError) {
            EXPECT_EQ(std::get<ReducerInternalError>(rr.result).message, "héllo");
        }
        if (kind == ReducerOutcomeKind::Ok) {
            EXPECT_EQ(rr.result, ReducerOutcome(ReducerOk{}));
        }
    }
}

TEST(MessageView, EmptyPayloadsAreErrors) {
    const Bytes empty;
    for (const auto v : {ProtocolVersion::V2, ProtocolVersion::V3}) {
        ServerBodyCursor s(empty, v);
        EXPECT_THROW(s.next(), DecodeError);
        ClientFrameCursor c(empty, v);
        EXPECT_THROW(c.next(), DecodeError);
    }
}

// Random single-byte corruptions of every vector: the zero-copy walker and the
// typed decoder must agree on accept/reject and on the length consumed.
TEST(MessageView, ViewsAndTypedDecodersAgreeOnCorruptedInput) {
    std::mt19937 rng(12345);
    std::size_t rejected = 0;
    std::size_t accepted = 0;
    for (const char* prefix : {"v2.server.", "v2.client."}) {
        const bool server = std::string_view(prefix) == "v2.server.";
        for (const json* v : vectors_with_prefix(prefix)) {
            const Bytes original = vector_bytes(*v);
            for (int trial = 0; trial < 300; ++trial) {
                Bytes b = original;
                const std::size_t at = rng() % b.size();
                b[at] = static_cast<std::uint8_t>(rng() % 256);
                if (trial % 3 == 0) b[rng() % b.size()] = static_cast<std::uint8_t>(rng() % 4);
                std::size_t typed_end = 0;
                std::size_t view_end = 0;
                bool typed_ok = true;
                bool view_ok = true;
                try {
                    benchdist::bsatn::Reader r(b);
                    if (server)
                        decode_server_message(r);
                    else
                        decode_client_message(r);
                    typed_end = r.position();
                } catch (const DecodeError&) {
                    typed_ok = false;
                }
                try {
                    benchdist::bsatn::Reader r(b);
                    if (server)
                        skip_server_message(r);
                    else
                        read_client_message_view(r, nullptr);
                    view_end = r.position();
                } catch (const DecodeError&) {
                    view_ok = false;
                }
                ASSERT_EQ(typed_ok, view_ok) << v->at("name") << " byte " << at;
                EXPECT_EQ(typed_end, view_end);
                (typed_ok ? accepted : rejected) += 1;
            }
        }
    }
    EXPECT_GT(rejected, 500u);
    EXPECT_GT(accepted, 500u);
}

}  // namespace
