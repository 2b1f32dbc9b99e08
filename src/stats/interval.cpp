#include "benchdist/stats/interval.hpp"

#include <stdexcept>
#include <string>

#include "json_read.hpp"

namespace benchdist::stats {

namespace {
constexpr std::string_view kWhere = "interval";
}  // namespace

std::string_view failure_kind_name(FailureKind kind) {
    switch (kind) {
        case FailureKind::ModuleError:
            return "moduleError";
        case FailureKind::InternalError:
            return "internalError";
        case FailureKind::Timeout:
            return "timeout";
        case FailureKind::Disconnect:
            return "disconnect";
    }
    return "unknown";
}

void ModuleErrorCounts::add(std::string_view message, std::uint64_t n) {
    if (n == 0) return;
    total_ += n;
    for (auto& [text, count] : entries_) {
        if (text == message) {
            count += n;
            return;
        }
    }
    const bool is_other = message == kOther;
    if (!is_other && named_ < kMaxMessages) {
        entries_.emplace_back(std::string(message), n);
        ++named_;
        return;
    }
    for (auto& [text, count] : entries_) {
        if (text == kOther) {
            count += n;
            return;
        }
    }
    entries_.emplace_back(std::string(kOther), n);
}

void ModuleErrorCounts::merge(const ModuleErrorCounts& other) {
    for (const auto& [text, count] : other.entries_) add(text, count);
}

std::uint64_t ModuleErrorCounts::count(std::string_view message) const noexcept {
    for (const auto& [text, count] : entries_)
        if (text == message) return count;
    return 0;
}

void FailureCounts::add(FailureKind kind, std::string_view message, std::uint64_t n) {
    switch (kind) {
        case FailureKind::ModuleError:
            module_errors.add(message, n);
            return;
        case FailureKind::InternalError:
            internal_errors += n;
            return;
        case FailureKind::Timeout:
            timeouts += n;
            return;
        case FailureKind::Disconnect:
            disconnects += n;
            return;
    }
}

void FailureCounts::merge(const FailureCounts& other) {
    module_errors.merge(other.module_errors);
    internal_errors += other.internal_errors;
    timeouts += other.timeouts;
    disconnects += other.disconnects;
}

void OutcomeTotals::merge(const OutcomeTotals& other) {
    // Checked up front so that a mismatch leaves *this untouched.
    const int digits = latency.significant_digits();
    if (other.latency.significant_digits() != digits || latency_uncorrected.significant_digits() != digits ||
        send_lag.significant_digits() != digits || other.latency_uncorrected.significant_digits() != digits ||
        other.send_lag.significant_digits() != digits)
        throw std::invalid_argument("interval: cannot merge histograms of " +
                                    std::to_string(other.latency.significant_digits()) + " significant digits into " +
                                    std::to_string(digits));
    latency.merge(other.latency);
    latency_uncorrected.merge(other.latency_uncorrected);
    send_lag.merge(other.send_lag);
    attempted += other.attempted;
    committed += other.committed;
    failures.merge(other.failures);
}

Json interval_to_json(const Interval& interval) {
    const OutcomeTotals& t = interval.totals;
    Json messages = Json::object();
    for (const auto& [text, count] : t.failures.module_errors.entries()) messages[text] = count;
    Json failures{{"moduleErrors", std::move(messages)},
                  {"internalErrors", t.failures.internal_errors},
                  {"timeouts", t.failures.timeouts},
                  {"disconnects", t.failures.disconnects}};
    Json out{{"startMs", interval.start_ms}, {"lengthMs", interval.length_ms},  {"attempted", t.attempted},
             {"committed", t.committed},     {"failures", std::move(failures)}, {"latency", t.latency.to_json()}};
    if (!t.latency_uncorrected.empty()) out["latencyUncorrected"] = t.latency_uncorrected.to_json();
    if (!t.send_lag.empty()) out["sendLag"] = t.send_lag.to_json();
    return out;
}

Interval interval_from_json(const Json& j) {
    using namespace detail;
    Interval out;
    out.start_ms = i64_field(j, kWhere, "startMs");
    out.length_ms = i64_field(j, kWhere, "lengthMs");
    if (out.length_ms <= 0) bad_field(kWhere, "lengthMs", "must be positive");
    if (out.start_ms % out.length_ms != 0) bad_field(kWhere, "startMs", "is not a multiple of \"lengthMs\"");

    out.totals.latency = LatencyHistogram::from_json(field(j, kWhere, "latency"));
    const int digits = out.totals.latency.significant_digits();
    out.totals.latency_uncorrected = LatencyHistogram(digits);
    out.totals.send_lag = LatencyHistogram(digits);
    const auto optional_histogram = [&](std::string_view key, LatencyHistogram& into) {
        const auto it = j.find(key);
        if (it == j.end()) return;
        into = LatencyHistogram::from_json(*it);
        if (into.significant_digits() != digits)
            bad_field(kWhere, key, "has other significant digits than \"latency\"");
    };
    optional_histogram("latencyUncorrected", out.totals.latency_uncorrected);
    optional_histogram("sendLag", out.totals.send_lag);
    out.totals.attempted = u64_field(j, kWhere, "attempted");
    out.totals.committed = u64_field(j, kWhere, "committed");

    const Json& failures = field(j, kWhere, "failures");
    if (!failures.is_object()) bad_field(kWhere, "failures", "must be an object");
    const Json& messages = field(failures, kWhere, "moduleErrors");
    if (!messages.is_object()) bad_field(kWhere, "moduleErrors", "must be an object of message: count");
    for (auto it = messages.begin(); it != messages.end(); ++it)
        out.totals.failures.module_errors.add(it.key(), as_u64(it.value(), kWhere, "moduleErrors"));
    out.totals.failures.internal_errors = u64_field(failures, kWhere, "internalErrors");
    out.totals.failures.timeouts = u64_field(failures, kWhere, "timeouts");
    out.totals.failures.disconnects = u64_field(failures, kWhere, "disconnects");

    if (out.totals.latency.count() != out.totals.committed)
        bad_field(kWhere, "committed", "does not equal the latency histogram's count");
    if (out.totals.latency_uncorrected.count() > out.totals.committed)
        bad_field(kWhere, "latencyUncorrected", "counts more operations than \"committed\"");
    if (out.totals.attempted != out.totals.committed + out.totals.failures.total())
        bad_field(kWhere, "attempted", "does not equal committed plus failures");
    return out;
}

}  // namespace benchdist::stats
