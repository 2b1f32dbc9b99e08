// One slice of a load timeline: what happened to the operations whose
// outcome became known during one wall-clock interval (by default one
// second), as plain mergeable values. Generators keep these per thread and
// send them to the coordinator, which merges them across machines by
// interval start and picks the ones inside the measured window; per-second
// series are what let a reader see warm-up, stalls and tail spikes that a
// single total hides. Failures are kept by kind, and module errors by their
// message, with a cap so a module that puts ids in its messages cannot grow
// a report without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "benchdist/stats/latency_histogram.hpp"

namespace benchdist::stats {

enum class FailureKind { ModuleError, InternalError, Timeout, Disconnect };
std::string_view failure_kind_name(FailureKind kind);  // "moduleError", "internalError", "timeout", "disconnect"

// Module error counts by message. The first kMaxMessages distinct messages
// are kept by name, in the order first seen; later new messages are counted
// under kOther. A real message spelled "other" shares that entry.
class ModuleErrorCounts {
public:
    static constexpr std::size_t kMaxMessages = 32;
    static constexpr std::string_view kOther = "other";

    void add(std::string_view message, std::uint64_t n = 1);
    void merge(const ModuleErrorCounts& other);
    std::uint64_t total() const noexcept { return total_; }
    std::uint64_t count(std::string_view message) const noexcept;
    const std::vector<std::pair<std::string, std::uint64_t>>& entries() const noexcept { return entries_; }

    bool operator==(const ModuleErrorCounts& other) const = default;

private:
    std::vector<std::pair<std::string, std::uint64_t>> entries_;
    std::size_t named_ = 0;  // entries other than kOther
    std::uint64_t total_ = 0;
};

struct FailureCounts {
    ModuleErrorCounts module_errors;
    std::uint64_t internal_errors = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t disconnects = 0;

    void add(FailureKind kind, std::string_view message, std::uint64_t n = 1);
    void merge(const FailureCounts& other);
    std::uint64_t total() const noexcept { return module_errors.total() + internal_errors + timeouts + disconnects; }
    bool operator==(const FailureCounts& other) const = default;
};

// Outcomes counted together. attempted == committed + failures.total(), and
// `latency` holds the latency of each committed operation. The other two
// histograms are filled only in open loop (a schedule of intended send
// times), where `latency` is measured from the intended send:
// `latency_uncorrected` holds the same operations measured from the actual
// send, and `send_lag` how late each send was against its schedule (counted
// by send time, so it is independent of attempted). In closed loop they
// stay empty and, being lazily allocated, cost nothing.
struct OutcomeTotals {
    explicit OutcomeTotals(int significant_digits = LatencyHistogram::kDefaultSignificantDigits)
        : latency(significant_digits), latency_uncorrected(significant_digits), send_lag(significant_digits) {}

    std::uint64_t attempted = 0;
    std::uint64_t committed = 0;
    FailureCounts failures;
    LatencyHistogram latency;
    LatencyHistogram latency_uncorrected;
    LatencyHistogram send_lag;

    // Throws std::invalid_argument (changing nothing) if the histograms'
    // digits differ.
    void merge(const OutcomeTotals& other);
    bool operator==(const OutcomeTotals& other) const = default;
};

struct Interval {
    std::int64_t start_ms = 0;  // unix ms, a multiple of length_ms
    std::int64_t length_ms = 1000;
    OutcomeTotals totals;

    bool operator==(const Interval& other) const = default;
};

// {"startMs":..,"lengthMs":..,"attempted":..,"committed":..,
//  "failures":{"moduleErrors":{"<message>":n,...},"internalErrors":n,
//  "timeouts":n,"disconnects":n},"latency":{<LatencyHistogram>}
//  [,"latencyUncorrected":{<LatencyHistogram>}][,"sendLag":{<LatencyHistogram>}]}
// The last two only when non-empty, so closed-loop intervals look exactly
// as they did before open loop existed.
Json interval_to_json(const Interval& interval);
// Checks shapes, alignment and the invariants above (and that
// latencyUncorrected counts at most `committed` and every histogram has the
// digits of "latency"); std::invalid_argument names the key. The two
// optional histograms are empty when absent.
Interval interval_from_json(const Json& j);

}  // namespace benchdist::stats
