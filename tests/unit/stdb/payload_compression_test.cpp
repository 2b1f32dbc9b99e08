// gzip and brotli for server payloads: round trips around the 1024-byte
// threshold, foreign gzip streams (multi-member, header fields), corrupt and
// truncated streams, and the output cap that stops decompression bombs.
#include <gtest/gtest.h>
#include <zlib.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "benchdist/stdb/payload_compression.hpp"

namespace {

using namespace benchdist::stdb;
using Bytes = std::vector<std::uint8_t>;

Bytes sample(std::size_t n, std::uint32_t seed) {
    // Compressible but not trivial: words from a small alphabet.
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>('a' + rng() % 6);
    return b;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const PayloadError& e) {
        return e.what();
    }
    return "<no PayloadError>";
}

class RoundTrip : public ::testing::TestWithParam<std::size_t> {};

TEST_P(RoundTrip, GzipAndBrotli) {
    const Bytes data = sample(GetParam(), static_cast<std::uint32_t>(GetParam()));
    for (const auto algo : {Compression::Gzip, Compression::Brotli, Compression::None}) {
        Bytes packed;
        compress(algo, data, packed);
        Bytes unpacked{0xAA};  // functions append: the prefix must survive
        decompress(algo, packed, unpacked);
        ASSERT_EQ(unpacked.size(), data.size() + 1);
        EXPECT_EQ(unpacked[0], 0xAA);
        EXPECT_TRUE(std::equal(data.begin(), data.end(), unpacked.begin() + 1));
        // An exact cap is enough; one byte less is not.
        Bytes exact;
        decompress(algo, packed, exact, data.size());
        EXPECT_EQ(exact, data);
        if (!data.empty()) {
            Bytes small{1, 2};
            EXPECT_THROW(decompress(algo, packed, small, data.size() - 1), PayloadError);
            EXPECT_EQ(small, (Bytes{1, 2}));  // restored on error
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AroundThreshold, RoundTrip,
                         ::testing::Values(0, 1, 1000, 1023, 1024, 1025, 1100, 4096, 70000, 300000));

TEST(PayloadCompression, GzipOutputIsAStandardGzipMember) {
    const Bytes data = sample(5000, 1);
    Bytes packed;
    gzip_compress(data, packed);
    ASSERT_GT(packed.size(), 18u);
    EXPECT_EQ(packed[0], 0x1f);
    EXPECT_EQ(packed[1], 0x8b);
    EXPECT_EQ(packed[2], 8);  // deflate
    // zlib's own one-shot gzip reader agrees (uncompress only does zlib, so
    // inflate with gzip window bits by hand).
    z_stream s{};
    ASSERT_EQ(inflateInit2(&s, 31), Z_OK);
    Bytes out(data.size());
    s.next_in = packed.data();
    s.avail_in = static_cast<uInt>(packed.size());
    s.next_out = out.data();
    s.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&s, Z_FINISH), Z_STREAM_END);
    inflateEnd(&s);
    EXPECT_EQ(out, data);
}

TEST(PayloadCompression, AcceptsMultiMemberAndHeaderFieldsGzip) {
    // Two members, the second with FNAME and a comment, as any gzip writer may produce.
    const Bytes a = sample(700, 2);
    const Bytes b = sample(900, 3);
    Bytes stream;
    gzip_compress(a, stream, 9);
    {
        z_stream s{};
        ASSERT_EQ(deflateInit2(&s, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
        gz_header h{};
        char name[] = "payload.bin";
        char comment[] = "hello";
        h.name = reinterpret_cast<Bytef*>(name);
        h.comment = reinterpret_cast<Bytef*>(comment);
        h.hcrc = 1;
        ASSERT_EQ(deflateSetHeader(&s, &h), Z_OK);
        Bytes out(deflateBound(&s, b.size()) + 64);
        s.next_in = const_cast<Bytef*>(b.data());
        s.avail_in = static_cast<uInt>(b.size());
        s.next_out = out.data();
        s.avail_out = static_cast<uInt>(out.size());
        ASSERT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
        out.resize(out.size() - s.avail_out);
        deflateEnd(&s);
        stream.insert(stream.end(), out.begin(), out.end());
    }
    Bytes unpacked;
    gzip_decompress(stream, unpacked);
    Bytes expected = a;
    expected.insert(expected.end(), b.begin(), b.end());
    EXPECT_EQ(unpacked, expected);
}

TEST(PayloadCompression, TruncatedStreamsAreErrors) {
    const Bytes data = sample(3000, 4);
    Bytes gz;
    gzip_compress(data, gz);
    Bytes br;
    brotli_compress(data, br);
    for (std::size_t n = 0; n < gz.size(); ++n) {
        Bytes out;
        EXPECT_THROW(gzip_decompress(std::span<const std::uint8_t>(gz).first(n), out), PayloadError) << n;
        EXPECT_TRUE(out.empty());
    }
    for (std::size_t n = 0; n < br.size(); ++n) {
        Bytes out;
        EXPECT_THROW(brotli_decompress(std::span<const std::uint8_t>(br).first(n), out), PayloadError) << n;
    }
    EXPECT_EQ(error_of([&] {
                  Bytes out;
                  gzip_decompress(std::span<const std::uint8_t>(gz).first(gz.size() - 1), out);
              }).rfind("gzip: truncated stream", 0),
              0u);
    EXPECT_EQ(error_of([] {
                  Bytes out;
                  brotli_decompress(Bytes{}, out);
              }),
              "brotli: empty stream");
}

TEST(PayloadCompression, CorruptStreamsAreErrors) {
    const Bytes data = sample(3000, 5);
    Bytes gz;
    gzip_compress(data, gz);
    Bytes bad = gz;
    bad[0] = 0x00;  // not a gzip magic
    EXPECT_NE(error_of([&] {
                  Bytes out;
                  gzip_decompress(bad, out);
              }).find("gzip: corrupt stream"),
              std::string::npos);
    bad = gz;
    bad[bad.size() - 6] ^= 0xff;  // CRC32 of the member
    EXPECT_THROW(
        {
            Bytes out;
            gzip_decompress(bad, out);
        },
        PayloadError);
    bad = gz;
    bad.push_back(0x42);  // garbage after the member
    EXPECT_THROW(
        {
            Bytes out;
            gzip_decompress(bad, out);
        },
        PayloadError);

    Bytes br;
    brotli_compress(data, br);
    bad = br;
    bad.push_back(0);
    EXPECT_NE(error_of([&] {
                  Bytes out;
                  brotli_decompress(bad, out);
              }).find("unexpected bytes after the end"),
              std::string::npos);
    std::mt19937 rng(7);
    std::size_t brotli_rejected = 0;
    for (int i = 0; i < 200; ++i) {
        Bytes noise(64 + rng() % 200);
        for (auto& x : noise) x = static_cast<std::uint8_t>(rng());
        Bytes out;
        try {
            brotli_decompress(noise, out, 1 << 20);
        } catch (const PayloadError&) {
            ++brotli_rejected;
        }
        Bytes gout;
        EXPECT_THROW(gzip_decompress(noise, gout), PayloadError);
    }
    EXPECT_GT(brotli_rejected, 150u);
}

TEST(PayloadCompression, DecompressionBombIsCapped) {
    const Bytes zeros(std::size_t{8} << 20, 0);  // 8 MiB of zeros compresses to a few KiB
    for (const auto algo : {Compression::Gzip, Compression::Brotli}) {
        Bytes packed;
        compress(algo, zeros, packed);
        EXPECT_LT(packed.size(), 64u * 1024);
        const std::string e = error_of([&] {
            Bytes out;
            decompress(algo, packed, out, std::size_t{1} << 20);
        });
        EXPECT_NE(e.find("exceeds the limit of 1048576 bytes"), std::string::npos) << e;
        EXPECT_EQ(e.rfind(algo == Compression::Gzip ? "gzip:" : "brotli:", 0), 0u) << e;
    }
    // The default cap is 64 MiB.
    EXPECT_EQ(kDefaultMaxDecompressedBytes, std::size_t{64} << 20);
}

}  // namespace
