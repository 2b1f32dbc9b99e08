#include <zlib.h>

#include <algorithm>
#include <climits>
#include <string>

#include "benchdist/stdb/payload_compression.hpp"

namespace benchdist::stdb {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper

uInt clamp_uint(std::size_t n) { return static_cast<uInt>(std::min<std::size_t>(n, UINT_MAX)); }

// Owns a z_stream so every exit path frees zlib's state.
class Inflater {
public:
    Inflater() {
        if (inflateInit2(&s_, kGzipWindowBits) != Z_OK) throw PayloadError("gzip: cannot initialise zlib inflate");
    }
    ~Inflater() { inflateEnd(&s_); }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    z_stream* get() { return &s_; }

private:
    z_stream s_{};
};

class Deflater {
public:
    explicit Deflater(int level) {
        if (deflateInit2(&s_, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw PayloadError("gzip: cannot initialise zlib deflate at level " + std::to_string(level));
    }
    ~Deflater() { deflateEnd(&s_); }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;
    z_stream* get() { return &s_; }

private:
    z_stream s_{};
};

std::string zmsg(const z_stream* s, int rc) {
    if (s->msg != nullptr) return s->msg;
    return "zlib error " + std::to_string(rc);
}

void inflate_all(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out, std::size_t start,
                 std::size_t max_output) {
    Inflater inflater;
    z_stream* s = inflater.get();
    // One byte of headroom over the cap tells "exactly max" from "more than max".
    const std::size_t cap = max_output == SIZE_MAX ? max_output : max_output + 1;
    std::size_t in_pos = 0;
    while (true) {
        if (s->avail_in == 0 && in_pos < in.size()) {
            const uInt n = clamp_uint(in.size() - in_pos);
            s->next_in = const_cast<Bytef*>(in.data() + in_pos);
            s->avail_in = n;
            in_pos += n;
        }
        const std::size_t produced = out.size() - start;
        const std::size_t room = std::min(kChunk, cap - produced);
        const std::size_t before = out.size();
        out.resize(before + room);
        s->next_out = out.data() + before;
        s->avail_out = clamp_uint(room);
        const uInt avail_in_before = s->avail_in;
        const int rc = inflate(s, Z_NO_FLUSH);
        out.resize(before + (clamp_uint(room) - s->avail_out));
        if (out.size() - start > max_output)
            throw PayloadError("gzip: decompressed payload exceeds the limit of " + std::to_string(max_output) +
                               " bytes");
        if (rc == Z_STREAM_END) {
            if (s->avail_in == 0 && in_pos == in.size()) return;
            // Another gzip member follows (RFC 1952 allows several).
            if (inflateReset(s) != Z_OK) throw PayloadError("gzip: cannot reset zlib inflate");
            continue;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR) {
            // No progress possible: either out of input (truncated) or the
            // output chunk was full (loop again to get more room).
            if (s->avail_out == 0) continue;
            if (s->avail_in == 0 && in_pos == in.size()) {
                throw PayloadError(in.empty() ? "gzip: empty stream"
                                              : "gzip: truncated stream (ended after " + std::to_string(in.size()) +
                                                    " bytes without the end of the member)");
            }
            if (avail_in_before == s->avail_in) throw PayloadError("gzip: corrupt stream (no progress)");
            continue;
        }
        if (rc == Z_NEED_DICT) throw PayloadError("gzip: corrupt stream (asks for a preset dictionary)");
        if (rc == Z_MEM_ERROR) throw PayloadError("gzip: out of memory while decompressing");
        throw PayloadError("gzip: corrupt stream: " + zmsg(s, rc));
    }
}

}  // namespace

void gzip_decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out, std::size_t max_output) {
    const std::size_t start = out.size();
    try {
        inflate_all(in, out, start, max_output);
    } catch (...) {
        out.resize(start);
        throw;
    }
}

void gzip_compress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out, int level) {
    const std::size_t start = out.size();
    try {
        Deflater deflater(level);
        z_stream* s = deflater.get();
        std::size_t in_pos = 0;
        while (true) {
            if (s->avail_in == 0 && in_pos < in.size()) {
                const uInt n = clamp_uint(in.size() - in_pos);
                s->next_in = const_cast<Bytef*>(in.data() + in_pos);
                s->avail_in = n;
                in_pos += n;
            }
            const bool last = in_pos == in.size();
            const std::size_t room = std::max<std::size_t>(kChunk, in.size() / 4);
            const std::size_t before = out.size();
            out.resize(before + room);
            s->next_out = out.data() + before;
            s->avail_out = clamp_uint(room);
            const int rc = deflate(s, last ? Z_FINISH : Z_NO_FLUSH);
            out.resize(before + (clamp_uint(room) - s->avail_out));
            if (rc == Z_STREAM_END) return;
            if (rc != Z_OK && rc != Z_BUF_ERROR) throw PayloadError("gzip: compression failed: " + zmsg(s, rc));
        }
    } catch (...) {
        out.resize(start);
        throw;
    }
}

}  // namespace benchdist::stdb
