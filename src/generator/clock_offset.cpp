#include "benchdist/generator/clock_offset.hpp"

#include <cmath>
#include <stdexcept>

namespace benchdist::generator {

ClockOffsetEstimator::ClockOffsetEstimator(std::size_t window) : window_(window) {
    if (window_ == 0) throw std::invalid_argument("clock offset window must be at least 1");
    ring_.reserve(window_);
}

bool ClockOffsetEstimator::add(const ClockSample& sample) {
    if (!std::isfinite(sample.sent_ms) || !std::isfinite(sample.received_ms) || !std::isfinite(sample.server_ms))
        return false;
    if (sample.received_ms < sample.sent_ms) return false;
    if (ring_.size() < window_) {
        ring_.push_back(sample);
    } else {
        ring_[next_] = sample;
        next_ = (next_ + 1) % window_;
    }
    return true;
}

std::optional<ClockEstimate> ClockOffsetEstimator::estimate() const {
    if (ring_.empty()) return std::nullopt;
    // Walk oldest to newest so that `<=` lets a newer sample win a tie.
    const std::size_t n = ring_.size();
    const std::size_t oldest = n < window_ ? 0 : next_;
    const ClockSample* best = nullptr;
    for (std::size_t k = 0; k < n; ++k) {
        const ClockSample& s = ring_[(oldest + k) % n];
        if (!best || s.received_ms - s.sent_ms <= best->received_ms - best->sent_ms) best = &s;
    }
    ClockEstimate e;
    e.rtt_ms = best->received_ms - best->sent_ms;
    e.offset_ms = best->server_ms - (best->sent_ms + best->received_ms) / 2.0;
    e.samples = n;
    return e;
}

void ClockOffsetEstimator::clear() noexcept {
    ring_.clear();
    next_ = 0;
}

}  // namespace benchdist::generator
