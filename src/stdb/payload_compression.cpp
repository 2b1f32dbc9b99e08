#include "benchdist/stdb/payload_compression.hpp"

#include <string>

namespace benchdist::stdb {

void compress(Compression algorithm, std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out) {
    switch (algorithm) {
        case Compression::None:
            out.insert(out.end(), in.begin(), in.end());
            return;
        case Compression::Brotli:
            brotli_compress(in, out);
            return;
        case Compression::Gzip:
            gzip_compress(in, out);
            return;
    }
    throw PayloadError("unknown compression algorithm " + std::to_string(static_cast<int>(algorithm)));
}

void decompress(Compression algorithm, std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                std::size_t max_output) {
    switch (algorithm) {
        case Compression::None:
            if (in.size() > max_output)
                throw PayloadError("uncompressed payload of " + std::to_string(in.size()) +
                                   " bytes exceeds the limit of " + std::to_string(max_output) + " bytes");
            out.insert(out.end(), in.begin(), in.end());
            return;
        case Compression::Brotli:
            brotli_decompress(in, out, max_output);
            return;
        case Compression::Gzip:
            gzip_decompress(in, out, max_output);
            return;
    }
    throw PayloadError("unknown compression algorithm " + std::to_string(static_cast<int>(algorithm)));
}

}  // namespace benchdist::stdb
