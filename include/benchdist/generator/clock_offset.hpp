// Estimates how far this generator's wall clock is from the coordinator's,
// NTP-style, from the control requests it makes anyway. Per-second intervals
// are stamped with the generator's wall clock and the coordinator picks the
// measured window with its own, so a report must say how far apart the two
// clocks were and how sure that figure is. For one request sent at local t0
// and answered at local t3 with the coordinator's time s (taken at some
// moment in between), the offset is s - (t0 + t3) / 2 and is wrong by at
// most rtt / 2 (rtt = t3 - t0), wherever in the exchange s was taken; so of
// the recent samples the one with the smallest rtt is the most trustworthy.
// Pure: the times are passed in, so tests are deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace benchdist::generator {

// All values are unix milliseconds (fractions allowed).
struct ClockSample {
    double sent_ms = 0;      // t0, local, just before the request was sent
    double received_ms = 0;  // t3, local, when the answer had arrived
    double server_ms = 0;    // the coordinator's clock in its answer
};

struct ClockEstimate {
    // coordinator clock ≈ local clock + offset_ms, within ± rtt_ms / 2.
    double offset_ms = 0;
    double rtt_ms = 0;
    std::size_t samples = 0;  // samples in the window the estimate was chosen from
};

class ClockOffsetEstimator {
public:
    static constexpr std::size_t kDefaultWindow = 16;

    // Keeps the last `window` samples; throws std::invalid_argument for 0.
    explicit ClockOffsetEstimator(std::size_t window = kDefaultWindow);

    // False (and ignored) for a sample that cannot be right: a non-finite
    // value or t3 < t0.
    bool add(const ClockSample& sample);

    // The offset of the window's sample with the smallest rtt (the newest of
    // equals, since clocks drift); nullopt before the first sample.
    std::optional<ClockEstimate> estimate() const;

    std::size_t size() const noexcept { return ring_.size(); }
    std::size_t window() const noexcept { return window_; }
    void clear() noexcept;

private:
    std::size_t window_;
    std::vector<ClockSample> ring_;
    std::size_t next_ = 0;  // slot the next sample overwrites once the ring is full
};

}  // namespace benchdist::generator
