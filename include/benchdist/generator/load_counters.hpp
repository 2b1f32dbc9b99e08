// LoadCounters: what a generator's closed-loop workers saw during one epoch,
// as plain values. Each worker thread keeps its own copy (touched only by
// that thread, so the hot path takes no lock) and the session combines them
// when someone asks -- the /stopped report, a progress line, a test. Every
// attempted call ends in exactly one of committed / module error / internal
// error / timeout / disconnect, so attempted == committed + errors() once
// the workers are idle. Protocol errors (protocol_errors.hpp) are counted
// apart, by kind: they are server messages, not calls; the calls each one
// ended are among the disconnects.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "benchdist/control/report_counters.hpp"
#include "benchdist/generator/protocol_errors.hpp"

namespace benchdist::generator {

struct LoadCounters {
    std::uint64_t attempted = 0;             // CallReducer transfer sent
    std::uint64_t committed = 0;             // ReducerResult Ok / OkEmpty
    std::uint64_t module_errors = 0;         // Err(string), e.g. insufficient_funds
    std::uint64_t internal_errors = 0;       // InternalError(string)
    std::uint64_t timeouts = 0;              // no result within the op timeout
    std::uint64_t disconnects = 0;           // connection ended with the call in flight
    std::uint64_t skipped_same_account = 0;  // from == to pairs, never sent (as the harness)
    std::uint64_t reopened = 0;              // connections replaced after a timeout or disconnect
    std::uint64_t reopen_failures = 0;       // replacement attempts that failed (retried with backoff)
    ProtocolErrorCounts protocol_errors;     // server messages that could not be taken, by kind
    // Module errors by their text (few distinct strings: the module's own).
    std::map<std::string, std::uint64_t, std::less<>> module_errors_by_message;

    std::uint64_t errors() const { return module_errors + internal_errors + timeouts + disconnects; }

    void combine(const LoadCounters& other);

    friend bool operator==(const LoadCounters&, const LoadCounters&) = default;
};

// What a report says of these counters (both generator modes write it).
control::ReportCounters report_counters(const LoadCounters& c);

}  // namespace benchdist::generator
