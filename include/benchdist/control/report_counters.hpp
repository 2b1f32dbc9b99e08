// The "counters" object of a generator's report: what its calls came to,
// as the /stopped report and the local run's "client" both write it and the
// coordinator reads it. A field an older generator did not send, or one
// that is not a count, reads as 0.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "benchdist/control/protocol.hpp"

namespace benchdist::control {

struct ReportCounters {
    std::uint64_t attempted = 0;
    std::uint64_t committed = 0;
    std::uint64_t errors = 0;  // module + internal errors, timeouts, disconnects
    std::uint64_t module_errors = 0;
    std::uint64_t internal_errors = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t disconnects = 0;
    std::uint64_t reopened = 0;
    std::uint64_t reopen_failures = 0;
    // Server messages the generator could not take (each closed its
    // connection; the calls it ended are among the disconnects), and the
    // same by kind ("decode", "unknownMessageTag", ...: the generator's
    // protocol_error_kind_name), only the kinds seen.
    std::uint64_t protocol_errors = 0;
    std::map<std::string, std::uint64_t, std::less<>> protocol_errors_by_kind;

    friend bool operator==(const ReportCounters&, const ReportCounters&) = default;
};

// {"attempted", "committed", "errors", "moduleErrors", "internalErrors",
// "timeouts", "disconnects", "reopened", "reopenFailures", "protocolErrors",
// "protocolErrorsByKind": {"<kind>": n, ...}}, in that order.
Json to_json(const ReportCounters& c);
// From a report's "counters" object (absent or not an object: all 0; a
// "protocolErrorsByKind" entry that is not a count is left out).
ReportCounters report_counters_from_json(const Json& counters);

}  // namespace benchdist::control
