#include "benchdist/generator/protocol_errors.hpp"

#include <algorithm>
#include <cstdio>

#include "benchdist/bsatn/decode_error.hpp"
#include "benchdist/bsatn/reader.hpp"
#include "benchdist/stdb/messages.hpp"
#include "benchdist/stdb/server_message_view.hpp"

namespace benchdist::generator {

std::string_view protocol_error_kind_name(ProtocolErrorKind kind) {
    switch (kind) {
        case ProtocolErrorKind::WebSocketFrame:
            return "webSocketFrame";
        case ProtocolErrorKind::TextFrame:
            return "textFrame";
        case ProtocolErrorKind::Framing:
            return "framing";
        case ProtocolErrorKind::CompressionTag:
            return "compressionTag";
        case ProtocolErrorKind::Decompression:
            return "decompression";
        case ProtocolErrorKind::UnknownMessageTag:
            return "unknownMessageTag";
        case ProtocolErrorKind::Decode:
            return "decode";
        case ProtocolErrorKind::UnknownRequestId:
            return "unknownRequestId";
    }
    return "unknown";
}

std::uint64_t ProtocolErrorCounts::total() const {
    std::uint64_t sum = 0;
    for (const auto n : by_kind) sum += n;
    return sum;
}

void ProtocolErrorCounts::combine(const ProtocolErrorCounts& other) {
    for (std::size_t i = 0; i < kProtocolErrorKinds; ++i) by_kind[i] += other.by_kind[i];
}

std::map<std::string, std::uint64_t, std::less<>> ProtocolErrorCounts::by_name() const {
    std::map<std::string, std::uint64_t, std::less<>> out;
    for (std::size_t i = 0; i < kProtocolErrorKinds; ++i) {
        if (by_kind[i] > 0) out.emplace(protocol_error_kind_name(static_cast<ProtocolErrorKind>(i)), by_kind[i]);
    }
    return out;
}

std::string ProtocolErrorCounts::describe() const {
    std::string out;
    for (std::size_t i = 0; i < kProtocolErrorKinds; ++i) {
        if (by_kind[i] == 0) continue;
        if (!out.empty()) out += ", ";
        out +=
            std::string(protocol_error_kind_name(static_cast<ProtocolErrorKind>(i))) + " " + std::to_string(by_kind[i]);
    }
    return out;
}

std::string hex_prefix(std::span<const std::uint8_t> bytes, std::size_t max_bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    const std::size_t n = std::min(bytes.size(), max_bytes);
    std::string out;
    out.reserve(n * 3);
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) out += ' ';
        out += kDigits[bytes[i] >> 4];
        out += kDigits[bytes[i] & 0x0f];
    }
    return out;
}

std::string protocol_error_line(const ProtocolErrorEvent& event) {
    std::string line = "protocol error (" + std::string(protocol_error_kind_name(event.kind)) + ") on " +
                       std::string(event.url) + ": " + std::string(event.detail) + "; ";
    if (event.kind == ProtocolErrorKind::WebSocketFrame && event.frame.empty()) {
        return line + "frame: not kept by the WebSocket layer";
    }
    const std::size_t size = event.frame.size();
    line += "frame (" + std::to_string(size) + " bytes";
    if (size > kLoggedFrameBytes) line += ", first " + std::to_string(kLoggedFrameBytes);
    line += ")";
    if (size > 0) line += ": " + hex_prefix(event.frame);
    return line;
}

ProtocolErrorKind classify_body_failure(std::span<const std::uint8_t> body, stdb::ProtocolVersion version) {
    bsatn::Reader r(body);
    if (r.at_end()) return ProtocolErrorKind::Framing;
    while (!r.at_end()) {
        if (body[r.position()] >= stdb::kServerMessageVariants) return ProtocolErrorKind::UnknownMessageTag;
        try {
            stdb::skip_server_message(r);
        } catch (const bsatn::DecodeError&) {
            return ProtocolErrorKind::Decode;
        }
        if (version == stdb::ProtocolVersion::V2 && !r.at_end()) return ProtocolErrorKind::Framing;
    }
    return ProtocolErrorKind::Decode;
}

ProtocolErrorLimiter::ProtocolErrorLimiter(std::size_t first_in_full, Clock::duration period)
    : first_in_full_(first_in_full), period_(period) {}

std::vector<std::string> ProtocolErrorLimiter::note(const ProtocolErrorEvent& event, Clock::time_point now) {
    std::vector<std::string> lines;
    if (logged_ < first_in_full_) {
        ++logged_;
        lines.push_back(protocol_error_line(event));
        if (logged_ == first_in_full_) {
            const double seconds = std::chrono::duration<double>(period_).count();
            char buf[32];
            std::snprintf(buf, sizeof buf, "%g", seconds);
            lines.push_back("protocol errors: " + std::to_string(first_in_full_) +
                            " logged; from now on one summary line per " + buf +
                            " s (each one is counted in the report's protocolErrors)");
        }
        return lines;
    }
    // A period begins with its first error: one that comes after a quiet
    // spell waits for company (or the flush) rather than making a line alone.
    if (pending_.total() == 0) period_start_ = now;
    pending_.add(event.kind);
    if (now - *period_start_ >= period_) lines.push_back(summary(now));
    return lines;
}

std::optional<std::string> ProtocolErrorLimiter::flush(Clock::time_point now) {
    if (pending_.total() == 0) return std::nullopt;
    return summary(now);
}

void ProtocolErrorLimiter::reset() {
    logged_ = 0;
    pending_ = {};
    period_start_.reset();
}

std::string ProtocolErrorLimiter::summary(Clock::time_point now) {
    const double seconds = period_start_ ? std::chrono::duration<double>(now - *period_start_).count() : 0.0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", seconds);
    std::string line = "protocol errors: " + std::to_string(pending_.total()) + " more over " + buf + " s (" +
                       pending_.describe() + "), not logged one by one";
    pending_ = {};
    period_start_.reset();
    return line;
}

}  // namespace benchdist::generator
