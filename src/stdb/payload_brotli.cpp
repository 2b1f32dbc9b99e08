#include <brotli/decode.h>
#include <brotli/encode.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "benchdist/stdb/payload_compression.hpp"

namespace benchdist::stdb {

namespace {

constexpr std::size_t kChunk = 64 * 1024;

class Decoder {
public:
    Decoder() : s_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {
        if (s_ == nullptr) throw PayloadError("brotli: cannot create decoder");
    }
    ~Decoder() { BrotliDecoderDestroyInstance(s_); }
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;
    BrotliDecoderState* get() { return s_; }

private:
    BrotliDecoderState* s_;
};

class Encoder {
public:
    Encoder() : s_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
        if (s_ == nullptr) throw PayloadError("brotli: cannot create encoder");
    }
    ~Encoder() { BrotliEncoderDestroyInstance(s_); }
    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;
    BrotliEncoderState* get() { return s_; }

private:
    BrotliEncoderState* s_;
};

void decode_all(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out, std::size_t start,
                std::size_t max_output) {
    Decoder decoder;
    const std::size_t cap = max_output == SIZE_MAX ? max_output : max_output + 1;
    const std::uint8_t* next_in = in.data();
    std::size_t avail_in = in.size();
    while (true) {
        const std::size_t produced = out.size() - start;
        const std::size_t room = std::min(kChunk, cap - produced);
        const std::size_t before = out.size();
        out.resize(before + room);
        std::uint8_t* next_out = out.data() + before;
        std::size_t avail_out = room;
        const BrotliDecoderResult rc =
            BrotliDecoderDecompressStream(decoder.get(), &avail_in, &next_in, &avail_out, &next_out, nullptr);
        out.resize(before + (room - avail_out));
        if (out.size() - start > max_output)
            throw PayloadError("brotli: decompressed payload exceeds the limit of " + std::to_string(max_output) +
                               " bytes");
        switch (rc) {
            case BROTLI_DECODER_RESULT_SUCCESS:
                if (avail_in != 0)
                    throw PayloadError("brotli: " + std::to_string(avail_in) +
                                       " unexpected bytes after the end of the stream");
                return;
            case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
                continue;
            case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
                throw PayloadError(in.empty() ? "brotli: empty stream"
                                              : "brotli: truncated stream (ended after " + std::to_string(in.size()) +
                                                    " bytes before the end of the stream)");
            case BROTLI_DECODER_RESULT_ERROR:
            default: {
                const BrotliDecoderErrorCode code = BrotliDecoderGetErrorCode(decoder.get());
                throw PayloadError(std::string("brotli: corrupt stream: ") + BrotliDecoderErrorString(code));
            }
        }
    }
}

}  // namespace

void brotli_decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out, std::size_t max_output) {
    const std::size_t start = out.size();
    try {
        decode_all(in, out, start, max_output);
    } catch (...) {
        out.resize(start);
        throw;
    }
}

void brotli_compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out, int quality) {
    const std::size_t start = out.size();
    try {
        Encoder encoder;
        if (!BrotliEncoderSetParameter(encoder.get(), BROTLI_PARAM_QUALITY, static_cast<std::uint32_t>(quality)) ||
            !BrotliEncoderSetParameter(encoder.get(), BROTLI_PARAM_LGWIN, BROTLI_DEFAULT_WINDOW) ||
            !BrotliEncoderSetParameter(encoder.get(), BROTLI_PARAM_SIZE_HINT,
                                       static_cast<std::uint32_t>(std::min<std::size_t>(in.size(), 1u << 30))))
            throw PayloadError("brotli: cannot set encoder quality " + std::to_string(quality));
        const std::uint8_t* next_in = in.data();
        std::size_t avail_in = in.size();
        while (!BrotliEncoderIsFinished(encoder.get())) {
            const std::size_t room = std::max<std::size_t>(kChunk, in.size() / 4);
            const std::size_t before = out.size();
            out.resize(before + room);
            std::uint8_t* next_out = out.data() + before;
            std::size_t avail_out = room;
            const bool ok = BrotliEncoderCompressStream(encoder.get(), BROTLI_OPERATION_FINISH, &avail_in, &next_in,
                                                        &avail_out, &next_out, nullptr);
            out.resize(before + (room - avail_out));
            if (!ok) throw PayloadError("brotli: compression failed");
        }
    } catch (...) {
        out.resize(start);
        throw;
    }
}

}  // namespace benchdist::stdb
