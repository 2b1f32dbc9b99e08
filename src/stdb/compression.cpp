#include "benchdist/stdb/compression.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace benchdist::stdb {

std::string_view compression_query_value(Compression c) {
    switch (c) {
        case Compression::None:
            return "None";
        case Compression::Brotli:
            return "Brotli";
        case Compression::Gzip:
            return "Gzip";
    }
    return "None";
}

std::optional<Compression> compression_from_query_value(std::string_view v) {
    if (v == "None") return Compression::None;
    if (v == "Brotli") return Compression::Brotli;
    if (v == "Gzip") return Compression::Gzip;
    return std::nullopt;
}

std::optional<Compression> compression_from_flag(std::string_view v) {
    std::string lower(v);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "none") return Compression::None;
    if (lower == "gzip") return Compression::Gzip;
    if (lower == "brotli") return Compression::Brotli;
    return std::nullopt;
}

std::string_view compression_flag_name(Compression c) {
    switch (c) {
        case Compression::None:
            return "none";
        case Compression::Brotli:
            return "brotli";
        case Compression::Gzip:
            return "gzip";
    }
    return "none";
}

}  // namespace benchdist::stdb
